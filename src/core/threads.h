/* Thread count for the whole engine: OpenMP (element-wise, norm, attention kernels) and OpenBLAS are
 * set together so the two pools never oversubscribe the cores.
 *
 *   tc_set_threads(n): n > 0 uses n threads; n = 0 uses $TAICHU_THREADS if set, else the number of
 *   online cores. Returns the count in effect. Nested OpenMP parallelism is switched off.
 *
 * Call it from the main thread, outside any parallel region (e.g. once at start-up from --threads). */
#ifndef TC_CORE_THREADS_H
#define TC_CORE_THREADS_H

int tc_set_threads(int n);
int tc_get_threads(void);    /* the count set last (initialised on first use as tc_set_threads(0)) */

/* OpenBLAS runs single-threaded between these two calls: for kernels that call tc_sgemm from inside
 * their own OpenMP loop (attention per (batch, head)). Main thread only; calls may not nest. */
void tc_blas_single_begin(void);
void tc_blas_single_end(void);

#endif
