#!/usr/bin/env python3
"""PyTorch peer of bench/bench_embed_v2.c: opt-v2-base (ViT-B/16 at 224 + 6-layer text encoder, random
weights) embedding throughput with ref/twin_opt_v2.py's forward (the twin the C goldens come from), under
torch.no_grad(). Same inputs as the C bench (same formulas). Prints median/best times and
  RESULT torch-<label> img_per_s=... txt_per_s=... img_cpu_ms=... txt_cpu_ms=... img_gflops_per_core=...
(CPU-ms per item: process CPU time, all threads — steadier than wall time on a shared machine; GFLOP/s per
busy core: the full ViT's FLOPs, image_macs, per CPU-second)
The out-of-the-box and tuned configurations of bench/run_embed_v2.sh differ only in the environment this
runs in (OMP_WAIT_POLICY=PASSIVE, MALLOC_MMAP_THRESHOLD_ raised, 2 threads), set before Python starts.
Usage: /usr/bin/python3 bench/embed_v2_torch.py [--label NAME] [--threads N] [--reps N] [--warmup N]
       [--img-batch B] [--txt-batch B] [--tokens T] [--only img|txt]
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref"))
import twin_opt_v2 as tw  # noqa: E402

BASE = dict(tw.CFG, hidden_size=768, num_hidden_layers=6, num_attention_heads=12, intermediate_size=3072,
            vocab_size=21128, max_position_embeddings=512, patch_size=16, train_image_size=224,
            vit_hidden_size=768, vit_num_layers=12, vit_num_heads=12, vit_intermediate_size=3072,
            text_num_layers=6, itc_dim=512)


def image_macs(c):
    """Multiply-adds per image of vit_forward + vision_proj: the patch conv, 12 full layers, the projection
    (the usual "17.6 GFLOPs" of ViT-B/16; GFLOP = 2 x this)."""
    g = c["train_image_size"] // c["patch_size"]
    T, D, F, P = g * g + 1, c["vit_hidden_size"], c["vit_intermediate_size"], 3 * c["patch_size"] ** 2
    layer = T * (4 * D * D + 2 * D * F) + 2 * T * T * D
    return (T - 1) * P * D + c["vit_num_layers"] * layer + D * c["itc_dim"]


def make_inputs(Bi, S, Bt, T, V):
    i = torch.arange(Bi * 3 * S * S, dtype=torch.int64)
    px = ((i * 7919 % 1000).double() / 500.0 - 1.0).float().view(Bi, 3, S, S)
    ids = torch.zeros(Bt, T, dtype=torch.int32)
    valid = torch.zeros(Bt, T)
    for b in range(Bt):
        n = 8 + (b * 7) % (T - 7)
        for t in range(n):
            ids[b, t] = 101 if t == 0 else 102 if t == n - 1 else 1 + (b * 131 + t * 17) % (V - 1)
        valid[b, :n] = 1
    return px, ids, valid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", default="torch")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--img-batch", type=int, default=8)
    ap.add_argument("--txt-batch", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=50)
    ap.add_argument("--only", choices=["img", "txt"], default=None)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    c = BASE
    P = tw.make_params(c, torch.Generator().manual_seed(1))
    px, ids, valid = make_inputs(a.img_batch, c["train_image_size"], a.txt_batch, a.tokens, c["vocab_size"])
    ti, tt, ci, ct = [], [], [], []
    with torch.no_grad():
        for r in range(-a.warmup, a.reps):
            c0, t0 = time.process_time(), time.perf_counter()
            if a.only != "txt":
                img = tw.vit_forward(c, P, px, {})
                e = tw.l2n(F.linear(img[:, 0], P["vision_proj.weight"], P["vision_proj.bias"]))
            t1, c1 = time.perf_counter(), time.process_time()
            if a.only != "img":
                txt = tw.text_forward(c, P, ids, valid, {})
                f = tw.l2n(F.linear(txt[:, 0], P["text_proj.weight"], P["text_proj.bias"]))
            t2, c2 = time.perf_counter(), time.process_time()
            if r >= 0:
                ti.append(t1 - t0)
                tt.append(t2 - t1)
                ci.append(c1 - c0)
                ct.append(c2 - c1)
    ti.sort()
    tt.sort()
    ci.sort()
    ct.sort()
    cpi = 0.0 if a.only == "txt" else ci[len(ci) // 2] / a.img_batch * 1e3  # CPU ms per item
    cpt = 0.0 if a.only == "img" else ct[len(ct) // 2] / a.txt_batch * 1e3
    mi, mt = ti[len(ti) // 2], tt[len(tt) // 2]
    ri = 0.0 if a.only == "txt" else a.img_batch / mi
    rt = 0.0 if a.only == "img" else a.txt_batch / mt
    e0 = 0.0 if a.only == "txt" else float(e[0, 0])
    f0 = 0.0 if a.only == "img" else float(f[0, 0])
    print(f"embed_v2_torch [{a.label}]: torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"images {a.img_batch}, texts {a.txt_batch}x{a.tokens}")
    print(f"  image: median {mi * 1e3:.1f} ms (best {ti[0] * 1e3:.1f}) = {ri:.2f} images/s, {cpi:.0f} CPU-ms/image [e0 {e0:.6f}]")
    print(f"  text:  median {mt * 1e3:.1f} ms (best {tt[0] * 1e3:.1f}) = {rt:.2f} texts/s, {cpt:.1f} CPU-ms/text  [e0 {f0:.6f}]")
    gf = 2e-9 * image_macs(c)
    gfc = gf / (cpi * 1e-3) if cpi > 0 else 0.0  # GFLOP/s per busy core (CPU time)
    if a.only != "txt":
        print(f"  image: {gf:.1f} GFLOP per image, {gfc:.1f} GFLOP/s per busy core (CPU time)")
    print(f"RESULT torch-{a.label} img_per_s={ri:.2f} txt_per_s={rt:.2f} img_cpu_ms={cpi:.1f} txt_cpu_ms={cpt:.2f} "
          f"img_gflops_per_core={gfc:.1f}")


if __name__ == "__main__":
    main()
