#ifndef SWIFT_MOBILENET_CDNNL_SHIM_H
#define SWIFT_MOBILENET_CDNNL_SHIM_H

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

// Debian's oneDNN is built with OpenMP (libgomp). Clang does not see gcc's <omp.h>, so the two
// calls we need are declared here; libgomp is already a dependency of libdnnl.
extern void omp_set_num_threads(int count);
extern int omp_get_max_threads(void);

#endif
