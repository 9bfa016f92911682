/* Readers for the original OPT dataset formats (spec §6), returning plain C structs.
 *
 *   v2 (spec §6.2, files under dataset/text/, images under dataset/image/):
 *     flickr30k_test_zh_token.json       tc_ds_load_captions(..., TC_DS_CAPS_FIVE)
 *     json_coco_train_zh_token*.json     tc_ds_load_captions(..., TC_DS_CAPS_SOME)
 *     json_coco_test_zh_token_for_cap    tc_ds_load_captions(..., TC_DS_CAPS_OPTIONAL)
 *     json_coco_trans_captions.json      tc_ds_load_caption_gt
 *     FM-IQA_*_token_ids*.json           tc_ds_load_vqa
 *     FM-IQA.json                        tc_ds_load_fmiqa
 *   v1 (spec §6.1): id lists (tc_ds_load_id_list), the text db (tc_ds_txtdb_*), the image / VQ-token /
 *     audio path rules (tc_ds_v1_*_path), VQ tokens (tc_ds_load_img_tokens), v1 VQA token files
 *     (tc_ds_load_vqa_v1), and tc_ds_v1_load which joins them into samples.
 *
 * Errors: every malformed input gets one line naming the file and the entry, e.g.
 *   "text/x.json: entry 12 (image \"a.jpg\"): caption 3: id 30000 is outside the vocab (21128 ids)".
 * File-level problems (unreadable, broken JSON with line:column, wrong top-level type) always fail.
 * Entry-level problems (missing field, wrong type, empty caption list, id outside the vocab, missing
 * image) fail too, unless opts.skip_bad: then the entry is dropped, counted in `skipped`, and the first
 * such message kept in `first_skip` (so a CLI can print "skipped 3 bad samples, first: ...").
 * docs/datasets.md lists the exact path rules. */
#ifndef TC_DATA_DATASET_H
#define TC_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

typedef struct tc_ds_opts {
    int skip_bad;      /* drop and count malformed entries instead of failing */
    int check_images;  /* the image file of every entry must exist */
    int vocab_size;    /* > 0: every id must be in [0, vocab_size) */
} tc_ds_opts;

/* skip_bad 0, check_images 1, vocab_size 21128 (bert-base-chinese). */
tc_ds_opts tc_ds_opts_default(void);

typedef struct tc_ds_ids {
    int32_t *v;
    int n;
} tc_ds_ids;

/* Counters shared by every loaded collection. */
typedef struct tc_ds_report {
    int skipped;
    char first_skip[512]; /* message of the first skipped entry ("" if none) */
} tc_ds_report;

/* ---- v2 image–caption files ---- */

typedef enum {
    TC_DS_CAPS_OPTIONAL = 0, /* "caption" may be absent (caption test file) */
    TC_DS_CAPS_SOME = 1,     /* at least one caption: a list of ids or a list of id lists */
    TC_DS_CAPS_FIVE = 5,     /* exactly five id lists (Flickr30K-CN test: text k <-> image k/5) */
} tc_ds_caps_rule;

typedef struct tc_ds_caption_item {
    char *image;      /* image_root + "/" + image_rel */
    char *image_rel;  /* the "image" field as written */
    tc_ds_ids *caps;  /* [ncap] */
    int ncap;
} tc_ds_caption_item;

typedef struct tc_ds_captions {
    tc_ds_caption_item *items;
    int n;
    tc_ds_report report;
} tc_ds_captions;

int tc_ds_load_captions(const char *path, const char *image_root, tc_ds_caps_rule rule, const tc_ds_opts *o,
                        tc_ds_captions *out);
/* Same from memory (`name` appears in messages). */
int tc_ds_parse_captions(const char *json, size_t len, const char *name, const char *image_root, tc_ds_caps_rule rule,
                         const tc_ds_opts *o, tc_ds_captions *out);
void tc_ds_captions_free(tc_ds_captions *c);

/* ---- caption ground truth: {"<image id>": ["caption", ...]} ---- */

typedef struct tc_ds_gt_entry {
    char *image_id;
    char **caps; /* [ncap] UTF-8 strings */
    int ncap;
} tc_ds_gt_entry;

typedef struct tc_ds_gt {
    tc_ds_gt_entry *e; /* sorted by image_id */
    int n;
    tc_ds_report report;
} tc_ds_gt;

int tc_ds_load_caption_gt(const char *path, const tc_ds_opts *o, tc_ds_gt *out);
int tc_ds_parse_caption_gt(const char *json, size_t len, const char *name, const tc_ds_opts *o, tc_ds_gt *out);
const tc_ds_gt_entry *tc_ds_gt_find(const tc_ds_gt *gt, const char *image_id);
void tc_ds_gt_free(tc_ds_gt *gt);
/* Image id of a prediction as the original's metric code derives it: the last 6 characters of the
 * file stem ("COCO_val2014_000000391895.jpg" -> "391895"). Writes into buf[cap]. */
void tc_ds_coco_image_id(const char *image_path, char *buf, size_t cap);

/* ---- VQA ---- */

typedef struct tc_ds_vqa_item {
    char *question_id; /* as a string (the files hold numbers or strings) */
    char *image;       /* image_root + "/" + image_rel (v2); NULL for v1 token files */
    char *image_rel;
    tc_ds_ids question; /* no [CLS]/[SEP] */
    tc_ds_ids answer;   /* n = 0 when absent and not required */
    int has_answer;
} tc_ds_vqa_item;

typedef struct tc_ds_vqa {
    tc_ds_vqa_item *items;
    int n;
    tc_ds_report report;
} tc_ds_vqa;

/* v2: [{"image_id": "<relative image path>", "Question": [ids], "Answer": [ids], "question_id": ...}] */
int tc_ds_load_vqa(const char *path, const char *image_root, int require_answer, const tc_ds_opts *o, tc_ds_vqa *out);
int tc_ds_parse_vqa(const char *json, size_t len, const char *name, const char *image_root, int require_answer,
                    const tc_ds_opts *o, tc_ds_vqa *out);
/* v1: {"<question_id>": {"input_ids": [...], "answer_ids": [...]}} (image fields stay NULL) */
int tc_ds_load_vqa_v1(const char *path, int require_answer, const tc_ds_opts *o, tc_ds_vqa *out);
int tc_ds_parse_vqa_v1(const char *json, size_t len, const char *name, int require_answer, const tc_ds_opts *o,
                       tc_ds_vqa *out);
void tc_ds_vqa_free(tc_ds_vqa *v);

/* FM-IQA.json: {"train": [...], "val": [...]} with question_id, image_id, Question, Answer strings.
 * The original reads only val's question_id and Answer (GT); those are required, the rest optional. */
typedef struct tc_ds_fmiqa_item {
    char *question_id, *image_id, *question, *answer; /* question / image_id may be NULL */
} tc_ds_fmiqa_item;

typedef struct tc_ds_fmiqa {
    tc_ds_fmiqa_item *train, *val;
    int ntrain, nval;
    tc_ds_report report;
} tc_ds_fmiqa;

int tc_ds_load_fmiqa(const char *path, const tc_ds_opts *o, tc_ds_fmiqa *out);
int tc_ds_parse_fmiqa(const char *json, size_t len, const char *name, const tc_ds_opts *o, tc_ds_fmiqa *out);
void tc_ds_fmiqa_free(tc_ds_fmiqa *f);
/* v1 FM-IQA image: <img>/mscoco/{train,val}2014/COCO_{train,val}2014_<image_id zero-padded to 12>.jpg */
char *tc_ds_fmiqa_image_path(const char *img_root, int val, const char *image_id);

/* ---- v1 ---- */

/* JSON array of id strings. *ids: malloc'd array of malloc'd strings. */
int tc_ds_load_id_list(const char *path, char ***ids, int *n);
int tc_ds_parse_id_list(const char *json, size_t len, const char *name, char ***ids, int *n);
void tc_ds_free_strings(char **s, int n);

/* Text db: <dir>/meta.json = {"CLS", "SEP", "MASK", "v_range": [lo, hi], ...}, one <dir>/<id>.json per
 * id (fallback <dir>_json/<id>.json) with "input_ids". */
typedef struct tc_ds_txtdb {
    char *dir;
    int cls, sep, mask;
    int v_lo, v_hi;
} tc_ds_txtdb;

int tc_ds_txtdb_open(const char *dir, tc_ds_txtdb *db);
/* input_ids of one id (without CLS/SEP; for ids containing "laion400m" the first 3 are dropped, as the
 * original does). ids are checked against o->vocab_size. */
int tc_ds_txtdb_get(const tc_ds_txtdb *db, const char *id, const tc_ds_opts *o, tc_ds_ids *out);
void tc_ds_txtdb_close(tc_ds_txtdb *db);

/* Image of a v1 id (spec §2.1): ids with ".jpg" lose what follows it (a caption index) and map to
 * <img_dir>/<id>; if that file does not exist, <img_dir>/<basename> is tried (returned if it exists,
 * else the first candidate); ids without ".jpg" get ".jpg" appended. malloc'd. */
char *tc_ds_v1_image_path(const char *img_dir, const char *id);
/* VQ-token file of a v1 id (the original's IdThreeDataset.get_img_token):
 *   data_type 0: <dir>/<id>.npz;  1: <dir>/<id with '_' -> '/'>.npz;
 *   2: <dir>/<id with ".jpgK" -> ".jpg.npz">, falling back to ".jpgK" -> ".npz" when the first is missing. */
char *tc_ds_v1_token_path(const char *tok_dir, const char *id, int data_type);
/* Key "feat" of an .npz as flat integer codes. *codes malloc'd [*n]. */
int tc_ds_load_img_tokens(const char *path, int64_t **codes, int *n);

/* One v1 sample: the id list joined with the text db and the path rules. */
typedef struct tc_ds_v1_item {
    char *id;
    char *image;      /* tc_ds_v1_image_path */
    char *audio;      /* <audio_dir>/<id>.npz by the audio module's rule, or NULL without audio_dir */
    tc_ds_ids input_ids;
} tc_ds_v1_item;

typedef struct tc_ds_v1 {
    tc_ds_v1_item *items;
    int n;
    tc_ds_txtdb db;
    tc_ds_report report;
} tc_ds_v1;

/* audio_dir may be NULL. With o->check_images, the image (and audio, if given) must exist. */
int tc_ds_v1_load(const char *ids_path, const char *txt_db, const char *img_dir, const char *audio_dir,
                  const tc_ds_opts *o, tc_ds_v1 *out);
void tc_ds_v1_free(tc_ds_v1 *d);

#endif
