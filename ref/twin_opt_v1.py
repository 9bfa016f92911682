#!/usr/bin/env python3
"""PyTorch twin of OPT-v1 (opt-spec §1, §7.3), written from the spec, and the goldens for
tests/test_opt_v1_*.c and tests/test_beam*.c.

Architecture (names of §7.3; LayerNorm ε 1e-5; GELU = tanh form; masks (1 - m)·(-10000), m = outer product of
0/1 validity vectors; padded query rows are garbage and never compared):
  ViT (uniter.img_embeddings.vit.*): X = P·Wsᵀ + bs on 197-style rows (N patches + 1 zero pad patch), + the
      learned encoder_pos_embedding [1, N+1, Dv] (no CLS), library pre-LN blocks (dense1..3 out×in;
      projection / mapping / projection in×out), all rows attend, final LN `norm` on all rows.
  Text: LN(word[ids] + pos[0..T-1] + type[0]).     Image: F (+ mask_embedding row per mode) → img_linear →
      img_layer_norm → + img pos[0..R-1] + type[1] → LayerNorm.     Audio: same with audio_linear,
      audio_layer_norm, own positions, type[2], LayerNorm.
  Gather: per sample [valid text | image rows 0..N-1 (pad patch dropped) | valid audio], padded; mask = prefix.
  Cross encoder: library blocks, no final LN. Heads: pooler tanh(dense(H0)); itm_output (5); rank_output (1);
      MLM LN(ReLU(dense h))·wordᵀ + bias; MRFR LN(GELU(dense h))·img_linear.weight + bias (untransposed);
      MAFR the same with audio_linear; MRC dense_2(LN(GELU(dense_1 h))).
  Decoders (txt_output / img_output, all out×in): M = tfm_encoder(LinearEmbedding(H)) (ReLU blocks, mask =
      outer product of H's validity, no positions); x = √d·E[y] + PE ([sin | cos]); tfm_decoder blocks
      (causal∧padding self-attn, cross-attn to M with M's validity, ReLU FFN); log_softmax(x·Eᵀ).
  Search (§1.11, the original's BeamSearchDecoder): the decoder re-run on every beam's whole prefix (no
      cache), top-k over beam×V, slot override for finished beams, EOS slots moved last (stable), lengths
      gathered from the source beams, GNMT length penalty at the end.
  Loss for the gradient goldens: ITM CE + MLM CE + MRFR MSE + MAFR MSE + MRC CE + label-smoothed (0.1)
      sequence losses of both decoders.

The config is opt-v1-tiny's structure with narrower widths so the .ckpt stays about 1 MB (tests/data/opt_v1/
config.json). Weights are random (wider than the 0.02 init so every term matters) and written as a MindSpore
.ckpt with the original names, tied tensors under their alias names (cls.predictions.decoder.weight,
feat_regress.weight, audio_feat_regress.weight: §7.2).

Run: /usr/bin/python3 ref/twin_opt_v1.py   (deterministic; torch 1.13 CPU). Writes tests/data/opt_v1/
{config.json, tiny.ckpt, golden.bin}.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import golden  # noqa: E402
import ms_ckpt  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "data", "opt_v1")

CFG = {  # opt-v1-tiny's structure (2-layer ViT, cross encoder and decoders), narrower
    "arch": "opt-v1", "hidden_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 64, "vocab_size": 256, "max_position_embeddings": 40, "type_vocab_size": 3,
    "hidden_act": "gelu", "layer_norm_eps": 1e-5, "patch_size": 8, "train_image_size": 32,
    "vit_hidden_size": 40, "vit_num_layers": 2, "vit_num_heads": 4, "vit_intermediate_size": 56,
    "text_num_layers": 0, "audio_num_layers": 0, "audio_dim": 24, "max_audio_len": 8, "max_text_len": 30,
    "dec_hidden_size": 32, "dec_num_layers": 2, "dec_num_heads": 4, "dec_intermediate_size": 48,
    "dec_max_position": 24, "txt_dec_vocab_size": 160, "img_dec_vocab_size": 40, "img_token_len": 8,
}
VIT = "uniter.img_embeddings.vit."
MRC_CLASSES = 1601
NEG = -1e9
EMB_STD = float(os.environ.get('EMB_STD', 0.3))
EOS_MIX = float(os.environ.get('EOS_MIX', 0.95))
MK_EOS = float(os.environ.get('MK_EOS', 1.0))
EOS_LIKE = {'txt_output': 127, 'img_output': 8}
DEC_W = float(os.environ.get('DEC_W', 3.5))
DEC_B = float(os.environ.get('DEC_B', 0.2))

GRAD_NAMES = [
    "uniter.embeddings.word_embeddings.embedding_table", "uniter.embeddings.position_embeddings.embedding_table",
    "uniter.embeddings.token_type_embeddings.embedding_table", "uniter.embeddings.layernorm.gamma",
    VIT + "stem.patch_to_embedding.dense.weight", VIT + "encoder_pos_embedding",
    VIT + "encoder.blocks.0.attention.projection.weight", VIT + "encoder.blocks.1.output.mapping.bias",
    VIT + "norm.beta",
    "uniter.img_embeddings.img_linear.weight", "uniter.img_embeddings.mask_embedding.embedding_table",
    "uniter.img_embeddings.LayerNorm.gamma", "uniter.audio_embeddings.audio_linear.weight",
    "uniter.audio_embeddings.position_embeddings.embedding_table",
    "uniter.encoder.encoder.blocks.0.attention.dense1.weight", "uniter.encoder.encoder.blocks.1.output.projection.weight",
    "uniter.pooler.dense.weight", "itm_output.bias", "cls.predictions.transform.dense.weight",
    "cls.predictions.decoder.bias", "feat_regress.dense.weight", "feat_regress.bias", "audio_feat_regress.bias",
    "region_classifier.dense_2.weight",
    "txt_output.LinearEmbedding.weight", "txt_output.tfm_embedding_lookup.embedding_table",
    "txt_output.tfm_encoder.blocks.0.attention.projection.weight",
    "txt_output.tfm_decoder.blocks.1.cross_attention.dense2.weight",
    "txt_output.tfm_decoder.blocks.0.cross_attention_layernorm.gamma",
    "img_output.tfm_decoder.blocks.0.output.mapping.weight", "img_output.tfm_embedding_lookup.embedding_table",
]


# ----------------------------------------------------------------------------------------- parameters

def make_params(c, gen):
    D, Dv, V, P = c["hidden_size"], c["vit_hidden_size"], c["vocab_size"], c["max_position_embeddings"]
    Da, p = c["audio_dim"], c["patch_size"]
    N = (c["train_image_size"] // p) ** 2
    P_ = {}

    def w(name, *shape, std=0.1):
        P_[name] = torch.randn(*shape, generator=gen) * std

    def ln(name, d):
        P_[name + ".gamma"] = 1 + 0.1 * torch.randn(d, generator=gen)
        P_[name + ".beta"] = 0.1 * torch.randn(d, generator=gen)

    def lin(name, out, inp, std=0.1):  # out×in (Dense / local Linear)
        w(name + ".weight", out, inp, std=std)
        w(name + ".bias", out, std=0.05)

    def block(pre, d, ffn, library, cross=False):
        ln(pre + ".layernorm1", d)
        for a in [".attention"] + ([".cross_attention"] if cross else []):
            for k in ("dense1", "dense2", "dense3", "projection"):
                lin(pre + a + "." + k, d, d)  # square: orientation handled at use
        if cross:
            ln(pre + ".cross_attention_layernorm", d)
        ln(pre + ".layernorm2", d)
        if library:  # in×out
            w(pre + ".output.mapping.weight", d, ffn)
            w(pre + ".output.mapping.bias", ffn, std=0.05)
            w(pre + ".output.projection.weight", ffn, d)
            w(pre + ".output.projection.bias", d, std=0.05)
        else:        # out×in
            lin(pre + ".output.mapping", ffn, d)
            lin(pre + ".output.projection", d, ffn)

    w("uniter.embeddings.word_embeddings.embedding_table", V, D, std=0.5)
    w("uniter.embeddings.position_embeddings.embedding_table", P, D, std=0.5)
    w("uniter.embeddings.token_type_embeddings.embedding_table", c["type_vocab_size"], D, std=0.5)
    ln("uniter.embeddings.layernorm", D)
    lin(VIT + "stem.patch_to_embedding.dense", Dv, 3 * p * p, std=0.05)
    w(VIT + "encoder_pos_embedding", 1, N + 1, Dv, std=0.5)
    for i in range(c["vit_num_layers"]):
        block(VIT + f"encoder.blocks.{i}", Dv, c["vit_intermediate_size"], True)
    ln(VIT + "norm", Dv)
    lin("uniter.img_embeddings.img_linear", D, Dv, std=0.2)
    ln("uniter.img_embeddings.img_layer_norm", D)
    w("uniter.img_embeddings.position_embeddings.embedding_table", P, D, std=0.5)
    ln("uniter.img_embeddings.LayerNorm", D)
    w("uniter.img_embeddings.mask_embedding.embedding_table", 2, Dv, std=0.5)
    lin("uniter.audio_embeddings.audio_linear", D, Da, std=0.2)
    ln("uniter.audio_embeddings.audio_layer_norm", D)
    ln("uniter.audio_embeddings.LayerNorm", D)
    w("uniter.audio_embeddings.position_embeddings.embedding_table", P, D, std=0.5)
    w("uniter.audio_embeddings.mask_embedding.embedding_table", 2, Da, std=0.5)
    for i in range(c["num_hidden_layers"]):
        block(f"uniter.encoder.encoder.blocks.{i}", D, c["intermediate_size"], True)
    lin("uniter.pooler.dense", D, D)
    lin("itm_output", 5, D, std=0.3)
    lin("rank_output", 1, D, std=0.3)
    lin("cls.predictions.transform.dense", D, D)
    ln("cls.predictions.transform.LayerNorm", D)
    w("cls.predictions.decoder.bias", V, std=0.05)
    lin("feat_regress.dense", D, D)
    ln("feat_regress.layer_norm", D)
    w("feat_regress.bias", Dv, std=0.05)
    lin("audio_feat_regress.dense", D, D)
    ln("audio_feat_regress.layer_norm", D)
    w("audio_feat_regress.bias", Da, std=0.05)
    lin("region_classifier.dense_1", D, D)
    ln("region_classifier.layer_norm", D)
    lin("region_classifier.dense_2", MRC_CLASSES, D)
    d = c["dec_hidden_size"]
    for pre, Vd in (("txt_output", c["txt_dec_vocab_size"]), ("img_output", c["img_dec_vocab_size"])):
        w(pre + ".tfm_embedding_lookup.embedding_table", Vd, d, std=EMB_STD)
        # EOS close to a frequently generated token, so the searches meet EOS, finished beams and near-misses
        E_ = P_[pre + ".tfm_embedding_lookup.embedding_table"]
        E_[0] = EOS_MIX * E_[EOS_LIKE[pre]] + (1 - EOS_MIX) * E_[0]
        lin(pre + ".LinearEmbedding", d, D, std=0.2)
        for i in range(c["dec_num_layers"]):
            block(f"{pre}.tfm_encoder.blocks.{i}", d, c["dec_intermediate_size"], False)
        for i in range(c["dec_num_layers"]):
            block(f"{pre}.tfm_decoder.blocks.{i}", d, c["dec_intermediate_size"], False, cross=True)
        for k in list(P_):  # decoder weights: stronger, offsets smaller, so ids depend on memory and prefix
            if k.startswith(pre + ".tfm_") and "embedding" not in k:
                P_[k] = P_[k] * (DEC_W if k.endswith("weight") else DEC_B) if not k.endswith("gamma") else P_[k]
    return P_


# ----------------------------------------------------------------------------------------- blocks

def layer_norm(x, P, name):
    return F.layer_norm(x, x.shape[-1:], P[name + ".gamma"], P[name + ".beta"], 1e-5)


def gelu(x):
    return F.gelu(x, approximate="tanh")


def attention(x, mem, P, pre, heads, mask, library):
    """mask [B, Tq, Tk] 0/1. q/k/v out×in; projection in×out (library) or out×in (local)."""
    B, Tq, D = x.shape
    Tk, dh = mem.shape[1], D // heads
    q = F.linear(x, P[pre + ".dense1.weight"], P[pre + ".dense1.bias"]).view(B, Tq, heads, dh).transpose(1, 2)
    k = F.linear(mem, P[pre + ".dense2.weight"], P[pre + ".dense2.bias"]).view(B, Tk, heads, dh).transpose(1, 2)
    v = F.linear(mem, P[pre + ".dense3.weight"], P[pre + ".dense3.bias"]).view(B, Tk, heads, dh).transpose(1, 2)
    s = (q @ k.transpose(-1, -2)) / math.sqrt(dh) + (1.0 - mask.unsqueeze(1)) * -10000.0
    ctx = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, Tq, D)
    W = P[pre + ".projection.weight"]
    return (ctx @ W if library else F.linear(ctx, W)) + P[pre + ".projection.bias"]


def ffn(x, P, pre, library):
    if library:
        h = gelu(x @ P[pre + ".mapping.weight"] + P[pre + ".mapping.bias"])
        return h @ P[pre + ".projection.weight"] + P[pre + ".projection.bias"]
    h = torch.relu(F.linear(x, P[pre + ".mapping.weight"], P[pre + ".mapping.bias"]))
    return F.linear(h, P[pre + ".projection.weight"], P[pre + ".projection.bias"])


def block(x, P, pre, heads, mask, library, mem=None, mem_mask=None):
    h = layer_norm(x, P, pre + ".layernorm1")
    x = x + attention(h, h, P, pre + ".attention", heads, mask, library)
    if mem is not None:
        x = x + attention(layer_norm(x, P, pre + ".cross_attention_layernorm"), mem, P, pre + ".cross_attention",
                          heads, mem_mask, library)
    return x + ffn(layer_norm(x, P, pre + ".layernorm2"), P, pre + ".output", library)


def outer(a, b):
    return a.unsqueeze(2) * b.unsqueeze(1)


# ----------------------------------------------------------------------------------------- model

def vit(c, P, patches, rec, tag="vit"):
    """patches [B, R, Pd] -> [B, R, Dv]"""
    B, R, _ = patches.shape
    x = F.linear(patches, P[VIT + "stem.patch_to_embedding.dense.weight"], P[VIT + "stem.patch_to_embedding.dense.bias"])
    x = x + P[VIT + "encoder_pos_embedding"][:, :R]
    rec[tag + ".embed"] = x
    ones = torch.ones(B, R, R)
    for i in range(c["vit_num_layers"]):
        x = block(x, P, VIT + f"encoder.blocks.{i}", c["vit_num_heads"], ones, True)
        rec[tag + f".block.{i}"] = x
    x = layer_norm(x, P, VIT + "norm")
    rec[tag + ".out"] = x
    return x


def pos_type(P, table, type_id, T):
    return P[table][:T] + P["uniter.embeddings.token_type_embeddings.embedding_table"][type_id]


def text_embed(c, P, ids):
    T = ids.shape[1]
    e = P["uniter.embeddings.word_embeddings.embedding_table"][ids.long()]
    return layer_norm(e + pos_type(P, "uniter.embeddings.position_embeddings.embedding_table", 0, T), P,
                      "uniter.embeddings.layernorm")


def img_embed(c, P, feat, mask_row):
    """feat [B, R, Dv]; mask_row None | 0 | 1 (the same table row on every image row)"""
    if mask_row is not None:
        feat = feat + P["uniter.img_embeddings.mask_embedding.embedding_table"][mask_row]
    a = layer_norm(F.linear(feat, P["uniter.img_embeddings.img_linear.weight"], P["uniter.img_embeddings.img_linear.bias"]),
                   P, "uniter.img_embeddings.img_layer_norm")
    R = feat.shape[1]
    return layer_norm(a + pos_type(P, "uniter.img_embeddings.position_embeddings.embedding_table", 1, R), P,
                      "uniter.img_embeddings.LayerNorm")


def audio_embed(c, P, feats, mask_row):
    if mask_row is not None:
        feats = feats + P["uniter.audio_embeddings.mask_embedding.embedding_table"][mask_row]
    a = layer_norm(F.linear(feats, P["uniter.audio_embeddings.audio_linear.weight"],
                            P["uniter.audio_embeddings.audio_linear.bias"]), P, "uniter.audio_embeddings.audio_layer_norm")
    T = feats.shape[1]
    return layer_norm(a + pos_type(P, "uniter.audio_embeddings.position_embeddings.embedding_table", 2, T), P,
                      "uniter.audio_embeddings.LayerNorm")


def gather(txt, lt, img, nb, aud, la):
    """Compact concatenation -> x [B, S, D], valid [B, S]; padding rows are zeros (garbage, masked)."""
    B, D = img.shape[0], img.shape[2]
    rows = [torch.cat([txt[b, :lt[b]], img[b, :nb], aud[b, :la[b]]], 0) for b in range(B)]
    S = max(r.shape[0] for r in rows)
    x = torch.stack([torch.cat([r, torch.zeros(S - r.shape[0], D)], 0) for r in rows])
    valid = torch.tensor([[1.0 if s < r.shape[0] else 0.0 for s in range(S)] for r in rows])
    return x, valid


def cross_encoder(c, P, x, valid, rec, tag="enc"):
    m = outer(valid, valid)
    for i in range(c["num_hidden_layers"]):
        x = block(x, P, f"uniter.encoder.encoder.blocks.{i}", c["num_attention_heads"], m, True)
        rec[tag + f".block.{i}"] = x
    return x


def sinusoids(T, d):
    h = d // 2
    t = np.arange(T, dtype=np.float64)[:, None]
    w = np.exp(-np.arange(h, dtype=np.float64) * math.log(10000.0) / (h - 1))[None, :]
    return torch.tensor(np.concatenate([np.sin(t * w), np.cos(t * w)], 1), dtype=torch.float32)


def dec_memory(c, P, pre, H, valid):
    x = F.linear(H, P[pre + ".LinearEmbedding.weight"], P[pre + ".LinearEmbedding.bias"])
    m = outer(valid, valid)
    for i in range(c["dec_num_layers"]):
        x = block(x, P, f"{pre}.tfm_encoder.blocks.{i}", c["dec_num_heads"], m, False)
    return x


def dec_logprobs(c, P, pre, ids, tgt_valid, M, mem_valid, rec=None, tag=None):
    """ids [n, T] -> log-probs [n, T, V]"""
    d, T = c["dec_hidden_size"], ids.shape[1]
    E = P[pre + ".tfm_embedding_lookup.embedding_table"]
    x = E[ids.long()] * math.sqrt(d) + sinusoids(c["dec_max_position"], d)[:T]
    if rec is not None:
        rec[tag + ".embed"] = x
    causal = torch.tril(torch.ones(T, T))
    m = outer(tgt_valid, tgt_valid) * causal
    mm = outer(tgt_valid, mem_valid)
    for i in range(c["dec_num_layers"]):
        x = block(x, P, f"{pre}.tfm_decoder.blocks.{i}", c["dec_num_heads"], m, False, M, mm)
        if rec is not None:
            rec[tag + f".block.{i}"] = x
    return torch.log_softmax(x @ E.t(), dim=-1)


def search(c, P, pre, M, mem_valid, beam, max_len, alpha=1.0):
    """The decoder's search: log-probs of the last position of every beam's whole prefix (no cache)."""
    K = beam
    Mb = M.repeat_interleave(K, 0)
    mvb = mem_valid.repeat_interleave(K, 0)

    def lp_fn(prefixes):
        ids = torch.tensor(prefixes)
        with torch.no_grad():
            return dec_logprobs(c, P, pre, ids, torch.ones(ids.shape), Mb, mvb)[:, -1].numpy()
    return beam_search(lp_fn, M.shape[0], beam, max_len, alpha)


def beam_search(lp_fn, B, beam, max_len, alpha=1.0):
    """The original's BeamSearchDecoder, literally. lp_fn(prefixes [B*K, t]) -> log-probs [B*K, V].
    Returns ids [B, max_len + 1], normalised scores [B], lengths [B], min top-k margin seen."""
    K = beam
    seq = np.zeros((B, K, 1), np.int64)
    score = np.tile(np.array([0.0] + [NEG] * (K - 1), np.float32), (B, 1))
    fin = np.zeros((B, K), bool)
    length = np.zeros((B, K), np.int64)
    margin = np.inf
    for step in range(max_len):
        lp = lp_fn(seq.reshape(B * K, -1))
        V = lp.shape[-1]
        lp = lp.reshape(B, K, V).astype(np.float32)
        total = (lp + score[:, :, None]).astype(np.float32)
        total = (total + np.where(fin, np.float32(NEG), np.float32(0))[:, :, None]).astype(np.float32)
        flat = total.reshape(B, K * V)
        nseq = np.zeros((B, K, step + 2), np.int64)
        nscore = np.zeros((B, K), np.float32)
        nfin = np.zeros((B, K), bool)
        nlen = np.zeros((B, K), np.int64)
        for b in range(B):
            order = np.argsort(-flat[b], kind="stable")
            top = order[:K]
            if not fin[b].all():  # margins only matter while something is undecided
                alive = np.sort(flat[b][~np.repeat(fin[b], V)])[::-1]
                if len(alive) > K:
                    margin = min(margin, float(alive[K - 1] - alive[K]))
                margin = min(margin, float(np.min(-np.diff(flat[b][top])) if K > 1 else np.inf))
            bi, wi, si = top // V, top % V, flat[b][top].copy()
            for k in range(K):
                if fin[b, k]:
                    bi[k], wi[k], si[k] = k, 0, score[b, k]
            key = np.where(wi == 0, np.float32(NEG), si).astype(np.float32)
            ro = np.argsort(-key, kind="stable")
            bi, wi, si = bi[ro], wi[ro], si[ro]
            for k in range(K):
                src = bi[k]
                nlen[b, k] = length[b, src] + (0 if fin[b, src] else 1)
                nseq[b, k] = np.append(seq[b, src], wi[k])
                nfin[b, k] = wi[k] == 0
                nscore[b, k] = si[k]
        seq, score, fin, length = nseq, nscore, nfin, nlen
    norm = score / (((5.0 + length) / 6.0) ** alpha).astype(np.float32)  # float32 like the C search
    best = norm.argmax(1)
    ids = np.stack([seq[b, best[b]] for b in range(B)])
    return ids, np.array([norm[b, best[b]] for b in range(B)], np.float32), \
        np.array([length[b, best[b]] for b in range(B)]), margin


# ----------------------------------------------------------------------------------------- main

def seq_loss(lp, targets, weights, ls=0.1):
    """label-smoothed NLL: (1 - ls) on gold, ls/(V-1) elsewhere; mean over weighted positions"""
    V = lp.shape[-1]
    q = torch.full_like(lp, ls / (V - 1))
    q.scatter_(-1, targets.long().unsqueeze(-1), 1 - ls)
    nll = -(q * lp).sum(-1)
    return (nll * weights).sum() / weights.sum()


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(20261126)
    c = CFG
    P = make_params(c, gen)
    for v in P.values():
        v.requires_grad_(True)
    B, p, S_img = 2, c["patch_size"], c["train_image_size"]
    N = (S_img // p) ** 2
    Pd = 3 * p * p
    patches = torch.randn(B, N + 1, Pd, generator=gen)
    patches[:, N] = 0  # the zero pad patch
    ids = torch.tensor([[101, 17, 250, 33, 4, 102, 0], [101, 9, 88, 102, 0, 0, 0]], dtype=torch.int32) % c["vocab_size"]
    lt = [6, 4]
    txt_valid = (torch.arange(7).unsqueeze(0) < torch.tensor([[6], [4]])).float()
    Ta = 5
    audio = torch.randn(B, Ta, c["audio_dim"], generator=gen)
    la = [5, 3]
    aud_valid = (torch.arange(Ta).unsqueeze(0) < torch.tensor([[5], [3]])).float()

    rec = {}
    F_ = vit(c, P, patches, rec)
    et = text_embed(c, P, ids)
    ei = img_embed(c, P, F_, 0)          # pretraining / ITM mode: row 0 everywhere
    ea = audio_embed(c, P, audio, 0)
    rec.update({"text.emb": et, "img.emb": ei, "audio.emb": ea})
    rec["img.emb_none"] = img_embed(c, P, F_, None)
    rec["img.emb_row1"] = img_embed(c, P, F_, 1)
    rec["audio.emb_none"] = audio_embed(c, P, audio, None)
    x, valid = gather(et, lt, ei, N, ea, la)
    rec["gather.x"], rec["gather.valid"] = x, valid
    H = cross_encoder(c, P, x, valid, rec)
    pooled = torch.tanh(F.linear(H[:, 0], P["uniter.pooler.dense.weight"], P["uniter.pooler.dense.bias"]))
    itm = F.linear(pooled, P["itm_output.weight"], P["itm_output.bias"])
    rank = F.linear(pooled, P["rank_output.weight"], P["rank_output.bias"])
    S = x.shape[1]
    mlm_rows = torch.tensor([1, 3, S + 2], dtype=torch.int32)                 # text tokens (b·S + s)
    img_rows = torch.tensor([lt[0] + 0, lt[0] + 5, S + lt[1] + 15], dtype=torch.int32)  # image tokens
    aud_rows = torch.tensor([lt[0] + N + 1, S + lt[1] + N + 2], dtype=torch.int32)      # audio tokens
    Hf = H.reshape(B * S, -1)
    hm = torch.relu(F.linear(Hf[mlm_rows.long()], P["cls.predictions.transform.dense.weight"],
                             P["cls.predictions.transform.dense.bias"]))
    mlm = layer_norm(hm, P, "cls.predictions.transform.LayerNorm") @ \
        P["uniter.embeddings.word_embeddings.embedding_table"].t() + P["cls.predictions.decoder.bias"]

    def regress(rows, pre, tied):
        h = gelu(F.linear(Hf[rows.long()], P[pre + ".dense.weight"], P[pre + ".dense.bias"]))
        return layer_norm(h, P, pre + ".layer_norm") @ P[tied] + P[pre + ".bias"]
    mrfr = regress(img_rows, "feat_regress", "uniter.img_embeddings.img_linear.weight")
    mafr = regress(aud_rows, "audio_feat_regress", "uniter.audio_embeddings.audio_linear.weight")
    h = gelu(F.linear(Hf[img_rows.long()], P["region_classifier.dense_1.weight"], P["region_classifier.dense_1.bias"]))
    mrc = F.linear(layer_norm(h, P, "region_classifier.layer_norm"), P["region_classifier.dense_2.weight"],
                   P["region_classifier.dense_2.bias"])
    rec.update({"pooler": pooled, "itm.logits": itm, "rank.logits": rank, "mlm.logits": mlm, "mrfr.out": mrfr,
                "mafr.out": mafr, "mrc.logits": mrc})

    # decoders, teacher forcing on the tri-modal H
    Tg = 6
    tgt_txt = torch.tensor([[5, 77, 12, 140, 0, 0], [33, 2, 0, 0, 0, 0]], dtype=torch.int32)   # g + [0], padded
    w_txt = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0]], dtype=torch.float32)
    in_txt = torch.cat([torch.zeros(B, 1, dtype=torch.int32), tgt_txt[:, :-1]], 1)
    M_txt = dec_memory(c, P, "txt_output", H, valid)
    rec["txt_dec.memory"] = M_txt
    lp_txt = dec_logprobs(c, P, "txt_output", in_txt, w_txt, M_txt, valid, rec, "txt_dec")
    rec["txt_dec.logprobs"] = lp_txt
    tgt_img = torch.tensor([[3, 39, 7, 21, 9, 0], [11, 0, 25, 8, 0, 0]], dtype=torch.int32)
    w_img = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]], dtype=torch.float32)
    in_img = torch.cat([torch.zeros(B, 1, dtype=torch.int32), tgt_img[:, :-1]], 1)
    M_img = dec_memory(c, P, "img_output", H, valid)
    lp_img = dec_logprobs(c, P, "img_output", in_img, w_img, M_img, valid)
    rec["img_dec.logprobs"] = lp_img

    # loss
    itm_t = torch.tensor([2, 0])
    mlm_t = torch.tensor([5, 200, 42])
    mrc_t = torch.tensor([3, 1600, 77])
    losses = {
        "itm": F.cross_entropy(itm, itm_t), "mlm": F.cross_entropy(mlm, mlm_t),
        "mrfr": F.mse_loss(mrfr, F_.detach().reshape(B * (N + 1), -1)[[0, 5, N + 1 + 15]]),
        "mafr": F.mse_loss(mafr, audio.reshape(B * Ta, -1)[[1, Ta + 2]]),  # the frames at aud_rows
        "mrc": F.cross_entropy(mrc, mrc_t),
        "txt_dec": seq_loss(lp_txt, tgt_txt, w_txt), "img_dec": seq_loss(lp_img, tgt_img, w_img),
    }
    loss = sum(losses.values())
    for k, v in losses.items():
        rec["loss." + k] = v.reshape(1)
    rec["loss.total"] = loss.reshape(1)
    loss.backward()

    # toggles and generation (no grad)
    with torch.no_grad():
        vit(c, P, patches[:, :N], rec, tag="vit_nopad")
        # captioning path: image only, no mask embedding, the N real patches
        xi = img_embed(c, P, F_, None)[:, :N]
        vi = torch.ones(B, N)
        Hc = cross_encoder(c, P, xi, vi, {}, "cap")
        rec["cap.H"] = Hc
        Mc = dec_memory(c, P, "txt_output", Hc, vi)
        rec["cap.memory"] = Mc
        # (name, decoder, memory, validity, beam, steps)
        runs = [("cap_greedy", "txt_output", Mc, vi, 1, 12),
                ("greedy", "txt_output", M_txt.detach(), valid, 1, 12),
                ("beam3", "txt_output", M_txt.detach(), valid, 3, 12),
                ("beam4", "txt_output", M_txt.detach(), valid, 4, 9),
                ("img_beam2", "img_output", M_img.detach(), valid, 2, 10)]
        found = {}
        for name, pre, M, mv, K, L in runs:
            ids_, score_, len_, margin_ = search(c, P, pre, M, mv, K, L)
            print(f"{name:10s}", ids_.tolist(), len_.tolist(), "margin", margin_)
            found[name] = (ids_, score_, len_)

    # the search logic alone on a Markov chain: lp = log_softmax(table[last token]); EOS is likely after some
    # tokens, so beams finish at different times (slot override, EOS re-ordering, lengths, length penalty)
    MB, MV = 3, 12
    mk = torch.randn(MB, MV, MV, generator=gen) * 1.5 - 3.0 * torch.eye(MV)   # [input, last token, next]
    mk[:, :, 0] += MK_EOS * torch.linspace(-2, 1, MV)
    mlp = torch.log_softmax(mk, -1).numpy().astype(np.float32)

    def markov(K):
        return lambda pre: mlp[np.arange(pre.shape[0]) // K, pre[:, -1]]
    for name, K, L in (("markov_greedy", 1, 10), ("markov_beam3", 3, 10), ("markov_beam5", 5, 14)):
        ids_, score_, len_, margin_ = beam_search(markov(K), MB, K, L)
        print(f"{name:10s}", ids_.tolist(), len_.tolist(), "margin", margin_)
        found[name] = (ids_, score_, len_)
    rec["markov.logprobs"] = torch.tensor(mlp)

    out = {"in.patches": patches, "in.ids": ids, "in.txt_valid": txt_valid, "in.audio": audio,
           "in.aud_valid": aud_valid, "in.mlm_rows": mlm_rows, "in.img_rows": img_rows, "in.aud_rows": aud_rows,
           "in.itm_targets": itm_t.int(), "in.mlm_targets": mlm_t.int(), "in.mrc_targets": mrc_t.int(),
           "in.tgt_txt": tgt_txt, "in.w_txt": w_txt, "in.tgt_img": tgt_img, "in.w_img": w_img}
    for k, v in rec.items():
        out[k] = v.detach()
    for name, (ids_, score_, len_) in found.items():
        out.update({f"search.{name}.ids": ids_, f"search.{name}.score": score_, f"search.{name}.len": len_})
    for n in GRAD_NAMES:
        out["grad." + n] = P[n].grad
    out = {k: (v.numpy() if torch.is_tensor(v) else np.asarray(v)) for k, v in out.items()}

    os.makedirs(OUT, exist_ok=True)
    alias = {"uniter.embeddings.word_embeddings.embedding_table": "cls.predictions.decoder.weight",
             "uniter.img_embeddings.img_linear.weight": "feat_regress.weight",
             "uniter.audio_embeddings.audio_linear.weight": "audio_feat_regress.weight"}
    ck = {alias.get(k, k): v.detach().numpy().astype(np.float32) for k, v in P.items()}
    ms_ckpt.write(os.path.join(OUT, "tiny.ckpt"), ck)
    golden.write(os.path.join(OUT, "golden.bin"), out)
    with open(os.path.join(OUT, "config.json.tmp"), "w") as fh:
        json.dump(c, fh, indent=1)
    os.replace(os.path.join(OUT, "config.json.tmp"), os.path.join(OUT, "config.json"))
    n = sum(v.size for v in ck.values())
    print(f"{len(ck)} tensors, {n} values; loss {loss.item():.6f} " +
          " ".join(f"{k} {v.item():.4f}" for k, v in losses.items()))


if __name__ == "__main__":
    main()
