#!/usr/bin/env python3
"""PyTorch twin of OPT-v2 (opt-spec Appendix A, §1.3 conventions, §7.1-7.3 names), written from the spec,
and the goldens for tests/test_opt_v2_golden.c.

Architecture (A.1), with the checkpoint names of A.2:
  ViT (HF-CLIP layout, uniter.img_embeddings.vit.*): conv p×p stride p without bias (patch_embed.weight
      [Dv,3,p,p]); class_embedding prepended; + pos_embed.embedding_table[position_ids] (position_ids: an
      int32 [1, N+1] buffer); pre_layrnorm; layers encoder.layers.{i}: x += out_proj(attn(LN1 x)) with
      q_proj(x)·dh^-0.5, no mask; x += fc2(QuickGELU(fc1(LN2 x))); every Linear out×in; post_layernorm on
      ALL tokens. ε 1e-5.
  Text (uniter.embeddings.*): LN(word[ids] + position[0..T-1] + token_type[0]) then a MindSpore library
      TransformerEncoder (encoder.blocks.{i}): pre-LN, attention.dense1..3 W[out][in], attention.projection
      and output.mapping / output.projection W[in][out] (§7.3), GELU (tanh form), mask m_ij = valid_i·valid_j
      added as (1-m)·(-10000) (§1.3).
  Fusion (uniter.encoder.decoder.blocks.{i}, library TransformerDecoder): x += SA(LN1 x) with the text mask
      (optionally ∧ causal); x += CA(LN_c x, image tokens) with memory mask valid_i·1; x += FFN(LN2 x).
  Heads: text_proj / vision_proj on row 0, x / sqrt(max(Σx², 1e-4)) (MindSpore L2Normalize);
      scale exp(clip_loss.clip_temp) (clamped at 100); itm_head_two = Dense(D,2D), LayerNorm, GELU, Dense(2D,2)
      on the fusion CLS; MLM = cls.predictions: LN(ReLU(dense(h))) · word_tableᵀ + decoder.bias;
      pooler = tanh(uniter.pooler.dense(h0)).
  Loss (for the gradient goldens): ITC symmetric CE + ITM CE + MLM CE.

The config is opt-v2-tiny's structure with smaller widths so the .ckpt stays ~1 MB (tests/data/opt_v2/
config.json is written too and the C test loads it). Weights are random (wider than the 0.02 init, so every
term matters) and saved as a MindSpore .ckpt with the original names: the word table under its alias
cls.predictions.decoder.weight (§7.2), position_ids as Int32, the two temperatures as scalars.
Padded query rows of text/fusion states are garbage in the original (§1.3) and are not compared.

VQA (A.4): the fused states of the same inputs, with the question's validity, are the memory of txt_output
(the v1 decoder layout, every matrix out×in). Its twin is ref/twin_opt_v1.py's decoder and beam search
(the v1 engineer's implementation of spec §1.10/§1.11, reused as is); its random weights are a second small
.ckpt holding only txt_output.* (the C test loads both files into the model with dec_num_layers 2).

Run: /usr/bin/python3 ref/twin_opt_v2.py  (deterministic; torch 1.13 CPU). Writes tests/data/opt_v2/
{config.json, tiny.ckpt, golden.bin, vqa_config.json, vqa_txt_output.ckpt, vqa_golden.bin}.
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

OUT = os.path.join(HERE, "..", "tests", "data", "opt_v2")

CFG = {  # opt-v2-tiny's structure (2 + 2 + 2 layers, 4 heads), narrower
    "arch": "opt-v2", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 96, "vocab_size": 256, "max_position_embeddings": 32, "type_vocab_size": 3,
    "hidden_act": "gelu", "layer_norm_eps": 1e-5, "patch_size": 8, "train_image_size": 32,
    "vit_hidden_size": 64, "vit_num_layers": 2, "vit_num_heads": 4, "vit_intermediate_size": 96,
    "text_num_layers": 2, "max_text_len": 30, "itc_dim": 32,
    "dec_hidden_size": 64, "dec_num_layers": 0, "dec_num_heads": 4, "dec_intermediate_size": 96,
    "dec_max_position": 32, "txt_dec_vocab_size": 256,
}
# The VQA network (A.4) adds txt_output.*: the same model with the answer decoder (dec_num_layers > 0).
CFG_VQA = dict(CFG, dec_num_layers=2)
VIT = "uniter.img_embeddings.vit."
GRAD_NAMES = [
    "uniter.embeddings.word_embeddings.embedding_table", "uniter.embeddings.layernorm.gamma",
    "uniter.embeddings.encoder.blocks.1.output.mapping.weight",
    "uniter.embeddings.encoder.blocks.0.attention.projection.weight",
    VIT + "patch_embed.weight", VIT + "class_embedding", VIT + "pos_embed.embedding_table",
    VIT + "encoder.layers.0.self_attn.q_proj.weight", VIT + "encoder.layers.1.mlp.fc1.bias",
    VIT + "post_layernorm.gamma",
    "uniter.encoder.decoder.blocks.0.cross_attention.dense2.weight",
    "uniter.encoder.decoder.blocks.1.cross_attention_layernorm.beta",
    "cls.predictions.decoder.bias", "itm_head_two.0.weight", "itm_head_two.1.gamma", "text_proj.weight",
    "vision_proj.bias", "clip_loss.clip_temp",
]


def make_params(c, gen):
    """name -> tensor, shapes per A.2 / §7.3."""
    D, Dv, F_, Fv, V = c["hidden_size"], c["vit_hidden_size"], c["intermediate_size"], c["vit_intermediate_size"], c["vocab_size"]
    p, S, E = c["patch_size"], c["train_image_size"], c["itc_dim"]
    T_img = (S // p) ** 2 + 1
    P = {}

    def w(name, *shape, std=0.1):
        P[name] = torch.randn(*shape, generator=gen) * std

    def ln(name, d):
        P[name + ".gamma"] = 1 + 0.1 * torch.randn(d, generator=gen)
        P[name + ".beta"] = 0.1 * torch.randn(d, generator=gen)

    def lib_block(pre, cross):
        ln(pre + ".layernorm1", D)
        atts = [".attention"] + ([".cross_attention"] if cross else [])
        for a in atts:
            for k in ("dense1", "dense2", "dense3"):
                w(pre + a + "." + k + ".weight", D, D)          # out×in
                w(pre + a + "." + k + ".bias", D, std=0.05)
            w(pre + a + ".projection.weight", D, D)             # in×out
            w(pre + a + ".projection.bias", D, std=0.05)
        if cross:
            ln(pre + ".cross_attention_layernorm", D)
        ln(pre + ".layernorm2", D)
        w(pre + ".output.mapping.weight", D, F_)                # in×out
        w(pre + ".output.mapping.bias", F_, std=0.05)
        w(pre + ".output.projection.weight", F_, D)             # in×out
        w(pre + ".output.projection.bias", D, std=0.05)

    w("uniter.embeddings.word_embeddings.embedding_table", V, D, std=0.5)
    w("uniter.embeddings.position_embeddings.embedding_table", c["max_position_embeddings"], D, std=0.5)
    w("uniter.embeddings.token_type_embeddings.embedding_table", c["type_vocab_size"], D, std=0.5)
    ln("uniter.embeddings.layernorm", D)
    for i in range(c["text_num_layers"]):
        lib_block(f"uniter.embeddings.encoder.blocks.{i}", False)
    w(VIT + "patch_embed.weight", Dv, 3, p, p, std=0.05)
    w(VIT + "class_embedding", Dv, std=0.5)
    P[VIT + "position_ids"] = torch.arange(T_img, dtype=torch.int32).unsqueeze(0)
    w(VIT + "pos_embed.embedding_table", T_img, Dv, std=0.5)
    ln(VIT + "pre_layrnorm", Dv)
    for i in range(c["vit_num_layers"]):
        pre = VIT + f"encoder.layers.{i}"
        for k in ("q_proj", "k_proj", "v_proj", "out_proj"):
            w(f"{pre}.self_attn.{k}.weight", Dv, Dv)
            w(f"{pre}.self_attn.{k}.bias", Dv, std=0.05)
        ln(pre + ".layer_norm1", Dv)
        ln(pre + ".layer_norm2", Dv)
        w(pre + ".mlp.fc1.weight", Fv, Dv)
        w(pre + ".mlp.fc1.bias", Fv, std=0.05)
        w(pre + ".mlp.fc2.weight", Dv, Fv)
        w(pre + ".mlp.fc2.bias", Dv, std=0.05)
    ln(VIT + "post_layernorm", Dv)
    for i in range(c["num_hidden_layers"]):
        lib_block(f"uniter.encoder.decoder.blocks.{i}", True)
    w("uniter.pooler.dense.weight", D, D)
    w("uniter.pooler.dense.bias", D, std=0.05)
    w("cls.predictions.transform.dense.weight", D, D)
    w("cls.predictions.transform.dense.bias", D, std=0.05)
    ln("cls.predictions.transform.LayerNorm", D)
    w("cls.predictions.decoder.bias", V, std=0.05)
    w("itm_output.weight", 2, D)
    w("itm_output.bias", 2, std=0.05)
    w("itm_head_two.0.weight", 2 * D, D)
    w("itm_head_two.0.bias", 2 * D, std=0.05)
    ln("itm_head_two.1", 2 * D)
    w("itm_head_two.3.weight", 2, 2 * D)
    w("itm_head_two.3.bias", 2, std=0.05)
    w("text_proj.weight", E, D)
    w("text_proj.bias", E, std=0.05)
    w("vision_proj.weight", E, Dv)
    w("vision_proj.bias", E, std=0.05)
    P["clip_temp"] = torch.tensor(0.07)
    P["clip_loss.clip_temp"] = torch.tensor(math.log(1 / 0.07))
    return P


def layer_norm(x, P, name, eps=1e-5):
    return F.layer_norm(x, x.shape[-1:], P[name + ".gamma"], P[name + ".beta"], eps)


def lib_attention(x, mem, P, pre, heads, mask):
    """MindSpore library MultiHeadAttention: q/k/v out×in, projection in×out; mask [B, Tq, Tk] 0/1."""
    B, Tq, D = x.shape
    Tk, dh = mem.shape[1], D // heads
    q = x @ P[pre + ".dense1.weight"].t() + P[pre + ".dense1.bias"]
    k = mem @ P[pre + ".dense2.weight"].t() + P[pre + ".dense2.bias"]
    v = mem @ P[pre + ".dense3.weight"].t() + P[pre + ".dense3.bias"]
    q = q.view(B, Tq, heads, dh).transpose(1, 2)
    k = k.view(B, Tk, heads, dh).transpose(1, 2)
    v = v.view(B, Tk, heads, dh).transpose(1, 2)
    # the library divides q and k each by dh^(1/4): the same as dividing the scores by sqrt(dh)
    s = (q / dh ** 0.25) @ (k / dh ** 0.25).transpose(-1, -2)
    s = s + (1.0 - mask.unsqueeze(1)) * -10000.0
    ctx = torch.softmax(s, dim=-1) @ v
    ctx = ctx.transpose(1, 2).reshape(B, Tq, D)
    return ctx @ P[pre + ".projection.weight"] + P[pre + ".projection.bias"]


def lib_ffn(x, P, pre):
    h = F.gelu(x @ P[pre + ".mapping.weight"] + P[pre + ".mapping.bias"], approximate="tanh")
    return h @ P[pre + ".projection.weight"] + P[pre + ".projection.bias"]


def lib_block(x, P, pre, heads, mask, mem=None, mem_mask=None):
    x = x + lib_attention(layer_norm(x, P, pre + ".layernorm1"), layer_norm(x, P, pre + ".layernorm1"), P,
                          pre + ".attention", heads, mask)
    if mem is not None:
        x = x + lib_attention(layer_norm(x, P, pre + ".cross_attention_layernorm"), mem, P, pre + ".cross_attention",
                              heads, mem_mask)
    return x + lib_ffn(layer_norm(x, P, pre + ".layernorm2"), P, pre + ".output")


def clip_layer(x, P, pre, heads):
    B, T, D = x.shape
    dh = D // heads
    h = layer_norm(x, P, pre + ".layer_norm1")
    lin = lambda t, n: F.linear(t, P[f"{pre}.self_attn.{n}.weight"], P[f"{pre}.self_attn.{n}.bias"])  # noqa: E731
    q = (lin(h, "q_proj") * dh ** -0.5).view(B, T, heads, dh).transpose(1, 2)
    k = lin(h, "k_proj").view(B, T, heads, dh).transpose(1, 2)
    v = lin(h, "v_proj").view(B, T, heads, dh).transpose(1, 2)
    a = (torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v).transpose(1, 2).reshape(B, T, D)
    x = x + lin(a, "out_proj")
    h = layer_norm(x, P, pre + ".layer_norm2")
    h = F.linear(h, P[pre + ".mlp.fc1.weight"], P[pre + ".mlp.fc1.bias"])
    h = h * torch.sigmoid(1.702 * h)
    return x + F.linear(h, P[pre + ".mlp.fc2.weight"], P[pre + ".mlp.fc2.bias"])


def vit_forward(c, P, pixels, rec, tag=""):
    """pixels [B, 3, S, S] -> [B, N+1, Dv]"""
    p, B = c["patch_size"], pixels.shape[0]
    x = F.conv2d(pixels, P[VIT + "patch_embed.weight"], stride=p)        # [B, Dv, g, g]
    x = x.flatten(2).transpose(1, 2)                                       # [B, N, Dv]
    cls = P[VIT + "class_embedding"].view(1, 1, -1).expand(B, 1, -1)
    x = torch.cat([cls, x], dim=1)
    x = x + F.embedding(P[VIT + "position_ids"].long(), P[VIT + "pos_embed.embedding_table"])
    rec[tag + "vit.embed"] = x
    x = layer_norm(x, P, VIT + "pre_layrnorm")
    for i in range(c["vit_num_layers"]):
        x = clip_layer(x, P, VIT + f"encoder.layers.{i}", c["vit_num_heads"])
        rec[tag + f"vit.layer.{i}"] = x
    img = layer_norm(x, P, VIT + "post_layernorm")
    rec[tag + "vit.out"] = img
    return img


def text_mask(valid, causal):
    T = valid.shape[1]
    mask = valid.unsqueeze(2) * valid.unsqueeze(1)                         # [B, T, T] outer product
    return mask * torch.tril(torch.ones(T, T)) if causal else mask


def text_forward(c, P, ids, valid, rec, causal=False, tag=""):
    """ids [B, T], valid [B, T] -> [B, T, D]"""
    T = ids.shape[1]
    pos = torch.arange(T)
    e = (F.embedding(ids.long(), P["uniter.embeddings.word_embeddings.embedding_table"])
         + F.embedding(pos, P["uniter.embeddings.position_embeddings.embedding_table"])
         + F.embedding(torch.zeros_like(pos), P["uniter.embeddings.token_type_embeddings.embedding_table"]))
    t = layer_norm(e, P, "uniter.embeddings.layernorm")
    rec[tag + "text.emb"] = t
    mask = text_mask(valid, causal)
    for i in range(c["text_num_layers"]):
        t = lib_block(t, P, f"uniter.embeddings.encoder.blocks.{i}", c["num_attention_heads"], mask)
        rec[tag + f"text.layer.{i}"] = t
    return t


def forward(c, P, pixels, ids, valid, rec, causal=False, tag=""):
    B = ids.shape[0]
    img = vit_forward(c, P, pixels, rec, tag)
    t = text_forward(c, P, ids, valid, rec, causal, tag)
    # ---- fusion
    mask = text_mask(valid, causal)
    mem_mask = valid.unsqueeze(2) * torch.ones(B, 1, img.shape[1])
    f = t
    for i in range(c["num_hidden_layers"]):
        f = lib_block(f, P, f"uniter.encoder.decoder.blocks.{i}", c["num_attention_heads"], mask, img, mem_mask)
        rec[tag + f"fusion.layer.{i}"] = f
    return img, t, f


def l2n(x):
    return x / torch.sqrt(torch.clamp((x * x).sum(-1, keepdim=True), min=1e-4))


def heads_and_loss(c, P, img, txt, fused, mlm_rows, mlm_targets, itm_targets, rec):
    itc_i = l2n(F.linear(img[:, 0], P["vision_proj.weight"], P["vision_proj.bias"]))
    itc_t = l2n(F.linear(txt[:, 0], P["text_proj.weight"], P["text_proj.bias"]))
    scale = torch.clamp(torch.exp(P["clip_loss.clip_temp"]), max=100.0)
    logits = itc_i @ itc_t.t() * scale
    gt = torch.arange(logits.shape[0])
    loss_itc = (F.cross_entropy(logits, gt) + F.cross_entropy(logits.t(), gt)) / 2
    h = F.linear(fused[:, 0], P["itm_head_two.0.weight"], P["itm_head_two.0.bias"])
    h = F.gelu(layer_norm(h, P, "itm_head_two.1"), approximate="tanh")
    itm = F.linear(h, P["itm_head_two.3.weight"], P["itm_head_two.3.bias"])
    loss_itm = F.cross_entropy(itm, itm_targets.long())
    hm = fused.reshape(-1, fused.shape[-1])[mlm_rows.long()]
    hm = torch.relu(F.linear(hm, P["cls.predictions.transform.dense.weight"], P["cls.predictions.transform.dense.bias"]))
    hm = layer_norm(hm, P, "cls.predictions.transform.LayerNorm")
    mlm = hm @ P["uniter.embeddings.word_embeddings.embedding_table"].t() + P["cls.predictions.decoder.bias"]
    loss_mlm = F.cross_entropy(mlm, mlm_targets.long())
    pooled = torch.tanh(F.linear(fused[:, 0], P["uniter.pooler.dense.weight"], P["uniter.pooler.dense.bias"]))
    rec.update({"itc.img": itc_i, "itc.txt": itc_t, "itc.scale": scale.reshape(1), "itc.logits": logits,
                "itm.logits": itm, "mlm.logits": mlm, "pooler": pooled, "loss.itc": loss_itc.reshape(1),
                "loss.itm": loss_itm.reshape(1), "loss.mlm": loss_mlm.reshape(1)})
    return loss_itc + loss_itm + loss_mlm


def make_vqa_params(c, gen):
    """txt_output.*: LinearEmbedding [d, D], tfm_encoder / tfm_decoder blocks (repo-local layout, out×in),
    tfm_embedding_lookup [V, d] (std 0.1: a weaker token residual, so greedy ids vary along the sequence);
    decoder weights scaled like twin_opt_v1 so the ids depend on the memory."""
    D, d, f, V = c["hidden_size"], c["dec_hidden_size"], c["dec_intermediate_size"], c["txt_dec_vocab_size"]
    P = {}

    def lin(name, out, inp, std=0.1):
        P[name + ".weight"] = torch.randn(out, inp, generator=gen) * std
        P[name + ".bias"] = torch.randn(out, generator=gen) * 0.05

    def ln(name, n):
        P[name + ".gamma"] = 1 + 0.1 * torch.randn(n, generator=gen)
        P[name + ".beta"] = 0.1 * torch.randn(n, generator=gen)

    def block(pre, cross):
        ln(pre + ".layernorm1", d)
        for a in [".attention"] + ([".cross_attention"] if cross else []):
            for k in ("dense1", "dense2", "dense3", "projection"):
                lin(pre + a + "." + k, d, d)
        if cross:
            ln(pre + ".cross_attention_layernorm", d)
        ln(pre + ".layernorm2", d)
        lin(pre + ".output.mapping", f, d)
        lin(pre + ".output.projection", d, f)

    P["txt_output.tfm_embedding_lookup.embedding_table"] = torch.randn(V, d, generator=gen) * 0.1
    lin("txt_output.LinearEmbedding", d, D, std=0.2)
    for i in range(c["dec_num_layers"]):
        block(f"txt_output.tfm_encoder.blocks.{i}", False)
    for i in range(c["dec_num_layers"]):
        block(f"txt_output.tfm_decoder.blocks.{i}", True)
    for k in list(P):
        if k.startswith("txt_output.tfm_") and "embedding" not in k and not k.endswith("gamma"):
            P[k] = P[k] * (3.5 if k.endswith("weight") else 0.2)
    return P


def vqa_goldens(P, fused, valid):
    import twin_opt_v1 as tw1  # noqa: E402  (the v1 decoder twin)
    c = CFG_VQA
    Q = make_vqa_params(c, torch.Generator().manual_seed(4242))
    PQ = dict(P)
    PQ.update(Q)
    out = {}
    with torch.no_grad():
        f = fused.detach()
        M = tw1.dec_memory(c, PQ, "txt_output", f, valid)
        tgt = torch.tensor([[0, 5, 17, 99, 3], [0, 42, 3, 8, 200]], dtype=torch.int32)
        lp = tw1.dec_logprobs(c, PQ, "txt_output", tgt, torch.ones(tgt.shape), M, valid)
        out.update({"vqa.memory": M, "vqa.tgt_ids": tgt, "vqa.logprobs": lp})
        margins = []
        for beam in (1, 3):
            ids, score, length, margin = tw1.search(c, PQ, "txt_output", M, valid, beam, 8)
            out[f"vqa.beam{beam}.ids"] = torch.tensor(ids, dtype=torch.int32)
            out[f"vqa.beam{beam}.score"] = torch.tensor(score)
            out[f"vqa.beam{beam}.len"] = torch.tensor(length, dtype=torch.int32)
            margins.append(margin)
    ck = {k: v.numpy().astype(np.float32) for k, v in Q.items()}
    return ck, {k: v.numpy() for k, v in out.items()}, margins


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(20261125)
    c = CFG
    P = make_params(c, gen)
    for k, v in P.items():
        if v.is_floating_point():
            v.requires_grad_(True)
    B, T, S = 2, 7, c["train_image_size"]
    pixels = torch.randn(B, 3, S, S, generator=gen)
    ids = torch.tensor([[101, 17, 250, 33, 4, 102, 0], [101, 9, 88, 102, 0, 0, 0]], dtype=torch.int32) % c["vocab_size"]
    valid = (torch.arange(T).unsqueeze(0) < torch.tensor([[6], [4]])).float()
    mlm_rows = torch.tensor([2, 3, 8], dtype=torch.int32)       # b·T + t, valid tokens only
    mlm_targets = torch.tensor([5, 200, 42], dtype=torch.int32)
    itm_targets = torch.tensor([1, 0], dtype=torch.int32)

    rec = {}
    img, txt, fused = forward(c, P, pixels, ids, valid, rec)
    loss = heads_and_loss(c, P, img, txt, fused, mlm_rows, mlm_targets, itm_targets, rec)
    rec["loss.total"] = loss.reshape(1)
    loss.backward()
    with torch.no_grad():
        forward(c, P, pixels, ids, valid, rec, causal=True, tag="causal.")
    out = {"in.pixels": pixels, "in.ids": ids, "in.valid": valid, "in.mlm_rows": mlm_rows,
           "in.mlm_targets": mlm_targets, "in.itm_targets": itm_targets}
    for k, v in rec.items():
        if k.startswith("causal.") and not (k.startswith("causal.text.layer") or k.startswith("causal.fusion")):
            continue  # the causal run shares the ViT and embeddings with the plain one
        out[k] = v.detach()
    for n in GRAD_NAMES:
        out["grad." + n] = P[n].grad
    out = {k: v.numpy() for k, v in out.items()}

    os.makedirs(OUT, exist_ok=True)
    ck = {}
    for k, v in P.items():
        name = "cls.predictions.decoder.weight" if k == "uniter.embeddings.word_embeddings.embedding_table" else k
        ck[name] = v.detach().numpy().astype(np.int32 if k.endswith("position_ids") else np.float32)
    ms_ckpt.write(os.path.join(OUT, "tiny.ckpt"), ck)
    golden.write(os.path.join(OUT, "golden.bin"), out)
    cfg = dict(c)
    with open(os.path.join(OUT, "config.json.tmp"), "w") as fh:
        json.dump(cfg, fh, indent=1)
    os.replace(os.path.join(OUT, "config.json.tmp"), os.path.join(OUT, "config.json"))
    vck, vgold, margins = vqa_goldens(P, fused, valid)
    ms_ckpt.write(os.path.join(OUT, "vqa_txt_output.ckpt"), vck)
    golden.write(os.path.join(OUT, "vqa_golden.bin"), vgold)
    with open(os.path.join(OUT, "vqa_config.json.tmp"), "w") as fh:
        json.dump(CFG_VQA, fh, indent=1)
    os.replace(os.path.join(OUT, "vqa_config.json.tmp"), os.path.join(OUT, "vqa_config.json"))
    print("vqa: greedy", vgold["vqa.beam1.ids"].tolist(), "beam 3", vgold["vqa.beam3.ids"].tolist(),
          "smallest top-k margins", margins)
    n = sum(v.size for v in ck.values())
    print(f"{len(ck)} tensors, {n} values; loss {loss.item():.6f} "
          f"(itc {rec['loss.itc'].item():.4f} itm {rec['loss.itm'].item():.4f} mlm {rec['loss.mlm'].item():.4f})")


if __name__ == "__main__":
    main()
