#!/bin/bash
# H200, lease of run8: the vLLM 0.26.0 peer onto the machine in four quarters (the two parts of ../shared/gpu/README.md
# each split in two here: with this tree's tracked files a 44 MB part no longer fits the 64 MiB a call carries).
# Call N (1–3) carries .gpu/pN (the device keeps ignored paths of earlier calls in its copy of the tree: the quarters
# gather there); run8b.sh carries the fourth, joins the four and unpacks.
ls -la .gpu/p*
