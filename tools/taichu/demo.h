/* `taichu demo` pieces shared by cmd_demo.c (stage runner), demo_results.c (reading the stages' outputs,
 * the console table), demo_search.c (text -> image top-5 from `taichu embed` matrices) and demo_report.c
 * (DIR/report.html). The demo never computes a metric itself: every number comes from a file that a
 * stage (`taichu eval ...`, the trainer's log) wrote, so the table and the report show exactly what the
 * printed commands produce when rerun by hand. */
#ifndef TC_TOOLS_DEMO_H
#define TC_TOOLS_DEMO_H

#include <stdio.h>

enum { DEMO_PENDING = 0, DEMO_OK, DEMO_SKIPPED, DEMO_FAILED };

typedef struct demo_stage {
    const char *title;   /* "pre-train opt-v2-tiny (MLM + ITC + ITM)" */
    char cmdline[8192];  /* shell-quoted, as printed */
    int status;          /* DEMO_* */
    char note[512];      /* why skipped / how it failed */
    double seconds;
} demo_stage;

#define DEMO_MAX_STAGES 16
#define DEMO_GALLERY 8   /* test images shown with captions / answers */
#define DEMO_QUERIES 4   /* text queries with their top-5 images */
#define DEMO_TOPK 5

typedef struct demo_gallery_item {
    char image[1024];    /* absolute or DIR-relative path of the JPEG */
    char caption[512];   /* generated ("" when caption fine-tuning did not run) */
    char gt_caption[512];
    char question[512], answer[256], gt_answer[256];
    int has_caption, has_answer; /* a prediction exists (it may be an empty string) */
} demo_gallery_item;

typedef struct demo_query {
    char text[512];
    int truth;                  /* index of the image the caption was written for */
    int top[DEMO_TOPK];         /* image indices, best first */
    float score[DEMO_TOPK];
} demo_query;

/* One pre-training task's loss at the start and at the end of its run (from the run's log.jsonl: the mean
 * over the first and the last tenth of the steps that trained the task, at least one step each). */
typedef struct demo_task_loss {
    const char *model;          /* "opt-v2-tiny" / "opt-v1-tiny" */
    char task[32];
    const char *level;          /* "token" / "modality" / "sample" (OPT's three levels) */
    double first, last;
    int steps;                  /* steps that trained it */
} demo_task_loss;

#define DEMO_MAX_TASK_LOSSES 24

typedef struct demo_results {
    /* zero-shot retrieval (eval/retrieval_zeroshot.json); recalls in percent, IR = text->image */
    int have_ret;
    double ir[3], tr[3], r_mean;
    int ret_images, ret_texts;
    /* caption (eval/caption_pred_metric.json) and VQA (eval/vqa_pred_metric.json) */
    int have_cap, have_vqa;
    double bleu4, cider, meteor, rouge_l, vqa_acc, vqa_bleu4;
    int cap_images, vqa_questions;
    /* the same evaluation's ranking by ITC similarity alone (its itc_only object) */
    int have_itc;
    double itc_ir[3], itc_tr[3], itc_r_mean;
    /* pre-training at three levels: every task of both pre-training runs */
    demo_task_loss losses[DEMO_MAX_TASK_LOSSES];
    int nlosses;
    demo_gallery_item gallery[DEMO_GALLERY];
    int ngallery;
    demo_query queries[DEMO_QUERIES];
    int nqueries;
    char **search_images;       /* [nsearch] image paths the queries ranked */
    int nsearch;
} demo_results;

typedef struct demo_ctx {
    const char *out;            /* DIR */
    char data[1024];            /* DIR/data */
    char data_v1[1024];         /* DIR/data_v1: a smaller tri-modal set (speech) for the v1 pre-training */
    char pretrain_run[1024], caption_run[1024], vqa_run[1024], pretrain_v1_run[1024];
    char pretrain_model[1100], caption_model[1100], vqa_model[1100];
    char eval_dir[1024];
    demo_stage stages[DEMO_MAX_STAGES];
    int nstages;
    int quick, images, pretrain_steps, finetune_steps;
    int v1_images, v1_steps, v1_speech;
    /* v1_*: the tri-modal stage; v1_speech 0 when built without espeak-ng */
    double seconds_total;
} demo_ctx;

/* demo_results.c: the test split's image paths (DIR/data/image/..., file order = every evaluator's order;
 * NULL and *n = 0 when the dataset is missing) and the first GT caption of a test image */
char **demo_test_images(const demo_ctx *c, int *n);
int demo_gt_caption(const demo_ctx *c, const char *image_path, char *dst, size_t cap);

/* demo_results.c: read what the stages wrote (missing files leave have_* at 0; never an error) */
void demo_results_load(const demo_ctx *c, demo_results *r);
void demo_results_print(FILE *out, const demo_ctx *c, const demo_results *r);
void demo_results_free(demo_results *r);

/* demo_search.c: rank the images of img.npy for each text of txt.npy (rows L2-normalised by `taichu
 * embed`; cosine = dot product). 0 or -1 with tc_error set. */
int demo_search(const char *img_npy, const char *txt_npy, demo_query *q, int nq);

/* demo_report.c: DIR/report.html, self-contained (images as data: URIs, SVG inline, no external
 * resources), written atomically. */
int demo_report_write(const demo_ctx *c, const demo_results *r, const char *path);

#endif
