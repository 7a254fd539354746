#define _GNU_SOURCE
#include "cotflow_gsl.h"
#include <dlfcn.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>

extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);

void cot_gsl_init(void) {
    gsl_set_error_handler_off();
    openblas_set_num_threads(1);
}

const gsl_odeiv2_step_type *cot_odeiv2_step_type(int id) {
    switch (id) {
    case COT_STEP_RK2: return gsl_odeiv2_step_rk2;
    case COT_STEP_RK4: return gsl_odeiv2_step_rk4;
    case COT_STEP_RKF45: return gsl_odeiv2_step_rkf45;
    case COT_STEP_RKCK: return gsl_odeiv2_step_rkck;
    case COT_STEP_RK8PD: return gsl_odeiv2_step_rk8pd;
    case COT_STEP_RK1IMP: return gsl_odeiv2_step_rk1imp;
    case COT_STEP_RK2IMP: return gsl_odeiv2_step_rk2imp;
    case COT_STEP_RK4IMP: return gsl_odeiv2_step_rk4imp;
    case COT_STEP_BSIMP: return gsl_odeiv2_step_bsimp;
    case COT_STEP_MSADAMS: return gsl_odeiv2_step_msadams;
    case COT_STEP_MSBDF: return gsl_odeiv2_step_msbdf;
    default: return NULL;
    }
}

gsl_rng *cot_rng_alloc(unsigned long seed) {
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (r) gsl_rng_set(r, seed);
    return r;
}

const char *cot_symbol_library(const char *symbol) {
    void *address = dlsym(RTLD_DEFAULT, symbol);
    Dl_info info;
    if (!address || !dladdr(address, &info)) return NULL;
    return info.dli_fname;
}

int cot_blas_threads(void) { return openblas_get_num_threads(); }

int cot_stdout_finish(void) {
    errno = 0;
    int failed = fflush(stdout) != 0;
    int error = errno;
    if (!failed && !ferror(stdout)) return 0;
    clearerr(stdout);
    return error ? error : EIO;
}
