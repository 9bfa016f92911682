/* taichu's AVX-512 SGEMM: packed, cache-blocked, register-blocked (docs/gemm.md).
 *
 * Loop nest (BLIS/Goto style, row-major C with vectors running along N):
 *   jc over N by NC          B panel  [kc × NC]  packed once per (jc, pc)
 *    pc over K by kc         kc <= KC = 768: K in equal blocks (block_sizes)
 *     ic over M by mc        A block  [mc × kc] (~344 KB, L2) packed per thread, one micro-panel at a time
 *      jr over NC by NR      one B micro-panel [kc × NR] (L1/L2) is reused while ...
 *       ir over mc by MR     ... the 14×32 micro-kernel streams the A micro-panels [kc × MR] of the block
 * The micro-kernel keeps a 14×32 C tile in 28 zmm accumulators; per k it loads two B vectors and does
 * 28 FMAs with embedded broadcasts of A, so it is bound by the FMA pipes, not by loads.
 *
 * Edges: packed A is zero-padded to MR rows and row tails run a kernel compiled for fewer rows; B is
 * read with lane masks, so column tails need no padding and an unpacked B can be read in place. Stores
 * are masked and only the valid rows are written. beta == 0 never reads C.
 *
 * Small problems skip packing: B is read in place when it is not transposed and M <= 64 (direct_b), A is
 * read in place when the whole product is small (direct_a), e.g. attention's 64×64×64 per head.
 *
 * Threads (tc_sgemm_avx512's nthreads > 1) split M or N, whichever a small cost model prefers; each thread
 * packs its own panels and never waits for the other, except for thin problems where duplicating the B
 * panel would cost > 5 % and the team packs one shared panel between barriers.
 *
 * Everything AVX-512 lives in functions marked TC_AVX512; callers check CPUID first (gemm.c). */
#include "core/gemm_avx512.h"

#include <immintrin.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MR TC_GEMM_MR
#define NR TC_GEMM_NR
#define KC TC_GEMM_KC
#define MC TC_GEMM_MC
#define NC TC_GEMM_NC
#define NV (NR / 16)
#ifndef TC_GEMM_EMBEDDED_BROADCAST
#define TC_GEMM_EMBEDDED_BROADCAST 1
#endif
#ifndef TC_GEMM_DIRECT_A_MAX_MACS
#define TC_GEMM_DIRECT_A_MAX_MACS (1L << 20)
#endif

#define TC_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))

/* ---- per-thread packing buffers: grown on demand, kept for the thread's lifetime (no malloc per call) */
typedef struct {
    float *p;
    size_t cap; /* floats */
} pack_buf;

static _Thread_local pack_buf tls_apack; /* [MC/MR][KC][MR] this thread's A block */
static _Thread_local pack_buf tls_bpack; /* [NC/NR][KC][NR] the B panel of calls this thread leads */

static float *pack_buf_get(pack_buf *b, size_t n) {
    if (n > b->cap) {
        free(b->p);
        size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
        b->p = aligned_alloc(64, bytes);
        if (!b->p) {
            fprintf(stderr, "taichu: out of memory allocating %zu bytes for GEMM packing\n", bytes);
            abort();
        }
        b->cap = n;
    }
    return b->p;
}

typedef struct {
    int ta, tb, M, N, K;
    float alpha, beta;
    const float *A, *B;
    long lda, ldb, ldc;
    float *C;
    const float *bias; /* [N] added to every row of C once (the pc == 0 pass), or NULL */
    int direct_b; /* B is read in place (no transpose, small M): no packing, no barriers */
    int split_n;  /* threads split the N micro-panels (else the M micro-panels) */
    int shared_b; /* M split with one B panel packed by the whole team (barriers), else private B */
    int direct_a; /* A is read in place (small problems: packing would not pay for itself) */
    int kc, mc;   /* K block (<= KC) and M block (<= MC) for this problem, see block_sizes */
} gemm_prob;

static inline __mmask16 lane_mask(int n) { /* first n (0..16) lanes */
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* In-place transpose of a 16×16 float block held in r[0..15] (row i -> column i). */
TC_AVX512 static inline __attribute__((always_inline)) void transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);     /* a0 b0 a1 b1 | a4 b4 a5 b5 | ... */
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]); /* a2 b2 a3 b3 | ... */
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        __m512 lo0 = t[4 * i], hi0 = t[4 * i + 1], lo1 = t[4 * i + 2], hi1 = t[4 * i + 3];
        u[4 * i + 0] = _mm512_shuffle_ps(lo0, lo1, 0x44); /* a0 b0 c0 d0 | a4 b4 c4 d4 | a8.. | a12.. */
        u[4 * i + 1] = _mm512_shuffle_ps(lo0, lo1, 0xEE); /* a1 b1 c1 d1 | ... */
        u[4 * i + 2] = _mm512_shuffle_ps(hi0, hi1, 0x44); /* a2 ... */
        u[4 * i + 3] = _mm512_shuffle_ps(hi0, hi1, 0xEE); /* a3 ... */
    }
    /* u[4g + c] holds, in 128-bit lane l, column 4l + c of rows 4g..4g+3. */
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);      /* lanes: g0.l0 g0.l2 g1.l0 g1.l2 */
        __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);      /* g0.l1 g0.l3 g1.l1 g1.l3 */
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88); /* g2.l0 g2.l2 g3.l0 g3.l2 */
        __m512 v3 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
        r[c + 0] = _mm512_shuffle_f32x4(v0, v2, 0x88);  /* g0.l0 g1.l0 g2.l0 g3.l0: column c */
        r[c + 8] = _mm512_shuffle_f32x4(v0, v2, 0xDD);  /* g0.l2 ...: column 8 + c */
        r[c + 4] = _mm512_shuffle_f32x4(v1, v3, 0x88);  /* column 4 + c */
        r[c + 12] = _mm512_shuffle_f32x4(v1, v3, 0xDD); /* column 12 + c */
    }
}

_Static_assert(MR <= 16, "pack_a transposes MR rows in 16-row blocks");

/* Load `n` rows (the rest zero) of up to 16 floats (lane mask m), `lds` apart, and transpose them:
 * r[j] = column j. Every index into r is a constant once inlined, so r stays in registers; the callers'
 * partial blocks (row or k tails) go through the noinline *_tail functions below, because a loop with a
 * variable bound over r would force the whole array onto the stack (it did: 100 spills in pack_b). */
TC_AVX512 static inline __attribute__((always_inline)) void load_t16(const float *s, long lds, int n, __mmask16 m,
                                                                    __m512 r[16]) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) r[i] = i < n ? _mm512_maskz_loadu_ps(m, s + (size_t)i * lds) : _mm512_setzero_ps();
    transpose16(r);
}

/* The general case of one 16×16 block: n source rows, kk columns (k values), written as kk rows of `w`
 * floats (w = 16, or MR = 14 with the overlapping-store trick of pack_a) `ldd` apart. */
TC_AVX512 static __attribute__((noinline)) void t16_tail(const float *s, long lds, int n, int kk, float *d, long ldd) {
    __m512 r[16];
    load_t16(s, lds, n, lane_mask(kk), r);
    for (int j = 0; j < kk; j++) _mm512_storeu_ps(d + (size_t)j * ldd, r[j]);
}

/* Pack rows [i0, i0+mc) × k in [p0, p0+kc) of op(A) into MR-row micro-panels: dst[panel][k][MR].
 * Each k row of MR = 14 floats is written with a full 16-lane store: the 2 extra lanes land on the next
 * row (or panel), which is written afterwards, so dst needs 16 floats of slack at the end. Masked
 * stores are slow on Zen 4; overlapping plain stores are not. */
TC_AVX512 static void pack_a(const gemm_prob *P, int i0, int mc, int p0, int kc, float *dst) {
    for (int ir = 0; ir < mc; ir += MR) {
        int rows = mc - ir < MR ? mc - ir : MR;
        float *d = dst + (size_t)ir * kc; /* [kc][MR] */
        if (P->ta) {                      /* A stored K×M: a row of MR values per k is contiguous */
            __mmask16 m = lane_mask(rows);
            const float *s = P->A + (size_t)p0 * P->lda + i0 + ir;
            for (int k = 0; k < kc; k++)
                _mm512_storeu_ps(d + (size_t)k * MR, _mm512_maskz_loadu_ps(m, s + (size_t)k * P->lda));
            continue;
        }
        /* A stored M×K: transpose 16-wide strips of the MR rows (rows 14, 15 of the block are zero) */
        const float *s = P->A + (size_t)(i0 + ir) * P->lda + p0;
        for (int k = 0; k < kc; k += 16) {
            if (rows < MR || kc - k < 16) {
                t16_tail(s + k, P->lda, rows, kc - k < 16 ? kc - k : 16, d + (size_t)k * MR, MR);
                continue;
            }
            /* the next 64 k of these rows: 14 strided streams are too many for the prefetchers */
#pragma GCC unroll 16
            for (int i = 0; i < MR; i++) _mm_prefetch((const char *)(s + (size_t)i * P->lda + k + 64), _MM_HINT_T0);
            __m512 r[16];
            load_t16(s + k, P->lda, MR, (__mmask16)0xFFFF, r);
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++) _mm512_storeu_ps(d + (size_t)(k + j) * MR, r[j]);
        }
    }
}

/* Pack columns [j0, j0+nr) (nr <= NR) × k in [p0, p0+kc) of op(B) into one micro-panel dst[kc][NR]. */
TC_AVX512 static void pack_b(const gemm_prob *P, int p0, int kc, int j0, int nr, float *dst) {
    if (!P->tb) { /* B stored K×N: rows are contiguous */
        __mmask16 m[NV];
        for (int v = 0; v < NV; v++) m[v] = lane_mask(nr - 16 * v);
        const float *s = P->B + (size_t)p0 * P->ldb + j0;
        for (int k = 0; k < kc; k++) {
            const float *row = s + (size_t)k * P->ldb;
            for (int v = 0; v < NV; v++)
                _mm512_store_ps(dst + (size_t)k * NR + 16 * v, _mm512_maskz_loadu_ps(m[v], row + 16 * v));
        }
        return;
    }
    /* B stored N×K: transpose 16×16 blocks, NV per 16 k values. */
    const float *s = P->B + (size_t)j0 * P->ldb + p0;
    for (int k = 0; k < kc; k += 16) {
        for (int h = 0; h < NV; h++) {
            const float *sh = s + (size_t)h * 16 * P->ldb + k;
            int n = nr - 16 * h < 0 ? 0 : nr - 16 * h > 16 ? 16 : nr - 16 * h;
            if (n < 16 || kc - k < 16) {
                t16_tail(sh, P->ldb, n, kc - k < 16 ? kc - k : 16, dst + (size_t)k * NR + h * 16, NR);
                continue;
            }
            __m512 r[16];
            load_t16(sh, P->ldb, 16, (__mmask16)0xFFFF, r);
#pragma GCC unroll 16
            for (int q = 0; q < 16; q++) _mm512_store_ps(dst + (size_t)(k + q) * NR + h * 16, r[q]);
        }
    }
}

/* What the micro-kernel prefetches, one cache line per k step: the unpacked source of the panel that is
 * packed next (an A micro-panel, or a B micro-panel on the first pass over B). It walks `rows` rows
 * `stride` bytes apart, then moves 64 bytes right, until `left` lines are done; one cursor may span
 * several kernel calls. Packing is memory-bound, the kernel is compute-bound: issuing the packing's
 * loads early from the kernel hides most of their latency. */
typedef struct {
    const char *line, *p; /* top of the current column of lines; next address */
    size_t stride;
    int rows, row;
    long left; /* lines still to prefetch; 0 = nothing to do */
} prefetch_cursor;

/* A region of `rows` rows of `bytes` bytes, `stride` bytes apart. */
static prefetch_cursor cursor_make(const float *start, size_t stride, int rows, size_t bytes) {
    uintptr_t a = (uintptr_t)start, first = a & ~(uintptr_t)63, last = (a + bytes - 1) & ~(uintptr_t)63;
    prefetch_cursor c = {(const char *)first, (const char *)first, stride, rows, 0, 0};
    c.left = (long)rows * (long)((last - first) / 64 + 1);
    return c;
}

/* The source of the MR-row A micro-panel at rows [i0, i0+MR) × k [p0, p0+kc); nothing when i0 >= i1. */
static prefetch_cursor a_cursor(const gemm_prob *P, int i0, int i1, int p0, int kc) {
    prefetch_cursor none = {0};
    if (i0 >= i1) return none;
    int rows = i1 - i0 < MR ? i1 - i0 : MR;
    size_t stride = (size_t)P->lda * sizeof(float);
    if (P->ta) return cursor_make(P->A + (size_t)p0 * P->lda + i0, stride, kc, (size_t)rows * sizeof(float));
    return cursor_make(P->A + (size_t)i0 * P->lda + p0, stride, rows, (size_t)kc * sizeof(float));
}

/* The source of the B micro-panel at k [p0, p0+kc) × columns [j0, j0+nr). */
static prefetch_cursor b_cursor(const gemm_prob *P, int p0, int kc, int j0, int nr) {
    size_t stride = (size_t)P->ldb * sizeof(float);
    if (P->tb) return cursor_make(P->B + (size_t)j0 * P->ldb + p0, stride, nr, (size_t)kc * sizeof(float));
    return cursor_make(P->B + (size_t)p0 * P->ldb + j0, stride, kc, (size_t)nr * sizeof(float));
}

/* The R×NR micro-kernel (R <= MR rows, NR = 16·NV columns). a: packed [kc][MR] (only the first R of
 * each MR are used); b: [kc] rows of NR floats, row stride ldb (NR when packed, the caller's ldb when B is
 * read in place); m[v] masks the valid columns of vector v; rows = valid rows (<= R). Inlined with a
 * constant R, the loops over i and v unroll fully and acc lives in zmm registers (28 for 14×32).
 * Row tails use the smallest even R >= rows, so M = 64 or 2048 waste at most one row of FMAs.
 * packed = 0 (small problems, see direct_a): A is read in place, element (i, k) at a[i·rsa + k·csa]. */
TC_AVX512 static inline __attribute__((always_inline)) void kernel_body(const int R, const int packed, int kc,
                                                                       const float *restrict a, long rsa, long csa,
                                                                       const float *restrict b, long ldb,
                                                                       const __mmask16 *m, float *restrict c,
                                                                       long ldc, int rows, float alpha, float beta,
                                                                       const float *bias, prefetch_cursor *pf) {
    __m512 acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < R; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
    for (int i = 0; i < rows; i++)
        for (int v = 0; v < NV; v++) _mm_prefetch((const char *)(c + (size_t)i * ldc + 16 * v), _MM_HINT_T0);
    __mmask16 mv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) mv[v] = m[v];
    /* one line of the next panel's source per k step (see prefetch_cursor); pf is NULL when !packed */
    prefetch_cursor cur = {0};
    if (packed) cur = *pf;
    /* In place, rows past `rows` do not exist: they re-read the last valid row (results not stored). */
    long aoff[MR];
#pragma GCC unroll 16
    for (int i = 0; i < R; i++) aoff[i] = (i < rows ? i : rows - 1) * rsa;
    for (int k = 0; k < kc; k++) {
        if (packed && cur.left > 0) {
            _mm_prefetch(cur.p, _MM_HINT_T0);
            cur.left--;
            cur.p += cur.stride;
            if (++cur.row == cur.rows) {
                cur.row = 0;
                cur.line += 64;
                cur.p = cur.line;
            }
        }
        __m512 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) bv[v] = _mm512_maskz_loadu_ps(mv[v], b + 16 * v);
#pragma GCC unroll 16
        for (int i = 0; i < R; i++) {
#if TC_GEMM_EMBEDDED_BROADCAST
            /* FMA with an embedded {1to16} broadcast of A: no separate broadcast op competing with the
             * FMAs for the FP pipes (gcc 12 does not fold _mm512_set1_ps into the FMA by itself).
             * Measured 3-5 % faster on Zen 4. */
            if (packed && NV == 2) {
                __asm__("vfmadd231ps %[a]%{1to16%}, %[b0], %[c0]\n\tvfmadd231ps %[a]%{1to16%}, %[b1], %[c1]"
                        : [c0] "+v"(acc[i][0]), [c1] "+v"(acc[i][1])
                        : [b0] "v"(bv[0]), [b1] "v"(bv[1]), [a] "m"(a[i]));
                continue;
            }
#endif
            __m512 ai = _mm512_set1_ps(packed ? a[i] : a[aoff[i]]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        a += packed ? MR : csa;
        b += ldb;
    }
    if (packed) *pf = cur;
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    int read_c = beta != 0.0f;
    /* bias epilogue (tc_linear): added here instead of pre-filling C, which saves a write and a read of C */
    __m512 bb[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) bb[v] = bias ? _mm512_maskz_loadu_ps(mv[v], bias + 16 * v) : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int i = 0; i < R; i++) {
        if (i >= rows) break;
        float *cr = c + (size_t)i * ldc;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            __m512 x = _mm512_mul_ps(acc[i][v], va);
            if (read_c) x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mv[v], cr + 16 * v), x);
            if (bias) x = _mm512_add_ps(x, bb[v]);
            _mm512_mask_storeu_ps(cr + 16 * v, mv[v], x);
        }
    }
}

typedef void (*kernel_fn)(int kc, const float *restrict a, long rsa, long csa, const float *restrict b, long ldb,
                          const __mmask16 *m, float *restrict c, long ldc, int rows, float alpha, float beta,
                          const float *bias, prefetch_cursor *pf);
#define DEF_KERNEL(R, P, NAME)                                                                                \
    TC_AVX512 static void NAME(int kc, const float *restrict a, long rsa, long csa, const float *restrict b,  \
                               long ldb, const __mmask16 *m, float *restrict c, long ldc, int rows,           \
                               float alpha, float beta, const float *bias, prefetch_cursor *pf) {             \
        kernel_body(R, P, kc, a, rsa, csa, b, ldb, m, c, ldc, rows, alpha, beta, bias, pf);                   \
    }
#define DEF_KERNELS(R) DEF_KERNEL(R, 1, kernel_r##R) DEF_KERNEL(R, 0, kernel_direct_r##R)
DEF_KERNELS(2)
DEF_KERNELS(4)
DEF_KERNELS(6)
DEF_KERNELS(8)
DEF_KERNELS(10)
DEF_KERNELS(12)
DEF_KERNELS(14)
#undef DEF_KERNELS
#undef DEF_KERNEL
_Static_assert(MR == 14, "the kernel tables below cover MR = 14");
/* [packed][rows] */
static const kernel_fn kernel_for_rows[2][MR + 1] = {
    {NULL, kernel_direct_r2, kernel_direct_r2, kernel_direct_r4, kernel_direct_r4, kernel_direct_r6,
     kernel_direct_r6, kernel_direct_r8, kernel_direct_r8, kernel_direct_r10, kernel_direct_r10, kernel_direct_r12,
     kernel_direct_r12, kernel_direct_r14, kernel_direct_r14},
    {NULL, kernel_r2, kernel_r2, kernel_r4, kernel_r4, kernel_r6, kernel_r6, kernel_r8, kernel_r8, kernel_r10,
     kernel_r10, kernel_r12, kernel_r12, kernel_r14, kernel_r14},
};

/* One thread's share of the loop nest. With shared_b the team packs one B panel together and meets at
 * two barriers per KC step; otherwise each thread packs the B micro-panels it uses into its own buffer
 * and never waits for the other (robust when the cores are oversubscribed). bshared: the team's panel. */
TC_AVX512 static void gemm_thread(const gemm_prob *P, int nt, int tid, float *bshared) {
    float *apack = pack_buf_get(&tls_apack, (size_t)TC_GEMM_A_FLOATS + 16); /* + slack, see pack_a */
    int shared_b = P->shared_b && nt > 1;
    float *bpack = shared_b ? bshared : P->direct_b ? NULL : pack_buf_get(&tls_bpack, (size_t)NC * KC);
    int mpanels = (P->M + MR - 1) / MR;
    int m_lo = 0, m_hi = P->M;
    if (!P->split_n) {
        m_lo = (int)((long)mpanels * tid / nt) * MR;
        m_hi = (int)((long)mpanels * (tid + 1) / nt) * MR;
        if (m_hi > P->M) m_hi = P->M;
    }
    for (int jc = 0; jc < P->N; jc += NC) {
        int nc = P->N - jc < NC ? P->N - jc : NC;
        int npanels = (nc + NR - 1) / NR;
        int n_lo = 0, n_hi = npanels; /* micro-panel range this thread computes */
        if (P->split_n) {
            n_lo = (int)((long)npanels * tid / nt);
            n_hi = (int)((long)npanels * (tid + 1) / nt);
        }
        for (int pc = 0; pc < P->K; pc += P->kc) {
            int kc = P->K - pc < P->kc ? P->K - pc : P->kc;
            float beta = pc == 0 ? P->beta : 1.0f;
            const float *bias_pc = pc == 0 ? P->bias : NULL;
            /* shared panel: the team packs it together up front. Private panels: each thread packs the
             * ones it uses lazily, during its first ic block, the kernels prefetching the next one. */
            int lazy_b = !P->direct_b && !shared_b;
            if (shared_b) {
                for (int jp = tid; jp < npanels; jp += nt) {
                    int nr = nc - jp * NR < NR ? nc - jp * NR : NR;
                    pack_b(P, pc, kc, jc + jp * NR, nr, bpack + (size_t)jp * NR * kc);
                }
#pragma omp barrier
            }
            /* M blocks of equal panel counts (at most mc rows): 788 rows in blocks of 112 would leave a
             * last block of 4 rows that streams every B micro-panel from L3 for 4×32 outputs each. */
            int mpan = (m_hi - m_lo + MR - 1) / MR, bpan = P->mc / MR;
            int nblk = mpan > 0 ? (mpan + bpan - 1) / bpan : 0;
            for (int blk = 0; blk < nblk; blk++) {
                int ic = m_lo + (int)((long)mpan * blk / nblk) * MR;
                int ie = m_lo + (int)((long)mpan * (blk + 1) / nblk) * MR;
                int mc = (ie < m_hi ? ie : m_hi) - ic;
                /* A micro-panels are packed lazily during the first jp pass, each right after the
                 * kernel before it prefetched its source (the first one is packed cold). */
                if (n_hi > n_lo && !P->direct_a) pack_a(P, ic, mc < MR ? mc : MR, pc, kc, apack);
                for (int jp = n_lo; jp < n_hi; jp++) {
                    int nr = nc - jp * NR < NR ? nc - jp * NR : NR;
                    int first_b = lazy_b && ic == m_lo;
                    if (first_b) pack_b(P, pc, kc, jc + jp * NR, nr, bpack + (size_t)jp * NR * kc);
                    prefetch_cursor bcur = {0};
                    if (first_b && jp > n_lo && jp + 1 < n_hi) {
                        int nr1 = nc - (jp + 1) * NR < NR ? nc - (jp + 1) * NR : NR;
                        bcur = b_cursor(P, pc, kc, jc + (jp + 1) * NR, nr1);
                    }
                    const float *bp;
                    long ldbp;
                    if (P->direct_b) {
                        bp = P->B + (size_t)pc * P->ldb + jc + jp * NR;
                        ldbp = P->ldb;
                    } else {
                        bp = bpack + (size_t)jp * NR * kc;
                        ldbp = NR;
                    }
                    __mmask16 m[NV];
                    for (int v = 0; v < NV; v++) m[v] = lane_mask(nr - 16 * v);
                    float *cp = P->C + (size_t)ic * P->ldc + jc + jp * NR;
                    const float *bp_bias = bias_pc ? bias_pc + jc + jp * NR : NULL;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int rows = mc - ir < MR ? mc - ir : MR;
                        if (P->direct_a) {
                            long i = ic + ir;
                            const float *ap = P->ta ? P->A + (size_t)pc * P->lda + i : P->A + (size_t)i * P->lda + pc;
                            kernel_for_rows[0][rows](kc, ap, P->ta ? 1 : P->lda, P->ta ? P->lda : 1, bp, ldbp, m,
                                                     cp + (size_t)ir * P->ldc, P->ldc, rows, P->alpha, beta, bp_bias, NULL);
                            continue;
                        }
                        prefetch_cursor acur = a_cursor(P, ic + ir + MR, jp == n_lo ? ic + mc : 0, pc, kc);
                        kernel_for_rows[1][rows](kc, apack + (size_t)ir * kc, 1, MR, bp, ldbp, m,
                                                 cp + (size_t)ir * P->ldc, P->ldc, rows, P->alpha, beta,
                                                 bp_bias, jp == n_lo ? &acur : &bcur);
                        if (jp == n_lo && ir + MR < mc)
                            pack_a(P, ic + ir + MR, mc - ir - MR < MR ? mc - ir - MR : MR, pc, kc,
                                   apack + (size_t)(ir + MR) * kc);
                    }
                }
            }
            if (shared_b) { /* nobody may repack the panel while another thread still reads it */
#pragma omp barrier
            }
        }
    }
}

/* K and M blocks. K is cut into the fewest blocks of at most KC (768), of equal size rounded up to 16:
 * every K block is one pass of loads and stores over C, so long K blocks save C traffic (on the ViT's
 * 788×3072×768 products KC = 768 ran 5 % faster than 256). The A block MC×kc is kept at about 344 KB
 * (TC_GEMM_A_FLOATS) so that it stays in L2 next to the B micro-panel the kernels stream. */
static void block_sizes(int K, int *kc, int *mc) {
    int nk = (K + KC - 1) / KC;
    int k = ((K + nk - 1) / nk + 15) & ~15;
    if (k > KC) k = KC;
    int m = TC_GEMM_A_FLOATS / k / MR * MR;
    *kc = k;
    *mc = m < 4 * MR ? 4 * MR : m > MC ? MC : m;
}

/* Fraction of the ideal per-thread share that the busiest thread gets when `units` are split nt ways. */
static double split_balance(int units, int nt) {
    int busiest = (units + nt - 1) / nt;
    return busiest ? (double)units / nt / busiest : 0.0;
}

void tc_sgemm_avx512(int transA, int transB, int M, int N, int K, float alpha, const float *A, long lda,
                     const float *B, long ldb, float beta, float *C, long ldc, int nthreads) {
    tc_sgemm_avx512_bias(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, nthreads);
}

void tc_sgemm_avx512_bias(int transA, int transB, int M, int N, int K, float alpha, const float *A, long lda,
                          const float *B, long ldb, float beta, float *C, long ldc, const float *bias,
                          int nthreads) {
    if (M <= 0 || N <= 0 || K <= 0) return; /* the caller handles K == 0 / alpha == 0 (pure scaling) */
    gemm_prob P = {transA, transB, M, N, K, alpha, beta, A, B, lda, ldb, ldc, C, bias, 0, 0, 0, 0, 0, 0};
    block_sizes(K, &P.kc, &P.mc);
    /* Small M: packing B would cost as much as the multiply saves, so read it in place (needs rows). */
    P.direct_b = !transB && M <= 64;
    /* Small problems (attention per head, 64×64×64): A is used by few B micro-panels and packing it
     * costs more than the strided broadcasts it saves. */
    P.direct_a = (long)M * N * K <= TC_GEMM_DIRECT_A_MAX_MACS;
    int mpanels = (M + MR - 1) / MR, npanels = (N + NR - 1) / NR;
    if (nthreads > mpanels && nthreads > npanels) nthreads = mpanels > npanels ? mpanels : npanels;
    if (nthreads <= 1) {
        gemm_thread(&P, 1, 0, NULL); /* a lone thread packs into its own buffers */
        return;
    }
    /* Cost model in multiply-adds per thread: the busiest thread's share of the product plus what it
     * packs (a packed element costs about as much as PACK_COST multiply-adds; packing is memory-bound).
     * Splitting M, every thread packs all of B; splitting N, every thread packs all of A. */
    const double PACK_COST = 48.0;
    double macs = (double)M * N * K / nthreads;
    double bm = split_balance(mpanels, nthreads), bn = split_balance(npanels < NC / NR ? npanels : NC / NR, nthreads);
    double t_m = macs / bm + PACK_COST * ((double)K * N + (double)M * K / nthreads);
    double t_n = macs / bn + PACK_COST * ((double)M * K + (double)K * N / nthreads);
    P.split_n = P.direct_b || t_n < t_m;
    /* Share the B panel (and pay the barriers) only when private copies would cost more than 5 %. */
    P.shared_b = !P.split_n && PACK_COST * K * N * (nthreads - 1) / nthreads > 0.05 * macs;
    float *bshared = P.shared_b ? pack_buf_get(&tls_bpack, (size_t)NC * KC) : NULL;
#pragma omp parallel num_threads(nthreads)
    gemm_thread(&P, omp_get_num_threads(), omp_get_thread_num(), bshared);
}
