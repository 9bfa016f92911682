/* Crash-safe training checkpoints: see checkpoint.h. */
#define _GNU_SOURCE
#include "train/checkpoint.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"
#include "core/fileio.h"
#include "io/safetensors.h"
#include "model/weights.h"

void tc_ckpt_state_free(tc_ckpt_state *st) {
    free(st->task_state);
    st->task_state = NULL;
}

static int fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return tc_error_set("%s: cannot open directory: %s", dir, strerror(errno));
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? 0 : tc_error_set("%s: fsync failed: %s", dir, strerror(errno));
}

int tc_rm_flat_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : tc_error_set("%s: cannot open: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = tc_path_join(dir, e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    return rmdir(dir) == 0 ? 0 : tc_error_set("%s: cannot remove: %s", dir, strerror(errno));
}

/* CRC-32 (zlib) and size of a whole file. */
static int file_crc(const char *path, uint32_t *crc, long long *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return tc_error_set("%s: cannot open: %s", path, strerror(errno));
    uLong c = crc32(0L, Z_NULL, 0);
    long long n = 0;
    unsigned char buf[1 << 16];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
        c = crc32(c, buf, (uInt)k);
        n += (long long)k;
    }
    int err = ferror(f);
    fclose(f);
    if (err) return tc_error_set("%s: read error", path);
    *crc = (uint32_t)c;
    *size = n;
    return 0;
}

static int write_optimizer(const char *path, const tc_params *ps) {
    int n = ps->n;
    tc_st_entry *e = tc_xcalloc((size_t)(2 * n) + 1, sizeof *e);
    int64_t(*shapes)[TC_MAX_DIMS] = tc_xcalloc((size_t)n + 1, sizeof *shapes);
    char **names = tc_xcalloc((size_t)(2 * n) + 1, sizeof *names);
    /* Before the first optimizer step there are no moments yet: they are zero by definition. */
    float *zeros = (!ps->m || !ps->v) ? tc_xcalloc(ps->total ? ps->total : 1, sizeof(float)) : NULL;
    for (int i = 0; i < n; i++) {
        const tc_param *p = ps->p[i];
        for (int d = 0; d < p->t.ndim; d++) shapes[i][d] = p->t.shape[d];
        size_t len = strlen(p->name) + 8;
        names[2 * i] = tc_xmalloc(len);
        names[2 * i + 1] = tc_xmalloc(len);
        snprintf(names[2 * i], len, "adam_m.%s", p->name);
        snprintf(names[2 * i + 1], len, "adam_v.%s", p->name);
        e[2 * i] = (tc_st_entry){names[2 * i], TC_DT_F32, p->t.ndim, shapes[i], (ps->m ? ps->m : zeros) + p->offset};
        e[2 * i + 1] =
            (tc_st_entry){names[2 * i + 1], TC_DT_F32, p->t.ndim, shapes[i], (ps->v ? ps->v : zeros) + p->offset};
    }
    int rc = tc_safetensors_write(path, e, 2 * n, NULL, 0);
    for (int i = 0; i < 2 * n; i++) free(names[i]);
    free(names);
    free(shapes);
    free(e);
    free(zeros);
    return rc;
}

static char *hex64(uint64_t x) {
    char *s = tc_xmalloc(17);
    snprintf(s, 17, "%016" PRIx64, x);
    return s;
}

static int write_state(const char *dir, const tc_ckpt_state *st) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", "taichu-train-checkpoint-1");
    cJSON_AddNumberToObject(j, "step", (double)st->step);
    cJSON_AddNumberToObject(j, "opt_step", (double)st->opt_step);
    char *s = hex64(st->seed);
    cJSON_AddStringToObject(j, "seed", s);
    free(s);
    cJSON *rng = cJSON_AddArrayToObject(j, "data_rng");
    for (int i = 0; i < 4; i++) {
        s = hex64(st->data_rng[i]);
        cJSON_AddItemToArray(rng, cJSON_CreateString(s));
        free(s);
    }
    cJSON_AddNumberToObject(j, "elapsed_s", st->elapsed_s);
    if (st->task_state) {
        cJSON *ts = cJSON_Parse(st->task_state);
        if (!ts) {
            cJSON_Delete(j);
            return tc_error_set("checkpoint: task state is not valid JSON");
        }
        cJSON_AddItemToObject(j, "task_state", ts);
    }
    static const char *files[] = {"model.safetensors", "optimizer.safetensors"};
    cJSON *fs = cJSON_AddObjectToObject(j, "files");
    for (int i = 0; i < 2; i++) {
        char *p = tc_path_join(dir, files[i]);
        uint32_t crc;
        long long size;
        int rc = file_crc(p, &crc, &size);
        free(p);
        if (rc) {
            cJSON_Delete(j);
            return -1;
        }
        cJSON *f = cJSON_AddObjectToObject(fs, files[i]);
        cJSON_AddNumberToObject(f, "size", (double)size);
        char c[16];
        snprintf(c, sizeof c, "%08" PRIx32, crc);
        cJSON_AddStringToObject(f, "crc32", c);
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    char *p = tc_path_join(dir, "state.json");
    int rc = tc_write_file_atomic(p, text, strlen(text));
    free(p);
    free(text);
    return rc;
}

static void step_name(char *buf, size_t cap, long step) { snprintf(buf, cap, "step-%08ld", step); }

/* step of "step-NNNNNNNN", or -1 */
static long parse_step_name(const char *name) {
    if (strncmp(name, "step-", 5) != 0) return -1;
    const char *p = name + 5;
    if (!*p) return -1;
    long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > 100000000000L) return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

static int cmp_long_desc(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Steps of every step-* directory, newest first (malloc'ed; *n set). Also removes stale temporaries
 * ".tmp-*" left by killed saves when clean = 1. */
static long *list_steps(const char *cdir, int *n, int clean) {
    *n = 0;
    DIR *d = opendir(cdir);
    if (!d) return NULL;
    int cap = 16;
    long *v = tc_xmalloc(sizeof(long) * (size_t)cap);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (clean && (!strncmp(e->d_name, ".tmp-", 5) || !strncmp(e->d_name, ".old-", 5))) {
            char *p = tc_path_join(cdir, e->d_name);
            tc_rm_flat_dir(p);
            free(p);
            continue;
        }
        long s = parse_step_name(e->d_name);
        if (s < 0) continue;
        if (*n == cap) v = tc_xrealloc(v, sizeof(long) * (size_t)(cap *= 2));
        v[(*n)++] = s;
    }
    closedir(d);
    qsort(v, (size_t)*n, sizeof(long), cmp_long_desc);
    return v;
}

int tc_ckpt_save(const char *run_dir, const tc_params *ps, const tc_ckpt_state *st, int keep_last) {
    if (keep_last < 1) keep_last = 1;
    char *cdir = tc_path_join(run_dir, "checkpoints");
    if (tc_mkdir_p(cdir)) {
        free(cdir);
        return tc_error_set("%s: cannot create the checkpoint directory", run_dir);
    }
    int n;
    free(list_steps(cdir, &n, 1)); /* clean temporaries of killed saves first */
    char name[64], tmpname[96];
    step_name(name, sizeof name, st->step);
    snprintf(tmpname, sizeof tmpname, ".tmp-%s-%ld", name, (long)getpid());
    char *tmp = tc_path_join(cdir, tmpname), *final = tc_path_join(cdir, name);
    char *mpath = tc_path_join(tmp, "model.safetensors"), *opath = tc_path_join(tmp, "optimizer.safetensors");
    int rc = -1;
    tc_rm_flat_dir(tmp);
    if (mkdir(tmp, 0755) != 0) {
        tc_error_set("%s: cannot create: %s", tmp, strerror(errno));
        goto done;
    }
    char meta_step[32];
    snprintf(meta_step, sizeof meta_step, "%ld", st->step);
    const char *meta[] = {"format", "taichu", "step", meta_step};
    if (tc_weights_save_safetensors(ps, mpath, meta, 2) || write_optimizer(opath, ps) || write_state(tmp, st) ||
        fsync_dir(tmp))
        goto done;
    /* An existing directory of the same step (a re-save after resume) is moved aside first, so that a
     * kill between the two renames loses only this step, and LATEST's fallback finds the older ones. */
    struct stat sb;
    if (stat(final, &sb) == 0) {
        char oldname[96];
        snprintf(oldname, sizeof oldname, ".old-%s-%ld", name, (long)getpid());
        char *old = tc_path_join(cdir, oldname);
        int r = rename(final, old);
        if (r == 0) tc_rm_flat_dir(old);
        free(old);
        if (r != 0) {
            tc_error_set("%s: cannot replace: %s", final, strerror(errno));
            goto done;
        }
    }
    if (rename(tmp, final) != 0) {
        tc_error_set("%s: rename to %s failed: %s", tmp, final, strerror(errno));
        goto done;
    }
    if (fsync_dir(cdir)) goto done;
    char *latest = tc_path_join(cdir, "LATEST");
    char line[80];
    snprintf(line, sizeof line, "%s\n", name);
    rc = tc_write_file_atomic(latest, line, strlen(line));
    free(latest);
    if (rc) goto done;
    /* prune: keep this checkpoint and the newest keep_last - 1 before it. Directories of later steps are
     * leftovers of an abandoned future (a run resumed from an older checkpoint) and go too. */
    long *steps = list_steps(cdir, &n, 0);
    for (int i = 0, older = 0; i < n; i++) {
        if (steps[i] == st->step) continue;
        if (steps[i] < st->step && ++older < keep_last) continue;
        char nm[64];
        step_name(nm, sizeof nm, steps[i]);
        char *p = tc_path_join(cdir, nm);
        tc_rm_flat_dir(p);
        free(p);
    }
    free(steps);
done:
    if (rc) tc_rm_flat_dir(tmp);
    free(mpath);
    free(opath);
    free(tmp);
    free(final);
    free(cdir);
    return rc;
}

void tc_ckpt_drop_after(const char *run_dir, long step) {
    char *cdir = tc_path_join(run_dir, "checkpoints");
    int n;
    long *steps = list_steps(cdir, &n, 1);
    for (int i = 0; i < n; i++) {
        if (steps[i] <= step) continue;
        char nm[64];
        step_name(nm, sizeof nm, steps[i]);
        char *p = tc_path_join(cdir, nm);
        fprintf(stderr, "taichu: removing %s (after the resumed step %ld)\n", p, step);
        tc_rm_flat_dir(p);
        free(p);
    }
    free(steps);
    free(cdir);
}

static cJSON *read_state_json(const char *ckpt_dir) {
    char *p = tc_path_join(ckpt_dir, "state.json");
    size_t len;
    char *text = tc_read_file(p, &len);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    if (text && !j) tc_error_set("%s: not valid JSON", p);
    free(text);
    free(p);
    return j;
}

int tc_ckpt_verify(const char *ckpt_dir) {
    cJSON *j = read_state_json(ckpt_dir);
    if (!j) return -1;
    int rc = 0;
    cJSON *fs = cJSON_GetObjectItemCaseSensitive(j, "files");
    static const char *files[] = {"model.safetensors", "optimizer.safetensors"};
    for (int i = 0; i < 2 && rc == 0; i++) {
        cJSON *f = cJSON_GetObjectItemCaseSensitive(fs, files[i]);
        cJSON *size = cJSON_GetObjectItemCaseSensitive(f, "size"), *crc = cJSON_GetObjectItemCaseSensitive(f, "crc32");
        if (!cJSON_IsNumber(size) || !cJSON_IsString(crc)) {
            rc = tc_error_set("%s/state.json: field \"files.%s\": expected {size, crc32}", ckpt_dir, files[i]);
            break;
        }
        char *p = tc_path_join(ckpt_dir, files[i]);
        uint32_t c;
        long long n;
        if (file_crc(p, &c, &n)) rc = -1;
        else {
            char hex[16];
            snprintf(hex, sizeof hex, "%08" PRIx32, c);
            if ((double)n != size->valuedouble || strcmp(hex, crc->valuestring) != 0)
                rc = tc_error_set("%s: size %lld crc32 %s, but state.json records %.0f / %s", p, n, hex,
                                  size->valuedouble, crc->valuestring);
        }
        free(p);
    }
    cJSON_Delete(j);
    return rc;
}

int tc_ckpt_find_latest(const char *run_dir, char **dir_out, long *step_out) {
    char *cdir = tc_path_join(run_dir, "checkpoints");
    char *latest = tc_path_join(cdir, "LATEST");
    size_t len;
    char *text = tc_read_file(latest, &len);
    free(latest);
    if (text) {
        text[strcspn(text, "\r\n")] = 0;
        long s = parse_step_name(text);
        if (s >= 0) {
            char *d = tc_path_join(cdir, text);
            if (tc_ckpt_verify(d) == 0) {
                free(text);
                free(cdir);
                *dir_out = d;
                *step_out = s;
                return 0;
            }
            fprintf(stderr, "taichu: warning: %s (LATEST) does not verify (%s); trying older checkpoints\n", d,
                    tc_error_get());
            free(d);
        }
        free(text);
    }
    int n;
    long *steps = list_steps(cdir, &n, 0);
    for (int i = 0; i < n; i++) {
        char nm[64];
        step_name(nm, sizeof nm, steps[i]);
        char *d = tc_path_join(cdir, nm);
        if (tc_ckpt_verify(d) == 0) {
            *dir_out = d;
            *step_out = steps[i];
            free(steps);
            free(cdir);
            return 0;
        }
        free(d);
    }
    free(steps);
    tc_error_set("%s: no complete checkpoint found", cdir);
    free(cdir);
    return -1;
}

static int parse_hex64(cJSON *it, uint64_t *out) {
    if (!cJSON_IsString(it)) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(it->valuestring, &end, 16);
    if (errno || *end || end == it->valuestring) return -1;
    *out = (uint64_t)v;
    return 0;
}

static int load_slab(const tc_tensor_file *f, const char *prefix, const tc_params *ps, float *slab,
                     const char *path) {
    for (int i = 0; i < ps->n; i++) {
        const tc_param *p = ps->p[i];
        char name[1024];
        snprintf(name, sizeof name, "%s%s", prefix, p->name);
        const tc_io_tensor *t = tc_tensor_file_find(f, name);
        if (!t) return tc_error_set("%s: tensor \"%s\" missing", path, name);
        if (t->dtype != TC_DT_F32 || (size_t)t->numel != p->numel)
            return tc_error_set("%s: tensor \"%s\": expected F32 with %zu elements", path, name, p->numel);
        memcpy(slab + p->offset, t->data, p->numel * sizeof(float));
    }
    return 0;
}

static float *alloc_slab(size_t total) {
    size_t bytes = ((total ? total : 1) * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (!p) p = tc_xmalloc(bytes);
    memset(p, 0, bytes);
    return p;
}

int tc_ckpt_load(const char *ckpt_dir, tc_params *ps, tc_ckpt_state *st) {
    memset(st, 0, sizeof *st);
    cJSON *j = read_state_json(ckpt_dir);
    if (!j) return -1;
    int rc = -1;
    cJSON *step = cJSON_GetObjectItemCaseSensitive(j, "step"), *ostep = cJSON_GetObjectItemCaseSensitive(j, "opt_step");
    cJSON *el = cJSON_GetObjectItemCaseSensitive(j, "elapsed_s"), *rng = cJSON_GetObjectItemCaseSensitive(j, "data_rng");
    if (!cJSON_IsNumber(step) || !cJSON_IsNumber(ostep) || !(step->valuedouble >= 0 && step->valuedouble <= 1e15) ||
        !(ostep->valuedouble >= 0 && ostep->valuedouble <= 1e15)) {
        tc_error_set("%s/state.json: fields \"step\", \"opt_step\": expected integers in 0..1e15", ckpt_dir);
        goto out;
    }
    st->step = (long)step->valuedouble;
    st->opt_step = (long)ostep->valuedouble;
    st->elapsed_s = cJSON_IsNumber(el) && isfinite(el->valuedouble) ? el->valuedouble : 0;
    if (parse_hex64(cJSON_GetObjectItemCaseSensitive(j, "seed"), &st->seed) || cJSON_GetArraySize(rng) != 4) {
        tc_error_set("%s/state.json: fields \"seed\", \"data_rng\": expected hex strings (1 and 4)", ckpt_dir);
        goto out;
    }
    for (int i = 0; i < 4; i++)
        if (parse_hex64(cJSON_GetArrayItem(rng, i), &st->data_rng[i])) {
            tc_error_set("%s/state.json: field \"data_rng[%d]\": expected a hex string", ckpt_dir, i);
            goto out;
        }
    cJSON *ts = cJSON_GetObjectItemCaseSensitive(j, "task_state");
    if (ts) st->task_state = cJSON_PrintUnformatted(ts);

    char *mp = tc_path_join(ckpt_dir, "model.safetensors"), *op = tc_path_join(ckpt_dir, "optimizer.safetensors");
    tc_tensor_file mf, of;
    int okm = tc_safetensors_open(mp, &mf) == 0;
    int oko = okm && tc_safetensors_open(op, &of) == 0;
    if (oko) {
        if (!ps->m) ps->m = alloc_slab(ps->total);
        if (!ps->v) ps->v = alloc_slab(ps->total);
        rc = load_slab(&mf, "", ps, ps->data, mp);
        if (!rc) rc = load_slab(&of, "adam_m.", ps, ps->m, op);
        if (!rc) rc = load_slab(&of, "adam_v.", ps, ps->v, op);
        if (!rc && mf.n != ps->n) rc = tc_error_set("%s: %d tensors, the model has %d parameters", mp, mf.n, ps->n);
    }
    if (okm) tc_tensor_file_close(&mf);
    if (oko) tc_tensor_file_close(&of);
    free(mp);
    free(op);
out:
    cJSON_Delete(j);
    if (rc) tc_ckpt_state_free(st);
    return rc;
}
