// Small row-major products C = alpha op(A) op(B) + beta C in wider vectors than the Swift build's
// baseline (SSE2): AVX2 or AVX-512F, chosen at run time. Every entry is summed in the order of
// CotflowCore's `smallGemm` (s = sum_p op(A)_ip op(B)_pj, p ascending, from +0; then alpha s, plus
// beta C_ij when beta != 0), with separate multiplies and adds (no FMA), so the bits are the same
// as the Swift kernel's on every machine. notes/benchmarks.md, "Small products in C".
#ifndef COTFLOW_SMALL_PRODUCTS_H
#define COTFLOW_SMALL_PRODUCTS_H

/// Kernel identifiers: 0 none (the caller's Swift kernel), 1 AVX2, 2 AVX-512F.
typedef enum { COT_KERNEL_SWIFT = 0, COT_KERNEL_AVX2 = 1, COT_KERNEL_AVX512 = 2 } cot_kernel_id;

/// The widest kernel this CPU (and OS) runs.
int cot_small_gemm_best(void);

/// The kernel `cot_small_gemm` uses in this process, chosen at its first call: COTFLOW_KERNEL=swift
/// gives 0, =avx2 at most 1, anything else (unset, auto) the best.
int cot_small_gemm_kernel(void);

/// Makes `kernel` the process's kernel when this CPU runs it (tests); returns the kernel in use after the call.
int cot_small_gemm_set_kernel(int kernel);

/// Flags of a product: op(A) = A^T, op(B) = B^T, and causal: row i of C sums p <= i only
/// (`C_ij = alpha sum_{p <= min(i, k-1)} op(A)_ip op(B)_pj + beta C_ij`, p ascending).
#define COT_TRANS_A 1
#define COT_TRANS_B 2
#define COT_CAUSAL 4

/// The product with the process's kernel; returns 1 when done, 0 when the caller must compute it
/// (kernel 0, or op(B) transposed with more than 256 rows of op(B)).
int cot_small_gemm(int flags, long m, long n, long k, double alpha, const double *a, long lda,
                   const double *b, long ldb, double beta, double *c, long ldc);

/// The same with a given kernel (tests); 0 also when this CPU cannot run it.
int cot_small_gemm_with(int kernel, int flags, long m, long n, long k, double alpha, const double *a, long lda,
                        const double *b, long ldb, double beta, double *c, long ldc);

/// The GD chains w_0 = 0, w_{i+1,r} = w_ir + sum_c f_c S_cr (from w_ir, c ascending), f_c = (-eta)(w_ic - w*_c),
/// i < k, of `count` prompts (S: d x d at s + p d d, w* at wstar + p d) into out + p (k+1) d, in the
/// order of CotflowModel's `gdChain`, several prompts side by side. `kernel` -1: the process's.
/// Returns 0 when the caller must compute them (only the AVX-512F kernel has them, for d <= 24).
int cot_gd_chains(int kernel, long count, long d, long k, double eta, const double *s, const double *wstar, double *out);

#endif
