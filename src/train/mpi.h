/* Data-parallel training over MPI (OpenMPI), optional at build time: with TAICHU_HAVE_MPI every function
 * below talks to MPI_COMM_WORLD; without it they are the 1-process identities, so the trainer and tasks
 * call them unconditionally.
 *
 * Scheme (docs/distributed.md): every rank holds a full replica of the parameters and runs the same
 * step on its own shard of the global batch; after backward the gradient slab is averaged over ranks
 * (tc_dist_allreduce_grads, bucketed), so every rank applies the same AdamW update and the replicas stay
 * identical. Losses that need the whole global batch (ITC's InfoNCE) all-gather the embeddings with
 * tc_dist_allgather_rows, whose backward hands each rank the gradient of its own slice. */
#ifndef TC_TRAIN_MPI_H
#define TC_TRAIN_MPI_H

#include <stddef.h>

#include "core/tensor.h"

typedef struct tc_dist {
    int rank, world;       /* 0, 1 without MPI */
    int initialized_here;  /* tc_dist_init called MPI_Init (finalize must match) */
    size_t bucket_floats;  /* all-reduce bucket size (default 4 Mi floats = 16 MiB) */
} tc_dist;

/* Initialise MPI if this process was started by mpirun (or MPI is already initialised), else world = 1.
 * Safe to call when built without MPI. */
int tc_dist_init(tc_dist *d, int *argc, char ***argv);
void tc_dist_finalize(tc_dist *d);
int tc_dist_have_mpi(void);          /* 1 when built with TAICHU_HAVE_MPI */

/* Average the gradient slab over ranks in place, in buckets of d->bucket_floats (MPI_SUM then × 1/world).
 * The reduction order inside MPI is fixed for a given world size, so runs are reproducible. */
void tc_dist_allreduce_grads(const tc_dist *d, tc_params *ps);
/* Element-wise sum / mean of n doubles over ranks, in place (loss values, metrics). */
void tc_dist_allreduce_sum_f64(const tc_dist *d, double *x, int n);
void tc_dist_allreduce_mean_f64(const tc_dist *d, double *x, int n);
/* Every rank gets rank 0's n bytes. */
void tc_dist_bcast(const tc_dist *d, void *buf, size_t n);
/* Sum of one int over ranks (e.g. "did anyone fail?"). */
int tc_dist_allreduce_int_sum(const tc_dist *d, int x);
void tc_dist_barrier(const tc_dist *d);

/* All-gather along rows: x [n, ...] on each rank (same shape everywhere) -> [world*n, ...] in rank order,
 * rank r's rows at [r*n, (r+1)*n). A recorded graph op: its backward gives x the gradient of its own slice
 * times `world`. Why × world: every rank computes the same global loss L from the gathered tensor, and the
 * gradient slab is then AVERAGED over ranks; rank r's contribution world·∂L/∂x_r·∂x_r/∂θ averages to
 * Σ_r ∂L/∂x_r·∂x_r/∂θ = ∂L/∂θ, exactly what one process with the whole batch computes. */
tc_tensor *tc_dist_allgather_rows(tc_graph *g, const tc_dist *d, tc_tensor *x);

#endif
