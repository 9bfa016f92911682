/* MPI data parallelism: see mpi.h. */
#include "train/mpi.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/graph_internal.h"
#include "core/optim.h"

#ifdef TAICHU_HAVE_MPI
#include <mpi.h>
#endif

int tc_dist_have_mpi(void) {
#ifdef TAICHU_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

int tc_dist_init(tc_dist *d, int *argc, char ***argv) {
    memset(d, 0, sizeof *d);
    d->world = 1;
    d->bucket_floats = (size_t)4 << 20;
    const char *b = getenv("TAICHU_ALLREDUCE_BUCKET");
    if (b && atol(b) > 0) d->bucket_floats = (size_t)atol(b);
    if (d->bucket_floats > (size_t)1 << 30) d->bucket_floats = (size_t)1 << 30; /* MPI counts are int */
#ifdef TAICHU_HAVE_MPI
    int inited = 0;
    MPI_Initialized(&inited);
    /* Only start MPI under a launcher: a singleton MPI_Init costs a second or more and may need a daemon. */
    int launched = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
    if (!inited && launched) {
        /* OpenMP threads compute, only the main thread calls MPI */
        int provided = 0;
        if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            return tc_error_set("MPI_Init_thread failed");
        d->initialized_here = 1;
        inited = 1;
    }
    if (inited) {
        MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
        MPI_Comm_size(MPI_COMM_WORLD, &d->world);
    }
#else
    (void)argc;
    (void)argv;
#endif
    return 0;
}

void tc_dist_finalize(tc_dist *d) {
#ifdef TAICHU_HAVE_MPI
    if (d->initialized_here) MPI_Finalize();
#endif
    d->initialized_here = 0;
}

void tc_dist_allreduce_grads(const tc_dist *d, tc_params *ps) {
    if (d->world <= 1) return;
#ifdef TAICHU_HAVE_MPI
    size_t bucket = d->bucket_floats && d->bucket_floats <= ((size_t)1 << 30) ? d->bucket_floats : ((size_t)4 << 20);
    for (size_t off = 0; off < ps->total; off += bucket) {
        size_t n = ps->total - off < bucket ? ps->total - off : bucket;
        MPI_Allreduce(MPI_IN_PLACE, ps->grad + off, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
    tc_grad_scale(ps, 1.0f / (float)d->world);
#endif
}

void tc_dist_allreduce_sum_f64(const tc_dist *d, double *x, int n) {
    if (d->world <= 1 || n <= 0) return;
#ifdef TAICHU_HAVE_MPI
    MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#else
    (void)x;
#endif
}

void tc_dist_allreduce_mean_f64(const tc_dist *d, double *x, int n) {
    if (d->world <= 1) return;
    tc_dist_allreduce_sum_f64(d, x, n);
    for (int i = 0; i < n; i++) x[i] /= d->world;
}

void tc_dist_bcast(const tc_dist *d, void *buf, size_t n) {
    if (d->world <= 1) return;
#ifdef TAICHU_HAVE_MPI
    MPI_Bcast(buf, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
#else
    (void)buf;
    (void)n;
#endif
}

int tc_dist_allreduce_int_sum(const tc_dist *d, int x) {
    if (d->world <= 1) return x;
#ifdef TAICHU_HAVE_MPI
    MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
#endif
    return x;
}

void tc_dist_barrier(const tc_dist *d) {
    if (d->world <= 1) return;
#ifdef TAICHU_HAVE_MPI
    MPI_Barrier(MPI_COMM_WORLD);
#endif
}

/* ---------------------------------------------------------------- all-gather with backward */

static void allgather_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *x = nd->in[0], *y = nd->out;
    if (!x->requires_grad || !y->grad) return;
    int rank = nd->i[0], world = nd->i[1];
    size_t n = tc_numel(x);
    const float *gy = y->grad + (size_t)rank * n;   /* y is contiguous: rank's slice is one block */
    float *gx = tc_grad(g, x);
    /* x is contiguous (the forward made it so), so its grad is too */
    for (size_t i = 0; i < n; i++) gx[i] += (float)world * gy[i];
}

tc_tensor *tc_dist_allgather_rows(tc_graph *g, const tc_dist *d, tc_tensor *x) {
    x = tc_contiguous(g, x);
    int shape[TC_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) shape[i] = x->shape[i];
    shape[0] *= d->world;
    tc_tensor *y = tc_new(g, x->ndim, shape);
    size_t n = tc_numel(x);
    TC_REQUIRE(n <= (size_t)1 << 30, "tc_dist_allgather_rows", "%zu elements per rank: too many for one MPI call", n);
#ifdef TAICHU_HAVE_MPI
    if (d->world > 1)
        MPI_Allgather(x->data, (int)n, MPI_FLOAT, y->data, (int)n, MPI_FLOAT, MPI_COMM_WORLD);
    else
        memcpy(y->data, x->data, n * sizeof(float));
#else
    memcpy(y->data, x->data, n * sizeof(float));
#endif
    tc_node *nd = tc_record(g, allgather_bw, "allgather_rows", y, x, NULL, NULL, NULL);
    if (nd) {
        nd->i[0] = d->rank;
        nd->i[1] = d->world;
    }
    return y;
}
