/* Shared pieces of the inference commands (itm, embed, caption, vqa): opening a model directory with the
 * thread count, loading images, printing JSON. */
#ifndef TC_TOOLS_INFER_CLI_H
#define TC_TOOLS_INFER_CLI_H

#include <cJSON.h>
#include <taichu.h>

/* Set the thread count (0 = $TAICHU_THREADS or all cores), then open dir. NULL with the error set. */
tc_infer *tc_cli_open_model(const char *dir, int threads);
/* Decode + preprocess n images: malloc'd [n][tc_image_floats], or NULL with the error set. */
float *tc_cli_load_images(const tc_infer *m, const char *const *paths, int n);
/* Print a JSON document (pretty, newline-terminated) to stdout and free it. */
void tc_cli_print_json(cJSON *doc);
/* Flush stdout; a failed write becomes an error (returns 1 after printing it), else 0. */
int tc_cli_flush(void);
/* JSON array of n ints / floats. */
cJSON *tc_cli_json_ids(const int32_t *ids, int n);
cJSON *tc_cli_json_floats(const float *v, int n);
/* --mask-row value: "none" -> -1, "0", "1". -1 return with the error set for anything else. */
int tc_cli_mask_row(const char *s, int *row);
/* Number of ids before the first 0 (the generated tokens of ids + 1, after the leading BOS). */
int tc_cli_gen_len(const int32_t *ids, int n);

#endif
