/* Data parallelism: 2 MPI processes × batch B train exactly like 1 process × batch 2B, within float
 * tolerance (the only difference is the order of the gradient sums), on three mixed toy tasks, one of
 * them a global-batch InfoNCE through tc_dist_allgather_rows (whose backward is checked this way).
 * The replicas stay bit-identical across ranks, and only rank 0 writes the run directory.
 *
 * The ctest process runs the 1 × 2B reference itself, then launches
 *   mpirun --allow-run-as-root --oversubscribe -np 2 <this executable> OUT RUN MODE
 * whose ranks train 2 × B and rank 0 writes the per-step losses and final parameters to OUT. A second pair
 * of launches interrupts a 2-rank run after step 5 and resumes it: it must repeat the uninterrupted 2-rank
 * run bit for bit (rank 0 loads the checkpoint and broadcasts it). Without MPI in the build, or without
 * mpirun on PATH, the 2-process part is skipped with a message. */
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"
#include "core/fileio.h"
#include "tc_test.h"
#include "trainer_toy.h"

#define STEPS 12
#define B 4

typedef struct rec {
    double loss[STEPS + 1];
} rec;

static void on_step(void *user, const tc_step_record *r) {
    if (r->step <= STEPS) ((rec *)user)->loss[r->step] = r->loss;
}

static int train(toy *t, const char *run, const tc_dist *d, rec *r, long stop_after, tc_start_mode mode) {
    tc_train_task tasks[3] = {{"incr", 1, 1, toy_incr, t}, {"copy", 1, 1, toy_copy, t},
                              {"contrast", 1, 1, toy_contrast, t}};
    tc_trainer_cfg c = toy_cfg(run, STEPS);
    c.ckpt_every = 6;
    c.stop_after = stop_after;
    c.on_step = on_step;
    c.on_step_user = r;
    return tc_train(&c, &t->m.ps, tasks, 3, d, mode);
}

/* mpirun'd as "OUT RUN MODE" (MODE: fresh, stop5 = stop after step 5, resume): each rank trains with batch
 * B; rank 0 writes "<status> <ranks whose parameters differ from rank 0's>\n", "<loss>\n" × STEPS (0 for
 * steps not run here), then the parameter slab. Every rank initialises its model from a DIFFERENT seed: the
 * trainer's broadcast from rank 0 (of the initial or the resumed state) must make them agree. */
static int worker(int argc, char **argv) {
    tc_dist d;
    if (tc_dist_init(&d, &argc, &argv)) {
        fprintf(stderr, "rank ?: %s\n", tc_error_get());
        return 1;
    }
    if (argc < 4 || d.world != 2) {
        fprintf(stderr, "worker: want 2 ranks and OUT RUN MODE arguments (world %d)\n", d.world);
        tc_dist_finalize(&d);
        return 1;
    }
    const char *mode = argv[3];
    toy t;
    toy_init(&t, B, 0.0f, 77 + 1000 * (uint64_t)d.rank);
    rec r;
    memset(&r, 0, sizeof r);
    if (d.rank == 0 && strcmp(mode, "resume") != 0) toy_rm_run(argv[2]);
    tc_dist_barrier(&d);
    int rc = train(&t, argv[2], &d, &r, !strcmp(mode, "stop5") ? 5 : 0,
                   !strcmp(mode, "resume") ? TC_START_RESUME : TC_START_FRESH);
    if (rc) fprintf(stderr, "rank %d: %s\n", d.rank, tc_error_get());
    /* the replicas must be identical: compare every rank's parameter CRC with rank 0's */
    uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)t.m.ps.data, (uInt)(t.m.ps.total * sizeof(float)));
    uint32_t crc0 = crc;
    tc_dist_bcast(&d, &crc0, sizeof crc0);
    int differ = tc_dist_allreduce_int_sum(&d, crc != crc0);
    if (d.rank == 0) {
        FILE *f = fopen(argv[1], "wb");
        if (f) {
            fprintf(f, "%d %d\n", rc, differ);
            for (int s = 1; s <= STEPS; s++) fprintf(f, "%.9g\n", r.loss[s]);
            fwrite(t.m.ps.data, sizeof(float), t.m.ps.total, f);
            fclose(f);
        }
    }
    toy_free(&t);
    tc_dist_finalize(&d);
    return rc ? 1 : 0;
}

typedef struct result {
    int ok;
    double loss[STEPS + 1];
    float *params;
} result;

/* Launch 2 ranks in MODE and read rank 0's output. */
static result launch(const char *self, const char *run, const char *mode, size_t nparams) {
    result res;
    memset(&res, 0, sizeof res);
    remove("mpi_out.bin");
    char cmd[8192];
    /* one engine thread per rank on this 2-core machine; 4096-float buckets so the ~10k-float gradient slab
     * takes several all-reduce calls; OpenMPI's own allocations are not leaks of ours */
    snprintf(cmd, sizeof cmd,
             "OMPI_MCA_btl=self,vader mpirun --allow-run-as-root --oversubscribe -np 2 -x TAICHU_THREADS=1 "
             "-x TAICHU_ALLREDUCE_BUCKET=4096 -x ASAN_OPTIONS=detect_leaks=0 -x TAICHU_PROGRESS=0 "
             "'%s' mpi_out.bin %s %s",
             self, run, mode);
    int rc = system(cmd);
    TC_CHECK(rc == 0, "%s: exit status %d", cmd, rc);
    size_t len = 0;
    char *out = tc_read_file("mpi_out.bin", &len);
    TC_CHECK(out != NULL, "%s: rank 0 wrote mpi_out.bin", mode);
    if (!out) return res;
    char *p = out;
    int wrc = -1, differ = -1;
    sscanf(p, "%d %d", &wrc, &differ);
    p = strchr(p, '\n') + 1;
    TC_CHECK(wrc == 0 && differ == 0, "%s: status %d, %d ranks with parameters different from rank 0's", mode, wrc,
             differ);
    for (int s = 1; s <= STEPS; s++) {
        res.loss[s] = strtod(p, &p);
        p++;
    }
    size_t need = nparams * sizeof(float);
    TC_CHECK((size_t)(out + len - p) == need, "%s: parameter slab of %zu bytes, want %zu", mode,
             (size_t)(out + len - p), need);
    if ((size_t)(out + len - p) == need) {
        res.params = malloc(need);
        memcpy(res.params, p, need);
        res.ok = wrc == 0 && differ == 0;
    }
    free(out);
    remove("mpi_out.bin");
    return res;
}

int main(int argc, char **argv) {
    if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK")) return worker(argc, argv);

    /* reference: 1 process, batch 2B */
    toy t;
    toy_init(&t, 2 * B, 0.0f, 77);
    rec ref;
    memset(&ref, 0, sizeof ref);
    toy_rm_run("mpi_run1");
    TC_CHECK(train(&t, "mpi_run1", NULL, &ref, 0, TC_START_FRESH) == 0, "1 process: %s", tc_error_get());
    toy_rm_run("mpi_run1");
    TC_CHECK(ref.loss[STEPS] < ref.loss[1], "the reference run learns (%.4f -> %.4f)", ref.loss[1], ref.loss[STEPS]);

    if (!tc_dist_have_mpi()) {
        printf("SKIP: built without MPI (TAICHU_HAVE_MPI undefined): the 2-process comparison did not run\n");
        toy_free(&t);
        return tc_test_summary("mpi");
    }
    if (system("command -v mpirun > /dev/null 2>&1") != 0) {
        printf("SKIP: mpirun not found on PATH: the 2-process comparison did not run\n");
        toy_free(&t);
        return tc_test_summary("mpi");
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    TC_CHECK(n > 0, "readlink /proc/self/exe");
    if (n <= 0) return tc_test_summary("mpi");
    self[n] = 0;

    /* 2 ranks × B against 1 × 2B */
    result full = launch(self, "mpi_run2", "fresh", t.m.ps.total);
    if (full.ok) {
        for (int s = 1; s <= STEPS; s++) TC_CHECK_CLOSE(full.loss[s], ref.loss[s], 1e-5, 1e-6);
        double worst = 0;
        for (size_t i = 0; i < t.m.ps.total; i++) worst = fmax(worst, fabs((double)full.params[i] - t.m.ps.data[i]));
        printf("final parameters: max |2 ranks - 1 rank| = %.3g\n", worst);
        TC_CHECK_ARRAY_CLOSE("final parameters, 2 ranks vs 1", full.params, t.m.ps.data, (long)t.m.ps.total, 1e-4,
                             2e-6);
        printf("step  2 ranks×B  1×2B\n");
        for (int s = 1; s <= STEPS; s += 3) printf("%4d  %.7f  %.7f\n", s, full.loss[s], ref.loss[s]);
    }
    TC_CHECK(tc_file_exists("mpi_run2/log.jsonl") && tc_file_exists("mpi_run2/checkpoints/LATEST"),
             "rank 0 wrote the log and checkpoints");

    /* 2 ranks, interrupted after step 5 and resumed (rank 0 loads, everyone receives): bit-identical */
    result part = launch(self, "mpi_run3", "stop5", t.m.ps.total);
    result res = launch(self, "mpi_run3", "resume", t.m.ps.total);
    if (full.ok && part.ok && res.ok) {
        int same = 1;
        for (int s = 1; s <= 5; s++) same &= part.loss[s] == full.loss[s];
        for (int s = 6; s <= STEPS; s++) same &= res.loss[s] == full.loss[s];
        TC_CHECK(same, "interrupted + resumed 2-rank run repeats the uninterrupted one's losses exactly");
        TC_CHECK(memcmp(res.params, full.params, t.m.ps.total * sizeof(float)) == 0, "and its final parameters");
    }
    free(full.params);
    free(part.params);
    free(res.params);
    toy_rm_run("mpi_run2");
    toy_rm_run("mpi_run3");
    toy_free(&t);
    return tc_test_summary("mpi");
}
