/* `taichu finetune`: wiring of the model, dataset, loader, tasks and trainer (finetune.h). */
#include "train/finetune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"
#include "model/infer.h"
#include "model/opt_v1.h"
#include "model/opt_v2.h"
#include "train/tasks.h"
#include "train/trainer.h"

static const char *const KIND_NAMES[3] = {"retrieval", "caption", "vqa"};

int tc_ft_kind_parse(const char *name) {
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, KIND_NAMES[i]) == 0) return i;
    return -1;
}

const char *tc_ft_kind_name(tc_ft_kind k) { return KIND_NAMES[k]; }

tc_finetune_opts tc_finetune_defaults(tc_ft_kind task) {
    tc_finetune_opts o;
    memset(&o, 0, sizeof o);
    o.task = task;
    o.warmup = -1;
    o.ckpt_every = -1;
    o.label_smoothing = -1.f;
    o.seed = 42;
    o.progress = -1;
    return o;
}

/* The original's per-task settings (spec §4.2): batch, peak → end learning rate, epochs, clipping. */
typedef struct task_defaults {
    int batch;
    double lr, end_lr, epochs;
    float clip;
} task_defaults;

static task_defaults defaults_of(tc_ft_kind k) {
    switch (k) {
    case TC_FT_RETRIEVAL: return (task_defaults){12, 2.5e-5, 1e-8, 3, 1.0f};
    case TC_FT_CAPTION: return (task_defaults){40, 1e-5, 1e-7, 10, 1.0f};
    default: return (task_defaults){10, 1e-5, 1e-7, 10, 0.0f}; /* VQA: trained without clipping */
    }
}

/* ------------------------------------------------------------------------------------------------ init */

static int starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

int tc_finetune_init_model(tc_model *m, const char *dir, tc_ft_kind task, int rank_from_itm, uint64_t seed,
                           int verbose, int *n_new) {
    memset(m, 0, sizeof *m);
    *n_new = 0;
    char *cfg_path = tc_path_join(dir, "config.json"), *st_path = tc_path_join(dir, "model.safetensors");
    tc_model_config cfg;
    int rc = tc_model_config_load(cfg_path, &cfg);
    if (rc == 0 && task == TC_FT_VQA && cfg.arch == TC_ARCH_V2 && cfg.dec_num_layers <= 0) {
        /* a v2 model pre-trained without the VQA decoder: add one (the v1 layout at the fusion's width, as the
         * tiny/base presets have it); its parameters start fresh */
        tc_model_config ref;
        tc_model_config_preset(cfg.hidden_size <= 256 ? "opt-v2-tiny" : "opt-v2-base", &ref);
        cfg.dec_num_layers = ref.dec_num_layers;
        if (cfg.dec_hidden_size <= 0) cfg.dec_hidden_size = ref.dec_hidden_size;
        if (cfg.dec_num_heads <= 0) cfg.dec_num_heads = ref.dec_num_heads;
        if (cfg.dec_intermediate_size <= 0) cfg.dec_intermediate_size = ref.dec_intermediate_size;
        if (cfg.dec_max_position <= 0) cfg.dec_max_position = ref.dec_max_position;
        if (cfg.txt_dec_vocab_size <= 0) cfg.txt_dec_vocab_size = cfg.vocab_size;
        rc = tc_model_config_validate(&cfg, cfg_path);
        if (rc == 0 && verbose) fprintf(stderr, "finetune: %s has no VQA decoder: adding one (dec_num_layers %d)\n", dir, cfg.dec_num_layers);
    }
    if (rc == 0) rc = tc_model_create(m, &cfg, seed);
    tc_load_report rep;
    memset(&rep, 0, sizeof rep);
    if (rc == 0) rc = tc_model_load_weights(m, st_path, 0, &rep);
    int rank_missing = 0;
    if (rc == 0) {
        *n_new = rep.n_missing;
        for (int i = 0; i < rep.n_missing; i++) {
            rank_missing |= starts_with(rep.missing[i], "rank_output");
            if (verbose && (i < 8 || i == rep.n_missing - 1)) fprintf(stderr, "finetune: new parameter %s\n", rep.missing[i]);
            else if (verbose && i == 8) fprintf(stderr, "finetune: ...\n");
        }
        if (verbose && rep.n_missing) fprintf(stderr, "finetune: %d parameters not in %s were initialised fresh\n", rep.n_missing, st_path);
        if (task == TC_FT_RETRIEVAL && m->cfg.arch == TC_ARCH_V1 && (rank_missing || rank_from_itm)) {
            tc_opt_v1_rank_from_itm(m);
            if (verbose) fprintf(stderr, "finetune: rank_output initialised from itm_output row %d\n", TC_OPT_V1_ZERO_SHOT_CLASS);
        }
    }
    tc_load_report_free(&rep);
    if (rc != 0 && m->impl) tc_model_free(m);
    free(cfg_path);
    free(st_path);
    return rc;
}

/* ------------------------------------------------------------------------------------------------ run */

static const char *default_train_file(tc_ft_kind k) {
    switch (k) {
    case TC_FT_RETRIEVAL: return "json_coco_train_zh_token.json";
    case TC_FT_CAPTION: return "json_coco_train_zh_token_for_cap.json";
    default: return "FM-IQA_train_token_ids_for_vqa.json";
    }
}

/* vocab.txt / ids_to_tokens_zh.json for RUN/model: the init model's, else the dataset's. */
static char *find_aux(const char *init, const char *data, const char *init_name, const char *data_name) {
    char p[2200];
    if (init) {
        snprintf(p, sizeof p, "%s/%s", init, init_name);
        if (tc_file_exists(p)) return strdup(p);
    }
    snprintf(p, sizeof p, "%s/text/%s", data, data_name);
    return tc_file_exists(p) ? strdup(p) : NULL;
}

int tc_finetune_run(const tc_finetune_opts *o) {
    const char *run = o->resume ? o->resume : o->out;
    const char *what = tc_ft_kind_name(o->task);
    if (!run) return tc_error_set("finetune %s: --out RUN (or --resume RUN) is required", what);
    if (!o->data) return tc_error_set("finetune %s: --data DIR is required", what);
    if (!o->resume && !o->init) return tc_error_set("finetune %s: --init DIR (a model directory) is required", what);
    task_defaults td = defaults_of(o->task);
    int B = o->batch > 0 ? o->batch : td.batch;

    /* model: RUN/model_config.json on resume (the trainer restores the weights), else --init DIR */
    tc_model m;
    char saved_mc[1100];
    snprintf(saved_mc, sizeof saved_mc, "%s/model_config.json", run);
    int rc, n_new = 0;
    if (o->resume) {
        tc_model_config mc;
        rc = tc_model_config_load(saved_mc, &mc);
        if (rc == 0) rc = tc_model_create(&m, &mc, o->seed);
    } else {
        rc = tc_finetune_init_model(&m, o->init, o->task, o->rank_from_itm, o->seed, 1, &n_new);
        if (rc == 0 && (tc_mkdir_p(run) || tc_model_config_save(saved_mc, &m.cfg))) {
            tc_model_free(&m);
            rc = -1;
        }
    }
    if (rc) return -1;
    if (o->label_smoothing >= 0) m.cfg.label_smoothing = o->label_smoothing;
    int v2 = m.cfg.arch == TC_ARCH_V2;

    char train_file[1100], image_root[1100];
    if (o->train_file) snprintf(train_file, sizeof train_file, "%s", o->train_file);
    else snprintf(train_file, sizeof train_file, "%s/text/%s", o->data, default_train_file(o->task));
    snprintf(image_root, sizeof image_root, "%s/image", o->data);
    tc_ds_opts dopt = tc_ds_opts_default();
    dopt.vocab_size = m.cfg.vocab_size;
    dopt.skip_bad = o->skip_bad;
    tc_ds_captions caps, view;
    tc_ds_vqa vqa;
    memset(&caps, 0, sizeof caps);
    memset(&view, 0, sizeof view);
    memset(&vqa, 0, sizeof vqa);
    const tc_ds_captions *ds = &caps;
    tc_ds_report *report;
    if (o->task == TC_FT_VQA) {
        rc = tc_ds_load_vqa(train_file, image_root, 1, &dopt, &vqa);
        if (rc == 0) tc_ft_vqa_view(&vqa, &view);
        ds = &view;
        report = &vqa.report;
    } else {
        rc = tc_ds_load_captions(train_file, image_root, TC_DS_CAPS_SOME, &dopt, &caps);
        report = &caps.report;
    }
    if (rc == 0 && ds->n < 2) rc = tc_error_set("%s: %d usable entries, need at least 2", train_file, ds->n);
    /* targets decoded by txt_output must fit its (possibly smaller) vocabulary: say so up front, naming the entry */
    int dec_targets = o->task == TC_FT_VQA || (o->task == TC_FT_CAPTION && !v2);
    for (int i = 0; rc == 0 && dec_targets && i < ds->n; i++) {
        const tc_ds_ids *t = o->task == TC_FT_VQA ? &vqa.items[i].answer : NULL;
        for (int c = 0; rc == 0 && c < (t ? 1 : ds->items[i].ncap); c++) {
            const tc_ds_ids *x = t ? t : &ds->items[i].caps[c];
            for (int j = 0; j < x->n; j++)
                if (x->v[j] >= m.cfg.txt_dec_vocab_size) {
                    rc = tc_error_set("%s: entry %d: %s id %d is outside the decoder's vocabulary (txt_dec_vocab_size %d)",
                                      train_file, i, t ? "answer" : "caption", x->v[j], m.cfg.txt_dec_vocab_size);
                    break;
                }
        }
    }
    if (rc) { tc_ds_vqa_free(&vqa); tc_ds_captions_free(&caps); tc_ft_vqa_view_free(&view); tc_model_free(&m); return -1; }
    if (report->skipped)
        fprintf(stderr, "finetune: skipped %d bad entries of %s, first: %s\n", report->skipped, train_file, report->first_skip);

    /* text rows the loader builds: v2 VQA [CLS] q[:28] [SEP]; v1 retrieval / v2 retrieval the model's length
     * (caption and v1 VQA build their rows from the ids themselves) */
    int text_len = o->task == TC_FT_VQA && v2 ? TC_V2_TASK_TEXT_LEN - 2 : m.cfg.max_text_len;
    tc_loader_cfg lc = tc_ft_loader_cfg(&m, text_len);
    lc.seed = o->seed;
    lc.skip_bad = o->skip_bad;
    tc_loader *L = tc_loader_open(ds, &lc);
    if (!L) { tc_ds_vqa_free(&vqa); tc_ds_captions_free(&caps); tc_ft_vqa_view_free(&view); tc_model_free(&m); return -1; }

    tc_ft_task ft;
    tc_v2_tasks vt;
    memset(&vt, 0, sizeof vt);
    tc_ft_task_init(&ft, o->task, &m, L, ds, o->task == TC_FT_VQA ? &vqa : NULL, B);
    tc_train_task tasks[2];
    int nt = 0, sum = 0;
    if (o->task == TC_FT_RETRIEVAL && v2) {
        /* v2 retrieval: ITC + ITM with hard negatives mined from the ITC similarities, on one batch */
        tc_v2_tasks_init(&vt, &m, L, ds, B, o->seed);
        tasks[nt++] = (tc_train_task){"itc", 1, 1.0f, tc_v2_task_itc, &vt};
        tasks[nt++] = (tc_train_task){"itm", 1, 1.0f, tc_v2_task_itm, &vt};
        sum = 1;
    } else {
        tasks[nt++] = (tc_train_task){what, 1, 1.0f, tc_ft_task_loss, &ft};
    }

    double epochs = o->epochs > 0 ? o->epochs : td.epochs;
    long steps = o->steps > 0 ? o->steps : (long)(epochs * ((ds->n + B - 1) / B) + 0.5);
    if (steps < 1) steps = 1;
    tc_trainer_cfg tc = tc_trainer_defaults(steps);
    tc.run_dir = run;
    tc.seed = o->seed;
    tc.clip = td.clip;
    long warm = o->warmup >= 0 ? o->warmup : (1000 < steps / 10 ? 1000 : steps / 10);
    tc.lr = (tc_lr_schedule){TC_LR_MINDSPORE, o->lr > 0 ? o->lr : td.lr, o->end_lr > 0 ? o->end_lr : td.end_lr,
                             warm < steps ? warm : steps - 1, steps};
    tc.sum_tasks = sum;
    if (o->ckpt_every >= 0) tc.ckpt_every = o->ckpt_every;
    tc.progress = o->progress;
    tc.handle_signals = 1;
    tc.on_step = o->on_step;
    tc.on_step_user = o->on_step_user;
    if (o->n_new) *o->n_new = n_new;
    tc_dist dist;
    tc_dist_init(&dist, NULL, NULL);
    if (dist.rank == 0 && !o->resume)
        printf("finetune %s: %s model, %d training entries, batch %d, %ld steps, lr %g -> %g, warm-up %ld%s\n", what,
               tc_arch_name(m.cfg.arch), ds->n, B, steps, tc.lr.peak, tc.lr.end, tc.lr.warmup,
               n_new ? " (new parameters: see above)" : "");
    rc = tc_train(&tc, &m.params, tasks, nt, &dist, o->resume ? TC_START_RESUME : TC_START_FRESH);
    if (rc == 0 && dist.rank == 0) {
        char mdir[1100];
        snprintf(mdir, sizeof mdir, "%s/model", run);
        char *vocab = find_aux(o->init, o->data, "vocab.txt", "bert-base-chinese-vocab.txt");
        char *i2t = find_aux(o->init, o->data, "ids_to_tokens_zh.json", "ids_to_tokens_zh.json");
        rc = tc_model_save_dir(&m, mdir, vocab, i2t);
        free(vocab);
        free(i2t);
        if (rc == 0) printf("finetune %s: model -> %s\n", what, mdir);
        if (rc == 0 && ft.neg_pairs)
            printf("finetune retrieval: %ld negative pairs, %ld sharing the positive's image\n", ft.neg_pairs, ft.neg_same_image);
    }
    if (o->neg_pairs) *o->neg_pairs = ft.neg_pairs;
    if (o->neg_same_image) *o->neg_same_image = ft.neg_same_image;
    tc_dist_finalize(&dist);
    if (o->task == TC_FT_RETRIEVAL && v2) tc_v2_tasks_free(&vt);
    tc_ft_task_free(&ft);
    tc_loader_close(L);
    tc_ds_vqa_free(&vqa);
    tc_ds_captions_free(&caps);
    tc_ft_vqa_view_free(&view);
    tc_model_free(&m);
    return rc;
}
