/* The search logic of spec §1.11 alone (tc_beam_search_fn), against ref/twin_opt_v1.py's literal port of the
 * original's BeamSearchDecoder on a Markov chain whose EOS probability depends on the last token, so beams
 * finish at different steps (slot override, EOS slots moved last, lengths from the source beams, GNMT length
 * penalty). Both sides read the same float32 log-probabilities, so ids must match exactly. Plus hand-worked
 * cases, the vocabulary limit and errors. (The real decoders' searches are in test_opt_v1_golden.) */
#include "model/beam.h"
#include "tc_golden.h"
#include "tc_test.h"

#include <math.h>
#include <string.h>

typedef struct markov {
    const float *table; /* [MB][MV][MV]: log-probs of the next token given (input, last token) */
    int MB, MV, K, calls, fail_at;
    float lp[64 * 16];
} markov;

static const float *markov_step(void *p, const int *src, const int32_t *ids) {
    markov *m = p;
    (void)src; /* the state is the last token, which ids carries */
    if (m->calls++ == m->fail_at) {
        tc_error_set("markov: step %d failed on purpose", m->fail_at);
        return NULL;
    }
    for (int r = 0; r < m->MB * m->K; r++)
        memcpy(m->lp + (long)r * m->MV, m->table + ((long)(r / m->K) * m->MV + ids[r]) * m->MV, sizeof(float) * m->MV);
    return m->lp;
}

static void test_markov(tc_golden *gold) {
    const tc_golden_rec *t = tc_golden_find(gold, "markov.logprobs");
    TC_CHECK(t && t->ndim == 3, "markov.logprobs missing");
    if (!t) return;
    static const struct { const char *name; int K, L; } runs[] = {{"markov_greedy", 1, 10}, {"markov_beam3", 3, 10},
                                                                  {"markov_beam5", 5, 14}};
    int finished_early = 0;
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        markov m = {t->data, t->shape[0], t->shape[1], runs[i].K, 0, -1, {0}};
        tc_beam_cfg c = tc_beam_cfg_default();
        c.beam = runs[i].K, c.max_len = runs[i].L;
        int32_t ids[3 * 16];
        float score[3];
        int len[3];
        TC_CHECK(tc_beam_search_fn(m.MB, m.MV, &c, markov_step, &m, ids, score, len) == 0, "%s", tc_error_get());
        char k[96];
        snprintf(k, sizeof k, "search.%s.ids", runs[i].name);
        const tc_golden_rec *gi = tc_golden_find(gold, k);
        TC_CHECK(gi && gi->numel == (long)m.MB * (c.max_len + 1), "%s", k);
        for (long j = 0; gi && j < gi->numel; j++)
            TC_CHECK(ids[j] == ((const int32_t *)gi->data)[j], "%s[%ld]: %d vs %d", k, j, ids[j], ((const int32_t *)gi->data)[j]);
        snprintf(k, sizeof k, "search.%s.len", runs[i].name);
        const int32_t *gl = tc_golden_i32(gold, k, NULL);
        for (int b = 0; gl && b < m.MB; b++) {
            TC_CHECK(len[b] == gl[b], "%s[%d]: %d vs %d", k, b, len[b], gl[b]);
            finished_early += len[b] < c.max_len;
        }
        snprintf(k, sizeof k, "search.%s.score", runs[i].name);
        const float *gs = tc_golden_f32(gold, k, NULL);
        if (gs) TC_CHECK_ARRAY_CLOSE(k, score, gs, m.MB, 1e-6, 1e-6);
    }
    TC_CHECK(finished_early > 0, "the goldens should include a sequence that ends before max_len");
}

/* V = 3, one input: a fixed distribution whatever the prefix, the same for every beam row (up to 8) */
static float fixed_rows[8 * 3];
static const float *fixed_step(void *p, const int *src, const int32_t *ids) {
    (void)src, (void)ids;
    for (int r = 0; r < 8; r++) memcpy(fixed_rows + 3 * r, p, sizeof(float) * 3);
    return fixed_rows;
}

static void test_hand(void) {
    /* EOS most likely: greedy stops at once: ids [0, 0, 0, 0], len 1, score lp(0) / ((5 + 1) / 6) */
    float lp[3] = {logf(0.6f), logf(0.3f), logf(0.1f)};
    tc_beam_cfg c = tc_beam_cfg_default();
    c.max_len = 3;
    int32_t ids[4 * 2];
    float s;
    int len;
    TC_CHECK(tc_beam_search_fn(1, 3, &c, fixed_step, lp, ids, &s, &len) == 0, "%s", tc_error_get());
    TC_CHECK(ids[0] == 0 && ids[1] == 0 && ids[2] == 0 && ids[3] == 0 && len == 1, "greedy EOS: %d %d len %d", ids[1],
             ids[2], len);
    TC_CHECK_CLOSE(s, logf(0.6f), 1e-6, 1e-6);
    /* beam 2, max_len 2: step 1 slots (0: 0.6 EOS) and (1: 0.3) -> EOS slot moved last: [1], [0]; step 2: beam
     * [1] extends with 0 (0.3·0.6 = 0.18) and 1 (0.09); the finished beam keeps 0.6 with len 1.
     * Normalised: finished log(0.6)/1 = -0.51 beats log(0.18)/(7/6) = -1.47. */
    c.beam = 2, c.max_len = 2;
    TC_CHECK(tc_beam_search_fn(1, 3, &c, fixed_step, lp, ids, &s, &len) == 0, "%s", tc_error_get());
    TC_CHECK(ids[0] == 0 && ids[1] == 0 && ids[2] == 0 && len == 1, "beam 2: %d %d %d len %d", ids[0], ids[1], ids[2], len);
    TC_CHECK_CLOSE(s, logf(0.6f), 1e-6, 1e-6);
    /* the length penalty weight 0 compares raw sums instead: still the finished beam (-0.51 > -1.71) */
    c.length_penalty = 0.f;
    TC_CHECK(tc_beam_search_fn(1, 3, &c, fixed_step, lp, ids, &s, &len) == 0, "%s", tc_error_get());
    TC_CHECK(len == 1, "alpha 0: len %d", len);
    /* a vocabulary limit of 1 leaves only EOS; of 2 forbids id 2 */
    float lp2[3] = {logf(0.1f), logf(0.2f), logf(0.7f)};
    c = tc_beam_cfg_default();
    c.max_len = 4, c.vocab_limit = 2;
    TC_CHECK(tc_beam_search_fn(1, 3, &c, fixed_step, lp2, ids, &s, &len) == 0, "%s", tc_error_get());
    for (int i = 1; i <= 4; i++) TC_CHECK(ids[i] == 1, "limit 2: ids[%d] = %d", i, ids[i]);
    TC_CHECK(len == 4, "limit 2: len %d", len);
    c.vocab_limit = 0;
    TC_CHECK(tc_beam_search_fn(1, 3, &c, fixed_step, lp2, ids, &s, &len) == 0, "%s", tc_error_get());
    TC_CHECK(ids[1] == 2, "no limit: %d", ids[1]);
}

static void test_errors(tc_golden *gold) {
    tc_beam_cfg c = tc_beam_cfg_default();
    int32_t ids[64];
    c.beam = 0;
    float lp[3] = {0, 0, 0};
    TC_CHECK(tc_beam_search_fn(1, 3, &c, fixed_step, lp, ids, NULL, NULL) != 0, "beam 0 accepted");
    TC_CHECK(strstr(tc_error_get(), "beam") != NULL, "message: %s", tc_error_get());
    c.beam = 1, c.max_len = 0;
    TC_CHECK(tc_beam_search_fn(1, 3, &c, fixed_step, lp, ids, NULL, NULL) != 0, "max_len 0 accepted");
    const tc_golden_rec *t = tc_golden_find(gold, "markov.logprobs");
    if (!t) return;
    markov m = {t->data, t->shape[0], t->shape[1], 1, 0, 2, {0}};
    c.max_len = 5;
    TC_CHECK(tc_beam_search_fn(m.MB, m.MV, &c, markov_step, &m, ids, NULL, NULL) != 0, "a failing step is reported");
    TC_CHECK(strstr(tc_error_get(), "on purpose") != NULL, "message: %s", tc_error_get());
}

int main(void) {
    tc_golden *gold = tc_golden_load(TAICHU_TEST_DATA "/opt_v1/golden.bin");
    TC_CHECK(gold != NULL, "cannot read the opt-v1 goldens");
    if (gold) test_markov(gold);
    test_hand();
    if (gold) test_errors(gold);
    tc_golden_free(gold);
    return tc_test_summary("beam");
}
