#!/usr/bin/env python3
"""PyTorch peer of bench/bench_caption_v1.c: OPT-v1 image -> greedy caption latency and peak memory with random
weights of a real preset (opt-v1-1b by default), the same work as the C benchmark:

  encode  ViT on N+1 patch rows (zero pad row last) -> image embeddings (no mask embedding) -> cross encoder on
          the N real rows -> LinearEmbedding + decoder-side encoder
  decode  --steps greedy steps with a per-layer KV cache (argmax, no stop at EOS)

Only the caption path's weights are built (ViT, image embeddings, cross encoder, text decoder: ~0.97 B
parameters; the C benchmark builds the whole 1.19 B model). fp32, torch.no_grad, --threads intra-op threads.
Architecture per opt-spec §1.4-1.10 (library blocks: projection/mapping/projection in×out; decoder: out×in,
ReLU, √d-scaled embeddings plus [sin|cos] sinusoids, tied output).
Last line: RESULT torch encode_s=... decode_s=... total_s=... rss_gb=...

Usage: caption_v1_torch.py [--preset opt-v1-1b|opt-v1-tiny] [--threads N] [--steps 20] [--reps 3] [--label NAME]
"""
import argparse
import math
import resource
import time

import torch
import torch.nn.functional as F

PRESETS = {
    "opt-v1-1b": dict(D=2048, L=12, H=32, FF=8192, Dv=768, Lv=12, Hv=12, FFv=3072, p=32, S=448, P=512,
                      d=1024, Ld=6, Hd=16, FFd=4096, Vt=36560, maxpos=150),
    "opt-v1-tiny": dict(D=128, L=2, H=4, FF=512, Dv=128, Lv=2, Hv=4, FFv=512, p=8, S=64, P=128,
                        d=128, Ld=2, Hd=4, FFd=512, Vt=21128, maxpos=64),
}


def rnd(*shape):
    return torch.randn(*shape) * 0.02


def block_params(d, ff, cross=False):
    b = {"ln1": (torch.ones(d), torch.zeros(d)), "ln2": (torch.ones(d), torch.zeros(d)),
         "qkv": (rnd(3 * d, d), torch.zeros(3 * d)), "proj": (rnd(d, d), torch.zeros(d)),
         "map": (rnd(ff, d), torch.zeros(ff)), "out": (rnd(d, ff), torch.zeros(d))}
    if cross:
        b.update({"lnc": (torch.ones(d), torch.zeros(d)), "xq": (rnd(d, d), torch.zeros(d)),
                  "xkv": (rnd(2 * d, d), torch.zeros(2 * d)), "xproj": (rnd(d, d), torch.zeros(d))})
    return b


def ln(x, p):
    return F.layer_norm(x, x.shape[-1:], p[0], p[1], 1e-5)


def attend(q, k, v, heads):
    B, Tq, D = q.shape
    dh = D // heads
    q = q.view(B, Tq, heads, dh).transpose(1, 2)
    k = k.view(B, -1, heads, dh).transpose(1, 2)
    v = v.view(B, -1, heads, dh).transpose(1, 2)
    a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), -1) @ v
    return a.transpose(1, 2).reshape(B, Tq, D)


def enc_block(x, b, heads, act):
    # weights are stored out×in here for every layer (F.linear); orientation does not change the cost
    h = ln(x, b["ln1"])
    q, k, v = F.linear(h, *b["qkv"]).chunk(3, -1)
    x = x + F.linear(attend(q, k, v, heads), *b["proj"])
    return x + F.linear(act(F.linear(ln(x, b["ln2"]), *b["map"])), *b["out"])


def sinusoids(T, d):
    h = d // 2
    t = torch.arange(T, dtype=torch.float64)[:, None]
    w = torch.exp(-torch.arange(h, dtype=torch.float64) * math.log(10000.0) / (h - 1))[None, :]
    return torch.cat([torch.sin(t * w), torch.cos(t * w)], 1).float()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="opt-v1-1b")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--label", default="torch")
    a = ap.parse_args()
    c = PRESETS[a.preset]
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    gelu = lambda t: F.gelu(t, approximate="tanh")  # noqa: E731
    t0 = time.time()
    N, Pd = (c["S"] // c["p"]) ** 2, 3 * c["p"] ** 2
    W = {"stem": (rnd(c["Dv"], Pd), torch.zeros(c["Dv"])), "vpos": rnd(N + 1, c["Dv"]),
         "vit": [block_params(c["Dv"], c["FFv"]) for _ in range(c["Lv"])],
         "vnorm": (torch.ones(c["Dv"]), torch.zeros(c["Dv"])),
         "img_linear": (rnd(c["D"], c["Dv"]), torch.zeros(c["D"])), "img_ln": (torch.ones(c["D"]), torch.zeros(c["D"])),
         "img_pos": rnd(c["P"], c["D"]), "type": rnd(3, c["D"]), "img_ln2": (torch.ones(c["D"]), torch.zeros(c["D"])),
         "enc": [block_params(c["D"], c["FF"]) for _ in range(c["L"])],
         "le": (rnd(c["d"], c["D"]), torch.zeros(c["d"])),
         "denc": [block_params(c["d"], c["FFd"]) for _ in range(c["Ld"])],
         "dec": [block_params(c["d"], c["FFd"], cross=True) for _ in range(c["Ld"])],
         "E": rnd(c["Vt"], c["d"])}
    nparams = sum(t.numel() for t in _leaves(W))
    t_create = time.time() - t0
    pe = sinusoids(c["maxpos"], c["d"])
    print(f"{a.label}: caption-path weights {nparams} parameters ({nparams * 4e-9:.2f} GB), created in {t_create:.1f} s, "
          f"{a.threads} threads")
    g = torch.Generator().manual_seed(5)
    patches = torch.zeros(1, N + 1, Pd)
    patches[:, :N] = torch.randn(1, N, Pd, generator=g)
    best = None
    with torch.no_grad():
        for rep in range(a.reps + 1):
            ta = time.time()
            x = F.linear(patches, *W["stem"]) + W["vpos"]
            for b in W["vit"]:
                x = enc_block(x, b, c["Hv"], gelu)
            f = ln(x, W["vnorm"])
            e = ln(F.linear(f, *W["img_linear"]), W["img_ln"])
            e = ln(e + W["img_pos"][:N + 1] + W["type"][1], W["img_ln2"])[:, :N]
            for b in W["enc"]:
                e = enc_block(e, b, c["H"], gelu)
            m = F.linear(e, *W["le"])
            for b in W["denc"]:
                m = enc_block(m, b, c["Hd"], torch.relu)
            xkv = [F.linear(m, *b["xkv"]).chunk(2, -1) for b in W["dec"]]
            tb = time.time()
            cache = [[None, None] for _ in W["dec"]]
            cur = torch.zeros(1, 1, dtype=torch.long)
            ids = []
            for t in range(a.steps):
                x = W["E"][cur] * math.sqrt(c["d"]) + pe[t]
                for i, b in enumerate(W["dec"]):
                    q, k, v = F.linear(ln(x, b["ln1"]), *b["qkv"]).chunk(3, -1)
                    ck, cv = cache[i]
                    ck = k if ck is None else torch.cat([ck, k], 1)
                    cv = v if cv is None else torch.cat([cv, v], 1)
                    cache[i] = [ck, cv]
                    x = x + F.linear(attend(q, ck, cv, c["Hd"]), *b["proj"])
                    x = x + F.linear(attend(F.linear(ln(x, b["lnc"]), *b["xq"]), *xkv[i], c["Hd"]), *b["xproj"])
                    x = x + F.linear(torch.relu(F.linear(ln(x, b["ln2"]), *b["map"])), *b["out"])
                lp = torch.log_softmax(x @ W["E"].t(), -1)
                cur = lp[:, -1].argmax(-1, keepdim=True)
                ids.append(int(cur))
            tc = time.time()
            if rep == 0:
                continue
            print(f"rep {rep}: encode {tb - ta:.3f} s, decode {a.steps} steps {tc - tb:.3f} s "
                  f"({(tc - tb) * 1e3 / a.steps:.1f} ms/step), total {tc - ta:.3f} s")
            if best is None or tc - ta < best[2]:
                best = (tb - ta, tc - tb, tc - ta)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024.0 * 1024.0)
    print(f"first ids: {ids[:10]}\npeak RSS: {rss:.2f} GB")
    print(f"RESULT {a.label} threads={a.threads} steps={a.steps} encode_s={best[0]:.3f} decode_s={best[1]:.3f} "
          f"total_s={best[2]:.3f} rss_gb={rss:.2f}")


def _leaves(x):
    if torch.is_tensor(x):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _leaves(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _leaves(v)


if __name__ == "__main__":
    main()
