/* Task mixing like the original's MetaLoader (opt-spec §4.1): every optimizer step runs ONE task for the
 * whole batch. The tasks are visited in cycles: a cycle is the multiset {task i repeated mix_ratio[i]
 * times}, in a fresh random permutation per cycle, so over each cycle of Σ mix_ratio steps every task runs
 * exactly its ratio's share (the original draws from the same pool; with all ratios 1 a cycle is a plain
 * permutation of the tasks).
 *
 * The order is a pure function of (seed, cycle): cycle c is shuffled by a tc_rng seeded with
 * tc_rng_hash(seed, 0x4d4c, c). The whole state is therefore the step position, so resuming a run (and
 * every MPI rank) reproduces the same task sequence with nothing but the step count saved. */
#ifndef TC_TRAIN_METALOADER_H
#define TC_TRAIN_METALOADER_H

#include <stdint.h>

typedef struct tc_metaloader {
    int ntasks;
    int cycle_len;         /* Σ mix_ratio */
    int *pool;             /* [cycle_len] task ids, task i repeated ratio[i] times (unshuffled) */
    int *order;            /* [cycle_len] the current cycle's permutation of pool */
    long cached_cycle;     /* the cycle `order` holds (-1: none) */
    uint64_t seed;
} tc_metaloader;

/* ratios[i] >= 0 (a ratio of 0 disables task i; at least one must be positive). Returns -1 with a message
 * on bad ratios. */
int tc_metaloader_init(tc_metaloader *ml, int ntasks, const int *ratios, uint64_t seed);
void tc_metaloader_free(tc_metaloader *ml);
/* The task of 0-based step `step`. */
int tc_metaloader_task(tc_metaloader *ml, long step);

#endif
