#!/usr/bin/env python3
"""PyTorch twin of bench/bench_transformer.c: the same 4-layer pre-LN encoder (ref/twin_transformer.py, d 256,
4 heads, FFN 1024, GELU tanh, dropout 0.1 on attention probabilities and hidden outputs), batch 32 x 64 tokens,
token + position embeddings -> 4 blocks -> MSE against a fixed random target;
  forward     torch.no_grad(), eval mode
  train step  zero_grad, forward (train mode), backward, clip_grad_norm_(1.0), AdamW step.
Prints median/best times, samples/s, GFLOP/s (same FLOP count as the C bench) and a line
  RESULT torch-<label> fwd_samples_per_s=... train_samples_per_s=...

The two configurations of bench/run_transformer.sh differ only in the environment this runs in (set before
Python starts, since glibc and OpenMP read it at load): out of the box, and tuned (OMP_WAIT_POLICY=PASSIVE,
MALLOC_MMAP_THRESHOLD_ raised, 2 threads). Usage:
  /usr/bin/python3 bench/transformer_torch.py [--label NAME] [--threads N] [--steps N] [--warmup N] [--dropout P]
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref"))
from twin_transformer import Twin, TwinConfig, make_optimizer  # noqa: E402
from torch_steps import timed_train_steps  # noqa: E402


def block_flops(d, ffn, B, T):
    n = B * T
    return 2.0 * n * (4.0 * d * d + 2.0 * d * ffn) + 2.0 * 2.0 * B * T * T * d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", default="torch")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave torch's default)")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=64)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    B, T = a.batch, a.tokens
    cfg = TwinConfig(vocab=1000, d=256, heads=4, ffn=1024, layers=4, max_t=T, dropout=a.dropout, head=False)
    torch.manual_seed(0)
    model = Twin(cfg, seed=1)
    rng = np.random.default_rng(3)
    ids = torch.from_numpy(rng.integers(1, cfg.vocab, (B, T)))
    valid = torch.ones(B, T)
    target = torch.from_numpy(rng.standard_normal((B, T, cfg.d)).astype(np.float32))
    opt = make_optimizer(model, 1e-4)
    params = [p for _, p in model.named()]
    fwd_flops = cfg.layers * block_flops(cfg.d, cfg.ffn, B, T)

    tf, cf = [], []
    model.eval()
    with torch.no_grad():
        for s in range(-a.warmup, a.steps):
            t0, c0 = time.perf_counter(), time.process_time()
            model(ids, valid)
            if s >= 0:
                tf.append(time.perf_counter() - t0)
                cf.append(time.process_time() - c0)
    model.train()
    tt, ct, loss = timed_train_steps(opt, params, lambda: F.mse_loss(model(ids, valid), target), a.warmup, a.steps)
    fmed, tmed = float(np.median(tf)), float(np.median(tt))
    print(f"transformer_torch [{a.label}]: torch {torch.__version__} threads={torch.get_num_threads()} "
          f"dropout={a.dropout} OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '-')} "
          f"MALLOC_MMAP_THRESHOLD_={os.environ.get('MALLOC_MMAP_THRESHOLD_', '-')}")
    print(f"  forward     median {fmed * 1e3:8.2f} ms  best {min(tf) * 1e3:8.2f} ms  {B / fmed:8.1f} samples/s  "
          f"{fwd_flops / fmed * 1e-9:6.1f} GFLOP/s")
    print(f"  train step  median {tmed * 1e3:8.2f} ms  best {min(tt) * 1e3:8.2f} ms  {B / tmed:8.1f} samples/s  "
          f"{3 * fwd_flops / tmed * 1e-9:6.1f} GFLOP/s  (final loss {loss.item():.4f})")
    print(f"    CPU time  forward {np.median(cf) * 1e3:.2f} ms, train step {np.median(ct) * 1e3:.2f} ms "
          "(medians, all threads)")
    print(f"RESULT {a.label} fwd_samples_per_s={B / fmed:.2f} train_samples_per_s={B / tmed:.2f} "
          f"train_gflops={3 * fwd_flops / tmed * 1e-9:.1f} cpu_train_ms={np.median(ct) * 1e3:.2f} "
          f"threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main()
