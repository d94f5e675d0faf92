// COpenBLAS: Debian's OpenBLAS through its CBLAS interface (cblas_sgemm, cblas_sgemv) and
// its thread control (openblas_set_num_threads). No stable API of its own: only FCNRuntime uses it.
#ifndef COPENBLAS_SHIM_H
#define COPENBLAS_SHIM_H
#include <cblas.h>
#endif
