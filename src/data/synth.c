/* `taichu synth` layout writer (see synth.h, docs/synth.md). Two passes: images + VQ codes in
 * parallel (each image is a pure function of (seed, index)), then the JSON/vocab files serially by
 * re-deriving the texts (cheap), then speech serially (espeak-ng is single-threaded). */
#include "data/synth.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include <omp.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/fileio.h"
#include "core/progress.h"
#include "core/rng.h"
#include "data/image.h"
#include "data/synth_speech.h"
#include "data/tokenizer.h"
#include "data/synth_vq.h"
#include "io/npy.h"

/* rng streams: each purpose draws from its own counter-based stream so that e.g. changing the
 * caption grammar does not move the scenes */
enum { STREAM_SCENE = 1, STREAM_TEXT = 2, STREAM_SPLIT = 3 };

void tc_synth_split_sizes(int n, int *n_train, int *n_val, int *n_test) {
    int t = n / 10, v = n / 20;
    t = t < 1 ? 1 : t > 1000 ? 1000 : t;
    v = v < 1 ? 1 : v > 1000 ? 1000 : v;
    *n_test = t;
    *n_val = v;
    *n_train = n - t - v;
}

void tc_synth_assign_splits(uint64_t seed, int n, uint8_t *split) {
    int ntr, nv, nt;
    tc_synth_split_sizes(n, &ntr, &nv, &nt);
    int *perm = tc_xmalloc((size_t)n * sizeof *perm);
    for (int i = 0; i < n; i++) perm[i] = i;
    tc_rng r;
    tc_rng_seed(&r, tc_rng_hash(seed, STREAM_SPLIT, 0));
    tc_rng_shuffle_int(&r, perm, n);
    for (int k = 0; k < n; k++)
        split[perm[k]] = k < nt ? TC_SYNTH_SPLIT_TEST : k < nt + nv ? TC_SYNTH_SPLIT_VAL : TC_SYNTH_SPLIT_TRAIN;
    free(perm);
}

void tc_synth_image_spec(uint64_t seed, int i, tc_synth_scene *scene, tc_synth_text *text) {
    tc_rng r;
    tc_rng_seed(&r, tc_rng_hash(seed, STREAM_SCENE, (uint64_t)i));
    tc_synth_scene_sample(scene, &r);
    if (text) {
        tc_rng_seed(&r, tc_rng_hash(seed, STREAM_TEXT, (uint64_t)i));
        tc_synth_describe(scene, &r, text);
    }
}

/* ---- a growable string for JSON output ---- */

typedef struct sb {
    char *p;
    size_t n, cap;
} sb;

static void sb_putn(sb *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = tc_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void sb_put(sb *b, const char *s) { sb_putn(b, s, strlen(s)); }
static void sb_printf(sb *b, const char *fmt, ...) TC_PRINTF(2, 3);
static void sb_printf(sb *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_putn(b, tmp, (size_t)(k < (int)sizeof tmp ? k : (int)sizeof tmp - 1));
}
/* JSON string literal; UTF-8 passes through unescaped (as Python's ensure_ascii=False) */
static void sb_jstr(sb *b, const char *s) {
    sb_put(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { char e[3] = {'\\', (char)c, 0}; sb_put(b, e); }
        else if (c < 0x20) sb_printf(b, "\\u%04x", c);
        else sb_putn(b, s, 1);
    }
    sb_put(b, "\"");
}
static void sb_ids(sb *b, const int32_t *ids, int n) {
    sb_put(b, "[");
    for (int i = 0; i < n; i++) sb_printf(b, i ? ", %d" : "%d", ids[i]);
    sb_put(b, "]");
}

static int write_sb(const char *dir, const char *name, sb *b) {
    char *path = tc_path_join(dir, name);
    int rc = tc_write_file_atomic(path, b->p ? b->p : "", b->n);
    free(path);
    b->n = 0;
    if (b->p) b->p[0] = 0;
    return rc;
}

typedef struct enc {
    int32_t cap[TC_SYNTH_NCAPS][64];
    int cap_len[TC_SYNTH_NCAPS];
    int32_t q[TC_SYNTH_MAX_QA][64];
    int q_len[TC_SYNTH_MAX_QA];
    int32_t a[TC_SYNTH_MAX_QA][16];
    int a_len[TC_SYNTH_MAX_QA];
} enc;

static int encode_text(const tc_synth_vocab *v, const tc_synth_text *t, enc *e) {
    for (int k = 0; k < TC_SYNTH_NCAPS; k++)
        if ((e->cap_len[k] = tc_synth_vocab_encode(v, t->caption[k], e->cap[k], 64)) < 0) return -1;
    for (int k = 0; k < t->nqa; k++) {
        if ((e->q_len[k] = tc_synth_vocab_encode(v, t->question[k], e->q[k], 64)) < 0) return -1;
        if ((e->a_len[k] = tc_synth_vocab_encode(v, t->answer[k], e->a[k], 16)) < 0) return -1;
    }
    return 0;
}

/* ---- pass 1: images, VQ codes, v1 text db ---- */

static void image_rel(int i, char *buf, size_t cap) { snprintf(buf, cap, "synth/synth_%06d.jpg", i); }

/* v1 text db: <db>/<id>.json = {"input_ids": [...]} for id "synth/synth_NNNNNN.jpgK" */
static int write_txt_db(const tc_synth_vocab *v, const char *txt_db, int i, const tc_synth_text *t) {
    enc e;
    if (encode_text(v, t, &e)) return tc_error_prefix("image %d", i);
    for (int k = 0; k < TC_SYNTH_NCAPS; k++) {
        sb one = {0};
        sb_put(&one, "{\"input_ids\": ");
        sb_ids(&one, e.cap[k], e.cap_len[k]);
        sb_put(&one, "}\n");
        char name[64];
        snprintf(name, sizeof name, "synth_%06d.jpg%d.json", i, k);
        int rc = write_sb(txt_db, name, &one);
        free(one.p);
        if (rc) return rc;
    }
    return 0;
}

static int write_one_image(const tc_synth_opts *o, const char *img_dir, const char *tok_dir, const char *txt_db,
                           const tc_synth_vocab *v, int i, uint8_t *rgb) {
    tc_synth_scene s;
    tc_synth_text t;
    tc_synth_image_spec(o->seed, i, &s, txt_db ? &t : NULL);
    if (txt_db && write_txt_db(v, txt_db, i, &t)) return -1;
    tc_synth_render(&s, o->size, rgb);
    char name[64];
    snprintf(name, sizeof name, "synth_%06d.jpg", i);
    char *path = tc_path_join(img_dir, name);
    tc_image img = {o->size, o->size, rgb};
    int rc = tc_image_write_jpeg(path, &img, o->jpeg_quality > 0 ? o->jpeg_quality : 95);
    free(path);
    if (rc) return rc;
    int64_t codes[TC_SYNTH_VQ_GRID * TC_SYNTH_VQ_GRID]; /* [8*8] */
    tc_synth_vq_codes(&s, TC_SYNTH_VQ_GRID, codes);
    int64_t shape[1] = {TC_SYNTH_VQ_GRID * TC_SYNTH_VQ_GRID};
    tc_npz_member m = {"feat", NULL, codes, "<i4", 1, shape};
    snprintf(name, sizeof name, "synth_%06d.npz", i);
    path = tc_path_join(tok_dir, name);
    rc = tc_npz_write(path, &m, 1);
    free(path);
    return rc;
}

static int write_images(const tc_synth_opts *o, const char *img_dir, const char *tok_dir, const char *txt_db,
                        const tc_synth_vocab *v) {
    /* Every file is fsync'ed (atomic writes), so this pass waits on the disk far more than it computes:
     * a few threads per core keep several fsyncs in flight (measured: ~4x the files/s of 2 threads on a
     * busy virtual disk). The output does not depend on the thread count. */
    int nthreads = 4 * omp_get_max_threads();
    if (nthreads > 16) nthreads = 16;
    tc_progress p;
    tc_progress_start(&p, "synth images", o->images);
    int failed = 0;
    char err[512] = "";
#pragma omp parallel num_threads(nthreads)
    {
        uint8_t *rgb = tc_xmalloc((size_t)o->size * o->size * 3); /* [size, size, 3] */
#pragma omp for schedule(dynamic, 16)
        for (int i = 0; i < o->images; i++) {
            int stop;
#pragma omp atomic read
            stop = failed;
            if (stop) continue;
            if (write_one_image(o, img_dir, tok_dir, txt_db, v, i, rgb)) {
#pragma omp critical(synth_err)
                {
                    if (!failed) snprintf(err, sizeof err, "%s", tc_error_get());
                    failed = 1;
                }
            }
            tc_progress_add(&p, 1);
        }
        free(rgb);
    }
    tc_progress_finish(&p);
    if (failed) return tc_error_set("%s", err);
    return 0;
}

/* ---- pass 2: text files ---- */

/* The ids must be what BERT WordPiece over the written vocab gives: one id per character. Checked
 * with the real tokenizer for every text, so a grammar edit can never produce ids that the pipeline's
 * own tokenizer would not reproduce. */
static int check_with_tokenizer(const tc_tokenizer *tok, const char *text, const int32_t *ids, int n, tc_ids *scratch) {
    scratch->n = 0;
    tc_tokenize(tok, text, strlen(text), scratch);
    int same = (int)scratch->n == n;
    for (int k = 0; same && k < n; k++) same = scratch->v[k] == ids[k];
    if (!same) return tc_error_set("synth: WordPiece ids of \"%s\" differ from one id per character", text);
    return 0;
}

static int check_text(const tc_tokenizer *tok, const tc_synth_text *t, const enc *e, tc_ids *scratch) {
    for (int k = 0; k < TC_SYNTH_NCAPS; k++)
        if (check_with_tokenizer(tok, t->caption[k], e->cap[k], e->cap_len[k], scratch)) return -1;
    for (int k = 0; k < t->nqa; k++)
        if (check_with_tokenizer(tok, t->question[k], e->q[k], e->q_len[k], scratch) ||
            check_with_tokenizer(tok, t->answer[k], e->a[k], e->a_len[k], scratch))
            return -1;
    return 0;
}

static const char *split_name(int s) { return s == TC_SYNTH_SPLIT_TEST ? "test" : s == TC_SYNTH_SPLIT_VAL ? "val" : "train"; }

static int write_vocab_files(const char *text_dir, const tc_synth_vocab *v, const tc_synth_opts *o,
                             const tc_synth_stats *st) {
    sb b = {0};
    for (int i = 0; i < v->n; i++) { sb_put(&b, v->tok[i]); sb_put(&b, "\n"); }
    int rc = write_sb(text_dir, "bert-base-chinese-vocab.txt", &b);
    if (!rc) {
        sb_put(&b, "{");
        for (int i = 0; i < v->n; i++) {
            sb_printf(&b, "%s\"%d\": ", i ? ", " : "", i);
            sb_jstr(&b, v->tok[i]);
        }
        sb_put(&b, "}\n");
        rc = write_sb(text_dir, "ids_to_tokens_zh.json", &b);
    }
    if (!rc) {
        sb_printf(&b, "{\"CLS\": 101, \"SEP\": 102, \"MASK\": 103, \"PAD\": 0, \"UNK\": 100, \"v_range\": [%d, %d], "
                      "\"vocab_size\": %d,\n",
                  v->first_char_id, v->n, v->n);
        sb_printf(&b, " \"generator\": \"taichu synth %s\", \"seed\": %" PRIu64 ", \"images\": %d, \"size\": %d, "
                      "\"splits\": {\"train\": %d, \"val\": %d, \"test\": %d},\n",
                  TAICHU_VERSION, o->seed, o->images, o->size, st->n_train, st->n_val, st->n_test);
        sb_printf(&b, " \"captions_per_image\": %d, \"vq_grid\": [%d, %d], \"vq_codes\": %d, \"audio\": %s, "
                      "\"audio_rate\": %d, \"speak_all\": %s}\n",
                  TC_SYNTH_NCAPS, TC_SYNTH_VQ_GRID, TC_SYNTH_VQ_GRID, TC_SYNTH_VQ_NCODES, o->audio ? "true" : "false",
                  TC_SYNTH_AUDIO_RATE, o->speak_all ? "true" : "false");
        rc = write_sb(text_dir, "meta.json", &b);
    }
    free(b.p);
    return rc;
}

/* One JSON array per file, one entry per line: diffable and easy to eyeball. */
typedef struct outputs {
    sb test_ret, val_ret, train, test_cap, gt, vqa_train, vqa_val, fmiqa_train, fmiqa_val, scenes;
    sb ids[3];
} outputs;

static void arr_item(sb *b) { sb_put(b, b->n ? ",\n" : "[\n"); }
static void arr_close(sb *b) { if (!b->n) sb_put(b, "["); sb_put(b, "\n]\n"); }

static int write_text(const tc_synth_opts *o, const char *text_dir, const char *v1_dir, const uint8_t *split,
                      const tc_synth_vocab *v, tc_synth_stats *st) {
    outputs out;
    memset(&out, 0, sizeof out);
    tc_synth_text *t = tc_xmalloc(sizeof *t);
    enc *e = tc_xmalloc(sizeof *e);
    char rel[64];
    /* the real tokenizer over the vocab text, to cross-check every id list */
    sb vt = {0};
    for (int i = 0; i < v->n; i++) { sb_put(&vt, v->tok[i]); sb_put(&vt, "\n"); }
    tc_tokenizer tok;
    int rc = tc_tokenizer_init(&tok, vt.p, vt.n, "synth vocab");
    free(vt.p);
    if (rc) { free(t); free(e); return -1; }
    tc_ids scratch = {0};
    for (int i = 0; i < o->images && !rc; i++) {
        tc_synth_scene s;
        tc_synth_image_spec(o->seed, i, &s, t);
        if (encode_text(v, t, e) || check_text(&tok, t, e, &scratch)) { rc = tc_error_prefix("image %d", i); break; }
        image_rel(i, rel, sizeof rel);
        int sp = split[i];
        /* scene annotations (ground truth for tests and analyses) */
        arr_item(&out.scenes);
        sb_put(&out.scenes, "{\"image\": ");
        sb_jstr(&out.scenes, rel);
        sb_printf(&out.scenes, ", \"split\": \"%s\", \"objects\": [", split_name(sp));
        for (int k = 0; k < s.nobj; k++) {
            const tc_synth_object *ob = &s.obj[k];
            sb_printf(&out.scenes, "%s{\"shape\": \"%s\", \"colour\": \"%s\", \"size\": \"%s\", \"position\": \"%s\"}",
                      k ? ", " : "", tc_synth_shape_names[ob->shape], tc_synth_colour_names[ob->colour],
                      tc_synth_size_names[ob->size], tc_synth_pos_names[ob->pos]);
        }
        sb_put(&out.scenes, "]}");
        /* v2 retrieval / caption files */
        sb *ret = sp == TC_SYNTH_SPLIT_TEST ? &out.test_ret : sp == TC_SYNTH_SPLIT_VAL ? &out.val_ret : &out.train;
        arr_item(ret);
        sb_put(ret, "{\"image\": ");
        sb_jstr(ret, rel);
        sb_put(ret, ", \"caption\": [");
        for (int k = 0; k < TC_SYNTH_NCAPS; k++) {
            if (k) sb_put(ret, ", ");
            sb_ids(ret, e->cap[k], e->cap_len[k]);
        }
        sb_put(ret, "]}");
        if (sp == TC_SYNTH_SPLIT_TEST) {
            arr_item(&out.test_cap);
            sb_put(&out.test_cap, "{\"image\": ");
            sb_jstr(&out.test_cap, rel);
            sb_put(&out.test_cap, "}");
            sb_printf(&out.gt, "%s\"%06d\": [", out.gt.n ? ",\n" : "{\n", i);
            for (int k = 0; k < TC_SYNTH_NCAPS; k++) {
                if (k) sb_put(&out.gt, ", ");
                sb_jstr(&out.gt, t->caption[k]);
            }
            sb_put(&out.gt, "]");
        }
        /* VQA: train split -> train files, test split -> "val" files (what the evaluators read) */
        if (sp != TC_SYNTH_SPLIT_VAL) {
            sb *tok = sp == TC_SYNTH_SPLIT_TEST ? &out.vqa_val : &out.vqa_train;
            sb *raw = sp == TC_SYNTH_SPLIT_TEST ? &out.fmiqa_val : &out.fmiqa_train;
            for (int k = 0; k < t->nqa; k++) {
                long qid = (long)i * 10 + k;
                arr_item(tok);
                sb_put(tok, "{\"image_id\": ");
                sb_jstr(tok, rel);
                sb_put(tok, ", \"Question\": ");
                sb_ids(tok, e->q[k], e->q_len[k]);
                sb_put(tok, ", \"Answer\": ");
                sb_ids(tok, e->a[k], e->a_len[k]);
                sb_printf(tok, ", \"question_id\": %ld}", qid);
                arr_item(raw);
                sb_printf(raw, "{\"question_id\": %ld, \"image_id\": \"%d\", \"Question\": ", qid, i);
                sb_jstr(raw, t->question[k]);
                sb_put(raw, ", \"Answer\": ");
                sb_jstr(raw, t->answer[k]);
                sb_put(raw, "}");
                st->n_questions++;
            }
        }
        /* v1 id lists: "<image path><caption index>" (the text db files are written in pass 1) */
        for (int k = 0; k < TC_SYNTH_NCAPS; k++) {
            arr_item(&out.ids[sp]);
            sb_printf(&out.ids[sp], "\"%s%d\"", rel, k);
        }
    }
    if (!rc) {
        arr_close(&out.test_ret); arr_close(&out.val_ret); arr_close(&out.train); arr_close(&out.test_cap);
        arr_close(&out.vqa_train); arr_close(&out.vqa_val); arr_close(&out.scenes);
        sb_put(&out.gt, out.gt.n ? "\n}\n" : "{}\n");
        for (int k = 0; k < 3; k++) arr_close(&out.ids[k]);
        sb fm = {0};
        arr_close(&out.fmiqa_train);
        arr_close(&out.fmiqa_val);
        sb_put(&fm, "{\"train\": ");
        sb_putn(&fm, out.fmiqa_train.p, out.fmiqa_train.n);
        sb_put(&fm, ", \"val\": ");
        sb_putn(&fm, out.fmiqa_val.p, out.fmiqa_val.n);
        sb_put(&fm, "}\n");
        /* the two train files are the same data: COCO-style pretraining and caption fine-tuning */
        sb train_copy = {0};
        sb_putn(&train_copy, out.train.p, out.train.n);
        struct { const char *dir, *name; sb *b; } files[] = {
            {text_dir, "flickr30k_test_zh_token.json", &out.test_ret},
            {text_dir, "synth_val_zh_token.json", &out.val_ret},
            {text_dir, "json_coco_train_zh_token.json", &out.train},
            {text_dir, "json_coco_train_zh_token_for_cap.json", &train_copy},
            {text_dir, "json_coco_test_zh_token_for_cap.json", &out.test_cap},
            {text_dir, "json_coco_trans_captions.json", &out.gt},
            {text_dir, "FM-IQA_train_token_ids_for_vqa.json", &out.vqa_train},
            {text_dir, "FM-IQA_val_token_ids.json", &out.vqa_val},
            {text_dir, "FM-IQA.json", &fm},
            {text_dir, "synth_scenes.json", &out.scenes},
            {v1_dir, "train_ids.json", &out.ids[TC_SYNTH_SPLIT_TRAIN]},
            {v1_dir, "val_ids.json", &out.ids[TC_SYNTH_SPLIT_VAL]},
            {v1_dir, "test_ids.json", &out.ids[TC_SYNTH_SPLIT_TEST]},
        };
        for (size_t f = 0; f < sizeof files / sizeof files[0] && !rc; f++) rc = write_sb(files[f].dir, files[f].name, files[f].b);
        free(fm.p);
        free(train_copy.p);
    }
    sb *all[] = {&out.test_ret, &out.val_ret, &out.train, &out.test_cap, &out.gt, &out.vqa_train, &out.vqa_val,
                 &out.fmiqa_train, &out.fmiqa_val, &out.scenes, &out.ids[0], &out.ids[1], &out.ids[2]};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) free(all[k]->p);
    tc_ids_free(&scratch);
    tc_tokenizer_free(&tok);
    free(t);
    free(e);
    return rc;
}

/* v1 text db meta.json (same content as text/meta.json, where the v1 loader looks for it) */
static int write_v1_meta(const char *text_dir, const char *v1_dir) {
    char *src = tc_path_join(text_dir, "meta.json");
    size_t len;
    char *data = tc_read_file(src, &len);
    free(src);
    if (!data) return -1;
    char *txt = tc_path_join(v1_dir, "txt");
    int rc = tc_mkdir_p(txt);
    char *dst = tc_path_join(txt, "meta.json");
    if (!rc) rc = tc_write_file_atomic(dst, data, len);
    free(dst);
    free(txt);
    free(data);
    return rc;
}

/* ---- pass 3: speech ----
 * espeak-ng's output depends on what it spoke before in the same process (its pitch flutter and
 * noise generators keep running across utterances; measured: the same sentence twice gives 113166
 * then 113164 samples), and it is single-threaded. So every utterance is spoken in its own short-lived
 * process, forked from a "speech master" whose espeak state is freshly initialised and never used:
 * each WAV file is then a pure function of its text, whatever the number of workers, the order, or
 * --speak-all. The master keeps up to W utterance processes in flight (they mostly wait on fsync).
 * Children report each finished file as the byte '+' on a pipe (the caller draws the progress bar)
 * and a failure as 'E' + message + '\0' in one write (atomic below PIPE_BUF). */

static void report_error(int fd) {
    char msg[1024];
    int n = snprintf(msg, sizeof msg, "E%s", tc_error_get());
    if (n >= (int)sizeof msg) n = (int)sizeof msg - 1;
    msg[n] = 0;
    ssize_t w = write(fd, msg, (size_t)n + 1);
    (void)w;
}

static int speak_one(tc_synth_speech *sp, const char *audio_dir, int i, int k, const char *text) {
    float *pcm = NULL;
    int64_t n = 0;
    if (tc_synth_speech_say(sp, text, &pcm, &n)) return tc_error_prefix("image %d caption %d", i, k);
    char name[64];
    snprintf(name, sizeof name, "synth_%06d_%d.wav", i, k);
    char *path = tc_path_join(audio_dir, name);
    int rc = tc_synth_wav_write(path, pcm, n, TC_SYNTH_AUDIO_RATE);
    free(path);
    free(pcm);
    return rc;
}

/* Runs in the master process; never returns. */
static void speech_master(const tc_synth_opts *o, const char *audio_dir, int fd, int workers) {
    tc_synth_speech *sp = tc_synth_speech_open();
    if (!sp) { report_error(fd); _exit(1); }
    int per = o->speak_all ? TC_SYNTH_NCAPS : 1, running = 0, failed = 0;
    tc_synth_text *t = tc_xmalloc(sizeof *t);
    for (int i = 0; i < o->images && !failed; i++) {
        tc_synth_scene s;
        tc_synth_image_spec(o->seed, i, &s, t);
        for (int k = 0; k < per && !failed; k++) {
            while (running >= workers) { /* reap one */
                int status;
                if (wait(&status) < 0) { if (errno == EINTR) continue; break; }
                running--;
                failed |= !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
            }
            if (failed) break;
            pid_t pid = fork();
            if (pid == 0) {
                if (speak_one(sp, audio_dir, i, k, t->caption[k])) { report_error(fd); _exit(1); }
                ssize_t w = write(fd, "+", 1);
                (void)w;
                _exit(0);
            }
            if (pid < 0) {
                tc_error_set("synth: fork failed: %s", strerror(errno));
                report_error(fd);
                failed = 1;
                break;
            }
            running++;
        }
    }
    while (running > 0) {
        int status;
        if (wait(&status) < 0) { if (errno == EINTR) continue; break; }
        running--;
        failed |= !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    _exit(failed ? 1 : 0);
}

static int write_audio(const tc_synth_opts *o, const char *audio_dir, tc_synth_stats *st) {
    int per = o->speak_all ? TC_SYNTH_NCAPS : 1;
    int workers = 2 * omp_get_max_threads();
    if (workers > 16) workers = 16;
    int fds[2];
    if (pipe(fds) != 0) return tc_error_set("synth: pipe failed: %s", strerror(errno));
    fflush(NULL); /* nothing buffered may be written twice by the children */
    pid_t master = fork();
    if (master < 0) {
        close(fds[0]);
        close(fds[1]);
        return tc_error_set("synth: fork failed: %s", strerror(errno));
    }
    if (master == 0) {
        close(fds[0]);
        speech_master(o, audio_dir, fds[1], workers);
    }
    close(fds[1]);
    tc_progress p;
    tc_progress_start(&p, "synth speech", (int64_t)o->images * per);
    char err[1024] = "";
    int in_msg = 0, elen = 0; /* 0: progress bytes, 1: copying the first message, 2: skipping a later one */
    char buf[4096];
    ssize_t got;
    while ((got = read(fds[0], buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR)) {
        for (ssize_t k = 0; k < got; k++) {
            char c = buf[k];
            if (in_msg) {
                if (c == 0) in_msg = 0;
                else if (in_msg == 1 && elen < (int)sizeof err - 1) err[elen++] = c;
            } else if (c == '+') {
                st->n_audio++;
                tc_progress_add(&p, 1);
            } else if (c == 'E') {
                in_msg = elen ? 2 : 1;
            }
        }
    }
    close(fds[0]);
    int status = 0, rc = 0;
    while (waitpid(master, &status, 0) < 0 && errno == EINTR) {}
    tc_progress_finish(&p);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        rc = err[0] ? tc_error_set("%s", err) : tc_error_set("synth: speech process failed (status %d)", status);
    return rc;
}

static int write_readme(const tc_synth_opts *o, const tc_synth_stats *st, const tc_synth_vocab *v);

int tc_synth_generate(const tc_synth_opts *o, tc_synth_stats *st) {
    memset(st, 0, sizeof *st);
    if (!o->out || !*o->out) return tc_error_set("synth: --out is required");
    if (o->images < 3 || o->images > TC_SYNTH_MAX_IMAGES)
        return tc_error_set("synth: --images must be in 3..%d (got %d)", TC_SYNTH_MAX_IMAGES, o->images);
    if (o->size < 16 || o->size > 1024) return tc_error_set("synth: --size must be in 16..1024 pixels (got %d)", o->size);
    if (o->jpeg_quality < 0 || o->jpeg_quality > 100) return tc_error_set("synth: JPEG quality must be in 1..100");
    /* fail before any work when speech cannot be produced */
    if (o->audio && !tc_synth_speech_available()) {
        tc_synth_speech *sp = tc_synth_speech_open();
        tc_synth_speech_close(sp);
        if (!sp) return -1;
    }
    tc_synth_split_sizes(o->images, &st->n_train, &st->n_val, &st->n_test);
    char *img_dir = tc_path_join(o->out, "image/synth");
    char *tok_dir = tc_path_join(o->out, "img_tokens/synth");
    char *text_dir = tc_path_join(o->out, "text");
    char *v1_dir = tc_path_join(o->out, "v1");
    char *audio_dir = tc_path_join(o->out, "audio/synth");
    uint8_t *split = tc_xmalloc((size_t)o->images);
    tc_synth_vocab v;
    tc_synth_vocab_build(&v);
    st->vocab_size = v.n;
    int rc = 0;
    const char *dirs[] = {img_dir, tok_dir, text_dir, v1_dir};
    for (int k = 0; k < 4 && !rc; k++) rc = tc_mkdir_p(dirs[k]);
    if (!rc && o->audio) rc = tc_mkdir_p(audio_dir);
    /* Thousands of small regenerable files: rename each into place (never half-written) but sync the file
     * system once at the end instead of two fsyncs per file, which made the disk, not the CPU, the limit.
     * README.txt is written last with a full fsync, after the sync: its presence means everything is on disk. */
    if (!rc) tc_fileio_batch_begin();
    double t0 = tc_now_s();
    char *txt_db = o->v1_txt ? tc_path_join(v1_dir, "txt/synth") : NULL;
    if (!rc && txt_db) rc = tc_mkdir_p(txt_db);
    if (!rc) rc = write_images(o, img_dir, tok_dir, txt_db, &v);
    free(txt_db);
    double t1 = tc_now_s();
    st->seconds_images = t1 - t0;
    if (!rc) {
        tc_synth_assign_splits(o->seed, o->images, split);
        rc = write_text(o, text_dir, v1_dir, split, &v, st);
    }
    if (!rc) rc = write_vocab_files(text_dir, &v, o, st);
    if (!rc) rc = write_v1_meta(text_dir, v1_dir);
    double t2 = tc_now_s();
    st->seconds_text = t2 - t1;
    if (!rc && o->audio) rc = write_audio(o, audio_dir, st);
    int sync_rc = tc_fileio_batch_end(o->out);
    if (!rc) rc = sync_rc;
    st->seconds_audio = tc_now_s() - t2;
    if (!rc) rc = write_readme(o, st, &v);
    tc_synth_vocab_free(&v);
    free(split);
    free(img_dir); free(tok_dir); free(text_dir); free(v1_dir); free(audio_dir);
    return rc;
}

static int write_readme(const tc_synth_opts *o, const tc_synth_stats *st, const tc_synth_vocab *v) {
    sb b = {0};
    sb_printf(&b, "taichu synth dataset (generated by taichu %s)\n", TAICHU_VERSION);
    sb_printf(&b, "seed %" PRIu64 ", %d images of %dx%d px: train %d, val %d, test %d; vocab %d tokens; "
                  "%d VQA questions; %d speech files\n\n",
              o->seed, o->images, o->size, o->size, st->n_train, st->n_val, st->n_test, v->n, st->n_questions, st->n_audio);
    sb_put(&b,
           "Same seed and options give byte-identical files. Scenes: 1-3 objects (shape, colour, size, position)\n"
           "on a noisy background; every caption names the colour and shape of every object.\n\n"
           "Layout (OPT v2, spec 6.2; image paths in the JSON files are relative to image/):\n"
           "  image/synth/synth_NNNNNN.jpg            image NNNNNN (6-digit id = index)\n"
           "  img_tokens/synth/synth_NNNNNN.npz       VQ tokens: key \"feat\", int32 [64] = 8x8 code grid, row-major;\n"
           "                                          codes 0-3 background luminance, 4 + shape*7 + colour objects\n"
           "  audio/synth/synth_NNNNNN_K.wav          caption K of image NNNNNN spoken by espeak-ng (cmn-latn-pinyin),\n"
           "                                          16 kHz mono 16-bit PCM; K = 0 only, unless --speak-all\n"
           "  text/flickr30k_test_zh_token.json       test split: [{\"image\", \"caption\": [[ids] x5]}]\n"
           "  text/synth_val_zh_token.json            val split, same format\n"
           "  text/json_coco_train_zh_token.json      train split: [{\"image\", \"caption\": [[ids] x5]}]\n"
           "  text/json_coco_train_zh_token_for_cap.json  same (caption fine-tuning)\n"
           "  text/json_coco_test_zh_token_for_cap.json   test split: [{\"image\"}]\n"
           "  text/json_coco_trans_captions.json      caption GT of the test split: {\"NNNNNN\": [5 strings]}\n"
           "  text/FM-IQA_train_token_ids_for_vqa.json  VQA, train split: [{\"image_id\" (path), \"Question\": [ids],\n"
           "                                          \"Answer\": [ids], \"question_id\"}]\n"
           "  text/FM-IQA_val_token_ids.json          VQA of the test split (what the evaluators read as \"val\")\n"
           "  text/FM-IQA.json                        {\"train\": [...], \"val\": [...]}: question_id, image_id (numeric\n"
           "                                          string), Question, Answer as Chinese strings\n"
           "  text/bert-base-chinese-vocab.txt        the vocab (line number = id; [PAD]=0 [UNK]=100 [CLS]=101\n"
           "                                          [SEP]=102 [MASK]=103); ids in the files exclude CLS/SEP\n"
           "  text/ids_to_tokens_zh.json              {\"id\": \"token\"}\n"
           "  text/meta.json                          CLS/SEP/MASK ids, v_range, split sizes, generator options\n"
           "  text/synth_scenes.json                  ground truth: objects of every image and its split\n"
           "  v1/{train,val,test}_ids.json            v1 id lists: \"synth/synth_NNNNNN.jpgK\" (K = caption index)\n"
           "  v1/txt/meta.json                        v1 text db meta (txt/synth/<id>.json files with --v1-txt)\n");
    char *path = tc_path_join(o->out, "README.txt");
    int rc = tc_write_file_atomic(path, b.p, b.n);
    free(path);
    free(b.p);
    return rc;
}
