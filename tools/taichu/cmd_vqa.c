/* taichu vqa: answer a question about an image.
 *
 *   taichu vqa --model DIR --image IMG... --question Q... [--beam K] [--max-len N] [--json]
 *
 * Pairs: as many images as questions, or one image with several questions, or one question for several
 * images. opt-v1 (spec §5.3): question pieces without [CLS]/[SEP] + image through the cross encoder, the
 * txt_output decoder answers (greedy, 50 steps). opt-v2 (A.4): [CLS] q[:28] [SEP] through the text encoder
 * and the fusion, the VQA decoder (txt_output) answers (beam 4). Text output: one answer per line. */
#include "args.h"
#include "command.h"
#include "infer_cli.h"

#include "core/error.h"
#include "core/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int run_vqa(int argc, char **argv) {
    const char *model = NULL, *mask_row = NULL;
    int threads = 0, beam = 0, max_len = 0, batch = 0, vocab_limit = 0;
    float alpha = 1.0f;
    bool json = false;
    tc_strlist images = {0}, questions = {0};
    tc_arg_spec specs[] = {
        {"model", TC_ARG_STR, &model, "DIR", "model directory", "TAICHU_MODEL"},
        {"image", TC_ARG_LIST, &images, "IMG", "image file(s)", NULL},
        {"question", TC_ARG_LIST, &questions, "Q", "question(s)", NULL},
        {"beam", TC_ARG_INT, &beam, "K", "beam width (default: v1 1 = greedy, v2 4)", NULL},
        {"max-len", TC_ARG_INT, &max_len, "N", "decode steps (default 50)", NULL},
        {"length-penalty", TC_ARG_FLOAT, &alpha, "A", "GNMT length-penalty weight (1.0)", NULL},
        {"vocab-limit", TC_ARG_INT, &vocab_limit, "N", "never emit ids >= N (default: no limit)", NULL},
        {"batch", TC_ARG_INT, &batch, "N", "pairs per forward pass (8)", NULL},
        {"mask-row", TC_ARG_STR, &mask_row, "R",
         "opt-v1: mask-embedding row added to the image rows: none, 0 or 1 (default none; spec 1.6)", NULL},
        {"json", TC_ARG_FLAG, &json, NULL, "JSON output with token ids and scores", NULL},
        {"threads", TC_ARG_INT, &threads, "N", "worker threads (default: all cores)", "TAICHU_THREADS"},
    };
    tc_args a;
    int rc = tc_args_parse(&a, "vqa", NULL, specs, (int)(sizeof specs / sizeof specs[0]), argc, argv);
    if (rc) { free(images.v); free(questions.v); return rc < 0 ? 2 : 0; }
    int status = 0;
    if (!model || images.n == 0 || questions.n == 0 || a.npos > 0) {
        fprintf(stderr, "taichu vqa: needs --model DIR, --image IMG... and --question Q... (no other arguments)\n");
        status = 2;
    } else if (images.n != questions.n && images.n != 1 && questions.n != 1) {
        fprintf(stderr, "taichu vqa: %d images and %d questions: give as many of each, or one of either\n", images.n,
                questions.n);
        status = 2;
    }
    if (status) { free(images.v); free(questions.v); tc_args_free(&a); return status; }
    int n = images.n > questions.n ? images.n : questions.n;
    tc_infer *m = tc_cli_open_model(model, threads);
    if (!m) { free(images.v); free(questions.v); tc_args_free(&a); return tc_cli_fail(); }
    int row = -1;
    if (mask_row && (tc_cli_mask_row(mask_row, &row) != 0 || tc_model_set_v1_mask_rows(m, 0, row) != 0)) {
        tc_cli_fail();
        tc_model_close(m);
        free(images.v); free(questions.v); tc_args_free(&a);
        return 2;
    }
    tc_gen_params gp = tc_vqa_defaults(m);
    if (beam) gp.beam = beam;
    if (max_len) gp.max_len = max_len;
    gp.length_penalty = alpha;
    gp.vocab_limit = vocab_limit;
    int L = gp.max_len + 1;
    long per = tc_image_floats(m);
    const char **ip = calloc((size_t)n, sizeof *ip), **qp = calloc((size_t)n, sizeof *qp);
    for (int i = 0; i < n; i++) {
        ip[i] = images.v[images.n == 1 ? 0 : i];
        qp[i] = questions.v[questions.n == 1 ? 0 : i];
    }
    /* decode each distinct image once, then lay the pairs out */
    float *uniq = tc_cli_load_images(m, (const char *const *)images.v, images.n);
    float *px = uniq && images.n != n ? malloc(sizeof(float) * (size_t)per * (size_t)n) : uniq;
    if (px && px != uniq)
        for (int i = 0; i < n; i++) memcpy(px + (long)i * per, uniq, sizeof(float) * (size_t)per);
    int32_t *ids = calloc((size_t)n * (size_t)L, sizeof *ids);
    float *score = calloc((size_t)n, sizeof *score);
    tc_state *s = tc_state_new(batch);
    int chunk = batch > 0 ? batch : 8;
    tc_progress prog;
    if (n > chunk) tc_progress_start(&prog, "vqa", n);
    if (!px || !ids || !score) status = tc_cli_fail();
    for (int c0 = 0; c0 < n && !status; c0 += chunk) {
        int nb = n - c0 < chunk ? n - c0 : chunk;
        if (tc_vqa(m, s, px + (long)c0 * per, qp + c0, nb, &gp, ids + (long)c0 * L, score + c0) != 0)
            status = tc_cli_fail();
        else if (n > chunk)
            tc_progress_add(&prog, nb);
    }
    if (n > chunk) tc_progress_finish(&prog);
    if (!status) {
        cJSON *doc = json ? cJSON_CreateArray() : NULL;
        for (int i = 0; i < n; i++) {
            const int32_t *g = ids + (long)i * L + 1;
            char *text = tc_ids_to_text(m, g, gp.max_len);
            if (json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "image", ip[i]);
                cJSON_AddStringToObject(o, "question", qp[i]);
                cJSON_AddStringToObject(o, "answer", text);
                cJSON_AddItemToObject(o, "ids", tc_cli_json_ids(g, tc_cli_gen_len(g, gp.max_len)));
                cJSON_AddNumberToObject(o, "score", score[i]);
                cJSON_AddItemToArray(doc, o);
            } else {
                printf("%s\n", text);
            }
            free(text);
        }
        if (json) tc_cli_print_json(doc);
        status = tc_cli_flush();
    }
    tc_state_free(s);
    if (px != uniq) free(px);
    free(uniq);
    free(ids);
    free(score);
    free(ip);
    free(qp);
    tc_model_close(m);
    free(images.v);
    free(questions.v);
    tc_args_free(&a);
    return status;
}

const tc_command tc_command_vqa = {"vqa", "answer questions about images", run_vqa};
