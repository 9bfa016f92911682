/* taichu synth: scenes, captions, VQA, VQ codes, splits, speech and the written layout. */
#include "tc_test.h"

#include <dirent.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <omp.h>
#include <sndfile.h>

#include "core/error.h"
#include "core/fileio.h"
#include "core/progress.h"
#include "data/image.h"
#include "data/synth.h"
#include "data/synth_speech.h"
#include "data/synth_vq.h"
#include "io/npy.h"

#ifdef TAICHU_SANITIZED
enum { NSCENES = 400 };
#else
enum { NSCENES = 3000 };
#endif

static int contains(const char *s, const char *frag) { return strstr(s, frag) != NULL; }

static int count_codepoints(const char *s) {
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Every object must be named by its colour and shape, with the template's own wording. */
static void check_caption(const tc_synth_scene *s, int tmpl, const char *cap) {
    char frag[128];
    for (int i = 0; i < s->nobj; i++) {
        const tc_synth_object *o = &s->obj[i];
        const char *c = tc_synth_colour_names[o->colour], *sh = tc_synth_shape_names[o->shape];
        const char *sz = tc_synth_size_names[o->size], *p = tc_synth_pos_names[o->pos];
        switch (tmpl) {
        case 0: snprintf(frag, sizeof frag, "一个%s的%s色%s", sz, c, sh); break;
        case 1: snprintf(frag, sizeof frag, "%s有一个%s色的%s", p, c, sh); break;
        case 2: snprintf(frag, sizeof frag, "%s色的%s%s", c, sz, sh); break;
        case 3: snprintf(frag, sizeof frag, "%s色的%s在%s", c, sh, p); break;
        case 4: snprintf(frag, sizeof frag, "画面%s是一个%s的%s色%s", p, sz, c, sh); break;
        case 5: snprintf(frag, sizeof frag, "一个%s色%s", c, sh); break;
        case 6: snprintf(frag, sizeof frag, "%s的%s是%s色的", p, sh, c); break;
        default: snprintf(frag, sizeof frag, "%s色的%s", c, sh); break;
        }
        TC_CHECK(contains(cap, frag), "template %d caption \"%s\" lacks \"%s\"", tmpl, cap, frag);
    }
    /* nothing that is not in the scene: every "<colour>色" and shape word belongs to some object */
    for (int c = 0; c < TC_SYNTH_NCOLOURS; c++) {
        char w[16];
        snprintf(w, sizeof w, "%s色", tc_synth_colour_names[c]);
        int present = 0;
        for (int i = 0; i < s->nobj; i++) present |= s->obj[i].colour == c;
        TC_CHECK(present || !contains(cap, w), "caption \"%s\" names absent colour %s", cap, w);
    }
    for (int k = 0; k < TC_SYNTH_NSHAPES; k++)
        TC_CHECK(tc_synth_count_shape(s, k) > 0 || !contains(cap, tc_synth_shape_names[k]),
                 "caption \"%s\" names absent shape %s", cap, tc_synth_shape_names[k]);
    if (tmpl == 0 && s->nobj > 1) {
        snprintf(frag, sizeof frag, "图中有%s物体", tc_synth_count_words[s->nobj]);
        TC_CHECK(contains(cap, frag), "caption \"%s\" lacks the count \"%s\"", cap, frag);
    }
    TC_CHECK(count_codepoints(cap) <= 48, "caption \"%s\" has more than 48 characters", cap);
}

static const tc_synth_object *object_at(const tc_synth_scene *s, const char *text) {
    for (int i = 0; i < s->nobj; i++)
        if (strncmp(text, tc_synth_pos_names[s->obj[i].pos], strlen(tc_synth_pos_names[s->obj[i].pos])) == 0)
            return &s->obj[i];
    return NULL;
}

static void check_qa(const tc_synth_scene *s, int kind, const char *q, const char *a) {
    char want[64] = "";
    const tc_synth_object *o = NULL;
    switch (kind) {
    case TC_SYNTH_Q_COUNT_ALL: snprintf(want, sizeof want, "%s", tc_synth_count_words[s->nobj]); break;
    case TC_SYNTH_Q_COUNT_SHAPE:
        for (int k = 0; k < TC_SYNTH_NSHAPES; k++)
            if (contains(q, tc_synth_shape_names[k]))
                snprintf(want, sizeof want, "%s", tc_synth_count_words[tc_synth_count_shape(s, k)]);
        break;
    case TC_SYNTH_Q_COLOUR:
        if ((o = object_at(s, q))) {
            TC_CHECK(contains(q, tc_synth_shape_names[o->shape]), "question \"%s\" names the wrong shape", q);
            snprintf(want, sizeof want, "%s色", tc_synth_colour_names[o->colour]);
        }
        break;
    case TC_SYNTH_Q_SHAPE:
        if ((o = object_at(s, q))) snprintf(want, sizeof want, "%s", tc_synth_shape_names[o->shape]);
        break;
    case TC_SYNTH_Q_WHERE:
        for (int i = 0; i < s->nobj; i++) {
            char w[64];
            snprintf(w, sizeof w, "%s色的%s在", tc_synth_colour_names[s->obj[i].colour], tc_synth_shape_names[s->obj[i].shape]);
            if (strncmp(q, w, strlen(w)) == 0) snprintf(want, sizeof want, "%s", tc_synth_pos_names[s->obj[i].pos]);
        }
        break;
    default:
        if ((o = object_at(s, q))) snprintf(want, sizeof want, "%s的", tc_synth_size_names[o->size]);
        break;
    }
    TC_CHECK(want[0] && strcmp(a, want) == 0, "question \"%s\": answer \"%s\", want \"%s\"", q, a, want);
}

static void test_grammar(void) {
    tc_synth_vocab v;
    tc_synth_vocab_build(&v);
    TC_CHECK(strcmp(v.tok[0], "[PAD]") == 0 && strcmp(v.tok[100], "[UNK]") == 0 && strcmp(v.tok[101], "[CLS]") == 0 &&
                 strcmp(v.tok[102], "[SEP]") == 0 && strcmp(v.tok[103], "[MASK]") == 0 && strcmp(v.tok[1], "[unused1]") == 0,
             "special tokens at the bert-base-chinese ids");
    int templ_used[TC_SYNTH_NTEMPLATES] = {0}, kinds_used[TC_SYNTH_Q_NKINDS] = {0}, nobj_used[4] = {0};
    int bad_encode = 0;
    for (int i = 0; i < NSCENES; i++) {
        tc_synth_scene s;
        tc_synth_text t;
        tc_synth_image_spec(7, i, &s, &t);
        nobj_used[s.nobj]++;
        TC_CHECK(s.nobj >= 1 && s.nobj <= 3, "scene %d has %d objects", i, s.nobj);
        for (int a = 0; a < s.nobj; a++)
            for (int b = a + 1; b < s.nobj; b++) {
                TC_CHECK(s.obj[a].pos != s.obj[b].pos, "scene %d: two objects share a position", i);
                TC_CHECK(s.obj[a].shape != s.obj[b].shape || s.obj[a].colour != s.obj[b].colour,
                         "scene %d: two objects share colour and shape", i);
            }
        for (int k = 0; k < TC_SYNTH_NCAPS; k++) {
            templ_used[t.caption_template[k]]++;
            check_caption(&s, t.caption_template[k], t.caption[k]);
            for (int j = 0; j < k; j++)
                TC_CHECK(strcmp(t.caption[k], t.caption[j]) != 0, "scene %d: captions %d and %d equal", i, j, k);
            int32_t ids[64];
            int n = tc_synth_vocab_encode(&v, t.caption[k], ids, 64);
            if (n != count_codepoints(t.caption[k])) bad_encode++;
            for (int j = 0; j < n; j++) bad_encode += ids[j] < v.first_char_id || ids[j] >= v.n;
        }
        TC_CHECK(t.nqa >= 1 && t.nqa <= 3, "scene %d: %d questions", i, t.nqa);
        for (int k = 0; k < t.nqa; k++) {
            kinds_used[t.qa_kind[k]]++;
            check_qa(&s, t.qa_kind[k], t.question[k], t.answer[k]);
            int32_t ids[64];
            bad_encode += tc_synth_vocab_encode(&v, t.question[k], ids, 64) != count_codepoints(t.question[k]);
            bad_encode += tc_synth_vocab_encode(&v, t.answer[k], ids, 64) != count_codepoints(t.answer[k]);
        }
    }
    TC_CHECK(bad_encode == 0, "%d texts not encoded one id per character: %s", bad_encode, tc_error_get());
    for (int k = 0; k < TC_SYNTH_NTEMPLATES; k++) TC_CHECK(templ_used[k] > 0, "template %d never used", k);
    for (int k = 0; k < TC_SYNTH_Q_NKINDS; k++) TC_CHECK(kinds_used[k] > 0, "question kind %d never used", k);
    for (int k = 1; k <= 3; k++) TC_CHECK(nobj_used[k] > NSCENES / 10, "%d-object scenes: only %d", k, nobj_used[k]);
    int32_t ids[8];
    TC_CHECK(tc_synth_vocab_encode(&v, "猫", ids, 8) < 0 && contains(tc_error_get(), "U+732B"),
             "unknown character reported: %s", tc_error_get());
    tc_synth_vocab_free(&v);
}

static void test_render(void) {
    enum { S = 64 };
    uint8_t *rgb = malloc(S * S * 3);
    int checked = 0;
    for (int i = 0; i < 200; i++) {
        tc_synth_scene s;
        tc_synth_image_spec(11, i, &s, NULL);
        tc_synth_render(&s, S, rgb);
        int64_t codes[64];
        tc_synth_vq_codes(&s, 8, codes);
        for (int k = 0; k < s.nobj; k++) {
            const tc_synth_object *o = &s.obj[k];
            TC_CHECK(tc_synth_object_sdf(o, o->cx, o->cy) < 0, "scene %d: object centre outside its shape %d", i, o->shape);
            /* the centre pixel shows the object's colour (up to noise); skip where a small object covers it */
            int covered = 0;
            for (int j = 0; j < s.nobj; j++)
                covered |= j != k && s.obj[j].size < o->size && tc_synth_object_sdf(&s.obj[j], o->cx, o->cy) < 0.02f;
            if (covered) continue;
            int px = (int)(o->cx * S), py = (int)(o->cy * S);
            const uint8_t *p = rgb + (py * S + px) * 3;
            int maxd = 0;
            for (int c = 0; c < 3; c++) {
                int d = abs((int)p[c] - (int)o->rgb[c]);
                if (d > maxd) maxd = d;
            }
            TC_CHECK(maxd <= (int)s.noise + 2, "scene %d object %d: centre pixel off by %d (noise %.1f)", i, k, maxd, s.noise);
            if (o->size == TC_SYNTH_BIG) {
                int64_t want = TC_SYNTH_VQ_NBG + o->shape * TC_SYNTH_NCOLOURS + o->colour;
                TC_CHECK(codes[(int)(o->cy * 8) * 8 + (int)(o->cx * 8)] == want, "scene %d: VQ code at a big object", i);
            }
            checked++;
        }
        for (int c = 0; c < 64; c++) TC_CHECK(codes[c] >= 0 && codes[c] < TC_SYNTH_VQ_NCODES, "code out of range");
    }
    TC_CHECK(checked > 300, "only %d objects checked", checked);
    free(rgb);
}

static void test_splits(void) {
    int tr, va, te;
    tc_synth_split_sizes(10000, &tr, &va, &te);
    TC_CHECK(te == 1000 && va == 500 && tr == 8500, "10000 -> %d/%d/%d", tr, va, te);
    tc_synth_split_sizes(3, &tr, &va, &te);
    TC_CHECK(te == 1 && va == 1 && tr == 1, "3 -> %d/%d/%d", tr, va, te);
    enum { N = 5000 };
    uint8_t *a = malloc(N), *b = malloc(N);
    tc_synth_assign_splits(42, N, a);
    tc_synth_assign_splits(42, N, b);
    TC_CHECK(memcmp(a, b, N) == 0, "splits deterministic");
    int cnt[3] = {0};
    for (int i = 0; i < N; i++) cnt[a[i]]++;
    tc_synth_split_sizes(N, &tr, &va, &te);
    TC_CHECK(cnt[0] == tr && cnt[1] == va && cnt[2] == te, "split counts %d/%d/%d", cnt[0], cnt[1], cnt[2]);
    tc_synth_assign_splits(43, N, b);
    TC_CHECK(memcmp(a, b, N) != 0, "another seed gives other splits");
    free(a);
    free(b);
}

/* ---- the written layout ---- */

static cJSON *load_json(const char *dir, const char *name) {
    char *path = tc_path_join(dir, name);
    size_t len;
    char *data = tc_read_file(path, &len);
    free(path);
    cJSON *j = data ? cJSON_Parse(data) : NULL;
    free(data);
    TC_CHECK(j != NULL, "%s/%s parses", dir, name);
    return j;
}

/* compare every regular file under a and b, recursively */
static int same_tree(const char *a, const char *b, int *nfiles) {
    DIR *d = opendir(a);
    if (!d) return 0;
    int ok = 1;
    struct dirent *e;
    while ((e = readdir(d)) && ok) {
        if (e->d_name[0] == '.') continue;
        char *pa = tc_path_join(a, e->d_name), *pb = tc_path_join(b, e->d_name);
        struct stat st;
        stat(pa, &st);
        if (S_ISDIR(st.st_mode)) ok = same_tree(pa, pb, nfiles);
        else {
            size_t la, lb;
            char *da = tc_read_file(pa, &la), *db = tc_read_file(pb, &lb);
            ok = da && db && la == lb && memcmp(da, db, la) == 0;
            if (!ok) fprintf(stderr, "differs: %s\n", pa);
            free(da);
            free(db);
            (*nfiles)++;
        }
        free(pa);
        free(pb);
    }
    closedir(d);
    return ok;
}

static void test_layout(void) {
    const char *d1 = TAICHU_BINARY_DIR "/test_synth_a", *d2 = TAICHU_BINARY_DIR "/test_synth_b";
    tc_synth_opts o = {d1, 40, 32, 5, 0, 0, 1, 90};
    tc_synth_stats st;
    omp_set_num_threads(2);
    TC_CHECK(tc_synth_generate(&o, &st) == 0, "generate: %s", tc_error_get());
    o.out = d2;
    omp_set_num_threads(1); /* same bytes whatever the thread count */
    TC_CHECK(tc_synth_generate(&o, &st) == 0, "generate: %s", tc_error_get());
    int nfiles = 0;
    TC_CHECK(same_tree(d1, d2, &nfiles), "same seed -> byte-identical trees");
    TC_CHECK(nfiles > 40 * 2 + 40 * 5 + 10, "only %d files written", nfiles);
    TC_CHECK(st.n_test == 4 && st.n_val == 2 && st.n_train == 34, "split sizes %d/%d/%d", st.n_train, st.n_val, st.n_test);

    char *text = tc_path_join(d1, "text");
    cJSON *test = load_json(text, "flickr30k_test_zh_token.json");
    cJSON *train = load_json(text, "json_coco_train_zh_token.json");
    cJSON *val = load_json(text, "synth_val_zh_token.json");
    cJSON *gt = load_json(text, "json_coco_trans_captions.json");
    cJSON *vqa = load_json(text, "FM-IQA_val_token_ids.json");
    cJSON *fm = load_json(text, "FM-IQA.json");
    cJSON *meta = load_json(text, "meta.json");
    cJSON *i2t = load_json(text, "ids_to_tokens_zh.json");
    TC_CHECK(cJSON_GetArraySize(test) == 4 && cJSON_GetArraySize(train) == 34 && cJSON_GetArraySize(val) == 2,
             "split files sizes");
    /* disjoint splits */
    int seen[40] = {0};
    cJSON *lists[3] = {train, val, test};
    for (int l = 0; l < 3; l++) {
        cJSON *it;
        cJSON_ArrayForEach(it, lists[l]) {
            const char *img = cJSON_GetStringValue(cJSON_GetObjectItem(it, "image"));
            int id = -1;
            TC_CHECK(img && sscanf(img, "synth/synth_%d.jpg", &id) == 1 && id >= 0 && id < 40, "image path %s", img ? img : "?");
            if (id >= 0 && id < 40) seen[id]++;
            cJSON *caps = cJSON_GetObjectItem(it, "caption");
            TC_CHECK(cJSON_GetArraySize(caps) == 5, "5 captions");
            char *ip = tc_path_join(d1, "image");
            char *full = tc_path_join(ip, img ? img : "");
            tc_image im = {0};
            TC_CHECK(tc_image_load(full, &im, 0) == 0 && im.w == 32 && im.h == 32, "image %s loads at 32 px", full);
            tc_image_free(&im);
            free(full);
            free(ip);
        }
    }
    for (int i = 0; i < 40; i++) TC_CHECK(seen[i] == 1, "image %d in %d splits", i, seen[i]);
    /* ids decode back (via ids_to_tokens_zh.json) to the GT strings of the test split */
    cJSON *it;
    cJSON_ArrayForEach(it, test) {
        const char *img = cJSON_GetStringValue(cJSON_GetObjectItem(it, "image"));
        int id = 0;
        sscanf(img, "synth/synth_%d.jpg", &id);
        char key[16];
        snprintf(key, sizeof key, "%06d", id);
        cJSON *g = cJSON_GetObjectItem(gt, key);
        TC_CHECK(cJSON_GetArraySize(g) == 5, "GT for %s", key);
        for (int k = 0; k < 5 && g; k++) {
            char dec[512] = "";
            cJSON *idv;
            cJSON_ArrayForEach(idv, cJSON_GetArrayItem(cJSON_GetObjectItem(it, "caption"), k)) {
                char ks[16];
                snprintf(ks, sizeof ks, "%d", idv->valueint);
                const char *tok = cJSON_GetStringValue(cJSON_GetObjectItem(i2t, ks));
                if (tok) strncat(dec, tok, sizeof dec - strlen(dec) - 1);
            }
            TC_CHECK(strcmp(dec, cJSON_GetStringValue(cJSON_GetArrayItem(g, k))) == 0, "decoded \"%s\"", dec);
        }
    }
    TC_CHECK(cJSON_GetArraySize(vqa) >= 4 && cJSON_GetArraySize(cJSON_GetObjectItem(fm, "val")) == cJSON_GetArraySize(vqa),
             "VQA val questions");
    TC_CHECK(cJSON_GetObjectItem(meta, "CLS")->valueint == 101 && cJSON_GetObjectItem(meta, "MASK")->valueint == 103,
             "meta.json special ids");
    /* VQ tokens */
    char *tok = tc_path_join(d1, "img_tokens/synth/synth_000003.npz");
    tc_npy a = {0};
    TC_CHECK(tc_npz_read_i64(tok, "feat", &a) == 0 && a.size == 64, "VQ npz: %s", tc_error_get());
    tc_synth_scene s;
    tc_synth_image_spec(5, 3, &s, NULL);
    int64_t codes[64];
    tc_synth_vq_codes(&s, 8, codes);
    TC_CHECK(a.i64 && memcmp(a.i64, codes, sizeof codes) == 0, "VQ codes round trip");
    tc_npy_free(&a);
    free(tok);
    char *db = tc_path_join(d1, "v1/txt/synth/synth_000000.jpg4.json");
    TC_CHECK(tc_file_exists(db), "v1 text db file");
    free(db);
    cJSON *j[] = {test, train, val, gt, vqa, fm, meta, i2t};
    for (int k = 0; k < 8; k++) cJSON_Delete(j[k]);
    free(text);
    /* bad options are refused with a message */
    o.images = 2;
    TC_CHECK(tc_synth_generate(&o, &st) != 0 && contains(tc_error_get(), "--images"), "images < 3: %s", tc_error_get());
}

/* Speech files are pure functions of their text: the same with 1 or 2 threads (2 or 4 utterance
 * processes) and with or without --speak-all. Runs before test_speech, while this process has not
 * initialised espeak. */
static void test_layout_audio(void) {
    if (!tc_synth_speech_available()) return;
    const char *d1 = TAICHU_BINARY_DIR "/test_synth_audio_a", *d2 = TAICHU_BINARY_DIR "/test_synth_audio_b";
    tc_synth_opts o = {d1, 4, 16, 8, 1, 0, 0, 90};
    tc_synth_stats st;
    omp_set_num_threads(1);
    TC_CHECK(tc_synth_generate(&o, &st) == 0 && st.n_audio == 4, "audio run: %s", tc_error_get());
    o.out = d2;
    o.speak_all = 1;
    omp_set_num_threads(2);
    TC_CHECK(tc_synth_generate(&o, &st) == 0 && st.n_audio == 20, "speak-all run: %s", tc_error_get());
    for (int i = 0; i < 4; i++) {
        char a[256], b[256];
        snprintf(a, sizeof a, "%s/audio/synth/synth_%06d_0.wav", d1, i);
        snprintf(b, sizeof b, "%s/audio/synth/synth_%06d_0.wav", d2, i);
        size_t la = 0, lb = 0;
        char *da = tc_read_file(a, &la), *db = tc_read_file(b, &lb);
        TC_CHECK(da && db && la == lb && la > 44 + 2 * 16000 && memcmp(da, db, la) == 0, "%s is independent of history", a);
        free(da);
        free(db);
    }
    char *last = tc_path_join(d2, "audio/synth/synth_000003_4.wav");
    TC_CHECK(tc_file_exists(last), "--speak-all writes caption 4");
    free(last);
}

static void test_speech(void) {
    if (!tc_synth_speech_available()) {
        printf("speech: built without libespeak-ng, checking the message only\n");
        TC_CHECK(tc_synth_speech_open() == NULL && contains(tc_error_get(), "espeak-ng"), "message: %s", tc_error_get());
        return;
    }
    tc_synth_speech *sp = tc_synth_speech_open();
    TC_CHECK(sp != NULL, "espeak-ng opens: %s", tc_error_get());
    if (!sp) return;
    float *pcm = NULL;
    int64_t n = 0;
    TC_CHECK(tc_synth_speech_say(sp, "左边有一个红色的圆形。", &pcm, &n) == 0, "say: %s", tc_error_get());
    double e = 0;
    for (int64_t i = 0; i < n; i++) e += (double)pcm[i] * pcm[i];
    double rms = n ? sqrt(e / (double)n) : 0;
    TC_CHECK(n > TC_SYNTH_AUDIO_RATE && n < 10 * TC_SYNTH_AUDIO_RATE, "%lld samples (1..10 s expected)", (long long)n);
    TC_CHECK(rms > 0.01, "speech is not silent (rms %.4f)", rms);
    const char *path = TAICHU_BINARY_DIR "/test_synth_speech.wav";
    TC_CHECK(tc_synth_wav_write(path, pcm, n, TC_SYNTH_AUDIO_RATE) == 0, "wav write");
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    TC_CHECK(f && info.samplerate == 16000 && info.channels == 1 && info.frames == n, "WAV reads back at 16 kHz");
    if (f) sf_close(f);
    free(pcm);
    tc_synth_speech_close(sp);
}

static void test_progress(void) {
    char buf[256];
    tc_progress_format(buf, sizeof buf, "x", 50, 200, 10.0, 0);
    TC_CHECK(strcmp(buf, "x 50/200  25.0% 5.0/s ETA 0:30") == 0, "progress line \"%s\"", buf);
    tc_progress_format(buf, sizeof buf, "x", 200, 200, 4.0, 1);
    TC_CHECK(contains(buf, "[########################]") && contains(buf, "in 0:04"), "final line \"%s\"", buf);
}

int main(void) {
    test_progress();
    test_grammar();
    test_render();
    test_splits();
    test_layout();
    test_layout_audio();
    test_speech();
    return tc_test_summary("synth");
}
