#include "CCUDA.h"
