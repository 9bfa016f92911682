/* Captions, VQA pairs and vocabulary for `taichu synth` (see synth_text.h). */
#include "data/synth_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

const char *const tc_synth_count_words[4] = {"没有", "一个", "两个", "三个"};

/* Every literal the grammar below can emit. The vocab is built from this string, and the tests check
 * that thousands of generated captions encode, so a template edit that forgets a character fails loudly. */
static const char lexicon[] =
    "圆形正方形三角形星形菱形十字形红橙黄绿青蓝紫小大左边右边上面下面中间没有一个两个三个"
    "图中有个物体：、和。只这张图片里的色我们可以看到画面是在一共图形分别"
    "几什么颜状哪还？"
    "，；！";

/* ---- vocabulary ---- */

static int utf8_decode(const unsigned char *s, uint32_t *cp) {
    if (s[0] < 0x80) { *cp = s[0]; return 1; }
    int n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (!n) return -1;
    uint32_t c = s[0] & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return -1;
        c = (c << 6) | (s[i] & 0x3F);
    }
    *cp = c;
    return n;
}

static int utf8_encode(uint32_t c, char *out) {
    if (c < 0x80) { out[0] = (char)c; return 1; }
    if (c < 0x800) { out[0] = (char)(0xC0 | (c >> 6)); out[1] = (char)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12)); out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18)); out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F)); out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void tc_synth_vocab_build(tc_synth_vocab *v) {
    memset(v, 0, sizeof *v);
    /* code points of the lexicon, sorted and unique */
    size_t lexn = sizeof lexicon;
    uint32_t *cps = tc_xmalloc(lexn * sizeof *cps);
    int ncps = 0;
    for (const unsigned char *p = (const unsigned char *)lexicon; *p;) {
        uint32_t c;
        int k = utf8_decode(p, &c);
        p += k;
        cps[ncps++] = c;
    }
    qsort(cps, (size_t)ncps, sizeof *cps, cmp_u32);
    int u = 0;
    for (int i = 0; i < ncps; i++)
        if (u == 0 || cps[u - 1] != cps[i]) cps[u++] = cps[i];
    ncps = u;
    /* full-width punctuation goes before the ideographs (U+3000 block, U+FF00 block are both
     * "punctuation" for BERT): split them out to keep the documented order */
    int cap = 106 + 95 + ncps;
    v->tok = tc_xmalloc((size_t)cap * sizeof *v->tok);
    v->cp = tc_xmalloc((size_t)(95 + ncps) * sizeof *v->cp);
    v->cp_id = tc_xmalloc((size_t)(95 + ncps) * sizeof *v->cp_id);
    char buf[32];
    v->tok[v->n++] = tc_xstrdup("[PAD]");
    for (int i = 1; i <= 99; i++) {
        snprintf(buf, sizeof buf, "[unused%d]", i);
        v->tok[v->n++] = tc_xstrdup(buf);
    }
    v->tok[v->n++] = tc_xstrdup("[UNK]");
    v->tok[v->n++] = tc_xstrdup("[CLS]");
    v->tok[v->n++] = tc_xstrdup("[SEP]");
    v->tok[v->n++] = tc_xstrdup("[MASK]");
    v->tok[v->n++] = tc_xstrdup("<S>");
    v->tok[v->n++] = tc_xstrdup("<T>");
    v->first_char_id = v->n;
    for (int c = 33; c < 127; c++) {
        if (c >= 'A' && c <= 'Z') continue;
        buf[0] = (char)c;
        buf[1] = 0;
        v->cp[v->ncp] = (uint32_t)c;
        v->cp_id[v->ncp++] = v->n;
        v->tok[v->n++] = tc_xstrdup(buf);
    }
    for (int pass = 0; pass < 2; pass++) /* pass 0: punctuation (not CJK ideographs), pass 1: ideographs */
        for (int i = 0; i < ncps; i++) {
            int ideo = cps[i] >= 0x4E00 && cps[i] <= 0x9FFF;
            if (ideo != pass) continue;
            int k = utf8_encode(cps[i], buf);
            buf[k] = 0;
            v->cp[v->ncp] = cps[i];
            v->cp_id[v->ncp++] = v->n;
            v->tok[v->n++] = tc_xstrdup(buf);
        }
    free(cps);
    /* the lookup table must be sorted by code point: ASCII < U+3000 < U+4E00 < U+FF00 is not the
     * insertion order (full-width forms come after the ideographs), so sort pairs */
    for (int i = 1; i < v->ncp; i++)
        for (int j = i; j > 0 && v->cp[j - 1] > v->cp[j]; j--) {
            uint32_t tc = v->cp[j]; v->cp[j] = v->cp[j - 1]; v->cp[j - 1] = tc;
            int ti = v->cp_id[j]; v->cp_id[j] = v->cp_id[j - 1]; v->cp_id[j - 1] = ti;
        }
}

void tc_synth_vocab_free(tc_synth_vocab *v) {
    for (int i = 0; i < v->n; i++) free(v->tok[i]);
    free(v->tok);
    free(v->cp);
    free(v->cp_id);
    memset(v, 0, sizeof *v);
}

int tc_synth_vocab_encode(const tc_synth_vocab *v, const char *text, int32_t *ids, int max_ids) {
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p;) {
        uint32_t c;
        int k = utf8_decode(p, &c);
        if (k < 0) return tc_error_set("synth vocab: invalid UTF-8 at byte %d of \"%s\"", (int)(p - (const unsigned char *)text), text);
        int lo = 0, hi = v->ncp - 1, id = -1;
        while (lo <= hi) {
            int mid = (lo + hi) / 2;
            if (v->cp[mid] == c) { id = v->cp_id[mid]; break; }
            if (v->cp[mid] < c) lo = mid + 1; else hi = mid - 1;
        }
        if (id < 0) return tc_error_set("synth vocab: character U+%04X of \"%s\" is not in the vocab", (unsigned)c, text);
        if (n >= max_ids) return tc_error_set("synth vocab: \"%s\" is longer than %d tokens", text, max_ids);
        ids[n++] = id;
        p += k;
    }
    return n;
}

/* ---- captions ---- */

typedef struct sbuf {
    char *p;
    int len, cap;
} sbuf;

static void sadd(sbuf *b, const char *s) {
    int n = (int)strlen(s);
    if (b->len + n >= b->cap) n = b->cap - 1 - b->len; /* cannot happen for the grammar below */
    memcpy(b->p + b->len, s, (size_t)n);
    b->len += n;
    b->p[b->len] = 0;
}

/* separator before item i of n in a list: "、" between, "和" before the last */
static void list_sep(sbuf *b, int i, int n) {
    if (i == 0) return;
    sadd(b, i == n - 1 ? "和" : "、");
}

#define SHAPE(o) tc_synth_shape_names[(o)->shape]
#define COL(o) tc_synth_colour_names[(o)->colour]
#define SIZE(o) tc_synth_size_names[(o)->size]
#define POS(o) tc_synth_pos_names[(o)->pos]

void tc_synth_caption(const tc_synth_scene *s, int tmpl, tc_rng *r, char *out, int cap) {
    sbuf b = {out, 0, cap};
    out[0] = 0;
    int ord[TC_SYNTH_MAX_OBJ] = {0, 1, 2};
    tc_rng_shuffle_int(r, ord, s->nobj); /* mention the objects in a varying order */
    int n = s->nobj;
    switch (tmpl) {
    case 0: /* 图中有两个物体：一个大的红色圆形和一个小的蓝色星形。 */
        sadd(&b, n == 1 ? "图中只有一个物体：" : "图中有");
        if (n > 1) { sadd(&b, tc_synth_count_words[n]); sadd(&b, "物体："); }
        for (int i = 0; i < n; i++) {
            const tc_synth_object *o = &s->obj[ord[i]];
            list_sep(&b, i, n);
            sadd(&b, "一个"); sadd(&b, SIZE(o)); sadd(&b, "的"); sadd(&b, COL(o)); sadd(&b, "色"); sadd(&b, SHAPE(o));
        }
        break;
    case 1: /* 左边有一个红色的圆形，右边有一个蓝色的星形。 */
        for (int i = 0; i < n; i++) {
            const tc_synth_object *o = &s->obj[ord[i]];
            if (i) sadd(&b, "，");
            sadd(&b, POS(o)); sadd(&b, "有一个"); sadd(&b, COL(o)); sadd(&b, "色的"); sadd(&b, SHAPE(o));
        }
        break;
    case 2: /* 这张图片里有红色的大圆形和蓝色的小星形。 */
        sadd(&b, "这张图片里有");
        for (int i = 0; i < n; i++) {
            const tc_synth_object *o = &s->obj[ord[i]];
            list_sep(&b, i, n);
            sadd(&b, COL(o)); sadd(&b, "色的"); sadd(&b, SIZE(o)); sadd(&b, SHAPE(o));
        }
        break;
    case 3: /* 红色的圆形在左边，蓝色的星形在右边。 */
        for (int i = 0; i < n; i++) {
            const tc_synth_object *o = &s->obj[ord[i]];
            if (i) sadd(&b, "，");
            sadd(&b, COL(o)); sadd(&b, "色的"); sadd(&b, SHAPE(o)); sadd(&b, "在"); sadd(&b, POS(o));
        }
        break;
    case 4: /* 画面左边是一个大的红色圆形，画面右边是一个小的蓝色星形。 */
        for (int i = 0; i < n; i++) {
            const tc_synth_object *o = &s->obj[ord[i]];
            if (i) sadd(&b, "，");
            sadd(&b, "画面"); sadd(&b, POS(o)); sadd(&b, "是一个"); sadd(&b, SIZE(o)); sadd(&b, "的");
            sadd(&b, COL(o)); sadd(&b, "色"); sadd(&b, SHAPE(o));
        }
        break;
    case 5: /* 我们可以看到一个红色圆形和一个蓝色星形。 */
        sadd(&b, "我们可以看到");
        for (int i = 0; i < n; i++) {
            const tc_synth_object *o = &s->obj[ord[i]];
            list_sep(&b, i, n);
            sadd(&b, "一个"); sadd(&b, COL(o)); sadd(&b, "色"); sadd(&b, SHAPE(o));
        }
        break;
    case 6: /* 左边的圆形是红色的，右边的星形是蓝色的。 */
        for (int i = 0; i < n; i++) {
            const tc_synth_object *o = &s->obj[ord[i]];
            if (i) sadd(&b, "，");
            sadd(&b, POS(o)); sadd(&b, "的"); sadd(&b, SHAPE(o)); sadd(&b, "是"); sadd(&b, COL(o)); sadd(&b, "色的");
        }
        break;
    default: /* 图片上一共有两个图形，分别是红色的圆形和蓝色的星形。 */
        if (n == 1) sadd(&b, "图片上只有一个图形，是一个");
        else { sadd(&b, "图片上一共有"); sadd(&b, tc_synth_count_words[n]); sadd(&b, "图形，分别是"); }
        for (int i = 0; i < n; i++) {
            const tc_synth_object *o = &s->obj[ord[i]];
            list_sep(&b, i, n);
            sadd(&b, COL(o)); sadd(&b, "色的"); sadd(&b, SHAPE(o));
        }
        break;
    }
    sadd(&b, "。");
}

/* ---- VQA ---- */

static void qa(const tc_synth_scene *s, int kind, tc_rng *r, char *q, char *a) {
    sbuf bq = {q, 0, TC_SYNTH_TEXT_CAP}, ba = {a, 0, 64};
    q[0] = a[0] = 0;
    const tc_synth_object *o = &s->obj[tc_rng_below(r, (uint32_t)s->nobj)];
    switch (kind) {
    case TC_SYNTH_Q_COUNT_ALL:
        sadd(&bq, "图中有几个物体？");
        sadd(&ba, tc_synth_count_words[s->nobj]);
        break;
    case TC_SYNTH_Q_COUNT_SHAPE: {
        /* mostly a shape that is present (counts 1-3), sometimes one that is not ("没有") */
        int shape = tc_rng_uniform(r) < 0.75f ? o->shape : (int)tc_rng_below(r, TC_SYNTH_NSHAPES);
        sadd(&bq, "图中有几个"); sadd(&bq, tc_synth_shape_names[shape]); sadd(&bq, "？");
        sadd(&ba, tc_synth_count_words[tc_synth_count_shape(s, shape)]);
        break;
    }
    case TC_SYNTH_Q_COLOUR:
        sadd(&bq, POS(o)); sadd(&bq, "的"); sadd(&bq, SHAPE(o)); sadd(&bq, "是什么颜色？");
        sadd(&ba, COL(o)); sadd(&ba, "色");
        break;
    case TC_SYNTH_Q_SHAPE:
        sadd(&bq, POS(o)); sadd(&bq, "的物体是什么形状？");
        sadd(&ba, SHAPE(o));
        break;
    case TC_SYNTH_Q_WHERE:
        sadd(&bq, COL(o)); sadd(&bq, "色的"); sadd(&bq, SHAPE(o)); sadd(&bq, "在哪里？");
        sadd(&ba, POS(o));
        break;
    default: /* TC_SYNTH_Q_SIZE */
        sadd(&bq, POS(o)); sadd(&bq, "的"); sadd(&bq, SHAPE(o)); sadd(&bq, "是大的还是小的？");
        sadd(&ba, SIZE(o)); sadd(&ba, "的");
        break;
    }
}

void tc_synth_describe(const tc_synth_scene *s, tc_rng *r, tc_synth_text *t) {
    memset(t, 0, sizeof *t);
    int tm[TC_SYNTH_NTEMPLATES];
    for (int i = 0; i < TC_SYNTH_NTEMPLATES; i++) tm[i] = i;
    tc_rng_shuffle_int(r, tm, TC_SYNTH_NTEMPLATES);
    for (int k = 0; k < TC_SYNTH_NCAPS; k++) {
        t->caption_template[k] = tm[k];
        tc_synth_caption(s, tm[k], r, t->caption[k], TC_SYNTH_TEXT_CAP);
    }
    int kinds[TC_SYNTH_Q_NKINDS];
    for (int i = 0; i < TC_SYNTH_Q_NKINDS; i++) kinds[i] = i;
    tc_rng_shuffle_int(r, kinds, TC_SYNTH_Q_NKINDS);
    t->nqa = 1 + (int)tc_rng_below(r, TC_SYNTH_MAX_QA);
    for (int i = 0; i < t->nqa; i++) {
        t->qa_kind[i] = kinds[i];
        qa(s, kinds[i], r, t->question[i], t->answer[i]);
    }
}
