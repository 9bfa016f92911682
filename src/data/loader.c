/* The training data loader: batch assembly, the decoded-image cache and the prefetch worker (loader.h). */
#include "data/loader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/rng.h"

enum { SLOT_PENDING = 1, SLOT_BUILDING = 2, SLOT_READY = 3, SLOT_FAILED = 4 };
enum { MAX_DEPTH = 8 };

typedef struct slot {
    tc_batch b;          /* storage, capacity cap_b rows */
    int cap_b;
    tc_sample *req;      /* [cap_req] the requested samples */
    int cap_req, B;
    uint64_t key;
    int state;
    char err[512];
} slot;

struct tc_loader {
    const tc_ds_captions *ds;
    tc_loader_cfg cfg;
    int T, S;
    tc_image *cache;     /* [ds->n] decoded images, or NULL */
    /* queue: slots[(head + k) % depth], k < count, in request order */
    slot slots[MAX_DEPTH];
    int depth, head, count;
    slot cur;            /* what tc_loader_get returned last */
    pthread_t thread;
    int have_thread, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    tc_loader_stats st;
};

tc_loader_cfg tc_loader_cfg_v2(int image_size, int max_text_len) {
    tc_loader_cfg c;
    memset(&c, 0, sizeof c);
    c.image_size = image_size;
    c.max_text_len = max_text_len;
    c.cls_id = 101;
    c.sep_id = 102;
    c.augment = 0;
    c.aug = tc_image_aug_v2(image_size, 0);
    c.prep = tc_image_prep_v2(image_size);
    c.seed = 42;
    c.cache_mb = 1024;
    c.prefetch = 2;
    c.dynamic_pad = 1;
    return c;
}

int tc_batch_alloc(tc_batch *b, int B, int T, int S) {
    memset(b, 0, sizeof *b);
    if (B <= 0 || T <= 0 || S <= 0) return tc_error_set("loader: batch shape B=%d T=%d S=%d must be positive", B, T, S);
    b->B = B; b->T = T; b->S = S; b->cap = B; b->cap_t = T;
    b->ids = tc_xmalloc(sizeof(int32_t) * (size_t)B * (size_t)T);
    b->valid = tc_xmalloc(sizeof(float) * (size_t)B * (size_t)T);
    b->pixels = tc_xmalloc(sizeof(float) * (size_t)B * 3 * (size_t)S * (size_t)S);
    b->samples = tc_xmalloc(sizeof(tc_sample) * (size_t)B);
    return 0;
}

void tc_batch_alloc_extra(tc_batch *b, size_t extra_bytes) {
    free(b->extra);
    b->extra = extra_bytes ? tc_xmalloc(extra_bytes * (size_t)b->cap) : NULL;
}

void tc_batch_free(tc_batch *b) {
    free(b->ids); free(b->valid); free(b->pixels); free(b->samples); free(b->extra);
    memset(b, 0, sizeof *b);
}

static void slot_ensure(slot *s, int B, int T, int S, size_t extra_bytes) {
    if (s->cap_b < B) {
        tc_batch_free(&s->b);
        tc_batch_alloc(&s->b, B, T, S);
        tc_batch_alloc_extra(&s->b, extra_bytes);
        s->cap_b = B;
    }
    if (s->cap_req < B) {
        free(s->req);
        s->req = tc_xmalloc(sizeof(tc_sample) * (size_t)B);
        s->cap_req = B;
    }
    s->b.B = B;
}

int tc_loader_T(const tc_loader *L) { return L->T; }

/* The image of item i: the cached one (borrowed; *owned = 0) or freshly decoded into tmp. */
static int get_image(tc_loader *L, int item, tc_image *tmp, const tc_image **out) {
    if (L->cache && L->cache[item].rgb) { *out = &L->cache[item]; return 0; }
    if (tc_image_load(L->ds->items[item].image, tmp, 0)) return -1;
    *out = tmp;
    return 0;
}

/* One sample's pixels: augmentation draws from its own generator, so the result depends only on
 * (seed, key, row), never on which thread built the batch or when. */
static int sample_pixels(tc_loader *L, const tc_image *img, uint64_t key, int row, float *chw) {
    const tc_loader_cfg *c = &L->cfg;
    tc_image geo = {0, 0, NULL};
    int rc;
    if (c->augment) {
        tc_rng r;
        tc_rng_seed(&r, tc_rng_hash(c->seed, key, (uint64_t)row));
        rc = tc_image_augment(img, &c->aug, &r, &geo);
    } else if (img->w == L->S && img->h == L->S) {
        tc_image_normalize_chw(img, c->prep.mean, c->prep.std, chw);
        return 0;
    } else {
        rc = tc_image_prep_geometry(img, &c->prep, &geo);
    }
    if (rc == 0) tc_image_normalize_chw(&geo, c->prep.mean, c->prep.std, chw);
    tc_image_free(&geo);
    return rc;
}

static int text_len(const tc_loader *L, const tc_sample *s) {
    const tc_ds_caption_item *it = &L->ds->items[s->item];
    int n = s->cap >= 0 && s->cap < it->ncap ? it->caps[s->cap].n : 0;
    return (n < L->cfg.max_text_len ? n : L->cfg.max_text_len) + 2;
}

static int write_text(tc_loader *L, const tc_sample *s, int T, int32_t *ids, float *valid, char *err, size_t errcap) {
    const tc_ds_caption_item *it = &L->ds->items[s->item];
    if (s->cap < 0 || s->cap >= it->ncap) {
        snprintf(err, errcap, "loader: image \"%s\" has no caption %d (%d captions)", it->image_rel, s->cap, it->ncap);
        return -1;
    }
    const tc_ds_ids *cap = &it->caps[s->cap];
    int n = cap->n < L->cfg.max_text_len ? cap->n : L->cfg.max_text_len;
    memset(ids, 0, sizeof(int32_t) * (size_t)T);
    memset(valid, 0, sizeof(float) * (size_t)T);
    ids[0] = L->cfg.cls_id;
    for (int t = 0; t < n; t++) ids[1 + t] = cap->v[t];
    ids[1 + n] = L->cfg.sep_id;
    for (int t = 0; t < n + 2; t++) valid[t] = 1.0f;
    return 0;
}

/* Build without touching shared state except through the returned counters (the worker calls this
 * unlocked). err gets the message on failure. */
static int build(tc_loader *L, uint64_t key, const tc_sample *req, int B, tc_batch *out, int *skipped,
                 char *first_skip, size_t cap) {
    const int S = L->S;
    int T = L->T;
    if (L->cfg.dynamic_pad) { /* over every requested sample, so a skip_bad substitute always fits */
        T = 2;
        for (int i = 0; i < B; i++)
            if (req[i].item >= 0 && req[i].item < L->ds->n && text_len(L, &req[i]) > T) T = text_len(L, &req[i]);
    }
    size_t plane = 3 * (size_t)S * (size_t)S;
    out->B = B; out->T = T; out->S = S; out->key = key;
    tc_image tmp = {0, 0, NULL};
    for (int i = 0; i < B; i++) {
        int ok = 0;
        for (int j = 0; j < B && !ok; j++) {
            tc_sample s = req[(i + j) % B];
            if (s.item < 0 || s.item >= L->ds->n) {
                snprintf(first_skip, cap, "loader: sample item %d outside [0, %d)", s.item, L->ds->n);
                tc_image_free(&tmp);
                return -1;
            }
            const tc_image *img;
            int rc = get_image(L, s.item, &tmp, &img);
            if (rc == 0) rc = sample_pixels(L, img, key, i, out->pixels + (size_t)i * plane);
            tc_image_free(&tmp);
            if (rc == 0 && L->cfg.extra_fn)
                rc = L->cfg.extra_fn(L->cfg.extra_user, &s, key, i, out->pixels + (size_t)i * plane,
                                     out->extra + (size_t)i * L->cfg.extra_bytes);
            if (rc) {
                if (!L->cfg.skip_bad) {
                    snprintf(first_skip, cap, "%s", tc_error_get());
                    return -1;
                }
                if (*skipped == 0) snprintf(first_skip, cap, "%s", tc_error_get());
                (*skipped)++;
                continue;
            }
            if (write_text(L, &s, T, out->ids + (size_t)i * T, out->valid + (size_t)i * T, first_skip, cap)) return -1;
            out->samples[i] = s;
            ok = 1;
        }
        if (!ok) {
            char prev[256];
            snprintf(prev, sizeof prev, "%s", first_skip);
            snprintf(first_skip, cap, "loader: no sample of the batch could be loaded (first: %s)", prev);
            return -1;
        }
    }
    return 0;
}

static void *worker(void *arg) {
    tc_loader *L = arg;
    pthread_mutex_lock(&L->mu);
    for (;;) {
        slot *job = NULL;
        for (int k = 0; k < L->count && !job; k++) {
            slot *s = &L->slots[(L->head + k) % L->depth];
            if (s->state == SLOT_PENDING) job = s;
        }
        if (L->stop) break;
        if (!job) { pthread_cond_wait(&L->cv, &L->mu); continue; }
        job->state = SLOT_BUILDING;
        pthread_mutex_unlock(&L->mu);
        double t0 = tc_now_s();
        int skipped = 0;
        char first[512] = "";
        int rc = build(L, job->key, job->req, job->B, &job->b, &skipped, first, sizeof first);
        double dt = tc_now_s() - t0;
        pthread_mutex_lock(&L->mu);
        L->st.build_s += dt;
        if (rc == 0 && skipped) {
            if (L->st.skipped == 0) snprintf(L->st.first_skip, sizeof L->st.first_skip, "%s", first);
            L->st.skipped += skipped;
        }
        if (rc) snprintf(job->err, sizeof job->err, "%s", first);
        job->state = rc ? SLOT_FAILED : SLOT_READY;
        pthread_cond_broadcast(&L->cv);
    }
    pthread_mutex_unlock(&L->mu);
    return NULL;
}

static int fill_cache(tc_loader *L) {
    int n = L->ds->n;
    if (L->cfg.cache_mb == 0 || n == 0) return 0;
    tc_image first = {0, 0, NULL};
    if (tc_image_load(L->ds->items[0].image, &first, 0)) {
        if (!L->cfg.skip_bad) return -1;
        return 0; /* cannot estimate; decode per batch */
    }
    double est = (double)first.w * first.h * 3.0 * n;
    tc_image_free(&first);
    if (est > (double)L->cfg.cache_mb * 1048576.0) return 0;
    L->cache = tc_xcalloc((size_t)n, sizeof(tc_image));
    int bad = 0, first_bad = -1;
    char msg[512] = "";
#pragma omp parallel for schedule(dynamic, 64)
    for (int i = 0; i < n; i++) {
        if (tc_image_load(L->ds->items[i].image, &L->cache[i], 0)) {
#pragma omp critical(tc_loader_cache)
            {
                if (first_bad < 0 || i < first_bad) { first_bad = i; snprintf(msg, sizeof msg, "%s", tc_error_get()); }
                bad++;
            }
        }
    }
    if (bad && !L->cfg.skip_bad) return tc_error_set("%s", msg);
    if (bad) { /* bad images stay uncached; build() retries, fails and substitutes (counted there) */ }
    L->st.cached = 1;
    return 0;
}

tc_loader *tc_loader_open(const tc_ds_captions *ds, const tc_loader_cfg *cfg) {
    if (cfg->image_size <= 0 || cfg->max_text_len <= 0) {
        tc_error_set("loader: image_size (%d) and max_text_len (%d) must be positive", cfg->image_size, cfg->max_text_len);
        return NULL;
    }
    if (ds->n <= 0) { tc_error_set("loader: the dataset has no samples"); return NULL; }
    tc_loader *L = tc_xcalloc(1, sizeof *L);
    L->ds = ds;
    L->cfg = *cfg;
    L->T = cfg->max_text_len + 2;
    L->S = cfg->image_size;
    L->cfg.aug.size = L->S;
    L->cfg.prep.size = L->S;
    L->depth = cfg->prefetch > MAX_DEPTH ? MAX_DEPTH : cfg->prefetch;
    pthread_mutex_init(&L->mu, NULL);
    pthread_cond_init(&L->cv, NULL);
    if (fill_cache(L)) { tc_loader_close(L); return NULL; }
    if (L->depth > 0) {
        if (pthread_create(&L->thread, NULL, worker, L) != 0) L->depth = 0; /* fall back to inline */
        else L->have_thread = 1;
    }
    return L;
}

void tc_loader_close(tc_loader *L) {
    if (!L) return;
    if (L->have_thread) {
        pthread_mutex_lock(&L->mu);
        L->stop = 1;
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
        pthread_join(L->thread, NULL);
    }
    for (int i = 0; i < MAX_DEPTH; i++) { tc_batch_free(&L->slots[i].b); free(L->slots[i].req); }
    tc_batch_free(&L->cur.b);
    free(L->cur.req);
    if (L->cache)
        for (int i = 0; i < L->ds->n; i++) tc_image_free(&L->cache[i]);
    free(L->cache);
    pthread_mutex_destroy(&L->mu);
    pthread_cond_destroy(&L->cv);
    free(L);
}

void tc_loader_prefetch(tc_loader *L, uint64_t key, const tc_sample *s, int B) {
    if (!L->have_thread || B <= 0) return;
    pthread_mutex_lock(&L->mu);
    if (L->count < L->depth) {
        slot *sl = &L->slots[(L->head + L->count) % L->depth];
        slot_ensure(sl, B, L->T, L->S, L->cfg.extra_bytes);
        memcpy(sl->req, s, sizeof(tc_sample) * (size_t)B);
        sl->B = B;
        sl->key = key;
        sl->state = SLOT_PENDING;
        sl->err[0] = 0;
        L->count++;
        pthread_cond_broadcast(&L->cv);
    }
    pthread_mutex_unlock(&L->mu);
}

static int same_request(const slot *sl, uint64_t key, const tc_sample *s, int B) {
    if (sl->key != key || sl->B != B) return 0;
    for (int i = 0; i < B; i++)
        if (sl->req[i].item != s[i].item || sl->req[i].cap != s[i].cap) return 0;
    return 1;
}

const tc_batch *tc_loader_get(tc_loader *L, uint64_t key, const tc_sample *s, int B) {
    if (B <= 0) { tc_error_set("loader: batch size %d must be positive", B); return NULL; }
    pthread_mutex_lock(&L->mu);
    L->st.batches++;
    while (L->count > 0) {
        slot *h = &L->slots[L->head];
        int match = same_request(h, key, s, B);
        while (h->state == SLOT_BUILDING || (match && h->state == SLOT_PENDING)) pthread_cond_wait(&L->cv, &L->mu);
        L->head = (L->head + 1) % L->depth;
        L->count--;
        if (!match) continue;                /* a mispredicted batch: drop it */
        L->st.prefetch_hits++;
        if (h->state == SLOT_FAILED) {
            tc_error_set("%s", h->err);
            pthread_mutex_unlock(&L->mu);
            return NULL;
        }
        slot t = L->cur; /* hand the ready buffers to the caller, recycle the old ones into the slot */
        L->cur = *h;
        *h = t;
        h->state = 0;
        pthread_mutex_unlock(&L->mu);
        return &L->cur.b;
    }
    L->st.prefetch_misses++;
    pthread_mutex_unlock(&L->mu);
    slot_ensure(&L->cur, B, L->T, L->S, L->cfg.extra_bytes);
    double t0 = tc_now_s();
    int skipped = 0;
    char first[512] = "";
    int rc = build(L, key, s, B, &L->cur.b, &skipped, first, sizeof first);
    pthread_mutex_lock(&L->mu);
    L->st.build_s += tc_now_s() - t0;
    if (rc == 0 && skipped) {
        if (L->st.skipped == 0) snprintf(L->st.first_skip, sizeof L->st.first_skip, "%s", first);
        L->st.skipped += skipped;
    }
    pthread_mutex_unlock(&L->mu);
    if (rc) { tc_error_set("%s", first); return NULL; }
    return &L->cur.b;
}

int tc_loader_build(tc_loader *L, uint64_t key, const tc_sample *s, int B, tc_batch *out) {
    if (L->cfg.extra_bytes && !out->extra) return tc_error_set("loader: batch storage lacks the per-row extension (tc_batch_alloc_extra)");
    if (B <= 0 || B > out->cap || out->cap_t < L->T || out->S != L->S)
        return tc_error_set("loader: batch storage holds %d rows of T=%d, S=%d; %d rows of T=%d, S=%d asked", out->cap, out->cap_t,
                            out->S, B, L->T, L->S);
    int skipped = 0;
    char first[512] = "";
    if (build(L, key, s, B, out, &skipped, first, sizeof first)) return tc_error_set("%s", first);
    pthread_mutex_lock(&L->mu);
    if (skipped) {
        if (L->st.skipped == 0) snprintf(L->st.first_skip, sizeof L->st.first_skip, "%s", first);
        L->st.skipped += skipped;
    }
    pthread_mutex_unlock(&L->mu);
    return 0;
}

void tc_loader_get_stats(tc_loader *L, tc_loader_stats *out) {
    pthread_mutex_lock(&L->mu);
    *out = L->st;
    pthread_mutex_unlock(&L->mu);
}

void tc_sample_draw_distinct(const tc_ds_captions *ds, tc_rng *r, tc_sample *s, int n) {
    int distinct = ds->n >= n;
    for (int k = 0; k < n; k++) {
        int item;
        for (;;) {
            item = (int)tc_rng_below(r, (uint32_t)ds->n);
            int dup = 0;
            for (int j = 0; distinct && j < k && !dup; j++) dup = s[j].item == item;
            if (!dup) break;
        }
        s[k].item = item;
        s[k].cap = ds->items[item].ncap > 1 ? (int)tc_rng_below(r, (uint32_t)ds->items[item].ncap) : 0;
    }
}
