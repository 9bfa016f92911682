/* Task mixing per cycle: see metaloader.h. */
#include "train/metaloader.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"

int tc_metaloader_init(tc_metaloader *ml, int ntasks, const int *ratios, uint64_t seed) {
    memset(ml, 0, sizeof *ml);
    if (ntasks <= 0) return tc_error_set("task mixing: need at least one task, got %d", ntasks);
    long total = 0;
    for (int i = 0; i < ntasks; i++) {
        int r = ratios ? ratios[i] : 1;
        if (r < 0 || r > 1000000)
            return tc_error_set("task mixing: mix_ratio[%d] = %d: expected an integer in 0..1000000", i, r);
        total += r;
    }
    if (total <= 0) return tc_error_set("task mixing: every mix_ratio is 0; at least one task must run");
    if (total > 100000000) return tc_error_set("task mixing: Σ mix_ratio = %ld is too large", total);
    ml->ntasks = ntasks;
    ml->cycle_len = (int)total;
    ml->pool = tc_xmalloc(sizeof(int) * (size_t)total);
    ml->order = tc_xmalloc(sizeof(int) * (size_t)total);
    int k = 0;
    for (int i = 0; i < ntasks; i++)
        for (int j = 0; j < (ratios ? ratios[i] : 1); j++) ml->pool[k++] = i;
    ml->cached_cycle = -1;
    ml->seed = seed;
    return 0;
}

void tc_metaloader_free(tc_metaloader *ml) {
    free(ml->pool);
    free(ml->order);
    memset(ml, 0, sizeof *ml);
}

int tc_metaloader_task(tc_metaloader *ml, long step) {
    long cycle = step / ml->cycle_len;
    if (cycle != ml->cached_cycle) {
        memcpy(ml->order, ml->pool, sizeof(int) * (size_t)ml->cycle_len);
        tc_rng r;
        tc_rng_seed(&r, tc_rng_hash(ml->seed, 0x4d4c, (uint64_t)cycle));
        tc_rng_shuffle_int(&r, ml->order, ml->cycle_len);
        ml->cached_cycle = cycle;
    }
    return ml->order[step % ml->cycle_len];
}
