#define _GNU_SOURCE
#include "cotflow_gsl.h"
#include <dlfcn.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);

// OpenBLAS starts a pool of threads in its load-time constructor, before `main`, and when a thread
// cannot start (`ulimit -u`) it prints why and raises SIGINT, which killed the process as if
// interrupted (exit 130). The executable's preinit function, which runs before any shared library's
// constructor, handles SIGINT until a constructor of the executable, which runs after them, puts
// the start's handling back: a SIGINT this process raised itself then ends it with a message and
// exit 1 (a run that could not start); one from outside (SI_USER, SI_KERNEL) is re-raised as it was.
static struct sigaction cot_sigint_at_start;
static volatile int cot_sigint_caught_at_start;
static const char *cot_program = "cotflow";

static void cot_write_text(const char *text) {
    size_t length = 0;
    while (text[length]) length++;
    while (length > 0) {
        ssize_t written = write(2, text, length);
        if (written <= 0) return;
        text += written;
        length -= (size_t)written;
    }
}

static void cot_sigint_during_start(int sig, siginfo_t *info, void *context) {
    (void)context;
    if (info != NULL && info->si_code == SI_TKILL && info->si_pid == getpid()) {
        char limit[24] = "unlimited";
        struct rlimit processes;
        if (getrlimit(RLIMIT_NPROC, &processes) == 0 && processes.rlim_cur != RLIM_INFINITY) {
            char digits[24];
            int count = 0;
            rlim_t value = processes.rlim_cur;
            do { digits[count++] = (char)('0' + value % 10); value /= 10; } while (value > 0 && count < 23);
            for (int index = 0; index < count; index++) limit[index] = digits[count - 1 - index];
            limit[count] = 0;
        }
        cot_write_text(cot_program);
        cot_write_text(": error: cannot start: OpenBLAS could not start its threads (the limit of processes and threads of this user, ulimit -u, is ");
        cot_write_text(limit);
        cot_write_text("); raise it, or set OPENBLAS_NUM_THREADS=1, and try again\n");
        _exit(1);
    }
    sigaction(SIGINT, &cot_sigint_at_start, NULL);
    raise(sig);
}

static void cot_start(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc > 0 && argv[0] != NULL) {
        const char *name = argv[0];
        for (const char *c = argv[0]; *c; c++) if (*c == '/') name = c + 1;
        if (*name) cot_program = name;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = cot_sigint_during_start;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    cot_sigint_caught_at_start = sigaction(SIGINT, &action, &cot_sigint_at_start) == 0;
}

__attribute__((section(".preinit_array"), used))
static void (*const cot_start_entry)(int, char **, char **) = cot_start;

// cot_sigint_caught_at_start is volatile: clang evaluates constructors as if they ran first, and
// would drop this one.
__attribute__((constructor))
static void cot_started(void) {
    if (cot_sigint_caught_at_start) sigaction(SIGINT, &cot_sigint_at_start, NULL);
}

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
