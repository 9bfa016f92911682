/* DIR/report.html for `taichu demo`: one self-contained page (no scripts, no external resources; the test
 * images and the trainer's curves.svg are embedded as data: URIs, so it opens offline and can be mailed
 * as one file). Written to memory, then atomically to disk. */
#include "demo.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"

static void base64(FILE *f, const unsigned char *p, size_t n) {
    static const char tb[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        fputc(tb[v >> 18], f); fputc(tb[v >> 12 & 63], f); fputc(tb[v >> 6 & 63], f); fputc(tb[v & 63], f);
    }
    if (i < n) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
        fputc(tb[v >> 18], f);
        fputc(tb[v >> 12 & 63], f);
        fputc(i + 1 < n ? tb[v >> 6 & 63] : '=', f);
        fputc('=', f);
    }
}

static void esc(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* <img> with the file's bytes as a data: URI; a missing file shows as a note (never a broken image) */
static void img_tag(FILE *f, const char *path, const char *mime, const char *cls, const char *alt) {
    size_t len = 0;
    unsigned char *b = (unsigned char *)tc_read_file(path, &len);
    if (!b) {
        tc_error_clear();
        fputs("<span class=\"missing\">(image missing: ", f);
        esc(f, path);
        fputs(")</span>", f);
        return;
    }
    fprintf(f, "<img class=\"%s\" alt=\"", cls);
    esc(f, alt);
    fprintf(f, "\" src=\"data:%s;base64,", mime);
    base64(f, b, len);
    fputs("\">", f);
    free(b);
}

static const char *status_word(int s) {
    return s == DEMO_OK ? "ok" : s == DEMO_SKIPPED ? "skipped" : s == DEMO_FAILED ? "FAILED" : "not run";
}

static void cell(FILE *f, int have, double v) {
    if (have) fprintf(f, "<td>%.2f</td>", v);
    else fputs("<td class=\"na\">not run</td>", f);
}

static const char *css =
    "body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
    "color:#222}h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
    "th{background:#f3f3f3}td.na{color:#999}code{font-size:.85em;word-break:break-all}"
    ".ok{color:#176f2c}.skipped{color:#946200}.FAILED{color:#b00020;font-weight:bold}"
    ".gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:1em}"
    ".card{border:1px solid #ddd;border-radius:6px;padding:.6em}.card p{margin:.3em 0;font-size:.92em}"
    "img.test{width:128px;height:128px;image-rendering:pixelated;display:block}"
    "img.thumb{width:96px;height:96px;image-rendering:pixelated;display:block}"
    "img.curve{max-width:100%;border:1px solid #eee}.lbl{color:#666}"
    ".row{display:flex;gap:.6em;flex-wrap:wrap}.hit{outline:3px solid #176f2c}.fig{font-size:.8em;text-align:center}"
    ".missing{color:#b00020}";

static void write_page(FILE *f, const demo_ctx *c, const demo_results *r) {
    fputs("<!DOCTYPE html>\n<html lang=\"zh-Hans\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
          "<title>taichu demo report</title><style>", f);
    fputs(css, f);
    fputs("</style></head><body>\n<h1>taichu demo: OPT (opt-v2-tiny) on the built-in dataset</h1>\n", f);
    fprintf(f, "<p>%d synthetic images (5 Chinese captions and 1&ndash;3 questions each), %d pre-training steps, "
               "%d fine-tuning steps per task%s; %.0f s in all. Every number below was written by one of the "
               "commands listed under <a href=\"#stages\">Stages</a> (also in <code>commands.sh</code>).</p>\n",
            c->images, c->pretrain_steps, c->finetune_steps, c->quick ? " (<code>--quick</code>: a smoke test, "
            "too short to learn much)" : "", c->seconds_total);

    /* results */
    fputs("<h2 id=\"results\">Results</h2>\n<p>Retrieval: zero-shot (the pre-trained model, no fine-tuning); "
          "IR = text&rarr;image, TR = image&rarr;text, recall in %", f);
    if (r->have_ret) fprintf(f, "; %d test images &times; %d captions", r->ret_images, r->ret_texts);
    fputs(". The OPT v2 protocol re-scores each query&rsquo;s ITC top k with the ITM head; the second row ranks by "
          "the ITC similarity alone.</p>\n<table><tr><th>ranking</th><th>IR@1</th><th>IR@5</th><th>IR@10</th>"
          "<th>TR@1</th><th>TR@5</th><th>TR@10</th><th>mean</th></tr><tr><td>ITC + ITM re-ranking</td>", f);
    for (int i = 0; i < 3; i++) cell(f, r->have_ret, r->ir[i]);
    for (int i = 0; i < 3; i++) cell(f, r->have_ret, r->tr[i]);
    cell(f, r->have_ret, r->r_mean);
    fputs("</tr>", f);
    if (r->have_itc) {
        fputs("<tr><td>ITC similarity alone</td>", f);
        for (int i = 0; i < 3; i++) cell(f, 1, r->itc_ir[i]);
        for (int i = 0; i < 3; i++) cell(f, 1, r->itc_tr[i]);
        cell(f, 1, r->itc_r_mean);
        fputs("</tr>", f);
    }
    fputs("</table>\n", f);
    fputs("<p>Captioning (fine-tuned, scores &times;100, one token per character) and VQA "
          "(fine-tuned, exact-match accuracy in %).</p>\n<table><tr><th>BLEU-4</th><th>METEOR</th><th>ROUGE-L</th>"
          "<th>CIDEr</th><th>VQA accuracy</th></tr><tr>", f);
    cell(f, r->have_cap, 100 * r->bleu4);
    cell(f, r->have_cap, 100 * r->meteor);
    cell(f, r->have_cap, 100 * r->rouge_l);
    cell(f, r->have_cap, 100 * r->cider);
    cell(f, r->have_vqa, r->vqa_acc);
    fputs("</tr></table>\n", f);

    /* the three levels */
    fputs("<h2 id=\"levels\">Pre-training at three levels</h2>\n<p>Loss of every pre-training task: the mean "
          "over the first and the last tenth of the steps that trained it (from each run's <code>log.jsonl</code>). "
          "Token level: masked modelling of text, image patches and audio frames; modality level: a whole "
          "modality rebuilt by a decoder; sample level: matching and contrastive learning.</p>\n", f);
    if (r->nlosses) {
        fputs("<table><tr><th>model</th><th>level</th><th>task</th><th>steps</th><th>first</th><th>last</th></tr>\n", f);
        static const char *const levels[3] = {"token", "modality", "sample"};
        for (int l = 0; l < 3; l++)
            for (int i = 0; i < r->nlosses; i++)
                if (strcmp(r->losses[i].level, levels[l]) == 0)
                    fprintf(f, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%.4f</td><td>%.4f</td></tr>\n",
                            r->losses[i].model, r->losses[i].level, r->losses[i].task, r->losses[i].steps,
                            r->losses[i].first, r->losses[i].last);
        fputs("</table>\n", f);
    } else {
        fputs("<p class=\"na\">No pre-training run finished.</p>\n", f);
    }

    /* curves */
    fputs("<h2 id=\"curves\">Training curves</h2>\n", f);
    const char *runs[4] = {c->pretrain_run, c->pretrain_v1_run, c->caption_run, c->vqa_run};
    const char *names[4] = {"pre-training (opt-v2-tiny)", "tri-modal pre-training (opt-v1-tiny)", "caption fine-tuning",
                            "VQA fine-tuning"};
    int shown = 0;
    for (int i = 0; i < 4; i++) {
        char svg[1200];
        snprintf(svg, sizeof svg, "%s/curves.svg", runs[i]);
        if (!tc_file_exists(svg)) continue;
        fprintf(f, "<h3>%s</h3>\n", names[i]);
        img_tag(f, svg, "image/svg+xml", "curve", names[i]);
        fputc('\n', f);
        shown++;
    }
    if (!shown) fputs("<p class=\"na\">No training run finished, so there are no curves.</p>\n", f);

    /* gallery */
    fputs("<h2 id=\"gallery\">Test images: generated captions and answers</h2>\n<div class=\"gallery\">\n", f);
    for (int i = 0; i < r->ngallery; i++) {
        const demo_gallery_item *g = &r->gallery[i];
        fputs("<div class=\"card\">", f);
        img_tag(f, g->image, "image/jpeg", "test", g->gt_caption);
        fputs("<p><span class=\"lbl\">file:</span> <code>", f);
        esc(f, g->image);
        fputs("</code></p><p><span class=\"lbl\">caption:</span> ", f);
        if (g->caption[0]) esc(f, g->caption);
        else if (g->has_caption) fputs("<span class=\"na\">(empty)</span>", f);
        else fputs("<span class=\"na\">(not captioned in this run)</span>", f);
        fputs("</p><p><span class=\"lbl\">reference:</span> ", f);
        esc(f, g->gt_caption);
        fputs("</p>", f);
        if (g->question[0]) {
            fputs("<p><span class=\"lbl\">Q:</span> ", f);
            esc(f, g->question);
            fputs("<br><span class=\"lbl\">A:</span> ", f);
            if (g->answer[0]) esc(f, g->answer);
            else if (g->has_answer) fputs("<span class=\"na\">(empty)</span>", f);
            else fputs("<span class=\"na\">(not answered in this run)</span>", f);
            fputs(" <span class=\"lbl\">(reference: ", f);
            esc(f, g->gt_answer);
            fputs(")</span></p>", f);
        }
        fputs("</div>\n", f);
    }
    fputs("</div>\n", f);

    /* search */
    fputs("<h2 id=\"search\">Text &rarr; image search</h2>\n", f);
    if (r->nqueries == 0) {
        fputs("<p class=\"na\">Not run (needs the pre-trained model and <code>taichu embed</code>).</p>\n", f);
    } else {
        fprintf(f, "<p>Each query is a reference caption of one test image (outlined in green when it is in the "
                   "top 5); the top 5 of %d test images by cosine similarity of the pre-trained model's ITC "
                   "embeddings (<code>taichu embed</code>).</p>\n", r->nsearch);
        for (int q = 0; q < r->nqueries; q++) {
            const demo_query *d = &r->queries[q];
            fputs("<h3>&ldquo;", f);
            esc(f, d->text);
            fputs("&rdquo;</h3>\n<div class=\"row\">", f);
            for (int k = 0; k < DEMO_TOPK && d->top[k] >= 0; k++) {
                fprintf(f, "<div class=\"fig%s\">", d->top[k] == d->truth ? " hit" : "");
                img_tag(f, r->search_images[d->top[k]], "image/jpeg", "thumb", "search result");
                fprintf(f, "%d. %.3f</div>", k + 1, d->score[k]);
            }
            fputs("</div>\n", f);
        }
    }

    /* stages */
    fputs("<h2 id=\"stages\">Stages</h2>\n<table><tr><th>#</th><th>stage</th><th>status</th><th>time</th>"
          "<th>command</th></tr>\n", f);
    for (int i = 0; i < c->nstages; i++) {
        const demo_stage *s = &c->stages[i];
        fprintf(f, "<tr><td>%d</td><td>", i + 1);
        esc(f, s->title);
        fprintf(f, "</td><td class=\"%s\">%s", status_word(s->status), status_word(s->status));
        if (s->note[0]) {
            fputs(": ", f);
            esc(f, s->note);
        }
        fprintf(f, "</td><td>%.1f s</td><td><code>", s->seconds);
        esc(f, s->cmdline);
        fputs("</code></td></tr>\n", f);
    }
    fputs("</table>\n<p>Generated by <code>taichu demo</code> (docs/demo.md).</p>\n</body></html>\n", f);
}

int demo_report_write(const demo_ctx *c, const demo_results *r, const char *path) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return tc_error_set("%s: cannot allocate the report", path);
    write_page(f, c, r);
    fclose(f);
    int rc = tc_write_file_atomic(path, buf, len);
    free(buf);
    return rc;
}
