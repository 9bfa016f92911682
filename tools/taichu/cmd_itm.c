/* taichu itm: image-text matching scores.
 *
 *   taichu itm --model DIR --image IMG... --text TEXT... [--json]
 *
 * Every (image, text) pair gets the ITM logits of every class and the retrieval score:
 *   opt-v1: the rank head on the pooled [CLS] of text + image through the cross encoder (mask-embedding row 0
 *           on the image rows, spec §5.1). For a pretrained model rank_output is ITM row 2 (zero-shot: the
 *           score is the class-2 logit); a retrieval fine-tuned model has its own trained rank_output.
 *   opt-v2: itm_head_two on the fusion [CLS], the raw logit of class 1 (spec A.5).
 * Texts are batched per image (--batch per forward pass). Text output: "IMG<TAB>TEXT<TAB>score<TAB>logits". */
#include "args.h"
#include "command.h"
#include "infer_cli.h"

#include "core/progress.h"

#include <stdio.h>
#include <stdlib.h>

static int run_itm(int argc, char **argv) {
    const char *model = NULL, *mask_row = NULL;
    int threads = 0, batch = 0;
    bool json = false;
    tc_strlist images = {0}, texts = {0};
    tc_arg_spec specs[] = {
        {"model", TC_ARG_STR, &model, "DIR", "model directory", "TAICHU_MODEL"},
        {"image", TC_ARG_LIST, &images, "IMG", "image file(s)", NULL},
        {"text", TC_ARG_LIST, &texts, "TEXT", "text(s); every image is scored against every text", NULL},
        {"batch", TC_ARG_INT, &batch, "N", "texts per forward pass (8)", NULL},
        {"mask-row", TC_ARG_STR, &mask_row, "R",
         "opt-v1: mask-embedding row added to the image rows: none, 0 or 1 (default 0; spec 1.6)", NULL},
        {"json", TC_ARG_FLAG, &json, NULL, "JSON output", NULL},
        {"threads", TC_ARG_INT, &threads, "N", "worker threads (default: all cores)", "TAICHU_THREADS"},
    };
    tc_args a;
    int rc = tc_args_parse(&a, "itm", NULL, specs, (int)(sizeof specs / sizeof specs[0]), argc, argv);
    if (rc) { free(images.v); free(texts.v); return rc < 0 ? 2 : 0; }
    if (!model || images.n == 0 || texts.n == 0 || a.npos > 0) {
        fprintf(stderr, "taichu itm: needs --model DIR, --image IMG... and --text TEXT... (no other arguments)\n");
        free(images.v); free(texts.v); tc_args_free(&a);
        return 2;
    }
    int status = 0;
    tc_infer *m = tc_cli_open_model(model, threads);
    if (!m) { free(images.v); free(texts.v); tc_args_free(&a); return tc_cli_fail(); }
    int row = 0;
    if (mask_row && (tc_cli_mask_row(mask_row, &row) != 0 || tc_model_set_v1_mask_rows(m, row, -1) != 0)) status = 2;
    if (status) {
        tc_cli_fail();
        tc_model_close(m);
        free(images.v); free(texts.v); tc_args_free(&a);
        return 2;
    }
    int C = tc_itm_classes(m), ni = images.n, nt = texts.n;
    long per = tc_image_floats(m);
    float *px = tc_cli_load_images(m, (const char *const *)images.v, ni);
    float *logits = calloc((size_t)ni * nt * C, sizeof(float)), *score = calloc((size_t)ni * nt, sizeof(float));
    tc_state *s = tc_state_new(batch);
    if (!px || !logits || !score) status = tc_cli_fail();
    tc_progress prog;
    if (ni > 1) tc_progress_start(&prog, "itm images", ni);
    for (int i = 0; i < ni && !status; i++) {
        if (tc_itm(m, s, px + (long)i * per, (const char *const *)texts.v, nt, logits + (long)i * nt * C,
                   score + (long)i * nt) != 0)
            status = tc_cli_fail();
        else if (ni > 1)
            tc_progress_add(&prog, 1);
    }
    if (ni > 1) tc_progress_finish(&prog);
    if (!status) {
        const char *kind = tc_model_arch(m) == 2 ? "itm_head_two class 1"
                           : tc_itm_zero_shot(m) ? "rank = ITM class 2 (zero-shot)"
                                                 : "rank_output (fine-tuned)";
        cJSON *doc = NULL, *pairs = NULL;
        if (json) {
            doc = cJSON_CreateObject();
            cJSON_AddStringToObject(doc, "score", kind);
            cJSON_AddNumberToObject(doc, "classes", C);
            pairs = cJSON_AddArrayToObject(doc, "pairs");
        }
        for (int i = 0; i < ni; i++)
            for (int t = 0; t < nt; t++) {
                long k = (long)i * nt + t;
                if (json) {
                    cJSON *o = cJSON_CreateObject();
                    cJSON_AddStringToObject(o, "image", images.v[i]);
                    cJSON_AddStringToObject(o, "text", texts.v[t]);
                    cJSON_AddNumberToObject(o, "score", score[k]);
                    cJSON_AddItemToObject(o, "logits", tc_cli_json_floats(logits + k * C, C));
                    cJSON_AddItemToArray(pairs, o);
                } else {
                    printf("%s\t%s\t%.6g", images.v[i], texts.v[t], score[k]);
                    for (int c = 0; c < C; c++) printf("%c%.6g", c ? ' ' : '\t', logits[k * C + c]);
                    printf("\n");
                }
            }
        if (json) tc_cli_print_json(doc);
        status = tc_cli_flush();
    }
    tc_state_free(s);
    free(px);
    free(logits);
    free(score);
    tc_model_close(m);
    free(images.v);
    free(texts.v);
    tc_args_free(&a);
    return status;
}

const tc_command tc_command_itm = {"itm", "image-text matching logits and retrieval scores", run_itm};
