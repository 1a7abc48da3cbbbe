// CCUDA: a hand-declared subset of the CUDA driver API, NVRTC and cuBLASLt, filled by dlopen at
// run time so the package builds and tests on machines without CUDA.
#pragma once
