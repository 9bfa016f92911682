/* Tokenizer throughput on one core (target: >= 20 MB/s of Chinese text).
 *
 *   build-X/bench/bench_tokenizer [VOCAB [TEXT...]]
 *
 * Defaults: tests/data/tokenizer/vocab.txt and Debian's fortunes-zh (modern Chinese prose with ANSI
 * escapes and box drawing, Tang and Song poems). Each text is tokenised line by line, as a data loader
 * feeds captions, and also as one buffer; best of 7 runs, MB = 1e6 bytes of UTF-8 input.
 * The peer (HF tokenizers, Rust, same vocab and pipeline) is measured by
 * tests/data/tokenizer/bench_hf.js; docs/tokenizer.md records both. */
#include "core/error.h"
#include "core/fileio.h"
#include "data/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double run_lines(const tc_tokenizer *t, const char *text, size_t len, tc_ids *ids, size_t *npieces) {
    double t0 = now();
    size_t pieces = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        ids->n = 0;
        tc_tokenize(t, text + pos, end - pos, ids);
        pieces += ids->n;
        pos = end + 1;
    }
    *npieces = pieces;
    return now() - t0;
}

static double run_whole(const tc_tokenizer *t, const char *text, size_t len, tc_ids *ids) {
    double t0 = now();
    ids->n = 0;
    tc_tokenize(t, text, len, ids);
    return now() - t0;
}

int main(int argc, char **argv) {
    const char *vocab = argc > 1 ? argv[1] : TAICHU_SOURCE_DIR "/tests/data/tokenizer/vocab.txt";
    const char *defaults[] = {"/usr/share/games/fortunes/chinese", "/usr/share/games/fortunes/tang300",
                              "/usr/share/games/fortunes/song100"};
    const char **files = argc > 2 ? (const char **)argv + 2 : defaults;
    int nfiles = argc > 2 ? argc - 2 : 3;
    tc_tokenizer t;
    if (tc_tokenizer_load(&t, vocab)) {
        fprintf(stderr, "bench_tokenizer: %s\n", tc_error_get());
        return 1;
    }
    printf("vocab %s (%d tokens)\n", vocab, t.vocab.n);
    tc_ids ids = {0};
    int worst_ok = 1;
    for (int f = 0; f < nfiles; f++) {
        size_t len;
        char *text = tc_read_file(files[f], &len);
        if (!text) {
            fprintf(stderr, "bench_tokenizer: %s (install fortunes-zh or pass TEXT files)\n", tc_error_get());
            continue;
        }
        /* repeat small files to about 4 MB so each timing is well above clock noise */
        size_t reps = len ? (4u << 20) / len + 1 : 1;
        char *big = tc_xmalloc(len * reps + 1);
        for (size_t r = 0; r < reps; r++) memcpy(big + r * len, text, len);
        size_t blen = len * reps, pieces = 0;
        double best_lines = 1e30, best_whole = 1e30;
        for (int k = 0; k < 7; k++) {
            double a = run_lines(&t, big, blen, &ids, &pieces), b = run_whole(&t, big, blen, &ids);
            if (a < best_lines) best_lines = a;
            if (b < best_whole) best_whole = b;
        }
        double mb = (double)blen / 1e6;
        printf("%-36s %6.2f MB  %9zu pieces  per line %7.1f MB/s  whole %7.1f MB/s  (%.1f Mpieces/s)\n", files[f], mb,
               pieces, mb / best_lines, mb / best_whole, (double)pieces / best_lines / 1e6);
        if (mb / best_lines < 20.0) worst_ok = 0;
        free(big);
        free(text);
    }
    printf("target >= 20 MB/s per line on one core: %s\n", worst_ok ? "met" : "NOT met");
    tc_ids_free(&ids);
    tc_tokenizer_free(&t);
    return 0;
}
