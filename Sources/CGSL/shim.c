#define _GNU_SOURCE
#include "cotflow_gsl.h"
#include <dlfcn.h>
#include <stddef.h>

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

/* Per-thread OpenBLAS instances (notes/benchmarks.md, "Full-matrix flow"): OpenBLAS takes one
   process-wide mutex in blas_memory_alloc/free on every dgemm/dsyrk call, so threads making many
   small products contend on it. Further copies of the same library file, loaded with dlmopen into
   their own link-map namespaces, have their own lock; each thread keeps one copy. Same code, so
   the same results bit for bit; if a copy cannot be loaded, every thread uses the linked one. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

typedef void (*cot_dgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, int, int, int, double,
                             const double *, int, const double *, int, double, double *, int);
typedef void (*cot_dsyrk_fn)(enum CBLAS_ORDER, enum CBLAS_UPLO, enum CBLAS_TRANSPOSE, int, int, double,
                             const double *, int, double, double *, int);
typedef void (*cot_set_threads_fn)(int);

#define COT_BLAS_MAX_COPIES 8
static cot_dgemm_fn cot_gemm_copies[COT_BLAS_MAX_COPIES];
static cot_dsyrk_fn cot_syrk_copies[COT_BLAS_MAX_COPIES];
static int cot_blas_copies = 1;
static pthread_once_t cot_blas_once = PTHREAD_ONCE_INIT;
static atomic_int cot_blas_next = 0;
static __thread int cot_blas_slot = -1;

static void cot_blas_load(void) {
    cot_gemm_copies[0] = (cot_dgemm_fn)cblas_dgemm;
    cot_syrk_copies[0] = (cot_dsyrk_fn)cblas_dsyrk;
    if (getenv("COTFLOW_SHARED_BLAS")) return;
    Dl_info info;
    if (!dladdr((void *)cblas_dgemm, &info) || !info.dli_fname) return;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* The calling thread and the dispatch pool's workers: one copy each, at most 8. */
    int wanted = cores + 1 > COT_BLAS_MAX_COPIES ? COT_BLAS_MAX_COPIES : (int)(cores < 1 ? 1 : cores + 1);
    for (int i = 1; i < wanted; i++) {
        void *handle = dlmopen(LM_ID_NEWLM, info.dli_fname, RTLD_NOW | RTLD_LOCAL);
        if (!handle) break;
        cot_dgemm_fn gemm = (cot_dgemm_fn)dlsym(handle, "cblas_dgemm");
        cot_dsyrk_fn syrk = (cot_dsyrk_fn)dlsym(handle, "cblas_dsyrk");
        cot_set_threads_fn threads = (cot_set_threads_fn)dlsym(handle, "openblas_set_num_threads");
        if (!gemm || !syrk || !threads) break;
        threads(1);
        cot_gemm_copies[i] = gemm;
        cot_syrk_copies[i] = syrk;
        cot_blas_copies = i + 1;
    }
}

static inline int cot_blas_slot_of_thread(void) {
    if (cot_blas_slot < 0) {
        pthread_once(&cot_blas_once, cot_blas_load);
        cot_blas_slot = atomic_fetch_add(&cot_blas_next, 1) % cot_blas_copies;
    }
    return cot_blas_slot;
}

int cot_blas_instances(void) {
    pthread_once(&cot_blas_once, cot_blas_load);
    return cot_blas_copies;
}

void cot_dgemm_instance(int instance, int transA, int transB, int m, int n, int k, double alpha, const double *a, int lda,
                        const double *b, int ldb, double beta, double *c, int ldc) {
    pthread_once(&cot_blas_once, cot_blas_load);
    cot_gemm_copies[instance % cot_blas_copies](CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                                                m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void cot_dgemm(int transA, int transB, int m, int n, int k, double alpha, const double *a, int lda,
               const double *b, int ldb, double beta, double *c, int ldc) {
    cot_gemm_copies[cot_blas_slot_of_thread()](CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                                               m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void cot_dsyrk_lower(int n, int k, double alpha, const double *a, int lda, double beta, double *c, int ldc) {
    cot_syrk_copies[cot_blas_slot_of_thread()](CblasRowMajor, CblasLower, CblasNoTrans, n, k, alpha, a, lda, beta, c, ldc);
}
