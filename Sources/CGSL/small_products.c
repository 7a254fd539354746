// Small products in AVX2 / AVX-512F with CotflowCore's `smallGemm` order per entry (see the header).
// Each function carries its own target attribute (the rest of the package stays baseline x86-64) and
// runs only after a run-time check of the CPU. Multiplies and adds are separate intrinsics and
// contraction is off, so no FMA changes a rounding: lanes and rows are independent sums, each
// s = ((0 + x_0 y_0) + x_1 y_1) + ..., then alpha s (+ beta c), exactly as in Swift.
#pragma STDC FP_CONTRACT OFF
#include "cotflow_small_products.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define COT_X86 1
#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2")))
#define INLINE static inline __attribute__((always_inline))

// Widest block of op(B)'s columns per pass and the packed copy of a transposed op(B).
enum { W512 = 24, W256 = 12, PACK_ROWS = 256 };

// Columns j0 ..< j0 + w of op(B) (k rows): B itself, or for a transposed op(B) (b[j ldb + p]) a copy
// transposed into `pack` (rows of `width`). The row stride of the result goes to `ld`.
static const double *column_block(int tb, const double *b, long ldb, long j0, long w, long k, double *pack, long width, long *ld) {
    if (!tb) { *ld = ldb; return b + j0; }
    for (long p = 0; p < k; p++)
        for (long j = 0; j < w; j++) pack[p * width + j] = b[(j0 + j) * ldb + p];
    *ld = width;
    return pack;
}

// R rows of op(A) (op(A)_ip = a[i ai + p ap]) times NV vectors of 8 columns of B (row-major at ldb;
// the last vector's lanes masked by `mask`) into C.
// Causal (`i0` >= 0, the index of the block's first row): row i0 + r sums p <= i0 + r only (and p < k).
AVX512 INLINE void block512(const int R, const int NV, __mmask8 mask, long k, long i0, double alpha, double beta,
                            const double *a, long ai, long ap, const double *b, long ldb, double *c, long ldc) {
    __m512d acc[4][3];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_pd();
    long all = i0 >= 0 && i0 + 1 < k ? i0 + 1 : k;  // the p every row sums
    for (long p = 0; p < all; p++) {
        const double *bp = b + p * ldb, *x = a + p * ap;
        __m512d bv[3];
        for (int v = 0; v < NV; v++)
            bv[v] = v == NV - 1 ? _mm512_maskz_loadu_pd(mask, bp + 8 * v) : _mm512_loadu_pd(bp + 8 * v);
        for (int r = 0; r < R; r++) {
            __m512d xr = _mm512_set1_pd(x[r * ai]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_add_pd(acc[r][v], _mm512_mul_pd(xr, bv[v]));
        }
    }
    // Causal: p = i0 + t for rows t and after.
    for (int t = 1; t < R; t++) {
        long p = i0 + t;
        if (i0 < 0 || p >= k) break;
        const double *bp = b + p * ldb, *x = a + p * ap;
        __m512d bv[3];
        for (int v = 0; v < NV; v++)
            bv[v] = v == NV - 1 ? _mm512_maskz_loadu_pd(mask, bp + 8 * v) : _mm512_loadu_pd(bp + 8 * v);
        for (int r = t; r < R; r++) {
            __m512d xr = _mm512_set1_pd(x[r * ai]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_add_pd(acc[r][v], _mm512_mul_pd(xr, bv[v]));
        }
    }
    __m512d va = _mm512_set1_pd(alpha), vb = _mm512_set1_pd(beta);
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) {
            double *cp = c + r * ldc + 8 * v;
            __mmask8 mk = v == NV - 1 ? mask : (__mmask8)0xFF;
            __m512d out = _mm512_mul_pd(va, acc[r][v]);
            if (beta != 0) out = _mm512_add_pd(out, _mm512_mul_pd(vb, _mm512_maskz_loadu_pd(mk, cp)));
            _mm512_mask_storeu_pd(cp, mk, out);
        }
}

// Every row of C for one block of NV vectors of columns: four rows at a time, then 1-3.
AVX512 INLINE void rows512(const int NV, __mmask8 mask, int causal, long m, long k, double alpha, double beta,
                           const double *a, long ai, long ap, const double *b, long ldb, double *c, long ldc) {
    long i = 0;
    for (; i + 4 <= m; i += 4) block512(4, NV, mask, k, causal ? i : -1, alpha, beta, a + i * ai, ai, ap, b, ldb, c + i * ldc, ldc);
    switch (m - i) {
    case 3: block512(3, NV, mask, k, causal ? i : -1, alpha, beta, a + i * ai, ai, ap, b, ldb, c + i * ldc, ldc); break;
    case 2: block512(2, NV, mask, k, causal ? i : -1, alpha, beta, a + i * ai, ai, ap, b, ldb, c + i * ldc, ldc); break;
    case 1: block512(1, NV, mask, k, causal ? i : -1, alpha, beta, a + i * ai, ai, ap, b, ldb, c + i * ldc, ldc); break;
    default: break;
    }
}

// op(B)_pj = b[p ldb + j], or b[j ldb + p] when `tb` (then each block of columns is first copied,
// transposed, into `pack`, k <= PACK_ROWS).
AVX512 static void gemm512(int tb, int causal, long m, long n, long k, double alpha, const double *a, long ai, long ap,
                           const double *b, long ldb, double beta, double *c, long ldc, double *pack) {
    for (long j0 = 0; j0 < n; j0 += W512) {
        long w = n - j0 < W512 ? n - j0 : W512;
        int nv = (int)((w + 7) / 8);
        __mmask8 mask = (__mmask8)(0xFFu >> (8 * nv - w));
        long ldbb;
        const double *bb = column_block(tb, b, ldb, j0, w, k, pack, W512, &ldbb);
        switch (nv) {
        case 1: rows512(1, mask, causal, m, k, alpha, beta, a, ai, ap, bb, ldbb, c + j0, ldc); break;
        case 2: rows512(2, mask, causal, m, k, alpha, beta, a, ai, ap, bb, ldbb, c + j0, ldc); break;
        default: rows512(3, mask, causal, m, k, alpha, beta, a, ai, ap, bb, ldbb, c + j0, ldc); break;
        }
    }
}

// GD chains of P prompts at once (independent dependency chains side by side): w_0 = 0,
// w_{i+1,r} = w_ir + sum_c f_c S_cr (from w_ir, c ascending), f_c = (-eta)(w_ic - w*_c).
AVX512 INLINE void chains512(const int P, const int NV, __mmask8 mask, long d, long k, double eta,
                             const double *s, const double *wstar, double *out) {
    long size = (k + 1) * d;
    double f[4][24];
    double ne = -eta;
    for (int q = 0; q < P; q++)
        for (long r = 0; r < d; r++) out[q * size + r] = 0;
    for (long i = 0; i < k; i++) {
        for (int q = 0; q < P; q++) {
            const double *w = out + q * size + i * d, *ws = wstar + q * d;
            for (long c = 0; c < d; c++) f[q][c] = ne * (w[c] - ws[c]);
        }
        __m512d acc[4][3];
        for (int q = 0; q < P; q++)
            for (int v = 0; v < NV; v++) {
                const double *w = out + q * size + i * d + 8 * v;
                acc[q][v] = v == NV - 1 ? _mm512_maskz_loadu_pd(mask, w) : _mm512_loadu_pd(w);
            }
        for (long c = 0; c < d; c++)
            for (int q = 0; q < P; q++) {
                __m512d fc = _mm512_set1_pd(f[q][c]);
                const double *row = s + q * d * d + c * d;
                for (int v = 0; v < NV; v++) {
                    __m512d sv = v == NV - 1 ? _mm512_maskz_loadu_pd(mask, row + 8 * v) : _mm512_loadu_pd(row + 8 * v);
                    acc[q][v] = _mm512_add_pd(acc[q][v], _mm512_mul_pd(fc, sv));
                }
            }
        for (int q = 0; q < P; q++)
            for (int v = 0; v < NV; v++)
                _mm512_mask_storeu_pd(out + q * size + (i + 1) * d + 8 * v, v == NV - 1 ? mask : (__mmask8)0xFF, acc[q][v]);
    }
}

AVX512 static void gd_chains512(long count, long d, long k, double eta, const double *s, const double *wstar, double *out) {
    int nv = (int)((d + 7) / 8);
    __mmask8 mask = (__mmask8)(0xFFu >> (8 * nv - d));
    long size = (k + 1) * d;
    long p = 0;
#define CHAINS(P) \
    switch (nv) { \
    case 1: chains512(P, 1, mask, d, k, eta, s + p * d * d, wstar + p * d, out + p * size); break; \
    case 2: chains512(P, 2, mask, d, k, eta, s + p * d * d, wstar + p * d, out + p * size); break; \
    default: chains512(P, 3, mask, d, k, eta, s + p * d * d, wstar + p * d, out + p * size); break; \
    }
    for (; p + 4 <= count; p += 4) { CHAINS(4) }
    switch (count - p) {
    case 3: CHAINS(3) break;
    case 2: CHAINS(2) break;
    case 1: CHAINS(1) break;
    default: break;
    }
#undef CHAINS
}

// The same in AVX2: vectors of 4 columns, masks as lanes with the sign bit set.
AVX2 INLINE void block256(const int R, const int NV, __m256i mask, long k, long i0, double alpha, double beta,
                          const double *a, long ai, long ap, const double *b, long ldb, double *c, long ldc) {
    __m256d acc[4][3];
    const __m256i every = _mm256_set1_epi64x(-1);
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm256_setzero_pd();
    long all = i0 >= 0 && i0 + 1 < k ? i0 + 1 : k;
    for (long p = 0; p < all; p++) {
        const double *bp = b + p * ldb, *x = a + p * ap;
        __m256d bv[3];
        for (int v = 0; v < NV; v++)
            bv[v] = v == NV - 1 ? _mm256_maskload_pd(bp + 4 * v, mask) : _mm256_loadu_pd(bp + 4 * v);
        for (int r = 0; r < R; r++) {
            __m256d xr = _mm256_set1_pd(x[r * ai]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm256_add_pd(acc[r][v], _mm256_mul_pd(xr, bv[v]));
        }
    }
    for (int t = 1; t < R; t++) {
        long p = i0 + t;
        if (i0 < 0 || p >= k) break;
        const double *bp = b + p * ldb, *x = a + p * ap;
        __m256d bv[3];
        for (int v = 0; v < NV; v++)
            bv[v] = v == NV - 1 ? _mm256_maskload_pd(bp + 4 * v, mask) : _mm256_loadu_pd(bp + 4 * v);
        for (int r = t; r < R; r++) {
            __m256d xr = _mm256_set1_pd(x[r * ai]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm256_add_pd(acc[r][v], _mm256_mul_pd(xr, bv[v]));
        }
    }
    __m256d va = _mm256_set1_pd(alpha), vb = _mm256_set1_pd(beta);
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) {
            double *cp = c + r * ldc + 4 * v;
            __m256i mk = v == NV - 1 ? mask : every;
            __m256d out = _mm256_mul_pd(va, acc[r][v]);
            if (beta != 0) out = _mm256_add_pd(out, _mm256_mul_pd(vb, _mm256_maskload_pd(cp, mk)));
            _mm256_maskstore_pd(cp, mk, out);
        }
}

// Four rows at a time with up to 8 columns, three with 12 (16 vector registers).
AVX2 INLINE void rows256(const int NV, __m256i mask, int causal, long m, long k, double alpha, double beta,
                         const double *a, long ai, long ap, const double *b, long ldb, double *c, long ldc) {
    long i = 0;
    if (NV < 3) {
        for (; i + 4 <= m; i += 4) block256(4, NV, mask, k, causal ? i : -1, alpha, beta, a + i * ai, ai, ap, b, ldb, c + i * ldc, ldc);
    }
    for (; i + 3 <= m; i += 3) block256(3, NV, mask, k, causal ? i : -1, alpha, beta, a + i * ai, ai, ap, b, ldb, c + i * ldc, ldc);
    switch (m - i) {
    case 2: block256(2, NV, mask, k, causal ? i : -1, alpha, beta, a + i * ai, ai, ap, b, ldb, c + i * ldc, ldc); break;
    case 1: block256(1, NV, mask, k, causal ? i : -1, alpha, beta, a + i * ai, ai, ap, b, ldb, c + i * ldc, ldc); break;
    default: break;
    }
}

AVX2 static void gemm256(int tb, int causal, long m, long n, long k, double alpha, const double *a, long ai, long ap,
                         const double *b, long ldb, double beta, double *c, long ldc, double *pack) {
    for (long j0 = 0; j0 < n; j0 += W256) {
        long w = n - j0 < W256 ? n - j0 : W256;
        int nv = (int)((w + 3) / 4);
        long live = w - 4 * (nv - 1);  // 1-4 lanes of the last vector
        __m256i mask = _mm256_set_epi64x(live > 3 ? -1 : 0, live > 2 ? -1 : 0, live > 1 ? -1 : 0, -1);
        long ldbb;
        const double *bb = column_block(tb, b, ldb, j0, w, k, pack, W256, &ldbb);
        switch (nv) {
        case 1: rows256(1, mask, causal, m, k, alpha, beta, a, ai, ap, bb, ldbb, c + j0, ldc); break;
        case 2: rows256(2, mask, causal, m, k, alpha, beta, a, ai, ap, bb, ldbb, c + j0, ldc); break;
        default: rows256(3, mask, causal, m, k, alpha, beta, a, ai, ap, bb, ldbb, c + j0, ldc); break;
        }
    }
}
#endif

int cot_small_gemm_best(void) {
#ifdef COT_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return COT_KERNEL_AVX512;
    if (__builtin_cpu_supports("avx2")) return COT_KERNEL_AVX2;
#endif
    return COT_KERNEL_SWIFT;
}

static int chosen_kernel = -1;

int cot_small_gemm_kernel(void) {
    int kernel = __atomic_load_n(&chosen_kernel, __ATOMIC_RELAXED);
    if (kernel >= 0) return kernel;
    // Every thread that gets here computes the same value.
    int best = cot_small_gemm_best();
    const char *env = getenv("COTFLOW_KERNEL");
    if (env && strcmp(env, "swift") == 0) kernel = COT_KERNEL_SWIFT;
    else if (env && strcmp(env, "avx2") == 0) kernel = best < COT_KERNEL_AVX2 ? best : COT_KERNEL_AVX2;
    else kernel = best;
    __atomic_store_n(&chosen_kernel, kernel, __ATOMIC_RELAXED);
    return kernel;
}

int cot_small_gemm_set_kernel(int kernel) {
    if (kernel >= COT_KERNEL_SWIFT && kernel <= cot_small_gemm_best()) __atomic_store_n(&chosen_kernel, kernel, __ATOMIC_RELAXED);
    return cot_small_gemm_kernel();
}

// The product with `kernel` (one this CPU runs); 0 when the caller must compute it.
static int run_kernel(int kernel, int flags, long m, long n, long k, double alpha, const double *a, long lda,
                      const double *b, long ldb, double beta, double *c, long ldc) {
#ifdef COT_X86
    int ta = (flags & COT_TRANS_A) != 0, tb = (flags & COT_TRANS_B) != 0, causal = (flags & COT_CAUSAL) != 0;
    if (kernel <= COT_KERNEL_SWIFT || (tb && k > PACK_ROWS)) return 0;
    if (m <= 0 || n <= 0) return 1;
    long ai = ta ? 1 : lda, ap = ta ? lda : 1;
    if (tb) {
        double pack[PACK_ROWS * W512];
        if (kernel == COT_KERNEL_AVX512) gemm512(1, causal, m, n, k, alpha, a, ai, ap, b, ldb, beta, c, ldc, pack);
        else gemm256(1, causal, m, n, k, alpha, a, ai, ap, b, ldb, beta, c, ldc, pack);
    } else if (kernel == COT_KERNEL_AVX512) {
        gemm512(0, causal, m, n, k, alpha, a, ai, ap, b, ldb, beta, c, ldc, NULL);
    } else {
        gemm256(0, causal, m, n, k, alpha, a, ai, ap, b, ldb, beta, c, ldc, NULL);
    }
    return 1;
#else
    (void)kernel; (void)flags; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda;
    (void)b; (void)ldb; (void)beta; (void)c; (void)ldc;
    return 0;
#endif
}

int cot_gd_chains(int kernel, long count, long d, long k, double eta, const double *s, const double *wstar, double *out) {
#ifdef COT_X86
    if (kernel == -1) kernel = cot_small_gemm_kernel();
    else if (kernel > cot_small_gemm_best()) return 0;
    if (kernel != COT_KERNEL_AVX512 || d > 24 || d < 1) return 0;
    if (count > 0) gd_chains512(count, d, k, eta, s, wstar, out);
    return 1;
#else
    (void)kernel; (void)count; (void)d; (void)k; (void)eta; (void)s; (void)wstar; (void)out;
    return 0;
#endif
}

int cot_small_gemm_with(int kernel, int flags, long m, long n, long k, double alpha, const double *a, long lda,
                        const double *b, long ldb, double beta, double *c, long ldc) {
    if (kernel > cot_small_gemm_best()) return 0;
    return run_kernel(kernel, flags, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int cot_small_gemm(int flags, long m, long n, long k, double alpha, const double *a, long lda,
                   const double *b, long ldb, double beta, double *c, long ldc) {
    return run_kernel(cot_small_gemm_kernel(), flags, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
