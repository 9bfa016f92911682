/* Loss and metric curves of a run as a dependency-free SVG (`taichu plot RUN`, and RUN/curves.svg at
 * the end of training). Reads RUN/log.jsonl (log.h) and draws stacked panels sharing the step axis:
 *   1. training loss per task (raw values faint, an exponential moving average solid; "total" in sum mode)
 *   2. validation metrics (when the log has "eval" lines)
 *   3. learning rate
 * Each panel has "nice" ticks (1/2/5 × 10^k), axis titles and a legend. Long runs are binned to at most
 * 2000 points per series. */
#ifndef TC_TRAIN_PLOT_H
#define TC_TRAIN_PLOT_H

/* Plot run_dir/log.jsonl into out_svg (written atomically). */
int tc_plot_run(const char *run_dir, const char *out_svg);
/* Same from an explicit log path. */
int tc_plot_log(const char *log_jsonl, const char *out_svg, const char *title);

#endif
