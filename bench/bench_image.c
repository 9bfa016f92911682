/* Image pipeline throughput on a 640x480 JPEG (COCO-like size), single thread, best of N:
 * decode (full, and DCT-scaled draft for 224), v1 geometry (OpenCV-bilinear shorter side 448 + centre crop), v1 patches (normalise + cut),
 * CLIP-style geometry (Pillow bicubic 224), RandomResizedCrop 224. If /usr/bin/python3 with cv2/PIL/numpy
 * is present, the same steps are timed there in the same run (the peer) and ratios printed.
 *   build-X/bench/bench_image [iterations]                                                       */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "data/image.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* A photo-like test image: smooth colour fields, edges and mild noise (compresses like a photo). */
static void synth(tc_image *img) {
    tc_image_alloc(img, 640, 480);
    tc_rng r;
    tc_rng_seed(&r, 1);
    for (int y = 0; y < 480; y++)
        for (int x = 0; x < 640; x++) {
            double u = x / 640.0, v = y / 480.0;
            int edge = ((x / 80) + (y / 60)) & 1;
            for (int c = 0; c < 3; c++) {
                double val = 128 + 90 * sin(6.0 * u + 2.0 * c) * cos(4.0 * v - c) + (edge ? 25 : -25) +
                             12 * (tc_rng_uniform(&r) - 0.5);
                img->rgb[((size_t)y * 640 + x) * 3 + c] = (uint8_t)(val < 0 ? 0 : val > 255 ? 255 : val);
            }
        }
}

#define TIME_BEST(var, iters, body)                                   \
    do {                                                              \
        var = 1e9;                                                    \
        for (int it_ = 0; it_ < (iters); it_++) {                     \
            double t0_ = now();                                       \
            body;                                                     \
            double dt_ = now() - t0_;                                 \
            if (dt_ < var) var = dt_;                                 \
        }                                                             \
    } while (0)

static const char *PEER =
    "import sys,time,io\n"
    "import numpy as np, cv2\ncv2.setNumThreads(1)\n"
    "from PIL import Image\n"
    "data=open(sys.argv[1],'rb').read(); n=int(sys.argv[2])\n"
    "def best(f):\n"
    "    b=1e9\n"
    "    for _ in range(n):\n"
    "        t=time.perf_counter(); f(); b=min(b,time.perf_counter()-t)\n"
    "    return b*1e3\n"
    "im=np.asarray(Image.open(io.BytesIO(data)).convert('RGB'))\n"
    "m=np.array([np.float32(x*255) for x in (0.485,0.456,0.406)],np.float32)\n"
    "s=np.array([np.float32(x*255) for x in (0.229,0.224,0.225)],np.float32)\n"
    "def geo(): r=cv2.resize(im,(597,448),interpolation=cv2.INTER_LINEAR); return r[:,74:522].copy()\n"
    "g=geo()\n"
    "def patches():\n"
    "    c=((g.astype(np.float32)-m)/s).transpose(2,0,1)\n"
    "    p=c.reshape(3,14,32,14,32).transpose(1,3,0,2,4).reshape(196,3072)\n"
    "    return np.concatenate([p,np.zeros((1,3072),np.float32)])\n"
    "pil=Image.fromarray(im)\n"
    "print('decode %.4f' % best(lambda: Image.open(io.BytesIO(data)).convert('RGB').load()))\n"
    "def draft():\n"
    "    d=Image.open(io.BytesIO(data)); d.draft('RGB',(224,224)); return d.convert('RGB')\n"
    "print('decode_draft224 %.4f' % best(draft))\n"
    "print('v1_geometry %.4f' % best(geo))\n"
    "print('v1_patches %.4f' % best(patches))\n"
    "print('clip_geometry %.4f' % best(lambda: pil.resize((298,224),Image.BICUBIC).crop((37,0,261,224))))\n";

int main(int argc, char **argv) {
    int iters = argc > 1 ? atoi(argv[1]) : 30;
    if (iters < 1) iters = 1;
    tc_image src, img, g;
    synth(&src);
    uint8_t *jpg;
    size_t jlen;
    if (tc_image_encode_jpeg(&src, 90, &jpg, &jlen)) { fprintf(stderr, "%s\n", tc_error_get()); return 1; }
    float *rows = malloc(sizeof(float) * TC_IMAGE_V1_ROWS * TC_IMAGE_V1_COLS);
    tc_image_prep v1 = tc_image_prep_v1(), clip = tc_image_prep_clip(224);
    tc_image_aug aug = tc_image_aug_default(224);
    tc_rng rng;
    tc_rng_seed(&rng, 3);
    double t_dec, t_draft, t_geo, t_pat, t_clip, t_aug;
    TIME_BEST(t_dec, iters, { tc_image_decode_mem(jpg, jlen, "bench", &img); tc_image_free(&img); });
    tc_image_decode_opts draft = {.draft_min_side = 224};
    TIME_BEST(t_draft, iters, { tc_image_decode_mem_ex(jpg, jlen, "bench", &draft, &img); tc_image_free(&img); });
    tc_image_decode_mem(jpg, jlen, "bench", &img);
    TIME_BEST(t_geo, iters, { tc_image_prep_geometry(&img, &v1, &g); tc_image_free(&g); });
    tc_image_prep_geometry(&img, &v1, &g);
    TIME_BEST(t_pat, iters, { tc_image_to_patches(&g, v1.mean, v1.std, 32, 1, rows); });
    tc_image_free(&g);
    TIME_BEST(t_clip, iters, { tc_image_prep_geometry(&img, &clip, &g); tc_image_free(&g); });
    TIME_BEST(t_aug, iters, { tc_image_augment(&img, &aug, &rng, &g); tc_image_free(&g); });

    const char *names[] = {"decode", "decode_draft224", "v1_geometry", "v1_patches", "clip_geometry",
                           "rrc224_bicubic"};
    double ours[] = {t_dec * 1e3, t_draft * 1e3, t_geo * 1e3, t_pat * 1e3, t_clip * 1e3, t_aug * 1e3};
    enum { NSTEP = 6 };
    double peer[NSTEP] = {NAN, NAN, NAN, NAN, NAN, NAN};

    /* The peer: the same steps in Python (PIL decode, cv2.resize, numpy), same machine, same run. */
    char jpath[256], ppath[256];
    snprintf(jpath, sizeof jpath, "/tmp/taichu_bench_image_%d.jpg", (int)getpid());
    snprintf(ppath, sizeof ppath, "/tmp/taichu_bench_image_%d.py", (int)getpid());
    if (access("/usr/bin/python3", X_OK) == 0 && tc_write_file_atomic(jpath, jpg, jlen) == 0 &&
        tc_write_file_atomic(ppath, PEER, strlen(PEER)) == 0) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %d 2>/dev/null", ppath, jpath, iters);
        FILE *p = popen(cmd, "r");
        char line[256];
        while (p && fgets(line, sizeof line, p)) {
            char k[64];
            double v;
            if (sscanf(line, "%63s %lf", k, &v) == 2)
                for (int i = 0; i < NSTEP; i++)
                    if (!strcmp(k, names[i])) peer[i] = v;
        }
        if (p) pclose(p);
    }
    unlink(jpath);
    unlink(ppath);

    printf("image pipeline, 640x480 JPEG (%zu bytes), best of %d, 1 thread\n", jlen, iters);
    printf("%-16s %10s %12s %8s\n", "step", "taichu ms", "python ms", "ratio");
    for (int i = 0; i < NSTEP; i++) {
        if (isnan(peer[i])) printf("%-16s %10.3f %12s %8s\n", names[i], ours[i], "-", "-");
        else printf("%-16s %10.3f %12.3f %7.2fx\n", names[i], ours[i], peer[i], peer[i] / ours[i]);
    }
    printf("(ratio = python time / taichu time; python = PIL decode, cv2.resize, PIL resize, numpy)\n");
    free(rows);
    free(jpg);
    tc_image_free(&img);
    tc_image_free(&src);
    return 0;
}
