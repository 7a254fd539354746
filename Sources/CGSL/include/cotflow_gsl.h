// C bindings for cotflow: GSL (ODE, linear algebra, RNG) with OpenBLAS as its CBLAS.
// GSL exposes its step and RNG types as mutable globals, which Swift 6 strict concurrency
// rejects; the shim functions below hand them out by value instead.
#ifndef COTFLOW_GSL_H
#define COTFLOW_GSL_H

#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_odeiv2.h>
#include <gsl/gsl_cdf.h>
#include "cotflow_small_products.h"

/// Turns GSL's abort-on-error handler off (idempotent) and pins OpenBLAS to one thread,
/// so that results do not depend on BLAS threading; cotflow parallelises itself.
void cot_gsl_init(void);

/// Stepper identifiers, in the order of `cot_odeiv2_step_type`.
typedef enum {
    COT_STEP_RK2 = 0, COT_STEP_RK4, COT_STEP_RKF45, COT_STEP_RKCK, COT_STEP_RK8PD,
    COT_STEP_RK1IMP, COT_STEP_RK2IMP, COT_STEP_RK4IMP, COT_STEP_BSIMP,
    COT_STEP_MSADAMS, COT_STEP_MSBDF, COT_STEP_COUNT
} cot_step_id;

/// The GSL step type for `id`, or NULL for an unknown id.
const gsl_odeiv2_step_type *cot_odeiv2_step_type(int id);

/// A Mersenne-twister generator seeded with `seed` (NULL on allocation failure).
gsl_rng *cot_rng_alloc(unsigned long seed);

/// The shared object that serves `symbol` in this process (for checking which CBLAS is used),
/// or NULL when the symbol is not found.
/* Flushes stdout; 0 when everything printed was written, else the errno of the failure (or EIO). */
int cot_stdout_finish(void);
const char *cot_symbol_library(const char *symbol);

/// Number of threads OpenBLAS uses.
int cot_blas_threads(void);

#endif
