/* taichu convert: a checkpoint (MindSpore .ckpt or .safetensors) -> a model directory.
 *
 *   taichu convert --from X.ckpt (--config CFG.json | --preset NAME) --vocab VOCAB.txt
 *                  [--ids-to-tokens ids_to_tokens_zh.json] --to DIR [--json]
 *
 * Reads the checkpoint (the three tied-weight aliases of spec §7.2 resolved), builds the configured
 * architecture and checks that every expected tensor is present with the right shape. Reported:
 *   missing / wrong shape  -> error, nothing is written (every offender is listed);
 *   optimizer state        -> ignored, counted (adam_m.*, adam_v.*, global_step, scale_sense, ...);
 *   aliases                -> the stored names of the tied weights, counted;
 *   anything else          -> unexpected, listed (e.g. heads this architecture does not have).
 * Two optional parts: opt-v1's rank_output (only retrieval fine-tuned checkpoints have it; otherwise it is
 * set to ITM row 2, the zero-shot rule of spec §5.1) and opt-v2's VQA decoder txt_output.* (spec A.4: only
 * VQA fine-tuned checkpoints have it; without any txt_output.* tensor the model is converted without it,
 * dec_num_layers 0 in the written config.json).
 * Fine-tuned checkpoints lack the other tasks' heads: --allow-missing PREFIX... lets those keep their random
 * initialisation (listed as "initialised").
 * Output: config.json, model.safetensors, vocab.txt, ids_to_tokens_zh.json (when given). A new DIR is built
 * under a temporary name and renamed into place; into an existing DIR each file is replaced atomically. */
#include "args.h"
#include "command.h"
#include "infer_cli.h"

#include "core/error.h"
#include "core/fileio.h"
#include "data/detok.h"
#include "data/tokenizer.h"
#include "model/opt_v1.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct name_list {
    char **v;
    int n;
} name_list;

static void add(name_list *l, const char *s) {
    l->v = tc_xrealloc(l->v, sizeof(char *) * (size_t)(l->n + 1));
    l->v[l->n++] = tc_xstrdup(s);
}

static void list_free(name_list *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* MindSpore optimizer / loss-scale / dataset-sink state (spec §7.1) */
static int is_optimizer_state(const char *name) {
    static const char *const prefixes[] = {"adam_m.", "adam_v.", "moment1.", "moment2.", "moments.", "accum.",
                                           "accu_grads.", "global_step", "scale_sense", "current_iterator_step",
                                           "last_overflow_iterator_step", "learning_rate", "beta1_power",
                                           "beta2_power", "epoch_num", "step_num", "loss_scale", NULL};
    for (int i = 0; prefixes[i]; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) return 1;
    return 0;
}

static int is_alias_source(const tc_tensor_file *f, const char *name) {
    static const char *const pairs[][2] = {
        {"cls.predictions.decoder.weight", "uniter.embeddings.word_embeddings.embedding_table"},
        {"feat_regress.weight", "uniter.img_embeddings.img_linear.weight"},
        {"audio_feat_regress.weight", "uniter.audio_embeddings.audio_linear.weight"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (strcmp(name, pairs[i][0]) == 0 && tc_tensor_file_find(f, pairs[i][1])) return 1;
    return 0;
}

static void print_list(const char *what, const name_list *l, int max) {
    if (!l->n) return;
    fprintf(stderr, "  %s (%d):\n", what, l->n);
    int shown = max > 0 && max < l->n ? max : l->n;
    for (int i = 0; i < shown; i++) fprintf(stderr, "    %s\n", l->v[i]);
    if (shown < l->n) fprintf(stderr, "    ... and %d more (--list 0 shows all)\n", l->n - shown);
}

static cJSON *json_list(const name_list *l) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < l->n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(l->v[i]));
    return a;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Remove a temporary directory we created (its plain files, then itself). */
static void remove_tmp_dir(const char *dir) {
    static const char *const files[] = {"config.json", "model.safetensors", "vocab.txt", "ids_to_tokens_zh.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *p = tc_path_join(dir, files[i]);
        unlink(p);
        free(p);
    }
    rmdir(dir);
}

static int write_dir(const tc_model *m, const char *to, const char *vocab, const char *ids) {
    struct stat st;
    if (stat(to, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return tc_error_set("%s: exists and is not a directory", to);
        return tc_model_save_dir(m, to, vocab, ids);
    }
    size_t len = strlen(to) + 32;
    char *tmp = tc_xmalloc(len);
    snprintf(tmp, len, "%s.tmp.%ld", to, (long)getpid());
    int rc = tc_model_save_dir(m, tmp, vocab, ids);
    if (rc == 0 && rename(tmp, to) != 0) rc = tc_error_set("%s: cannot rename from %s: %s", to, tmp, strerror(errno));
    if (rc != 0 && is_dir(tmp)) remove_tmp_dir(tmp);
    free(tmp);
    return rc;
}

static int convert(const char *from, const char *config, const char *preset, const char *vocab, const char *ids_json,
                   const char *to, const tc_strlist *allow, int max_list, bool json, int threads);

static int run_convert(int argc, char **argv) {
    const char *from = NULL, *config = NULL, *preset = NULL, *vocab = NULL, *ids_json = NULL, *to = NULL;
    int threads = 0, max_list = 20;
    bool json = false;
    tc_strlist allow = {0};
    tc_arg_spec specs[] = {
        {"from", TC_ARG_STR, &from, "FILE", "checkpoint: MindSpore .ckpt or .safetensors", NULL},
        {"config", TC_ARG_STR, &config, "CFG.json", "model configuration (docs/config.md)", NULL},
        {"preset", TC_ARG_STR, &preset, "NAME", "or a preset: opt-v1-1b, opt-v1-10b, opt-v2-base, opt-v1-tiny, opt-v2-tiny",
         NULL},
        {"vocab", TC_ARG_STR, &vocab, "FILE", "vocab.txt (bert-base-chinese format)", NULL},
        {"ids-to-tokens", TC_ARG_STR, &ids_json, "FILE", "ids_to_tokens_zh.json (decoder side, optional)", NULL},
        {"to", TC_ARG_STR, &to, "DIR", "output model directory", NULL},
        {"allow-missing", TC_ARG_LIST, &allow, "PREFIX",
         "tensors under these name prefixes may be missing: they keep their random initialisation (fine-tuned "
         "checkpoints lack the heads of other tasks; docs/inference.md)", NULL},
        {"list", TC_ARG_INT, &max_list, "N", "list at most N names of each kind (0 = all; default 20)", NULL},
        {"json", TC_ARG_FLAG, &json, NULL, "JSON report on stdout", NULL},
        {"threads", TC_ARG_INT, &threads, "N", "worker threads (unused by conversion itself)", "TAICHU_THREADS"},
    };
    tc_args a;
    int rc = tc_args_parse(&a, "convert", NULL, specs, (int)(sizeof specs / sizeof specs[0]), argc, argv);
    if (rc) { free(allow.v); return rc < 0 ? 2 : 0; }
    if (!from || !vocab || !to || (config != NULL) == (preset != NULL) || a.npos > 0) {
        fprintf(stderr, "taichu convert: needs --from FILE, exactly one of --config CFG.json / --preset NAME, "
                        "--vocab FILE and --to DIR\n");
        tc_args_free(&a);
        free(allow.v);
        return 2;
    }
    tc_args_free(&a);
    int status = convert(from, config, preset, vocab, ids_json, to, &allow, max_list, json, threads);
    free(allow.v);
    return status;
}

static int allowed(const tc_strlist *allow, const char *name) {
    for (int i = 0; i < allow->n; i++)
        if (strncmp(name, allow->v[i], strlen(allow->v[i])) == 0) return 1;
    return 0;
}

static int convert(const char *from, const char *config, const char *preset, const char *vocab, const char *ids_json,
                   const char *to, const tc_strlist *allow, int max_list, bool json, int threads) {
    tc_set_num_threads(threads);

    tc_model_config cfg;
    if ((config ? tc_model_config_load(config, &cfg) : tc_model_config_preset(preset, &cfg)) != 0) return tc_cli_fail();
    /* the vocabularies are checked before any work */
    tc_tokenizer tok;
    if (tc_tokenizer_load(&tok, vocab) != 0) return tc_cli_fail();
    int nvocab = (int)tok.vocab.n;
    tc_tokenizer_free(&tok);
    if (nvocab > cfg.vocab_size) {
        tc_error_set("%s: %d tokens, but the model's vocab_size is %d", vocab, nvocab, cfg.vocab_size);
        return tc_cli_fail();
    }
    if (ids_json) {
        tc_detok d;
        if (tc_detok_load_json(&d, ids_json) != 0) return tc_cli_fail();
        tc_detok_free(&d);
    }

    tc_tensor_file f;
    if (tc_weights_open(from, &f) != 0) return tc_cli_fail();
    int vqa_dropped = 0;
    if (cfg.arch == TC_ARCH_V2 && cfg.dec_num_layers > 0) {
        int has = 0;
        for (int i = 0; i < f.n && !has; i++) has = strncmp(f.t[i].name, "txt_output.", 11) == 0;
        if (!has) cfg.dec_num_layers = 0, vqa_dropped = 1; /* a pretraining/retrieval/caption checkpoint */
    }
    tc_model m;
    if (tc_model_create(&m, &cfg, 0) != 0) { tc_tensor_file_close(&f); return tc_cli_fail(); }
    tc_load_report rep;
    int status = 0;
    if (tc_weights_load(&m.params, &f, &rep) != 0) { status = tc_cli_fail(); goto done_model; }

    int rank_derived = 0;
    name_list missing = {0}, mismatched = {0}, unexpected = {0}, initialised = {0};
    int n_opt = 0, n_alias = 0;
    if (cfg.arch == TC_ARCH_V1) {
        int rw = 0, rb = 0;
        for (int i = 0; i < rep.n_missing; i++) {
            rw |= strcmp(rep.missing[i], "rank_output.weight") == 0;
            rb |= strcmp(rep.missing[i], "rank_output.bias") == 0;
        }
        int itm_present = 1; /* the zero-shot rule needs the real ITM head */
        for (int i = 0; i < rep.n_missing; i++) itm_present &= strncmp(rep.missing[i], "itm_output.", 11) != 0;
        rank_derived = rw && rb && itm_present;
    }
    for (int i = 0; i < rep.n_missing; i++) {
        if (rank_derived && strncmp(rep.missing[i], "rank_output.", 12) == 0) continue;
        add(allowed(allow, rep.missing[i]) ? &initialised : &missing, rep.missing[i]);
    }
    for (int i = 0; i < rep.n_mismatched; i++) add(&mismatched, rep.mismatched[i]);
    for (int i = 0; i < rep.n_unexpected; i++) {
        const char *nm = rep.unexpected[i];
        if (is_optimizer_state(nm)) n_opt++;
        else if (is_alias_source(&f, nm)) n_alias++;
        else add(&unexpected, nm);
    }
    int loaded = rep.loaded;
    if (!json || missing.n || mismatched.n) {
        fprintf(stderr, "%s: %d tensors loaded, %d missing, %d of the wrong shape, %d unexpected, %d optimizer state "
                        "(ignored), %d alias name(s), %d non-numeric record(s) skipped\n",
                from, loaded, missing.n, mismatched.n, unexpected.n, n_opt, n_alias, f.skipped);
        print_list("missing", &missing, max_list);
        print_list("wrong shape", &mismatched, max_list);
        print_list("unexpected (ignored)", &unexpected, max_list);
        print_list("missing but allowed (left at random initialisation)", &initialised, max_list);
    }
    if (missing.n || mismatched.n) {
        tc_error_set("%s: %d expected tensor(s) missing and %d of the wrong shape for %s (listed above); nothing "
                     "written", from, missing.n, mismatched.n, tc_arch_name(cfg.arch));
        status = tc_cli_fail();
        goto done_lists;
    }
    if (rank_derived) tc_opt_v1_rank_from_itm(&m);
    if (write_dir(&m, to, vocab, ids_json) != 0) {
        status = tc_cli_fail();
        goto done_lists;
    }
    if (json) {
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "from", from);
        cJSON_AddStringToObject(doc, "to", to);
        cJSON_AddStringToObject(doc, "arch", tc_arch_name(cfg.arch));
        cJSON_AddNumberToObject(doc, "loaded", loaded);
        cJSON_AddNumberToObject(doc, "parameters", (double)tc_model_count_params(&m, ""));
        cJSON_AddItemToObject(doc, "missing", json_list(&missing));
        cJSON_AddItemToObject(doc, "mismatched", json_list(&mismatched));
        cJSON_AddItemToObject(doc, "unexpected", json_list(&unexpected));
        cJSON_AddItemToObject(doc, "initialised", json_list(&initialised));
        cJSON_AddNumberToObject(doc, "optimizer_state_ignored", n_opt);
        cJSON_AddNumberToObject(doc, "aliases", n_alias);
        cJSON_AddNumberToObject(doc, "skipped_records", f.skipped);
        cJSON_AddBoolToObject(doc, "rank_from_itm", rank_derived);
        cJSON_AddBoolToObject(doc, "vqa_decoder", cfg.arch == TC_ARCH_V2 && cfg.dec_num_layers > 0);
        tc_cli_print_json(doc);
    } else {
        printf("%s -> %s: %s, %d tensors%s%s\n", from, to, tc_arch_name(cfg.arch), loaded,
               rank_derived ? ", rank_output = ITM row 2 (zero-shot)" : "",
               vqa_dropped ? ", no VQA decoder (dec_num_layers 0)" : "");
    }
    status = tc_cli_flush();
done_lists:
    list_free(&missing);
    list_free(&mismatched);
    list_free(&unexpected);
    list_free(&initialised);
    tc_load_report_free(&rep);
done_model:
    tc_tensor_file_close(&f);
    tc_model_free(&m);
    return status;
}

const tc_command tc_command_convert = {"convert", "checkpoint (.ckpt/.safetensors) -> model directory, with checks",
                                       run_convert};
