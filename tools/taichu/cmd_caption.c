/* taichu caption: a Chinese caption per image.
 *
 *   taichu caption --model DIR IMG... [--beam K] [--max-len N] [--json]
 *
 * opt-v1 (spec §1.11, §5.2): image-only cross-encoder input, the txt_output decoder, greedy by default, 50 steps.
 * opt-v2 (spec A.3): prefix-LM through the text encoder + fusion with the MLM head, beam 4, 30 steps.
 * Text output: one "IMG<TAB>caption" line per image; --json adds the token ids and the normalised score.
 * Images are batched (--batch per forward pass). */
#include "args.h"
#include "command.h"
#include "infer_cli.h"

#include "core/progress.h"

#include <stdio.h>
#include <stdlib.h>

static int run_caption(int argc, char **argv) {
    const char *model = NULL;
    int threads = 0, beam = 0, max_len = 0, batch = 0, vocab_limit = 0;
    float alpha = 1.0f;
    bool json = false;
    tc_arg_spec specs[] = {
        {"model", TC_ARG_STR, &model, "DIR", "model directory (config.json, model.safetensors, vocab.txt)",
         "TAICHU_MODEL"},
        {"beam", TC_ARG_INT, &beam, "K", "beam width (default: v1 1 = greedy, v2 4)", NULL},
        {"max-len", TC_ARG_INT, &max_len, "N", "decode steps (default: v1 50, v2 30)", NULL},
        {"length-penalty", TC_ARG_FLOAT, &alpha, "A", "GNMT length-penalty weight (1.0)", NULL},
        {"vocab-limit", TC_ARG_INT, &vocab_limit, "N", "never emit ids >= N (default: no limit, as the original)",
         NULL},
        {"batch", TC_ARG_INT, &batch, "N", "images per forward pass (8)", NULL},
        {"json", TC_ARG_FLAG, &json, NULL, "JSON output with token ids and scores", NULL},
        {"threads", TC_ARG_INT, &threads, "N", "worker threads (default: all cores)", "TAICHU_THREADS"},
    };
    tc_args a;
    int rc = tc_args_parse(&a, "caption", "IMG...", specs, (int)(sizeof specs / sizeof specs[0]), argc, argv);
    if (rc) return rc < 0 ? 2 : 0;
    if (!model || a.npos == 0) {
        fprintf(stderr, "taichu caption: needs --model DIR and at least one image\n");
        tc_args_free(&a);
        return 2;
    }
    tc_infer *m = tc_cli_open_model(model, threads);
    if (!m) { tc_args_free(&a); return tc_cli_fail(); }
    tc_gen_params gp = tc_caption_defaults(m);
    if (beam) gp.beam = beam;
    if (max_len) gp.max_len = max_len;
    gp.length_penalty = alpha;
    gp.vocab_limit = vocab_limit;
    int n = a.npos, L = gp.max_len + 1;
    const char *const *paths = (const char *const *)a.pos;
    float *px = tc_cli_load_images(m, paths, n);
    int32_t *ids = calloc((size_t)n * (size_t)L, sizeof *ids);
    float *score = calloc((size_t)n, sizeof *score);
    tc_state *s = tc_state_new(batch);
    int status = 0;
    /* chunks of one forward pass each, so a long run shows progress (only when there is more than one) */
    int chunk = batch > 0 ? batch : 8;
    tc_progress prog;
    if (n > chunk) tc_progress_start(&prog, "caption", n);
    if (!px || !ids || !score) status = tc_cli_fail();
    for (int c0 = 0; c0 < n && !status; c0 += chunk) {
        int nb = n - c0 < chunk ? n - c0 : chunk;
        if (tc_caption(m, s, px + (long)c0 * tc_image_floats(m), nb, &gp, ids + (long)c0 * L, score + c0) != 0)
            status = tc_cli_fail();
        else if (n > chunk)
            tc_progress_add(&prog, nb);
    }
    if (n > chunk) tc_progress_finish(&prog);
    if (!status) {
        cJSON *doc = json ? cJSON_CreateArray() : NULL;
        for (int i = 0; i < n; i++) {
            const int32_t *g = ids + (long)i * L + 1; /* after the leading BOS 0 */
            int k = tc_cli_gen_len(g, gp.max_len);
            char *text = tc_ids_to_text(m, g, gp.max_len);
            if (json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "image", paths[i]);
                cJSON_AddStringToObject(o, "caption", text);
                cJSON_AddItemToObject(o, "ids", tc_cli_json_ids(g, k));
                cJSON_AddNumberToObject(o, "score", score[i]);
                cJSON_AddItemToArray(doc, o);
            } else {
                printf("%s\t%s\n", paths[i], text);
            }
            free(text);
        }
        if (json) tc_cli_print_json(doc);
        status = tc_cli_flush();
    }
    tc_state_free(s);
    free(px);
    free(ids);
    free(score);
    tc_model_close(m);
    tc_args_free(&a);
    return status;
}

const tc_command tc_command_caption = {"caption", "caption images in Chinese (greedy or beam search)", run_caption};
