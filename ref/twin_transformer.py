#!/usr/bin/env python3
"""PyTorch twin of taichu's nn building blocks (src/nn) and the goldens for tests/test_train_twin.c.

The model (also built in C by tests/tc_tiny_model.h, and at benchmark size by bench/bench_transformer.c):
    x = word_embeddings[ids] + position_embeddings[:T]        (emb.*.embedding_table; word padding_idx 0)
    x = pre-LN block^L (x)                                    (enc.blocks.{i}.*, MindSpore library layout)
        x = x + dropout(proj(attn(LN1(x))));  x = x + dropout(W2·gelu_tanh(W1·LN2(x)))
    logits = head(final_layernorm(x))                         (head.weight [V, D] out×in, head.bias)
    loss = cross_entropy(logits, targets, ignore_index=-1)    (mean over non-ignored tokens)
Parameter names and weight orientations follow opt-spec §7.3: attention.dense1..3 W[out][in], attention.
projection / output.mapping / output.projection W[in][out]. Attention: scores/sqrt(dh), additive -10000 on
padded keys (OPT's mask), softmax in fp32.

Running this script writes tests/data/twin/tiny.bin (format: ref/golden.py): initial weights (the C test
loads them by name, so init needn't be replicated), 10 fixed batches, the step-0 logits and gradients, the
per-step losses and gradient norms of 10 steps of torch.optim.AdamW + clip_grad_norm_ + LambdaLR (dropout
0), and the parameters after the last step.

Run: /usr/bin/python3 ref/twin_transformer.py   (deterministic; torch 1.13 CPU)
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "twin", "tiny.bin")
OUT_DEC = os.path.join(HERE, "..", "tests", "data", "twin", "decoder.bin")


class TwinConfig:
    def __init__(self, vocab=13, d=32, heads=4, ffn=64, layers=2, max_t=8, dropout=0.0, head=True):
        self.vocab, self.d, self.heads, self.ffn, self.layers = vocab, d, heads, ffn, layers
        self.max_t, self.dropout, self.head = max_t, dropout, head


class Twin(torch.nn.Module):
    """Parameters live in a ParameterDict keyed by the original's names ('.' replaced, torch forbids it)."""

    def __init__(self, cfg, seed=0):
        super().__init__()
        self.cfg = cfg
        g = torch.Generator().manual_seed(seed)
        d, f = cfg.d, cfg.ffn
        self.names = []
        self.p = torch.nn.ParameterDict()

        def add(name, shape, kind):
            if kind == "normal":
                t = torch.randn(shape, generator=g) * 0.02
            elif kind == "ones":
                t = torch.ones(shape)
            else:
                # small random biases/LN params so the test also checks that they are wired right
                t = torch.randn(shape, generator=g) * 0.02 + (1.0 if kind == "gamma" else 0.0)
            self.p[name.replace(".", "/")] = torch.nn.Parameter(t.float())
            self.names.append(name)

        add("emb.word_embeddings.embedding_table", (cfg.vocab, d), "normal")
        add("emb.position_embeddings.embedding_table", (cfg.max_t, d), "normal")
        for i in range(cfg.layers):
            b = f"enc.blocks.{i}"
            add(f"{b}.layernorm1.gamma", (d,), "gamma")
            add(f"{b}.layernorm1.beta", (d,), "beta")
            for k in ("dense1", "dense2", "dense3"):
                add(f"{b}.attention.{k}.weight", (d, d), "normal")   # out x in
            for k in ("dense1", "dense2", "dense3"):
                add(f"{b}.attention.{k}.bias", (d,), "bias")
            add(f"{b}.attention.projection.weight", (d, d), "normal")  # in x out
            add(f"{b}.attention.projection.bias", (d,), "bias")
            add(f"{b}.layernorm2.gamma", (d,), "gamma")
            add(f"{b}.layernorm2.beta", (d,), "beta")
            add(f"{b}.output.mapping.weight", (d, f), "normal")      # in x out
            add(f"{b}.output.mapping.bias", (f,), "bias")
            add(f"{b}.output.projection.weight", (f, d), "normal")   # in x out
            add(f"{b}.output.projection.bias", (d,), "bias")
        if cfg.head:
            add("final_layernorm.gamma", (d,), "gamma")
            add("final_layernorm.beta", (d,), "beta")
            add("head.weight", (cfg.vocab, d), "normal")             # out x in
            add("head.bias", (cfg.vocab,), "bias")
        with torch.no_grad():  # the padding row starts at zero, as torch.nn.Embedding(padding_idx=0) does
            self.w("emb.word_embeddings.embedding_table")[0].zero_()

    def w(self, name):
        return self.p[name.replace(".", "/")]

    def named(self):
        return [(n, self.w(n)) for n in self.names]

    def attention(self, x, valid, b):
        B, T, D = x.shape
        H = self.cfg.heads
        dh = D // H
        q = F.linear(x, self.w(f"{b}.dense1.weight"), self.w(f"{b}.dense1.bias"))
        k = F.linear(x, self.w(f"{b}.dense2.weight"), self.w(f"{b}.dense2.bias"))
        v = F.linear(x, self.w(f"{b}.dense3.weight"), self.w(f"{b}.dense3.bias"))
        q, k, v = (t.view(B, T, H, dh).transpose(1, 2) for t in (q, k, v))
        s = q @ k.transpose(-1, -2) / math.sqrt(dh)
        s = s + ((1.0 - valid) * -10000.0)[:, None, None, :]
        p = torch.softmax(s, dim=-1)
        p = F.dropout(p, self.cfg.dropout, self.training)
        a = (p @ v).transpose(1, 2).reshape(B, T, D)
        y = a @ self.w(f"{b}.projection.weight") + self.w(f"{b}.projection.bias")
        return F.dropout(y, self.cfg.dropout, self.training)

    def block(self, x, valid, b):
        d = self.cfg.d
        h = F.layer_norm(x, (d,), self.w(f"{b}.layernorm1.gamma"), self.w(f"{b}.layernorm1.beta"), 1e-5)
        x = x + self.attention(h, valid, f"{b}.attention")
        h = F.layer_norm(x, (d,), self.w(f"{b}.layernorm2.gamma"), self.w(f"{b}.layernorm2.beta"), 1e-5)
        h = F.gelu(h @ self.w(f"{b}.output.mapping.weight") + self.w(f"{b}.output.mapping.bias"), approximate="tanh")
        h = h @ self.w(f"{b}.output.projection.weight") + self.w(f"{b}.output.projection.bias")
        return x + F.dropout(h, self.cfg.dropout, self.training)

    def forward(self, ids, valid):
        """ids [B, T] int64, valid [B, T] float (1 real, 0 padding) -> logits [B, T, V] (or hidden [B, T, D])."""
        T = ids.shape[1]
        x = F.embedding(ids, self.w("emb.word_embeddings.embedding_table"), padding_idx=0)
        x = x + self.w("emb.position_embeddings.embedding_table")[:T]
        for i in range(self.cfg.layers):
            x = self.block(x, valid, f"enc.blocks.{i}")
        if not self.cfg.head:
            return x
        x = F.layer_norm(x, (self.cfg.d,), self.w("final_layernorm.gamma"), self.w("final_layernorm.beta"), 1e-5)
        return F.linear(x, self.w("head.weight"), self.w("head.bias"))


def no_decay(name):
    """The original's rule (opt-spec §4.2): no weight decay for names containing layernorm (any case) or bias."""
    return "layernorm" in name.lower() or "bias" in name


def make_optimizer(model, lr, wd=0.01):
    named = model.named()
    groups = [{"params": [p for n, p in named if not no_decay(n)], "weight_decay": wd},
              {"params": [p for n, p in named if no_decay(n)], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.98), eps=1e-6)


def warmup_cosine(peak, end, warmup, total):
    def f(step):
        if warmup > 0 and step < warmup:
            return step / warmup
        p = min(1.0, (step - warmup) / max(1, total - warmup))
        return (end + 0.5 * (peak - end) * (1 + math.cos(math.pi * p))) / peak
    return f


def reverse_batch(rng, B, T, vocab, min_len):
    """The toy task: targets = the real tokens reversed (padding: id 0, target -1, valid 0)."""
    ids = np.zeros((B, T), np.int64)
    tgt = np.full((B, T), -1, np.int64)
    valid = np.zeros((B, T), np.float32)
    for b in range(B):
        n = int(rng.integers(min_len, T + 1))
        seq = rng.integers(1, vocab, n)
        ids[b, :n] = seq
        tgt[b, :n] = seq[::-1]
        valid[b, :n] = 1
    return ids, tgt, valid


STEPS, B, PEAK, END, WARMUP, CLIP = 10, 4, 1e-2, 1e-3, 2, 1.0


def main():
    torch.manual_seed(0)
    cfg = TwinConfig()
    model = Twin(cfg, seed=7)
    rng = np.random.default_rng(11)
    rec = {}
    for n, p in model.named():
        rec[f"init.{n}"] = p.detach().numpy().copy()
    opt = make_optimizer(model, PEAK)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(PEAK, END, WARMUP, STEPS))
    model.train()  # dropout is 0: train mode changes nothing, but mirrors the C side
    for step in range(STEPS):
        ids, tgt, valid = reverse_batch(rng, B, cfg.max_t, cfg.vocab, 4)
        rec[f"ids.{step}"] = ids.astype(np.int32)
        rec[f"tgt.{step}"] = tgt.astype(np.int32)
        rec[f"valid.{step}"] = valid
        opt.zero_grad()
        logits = model(torch.from_numpy(ids), torch.from_numpy(valid))
        loss = F.cross_entropy(logits.reshape(-1, cfg.vocab), torch.from_numpy(tgt).reshape(-1), ignore_index=-1)
        loss.backward()
        if step == 0:
            rec["logits.0"] = logits.detach().numpy().copy()
            for n, p in model.named():
                rec[f"grad0.{n}"] = p.grad.numpy().copy()
        rec[f"lr.{step}"] = np.array([opt.param_groups[0]["lr"]])
        norm = torch.nn.utils.clip_grad_norm_([p for _, p in model.named()], CLIP)
        rec[f"loss.{step}"] = np.array([loss.item()])
        rec[f"norm.{step}"] = np.array([float(norm)])
        opt.step()
        sched.step()
        print(f"step {step}: loss {loss.item():.6f} norm {float(norm):.4f}")
    for n, p in model.named():
        rec[f"final.{n}"] = p.detach().numpy().copy()
    golden.write(OUT, rec)
    print(f"wrote {OUT}: {len(rec)} records, {os.path.getsize(OUT)} bytes")


def decoder_block_golden():
    """One decoder block of the repo-local Transformer (opt-spec §1.10): every matrix out x in, ReLU FFN,
    causal + padding self-attention, cross-attention to an un-normalised memory with its own key mask:
        x = x + SelfAttn(LN1(x));  x = x + CrossAttn(LN_c(x), mem);  x = x + FFN(LN2(x))
    Mask as OPT builds it: additive (1 - m_ij) * -10000 with m_ij = causal_ij * valid_j (self) or
    mem_valid_j (cross). Loss = sum(out * R) for a fixed random R, so d out = R. Records the inputs, every
    parameter, the output and the gradients of every parameter and of x and mem."""
    g = torch.Generator().manual_seed(5)
    B, T, S, d, H, f = 2, 5, 6, 32, 4, 48
    dh = d // H
    rec, P = {}, {}
    pre = "dec.blocks.0"

    def add(name, shape, kind):
        t = torch.randn(shape, generator=g) * (0.2 if kind == "w" else 0.05)
        if kind == "gamma":
            t = t + 1.0
        P[name] = torch.nn.Parameter(t.float())
        rec[f"init.{name}"] = P[name].detach().numpy().copy()

    for ln in ("layernorm1", "cross_attention_layernorm", "layernorm2"):
        add(f"{pre}.{ln}.gamma", (d,), "gamma")
        add(f"{pre}.{ln}.beta", (d,), "b")
    for att in ("attention", "cross_attention"):
        for k in ("dense1", "dense2", "dense3", "projection"):
            add(f"{pre}.{att}.{k}.weight", (d, d), "w")
            add(f"{pre}.{att}.{k}.bias", (d,), "b")
    add(f"{pre}.output.mapping.weight", (f, d), "w")
    add(f"{pre}.output.mapping.bias", (f,), "b")
    add(f"{pre}.output.projection.weight", (d, f), "w")
    add(f"{pre}.output.projection.bias", (d,), "b")
    x = torch.nn.Parameter(torch.randn(B, T, d, generator=g))
    mem = torch.nn.Parameter(torch.randn(B, S, d, generator=g))
    R = torch.randn(B, T, d, generator=g)
    valid = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.float32)
    mem_valid = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], dtype=torch.float32)

    def mha(att, xq, xkv, m):  # m [B, Tq, Tk] 0/1
        w = lambda k: P[f"{pre}.{att}.{k}.weight"]  # noqa: E731
        b = lambda k: P[f"{pre}.{att}.{k}.bias"]  # noqa: E731
        q = F.linear(xq, w("dense1"), b("dense1")).view(B, -1, H, dh).transpose(1, 2)
        k = F.linear(xkv, w("dense2"), b("dense2")).view(B, -1, H, dh).transpose(1, 2)
        v = F.linear(xkv, w("dense3"), b("dense3")).view(B, -1, H, dh).transpose(1, 2)
        s = q @ k.transpose(-1, -2) / math.sqrt(dh) + ((1.0 - m) * -10000.0)[:, None]
        a = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, -1, d)
        return F.linear(a, w("projection"), b("projection"))

    def ln(name, t):
        return F.layer_norm(t, (d,), P[f"{pre}.{name}.gamma"], P[f"{pre}.{name}.beta"], 1e-5)

    causal = torch.tril(torch.ones(T, T))
    m_self = causal[None] * valid[:, None, :]
    m_cross = mem_valid[:, None, :].expand(B, T, S)
    h = x + mha("attention", ln("layernorm1", x), ln("layernorm1", x), m_self)
    h = h + mha("cross_attention", ln("cross_attention_layernorm", h), mem, m_cross)
    ff = F.relu(F.linear(ln("layernorm2", h), P[f"{pre}.output.mapping.weight"], P[f"{pre}.output.mapping.bias"]))
    out = h + F.linear(ff, P[f"{pre}.output.projection.weight"], P[f"{pre}.output.projection.bias"])
    (out * R).sum().backward()
    rec.update({"x": x.detach().numpy().copy(), "mem": mem.detach().numpy().copy(), "R": R.numpy().copy(),
                "valid": valid.numpy(), "mem_valid": mem_valid.numpy(), "out": out.detach().numpy().copy(),
                "grad.x": x.grad.numpy().copy(), "grad.mem": mem.grad.numpy().copy()})
    for n, p in P.items():
        rec[f"grad.{n}"] = p.grad.numpy().copy()
    golden.write(OUT_DEC, rec)
    print(f"wrote {OUT_DEC}: {len(rec)} records, {os.path.getsize(OUT_DEC)} bytes")


if __name__ == "__main__":
    main()
    decoder_block_golden()
