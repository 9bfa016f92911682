/* The machine's FP32 peak, the denominator of MFU (model FLOPs utilisation) in the training progress.
 *
 * Measured once with a short FMA loop (independent accumulators, so the FMA pipes stay full: 512-bit
 * vectors where the CPU has AVX-512F, else 256-bit): the best of many ~1 ms single-thread bursts, times the
 * engine's thread count (tc_get_threads), so a busy shared machine still yields the cores' rate. Cached in
 * $XDG_CACHE_HOME/taichu/peak-gflops (default ~/.cache/...) keyed by thread count and vector width.
 * $TAICHU_PEAK_GFLOPS (or the CLI's --peak-gflops) overrides the measurement. */
#ifndef TC_TRAIN_PEAK_H
#define TC_TRAIN_PEAK_H

/* Peak GFLOP/s of `threads` cores from about `seconds` of single-thread FMA bursts (no cache). */
double tc_peak_measure(int threads, double seconds);
/* Override > 0, else $TAICHU_PEAK_GFLOPS, else the cached value, else measure (~0.2 s) and cache. */
double tc_peak_gflops(double override_gflops);

#endif
