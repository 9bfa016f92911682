#!/usr/bin/env python3
"""PyTorch twin of a `taichu pretrain` training step on opt-v2-tiny (bench/run_train_tiny.sh times both).

The model is ref/twin_opt_v2.py's functional OPT-v2 (make_params / vit_forward / text_forward / forward,
the modules the goldens of tests/test_opt_v2_golden.c come from) with opt-v2-tiny's sizes (src/model/config.c:
hidden 128, 4 heads, FFN 512, 2 ViT + 2 text + 2 fusion layers, 64-px images in 16-px patches = 17 tokens,
ITC dim 64, no dropout) and its parameters made trainable. The vocabulary is the training data's: `taichu
pretrain` sizes a fresh model's word table to the dataset's vocab (243 word pieces for `taichu synth`'s data;
run_train_tiny.sh passes the value from the taichu run's model config via --vocab). One step:
  itc     batch 128: ViT + text encoder, symmetric InfoNCE over the L2-normalised CLS projections with scale
          exp(clip_temp) clamped at 100 (taichu's tc_v2_task_itc, world 1)
  itmTwo  batch 32: ITC + ITM + MLM summed over one encoder pass (taichu's "itmTwo"): ITM over 3B pairs
          (each row's positive, a hard negative text and a hard negative image mined from the ITC
          similarities, no gradient through the mining), MLM with 2 masked word pieces per caption through
          the fusion over the image
then zero_grad, backward, clip_grad_norm_(1.0), AdamW (betas 0.9/0.98, weight decay 0.01), as taichu's
trainer. Inputs are random: pixels N(0,1) [B,3,64,64], ids [B,32] ([CLS] pieces in 104..V-1 [SEP], padded to
max_text_len 30 + 2 as taichu's loader pads), caption lengths 8..30 pieces; fixed over the steps.
Prints medians and
  RESULT <label> train_samples_per_s=... cpu_train_ms=... threads=N
Usage: /usr/bin/python3 bench/train_tiny_torch.py [--label NAME] [--task itc|itmTwo] [--batch B]
                                                   [--threads N] [--steps N] [--warmup N] [--vocab V]
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref"))
import twin_opt_v2 as tw  # noqa: E402
from torch_steps import timed_train_steps  # noqa: E402

TINY = dict(tw.CFG, hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=512,
            vocab_size=243, max_position_embeddings=128, type_vocab_size=3, patch_size=16, train_image_size=64,
            vit_hidden_size=128, vit_num_layers=2, vit_num_heads=4, vit_intermediate_size=512,
            text_num_layers=2, max_text_len=30, itc_dim=64)


def itc_loss(P, img, txt):
    ie = tw.l2n(F.linear(img[:, 0], P["vision_proj.weight"], P["vision_proj.bias"]))
    te = tw.l2n(F.linear(txt[:, 0], P["text_proj.weight"], P["text_proj.bias"]))
    scale = torch.clamp(torch.exp(P["clip_loss.clip_temp"]), max=100.0)
    logits = ie @ te.t() * scale
    gt = torch.arange(logits.shape[0])
    return (F.cross_entropy(logits, gt) + F.cross_entropy(logits.t(), gt)) / 2, ie, te


def fusion(c, P, t, valid, img):
    B = t.shape[0]
    mask = tw.text_mask(valid, False)
    mem_mask = valid.unsqueeze(2) * torch.ones(B, 1, img.shape[1])
    for i in range(c["num_hidden_layers"]):
        t = tw.lib_block(t, P, f"uniter.encoder.decoder.blocks.{i}", c["num_attention_heads"], mask, img, mem_mask)
    return t


def step_loss(c, P, task, px, ids, valid, mlm_ids, mlm_rows, mlm_tgt):
    rec = {}
    img = tw.vit_forward(c, P, px, rec)
    if task == "itc":
        return itc_loss(P, img, tw.text_forward(c, P, ids, valid, rec))[0]
    # itmTwo as taichu's tasks_v2.c: the unmasked captions' text pass feeds ITC and ITM, a second text pass on
    # the masked captions feeds MLM; both are fused with the same image states.
    txt = tw.text_forward(c, P, ids, valid, rec)
    l_itc, ie, te = itc_loss(P, img, txt)
    B = ids.shape[0]
    with torch.no_grad():
        sim = ie @ te.t()                                   # [B img, B txt]
        sim.fill_diagonal_(-float("inf"))
        neg_t = sim.argmax(1)                               # hardest text for each image
        neg_i = sim.argmax(0)                               # hardest image for each text
    ar = torch.arange(B)
    ti = torch.cat([ar, neg_t, ar])                         # text row of each of the 3B pairs
    ii = torch.cat([ar, ar, neg_i])                         # image row
    f = fusion(c, P, txt[ti], valid[ti], img[ii])
    h = F.linear(f[:, 0], P["itm_head_two.0.weight"], P["itm_head_two.0.bias"])
    h = F.gelu(tw.layer_norm(h, P, "itm_head_two.1"), approximate="tanh")
    itm = F.linear(h, P["itm_head_two.3.weight"], P["itm_head_two.3.bias"])
    lab = torch.cat([torch.ones(B), torch.zeros(2 * B)]).long()
    l_itm = F.cross_entropy(itm, lab)
    fm = fusion(c, P, tw.text_forward(c, P, mlm_ids, valid, rec), valid, img)
    hm = fm.reshape(-1, fm.shape[-1])[mlm_rows]
    hm = torch.relu(F.linear(hm, P["cls.predictions.transform.dense.weight"], P["cls.predictions.transform.dense.bias"]))
    hm = tw.layer_norm(hm, P, "cls.predictions.transform.LayerNorm")
    mlm = hm @ P["uniter.embeddings.word_embeddings.embedding_table"].t() + P["cls.predictions.decoder.bias"]
    return l_itc + l_itm + F.cross_entropy(mlm, mlm_tgt)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", default="torch")
    ap.add_argument("--task", default="itc", choices=["itc", "itmTwo"])
    ap.add_argument("--batch", type=int, default=0, help="default: 128 (itc), 32 (itmTwo)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave torch's default)")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--vocab", type=int, default=243, help="word pieces (the dataset's vocab, as taichu's model)")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    if a.vocab < 105:
        sys.exit("train_tiny_torch.py: --vocab must be at least 105 ([CLS] 101, [SEP] 102, [MASK] 103, pieces above)")
    c = dict(TINY, vocab_size=a.vocab)
    B = a.batch or (128 if a.task == "itc" else 32)
    T, S = c["max_text_len"] + 2, c["train_image_size"]
    P = tw.make_params(c, torch.Generator().manual_seed(1))
    for k in P:  # the 0.1-std init of the goldens is too wide to train; taichu's is 0.02 (BERT init)
        if P[k].dtype == torch.float32 and P[k].dim() >= 2:
            P[k] = P[k] * 0.2
    params = [p.requires_grad_() for k, p in P.items() if p.dtype == torch.float32 and k != "clip_temp"]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.98), eps=1e-6)
    rng = np.random.default_rng(3)
    px = torch.from_numpy(rng.standard_normal((B, 3, S, S)).astype(np.float32))
    ids = np.zeros((B, T), np.int64)
    valid = np.zeros((B, T), np.float32)
    mlm_ids = ids.copy()
    rows, tgts = [], []
    for b in range(B):
        n = int(rng.integers(8, c["max_text_len"] + 1))
        ids[b, 0], ids[b, 1:n + 1], ids[b, n + 1] = 101, rng.integers(104, c["vocab_size"], n), 102
        valid[b, :n + 2] = 1
        mlm_ids[b] = ids[b]
        for p in rng.choice(np.arange(1, n + 1), 2, replace=False):
            rows.append(b * T + p)
            tgts.append(ids[b, p])
            mlm_ids[b, p] = 103
    ids, valid, mlm_ids = torch.from_numpy(ids), torch.from_numpy(valid), torch.from_numpy(mlm_ids)
    mlm_rows, mlm_tgt = torch.tensor(rows), torch.tensor(tgts)

    tt, ct, loss = timed_train_steps(
        opt, params, lambda: step_loss(c, P, a.task, px, ids, valid, mlm_ids, mlm_rows, mlm_tgt), a.warmup, a.steps)
    tmed = float(np.median(tt))
    print(f"train_tiny_torch [{a.label}]: task {a.task} batch {B} torch {torch.__version__} "
          f"threads={torch.get_num_threads()} OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '-')} "
          f"MALLOC_MMAP_THRESHOLD_={os.environ.get('MALLOC_MMAP_THRESHOLD_', '-')}")
    print(f"  train step  median {tmed * 1e3:8.2f} ms  best {min(tt) * 1e3:8.2f} ms  {B / tmed:8.1f} samples/s  "
          f"(final loss {loss.item():.4f}; vocab {c['vocab_size']}; CPU {np.median(ct) * 1e3:.1f} ms/step, all threads)")
    print(f"RESULT {a.label} train_samples_per_s={B / tmed:.2f} cpu_train_ms={np.median(ct) * 1e3:.2f} "
          f"threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main()
