/* taichu synth: write the built-in tri-modal dataset (src/data/synth.h, docs/synth.md). */
#include "args.h"
#include "command.h"

#include <stdio.h>
#include <stdlib.h>

#include <omp.h>

#include "core/error.h"
#include "data/synth.h"
#include "data/synth_speech.h"

static int run_synth(int argc, char **argv) {
    const char *out = NULL, *seed_s = "0";
    int images = 10000, size = 64, threads = 0, quality = 95;
    bool no_audio = false, speak_all = false, v1_txt = false;
    tc_arg_spec specs[] = {
        {"out", TC_ARG_STR, &out, "DIR", "output folder (created)", NULL},
        {"images", TC_ARG_INT, &images, "N", "number of images (default 10000)", NULL},
        {"size", TC_ARG_INT, &size, "PX", "image side in pixels (default 64)", NULL},
        {"seed", TC_ARG_STR, &seed_s, "S", "random seed, unsigned 64-bit (default 0)", NULL},
        {"no-audio", TC_ARG_FLAG, &no_audio, NULL, "skip speech synthesis", NULL},
        {"speak-all", TC_ARG_FLAG, &speak_all, NULL, "speak all five captions, not only the first", NULL},
        {"v1-txt", TC_ARG_FLAG, &v1_txt, NULL, "also write the v1 text db (one JSON per caption)", NULL},
        {"quality", TC_ARG_INT, &quality, "Q", "JPEG quality 1..100 (default 95)", NULL},
        {"threads", TC_ARG_INT, &threads, "N", "worker threads (default: all cores)", "TAICHU_THREADS"},
    };
    tc_args a;
    int rc = tc_args_parse(&a, "synth", NULL, specs, (int)(sizeof specs / sizeof specs[0]), argc, argv);
    if (rc) return rc < 0 ? 2 : 0;
    tc_args_free(&a);
    if (!out) {
        fprintf(stderr, "taichu synth: --out DIR is required\n");
        return 2;
    }
    char *end;
    unsigned long long seed = strtoull(seed_s, &end, 0);
    if (!*seed_s || *end) {
        fprintf(stderr, "taichu synth: --seed: expected an unsigned integer, got \"%s\"\n", seed_s);
        return 2;
    }
    if (threads > 0) omp_set_num_threads(threads);
    if (!no_audio && !tc_synth_speech_available()) {
        tc_error_set("synth: audio needs espeak-ng, but this taichu was built without libespeak-ng "
                     "(apt-get install libespeak-ng-dev and re-run cmake); use --no-audio to skip speech");
        return tc_cli_fail();
    }
    tc_synth_opts o = {out, images, size, (uint64_t)seed, !no_audio, speak_all, v1_txt, quality};
    tc_synth_stats st;
    if (tc_synth_generate(&o, &st)) return tc_cli_fail();
    printf("synth: %d images (train %d, val %d, test %d), %d questions, %d speech files, vocab %d -> %s\n", images,
           st.n_train, st.n_val, st.n_test, st.n_questions, st.n_audio, st.vocab_size, out);
    printf("synth: images %.2f s, text %.2f s, speech %.2f s\n", st.seconds_images, st.seconds_text, st.seconds_audio);
    return 0;
}

const tc_command tc_command_synth = {"synth", "write the built-in tri-modal dataset (images, captions, speech, VQA)",
                                     run_synth};
