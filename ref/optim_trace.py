#!/usr/bin/env python3
"""PyTorch trace of the optimizer pieces, the goldens for tests/test_optim.c.

Writes tests/data/optim/trace.bin (format: ref/golden.py) holding, for a handful of parameters of awkward
sizes (slab padding) with fixed per-step gradients:
  * variant "torch": torch.optim.AdamW (bias correction, two param groups: decay / no decay) +
    torch.nn.utils.clip_grad_norm_(max_norm=1) + LambdaLR linear warm-up then cosine to an end value;
  * variant "ms": MindSpore's AdamWeightDecay (no bias correction, opt-spec §4.2) written out in torch ops,
    with MindSpore's clipping (scale = clip / max(norm, clip)) and its LearningRate schedule (cosine on the
    global step) through LambdaLR;
  * the learning rate of both schedules over 300 steps, read back from the torch optimizer.
Per step it records the lr used, the gradient norm before clipping and every parameter after the update.

Run: /usr/bin/python3 ref/optim_trace.py   (deterministic; torch 1.13 CPU)
"""
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "optim", "trace.bin")

# name, shape, decay (names follow the original's conventions; "layernorm"/"bias" are exempt from decay)
PARAMS = [
    ("enc.blocks.0.attention.dense1.weight", (6, 10), True),
    ("enc.blocks.0.attention.dense1.bias", (6,), False),
    ("enc.blocks.0.layernorm1.gamma", (10,), False),
    ("head.weight", (37,), True),
]
STEPS = 12
MAX_NORM = 1.0


def cosine_lambda(peak, end, warmup, total):
    """HF-style: linear warm-up, then cosine from peak to end over total - warmup steps (as a factor of peak)."""
    def f(step):
        if warmup > 0 and step < warmup:
            return step / warmup
        p = min(1.0, (step - warmup) / max(1, total - warmup))
        return (end + 0.5 * (peak - end) * (1 + math.cos(math.pi * p))) / peak
    return f


def mindspore_lambda(peak, end, warmup, decay):
    """MindSpore LearningRate(use_cosine=True): WarmUpLR below warmup, else CosineDecayLR on the global step."""
    def f(step):
        if warmup > 0 and step < warmup:
            return min(step, warmup) / warmup
        p = min(step, decay) / decay
        return (end + 0.5 * (peak - end) * (1 + math.cos(math.pi * p))) / peak
    return f


def make_params(gen):
    return [torch.nn.Parameter((torch.randn(s, generator=gen) * 0.5).float()) for _, s, _ in PARAMS]


def make_grads(gen):
    grads = []
    for t in range(STEPS):
        scale = 0.05 if t % 3 == 1 else 0.6  # some steps clip (norm > 1), some don't
        grads.append([(torch.randn(s, generator=gen) * scale).float() for _, s, _ in PARAMS])
    return grads


def run_torch(params, grads, rec):
    decay = [p for p, (_, _, d) in zip(params, PARAMS) if d]
    nodecay = [p for p, (_, _, d) in zip(params, PARAMS) if not d]
    peak = 1e-2
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=peak, betas=(0.9, 0.98), eps=1e-6)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine_lambda(peak, 1e-4, 3, STEPS))
    for t in range(STEPS):
        for p, g in zip(params, grads[t]):
            p.grad = g.clone()
        rec[f"torch.lr.{t}"] = np.array([opt.param_groups[0]["lr"]])
        norm = torch.nn.utils.clip_grad_norm_(params, MAX_NORM)
        rec[f"torch.norm.{t}"] = np.array([float(norm)])
        opt.step()
        sched.step()
        for p, (name, _, _) in zip(params, PARAMS):
            rec[f"torch.p.{t}.{name}"] = p.detach().numpy().copy()


def run_mindspore(params, grads, rec):
    """AdamWeightDecay: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; u = m / (sqrt(v) + eps) [+ wd p]; p -= lr u."""
    b1, b2, eps, wd, peak = 0.9, 0.98, 1e-6, 0.01, 1e-2
    lam = mindspore_lambda(peak, 1e-4, 3, 10)
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    with torch.no_grad():
        for t in range(STEPS):
            lr = peak * lam(t)
            rec[f"ms.lr.{t}"] = np.array([lr])
            g = [x.clone() for x in grads[t]]
            norm = torch.norm(torch.stack([torch.norm(x) for x in g]))
            rec[f"ms.norm.{t}"] = np.array([float(norm)])
            coef = MAX_NORM / max(float(norm), MAX_NORM)
            g = [x * coef for x in g]
            for i, (p, (name, _, d)) in enumerate(zip(params, PARAMS)):
                m[i].mul_(b1).add_(g[i], alpha=1 - b1)
                v[i].mul_(b2).addcmul_(g[i], g[i], value=1 - b2)
                u = m[i] / (v[i].sqrt() + eps)
                if d:
                    u = u + wd * p
                p.sub_(lr * u)
                rec[f"ms.p.{t}.{name}"] = p.detach().numpy().copy()


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    init = make_params(gen)
    grads = make_grads(gen)
    rec = {}
    for (name, _, _), p in zip(PARAMS, init):
        rec[f"init.{name}"] = p.detach().numpy().copy()
    for t in range(STEPS):
        for (name, _, _), g in zip(PARAMS, grads[t]):
            rec[f"grad.{t}.{name}"] = g.numpy().copy()
    run_torch([torch.nn.Parameter(p.detach().clone()) for p in init], grads, rec)
    run_mindspore([torch.nn.Parameter(p.detach().clone()) for p in init], grads, rec)

    # Schedules over 300 steps, read back from a torch optimizer driven by LambdaLR.
    for key, lam in (("sched.cos", cosine_lambda(5e-5, 1e-7, 20, 250)),
                     ("sched.ms", mindspore_lambda(5e-5, 1e-7, 20, 250))):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=5e-5)
        sch = torch.optim.lr_scheduler.LambdaLR(opt, lam)
        lrs = []
        for _ in range(300):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sch.step()
        # float32 storage of a float64 trace: the C side compares at 1e-6 relative
        rec[key] = np.array(lrs)
    golden.write(OUT, rec)
    print(f"wrote {OUT}: {len(rec)} records, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
