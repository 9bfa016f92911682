#!/usr/bin/env python3
"""Golden values for taichu's caption metrics and Recall@K (tests/test_metrics_golden.c, test_recall.c).

An independent Python reference written straight from the definitions the original OPT evaluation uses:
  * BLEU-1..4   coco-caption bleu_scorer.py, option "closest", tiny = 1e-15, small = 1e-9, corpus level;
  * ROUGE-L     coco-caption rouge.py, beta = 1.2, max precision / max recall over the references,
                averaged over images; sentences split on " " (so an empty sentence is one empty token);
  * CIDEr-D     coco-caption cider_scorer.py: n = 4, sigma = 6, df over the references of the evaluated
                set, log(max(1, df)), clipped tf-idf, Gaussian length penalty on the *bigram* counts
                (the scorer's `length` counts n-grams with n == 1, i.e. bigrams), mean over n, / #refs, x10;
  * METEOR      a port of METEOR 1.5's exact-match aligner (edu.cmu.meteor.aligner.Aligner: definite
                one-to-one matches, beam search of width 40 with PARTIAL_COMPARE_TOTAL, including its
                distance book-keeping) and MeteorScorer.computeMetrics with the English "rank" task
                parameters (alpha 0.85, beta 0.20, gamma 0.60, delta 0.75, exact weight 1.0) and METEOR's
                English function-word list; best reference per segment (first on ties); the corpus score
                from MeteorStats.addStats-summed statistics, as the METEOR EVAL line does;
  * tokenisation  taichu's documented char segmentation (docs/metrics.md).
No numpy randomness: a fixed LCG makes the sets, so the output is reproducible byte for byte.

Usage: python3 tests/data/metrics/make_golden.py   (rewrites the JSON files next to this script)
       python3 tests/data/metrics/make_golden.py --pycocoevalcap DIR   (also cross-checks BLEU, ROUGE-L
       and CIDEr-D against the official scorers in DIR/pycocoevalcap, e.g. a salaniz/pycocoevalcap
       checkout placed under DIR/pycocoevalcap)
       python3 tests/data/metrics/make_golden.py --meteor-classes DIR   (also cross-checks METEOR against
       METEOR 1.5 compiled from source into DIR, see check_against_meteor_java)
"""
import json
import math
import os
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))

# ----------------------------------------------------------------------------------------------------
# Tokenisation (mirror of src/eval/segment.c; see docs/metrics.md)
# coco-caption's PTB punctuation list, as the tokenizer renders the characters with -lowerCase.
# "." and "}" (rendered "-rcb-") survive: the list's missing comma glues "-rcb-" and "." into "-rcb-.".
REMOVED = {"''", "'", "``", "`", "-lrb-", "-rrb-", "-lcb-", "?", "!", ",", ":", "-", "--", "...", ";"}
# PTB also turns curly quotes into `` '' ` ', the ellipsis character into "..." and dashes into "--".
PTB_RENDER = {"(": "-lrb-", ")": "-rrb-", "{": "-lcb-", "}": "-rcb-", '"': "''", "[": "-lsb-", "]": "-rsb-",
              "\u201c": "``", "\u201d": "''", "\u2018": "`", "\u2019": "'", "\u2026": "...",
              "\u2013": "--", "\u2014": "--"}


def _drop(tok):
    return PTB_RENDER.get(tok, tok) in REMOVED


def segment_char(s):
    s = s.replace("\u3002", "").lower()
    toks, word, i = [], "", 0
    while i < len(s):
        c = s[i]
        if c.isspace():
            if word:
                toks.append(word)
                word = ""
            i += 1
        elif ord(c) < 128 and c.isalnum():
            word += c
            i += 1
        else:
            if word:
                toks.append(word)
                word = ""
            if ord(c) < 128:  # a run of one ASCII punctuation character is one token ("...", "--")
                j = i
                while j < len(s) and s[j] == c:
                    j += 1
                toks.append(s[i:j])
                i = j
            else:
                toks.append(c)
                i += 1
    if word:
        toks.append(word)
    return [t for t in toks if not _drop(t)]


def segment_space(s):
    s = s.replace("\u3002", "").lower()
    return [t for t in s.split() if not _drop(t)]


# ----------------------------------------------------------------------------------------------------
def ngram_counts(words, n=4):
    c = defaultdict(int)
    for k in range(1, n + 1):
        for i in range(len(words) - k + 1):
            c[tuple(words[i:i + k])] += 1
    return c


def bleu(cands, refss, n=4):
    tiny, small = 1e-15, 1e-9
    testlen_tot, reflen_tot = 0, 0
    guess, correct = [0] * n, [0] * n
    per = [[] for _ in range(n)]
    for cand, refs in zip(cands, refss):
        maxc = {}
        lens = []
        for r in refs:
            lens.append(len(r))
            for g, c in ngram_counts(r, n).items():
                maxc[g] = max(maxc.get(g, 0), c)
        tl = len(cand)
        rl = min((abs(l - tl), l) for l in lens)[1]
        g_i = [max(0, tl - k + 1) for k in range(1, n + 1)]
        c_i = [0] * n
        for g, c in ngram_counts(cand, n).items():
            c_i[len(g) - 1] += min(maxc.get(g, 0), c)
        testlen_tot += tl
        reflen_tot += rl
        b = 1.0
        for k in range(n):
            guess[k] += g_i[k]
            correct[k] += c_i[k]
            b *= (c_i[k] + tiny) / (g_i[k] + small)
            per[k].append(b ** (1.0 / (k + 1)))
        ratio = (tl + tiny) / (rl + small)
        if ratio < 1:
            for k in range(n):
                per[k][-1] *= math.exp(1 - 1 / ratio)
    out, b = [], 1.0
    for k in range(n):
        b *= (correct[k] + tiny) / (guess[k] + small)
        out.append(b ** (1.0 / (k + 1)))
    ratio = (testlen_tot + tiny) / (reflen_tot + small)
    if ratio < 1:
        out = [x * math.exp(1 - 1 / ratio) for x in out]
    return out, per


def lcs(a, b):
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(cands, refss, beta=1.2):
    per = []
    for cand, refs in zip(cands, refss):
        c = cand if cand else [""]  # " ".join([]).split(" ") == [""]
        ps, rs = [], []
        for r in refs:
            rr = r if r else [""]
            m = lcs(rr, c)
            ps.append(m / len(c))
            rs.append(m / len(rr))
        p, r = max(ps), max(rs)
        per.append((1 + beta ** 2) * p * r / (r + beta ** 2 * p) if p != 0 and r != 0 else 0.0)
    return sum(per) / len(per), per


def cider_d(cands, refss, n=4, sigma=6.0):
    df = defaultdict(float)
    crefs = [[ngram_counts(r, n) for r in refs] for refs in refss]
    for refs in crefs:
        for g in set(g for r in refs for g in r):
            df[g] += 1
    ref_len = math.log(float(len(crefs)))

    def vec(cnts):
        v = [dict() for _ in range(n)]
        norm = [0.0] * n
        length = 0
        for g, tf in cnts.items():
            k = len(g) - 1
            w = float(tf) * (ref_len - math.log(max(1.0, df.get(g, 0.0))))
            v[k][g] = w
            norm[k] += w * w
            if k == 1:
                length += tf
        return v, [math.sqrt(x) for x in norm], length

    per = []
    for cand, refs in zip(cands, crefs):
        vh, nh, lh = vec(ngram_counts(cand, n))
        score = [0.0] * n
        for r in refs:
            vr, nr, lr = vec(r)
            delta = float(lh - lr)
            for k in range(n):
                val = 0.0
                for g, w in vh[k].items():
                    wr = vr[k].get(g, 0.0)
                    val += min(w, wr) * wr
                if nh[k] != 0 and nr[k] != 0:
                    val /= nh[k] * nr[k]
                score[k] += val * math.exp(-(delta ** 2) / (2 * sigma ** 2))
        per.append(sum(score) / n / len(refs) * 10.0)
    return sum(per) / len(per), per


# ----------------------------------------------------------------------------------------------------
# METEOR 1.5, exact module only
ALPHA, BETA, GAMMA, DELTA = 0.85, 0.20, 0.60, 0.75
BEAM = 40


class Path:
    __slots__ = ("matches", "used1", "used2", "idx", "last_end", "chunks", "distance", "m1", "m2")

    def __init__(self, other=None, n1=0, n2=0):
        if other is None:
            self.matches = [None] * n2
            self.used1 = [False] * n1
            self.used2 = [False] * n2
            self.idx, self.last_end, self.chunks, self.distance, self.m1, self.m2 = 0, -1, 0, 0, 0, 0
        else:
            self.matches = list(other.matches)
            self.used1 = list(other.used1)
            self.used2 = list(other.used2)
            self.idx, self.last_end, self.chunks = other.idx, other.last_end, other.chunks
            self.distance, self.m1, self.m2 = other.distance, other.m1, other.m2


def _path_key(p):
    return (-(p.m1 + p.m2), p.chunks, p.distance)  # Python's sort is stable, like Collections.sort


def meteor_align(test, ref):
    """Returns (matches_test, matches_ref, chunks). test = line1, ref = line2."""
    n1, n2 = len(test), len(ref)
    cand = [[] for _ in range(n2)]  # per reference position: (start=j, matchStart=i), i ascending
    cov1, cov2 = [0] * n1, [0] * n2
    for j in range(n2):
        for i in range(n1):
            if test[i] == ref[j]:
                cand[j].append(i)
                cov1[i] += 1
                cov2[j] += 1
    start = Path(None, n1, n2)
    for j in range(n2):
        if len(cand[j]) == 1:
            i = cand[j][0]
            if cov2[j] == 1 and cov1[i] == 1:
                start.matches[j] = i
                start.used2[j] = True
                start.used1[i] = True
    nxt = [start]
    for cur in range(n2 + 1):
        paths = sorted(nxt, key=_path_key)
        nxt = []
        for path in paths[:BEAM]:
            if cur == n2:
                if path.last_end != -1:
                    path.chunks += 1
                nxt.append(path)
                continue
            if path.used2[cur]:
                if cur < path.idx:
                    nxt.append(path)
                elif path.matches[path.idx] is not None:
                    i = path.matches[path.idx]
                    path.m1 += 1
                    path.m2 += 1
                    if path.last_end != -1 and i != path.last_end:
                        path.chunks += 1
                    path.idx = cur + 1
                    path.last_end = i + 1
                    path.distance += abs(cur - i)
                    nxt.append(path)
                continue
            for i in cand[cur]:
                if path.used2[cur] or path.used1[i]:
                    continue
                np_ = Path(path)
                np_.used2[cur] = True
                np_.used1[i] = True
                np_.matches[cur] = i
                np_.m1 += 1
                np_.m2 += 1
                if np_.last_end != -1 and i != np_.last_end:
                    np_.chunks += 1
                np_.idx = cur + 1
                np_.last_end = i + 1
                path.distance += abs(cur - i)  # METEOR 1.5 adds this to the parent path, not the new one
                nxt.append(np_)
            if path.last_end != -1:
                path.chunks += 1
                path.last_end = -1
            path.idx += 1
            nxt.append(path)
        if not nxt:
            nxt.append(paths[0])
    best = sorted(nxt, key=_path_key)[0]
    # Aligner.getCountAndChunks on the final matches
    m, chunks, last = 0, 0, -1
    for j in range(n2):
        i = best.matches[j]
        if i is None:
            if last != -1:
                chunks += 1
                last = -1
        else:
            m += 1
            if last != -1 and i != last:
                chunks += 1
            last = i + 1
    if last != -1:
        chunks += 1
    return best.matches, chunks


def java_div(a, b):
    if b == 0:
        if a == 0 or math.isnan(a):
            return float("nan")
        return math.copysign(float("inf"), a)
    return a / b


# METEOR 1.5's resources/function/english.words (the "-l en" function-word list), one entry per line
# there; Chinese characters never occur in it, ASCII words like "a", "in", "two" and "." do.
ENGLISH_FUNCTION_WORDS = set("""the , . to of and a in that for " is on 's it with was as said at he by be from
have has are his but an this not i will \u2019 they ) -rrb- ( -lrb- who their had we which were been more or s
its would about new one after you : also up when there than $ all out her people she year two - can if last
first \u201c over other \u201d into some what so -- no time years could ? 't \u2014 '""".split())


def meteor_stats(test, ref):
    """MeteorStats fields used by computeMetrics: lengths, function-word counts, content/function
    matches of each side, chunks."""
    matches, chunks = meteor_align(test, ref)
    tf = sum(1 for w in test if w in ENGLISH_FUNCTION_WORDS)
    rf = sum(1 for w in ref if w in ENGLISH_FUNCTION_WORDS)
    tmc = tmf = rmc = rmf = 0
    for j, i in enumerate(matches):
        if i is None:
            continue
        if test[i] in ENGLISH_FUNCTION_WORDS:
            tmf += 1
        else:
            tmc += 1
        if ref[j] in ENGLISH_FUNCTION_WORDS:
            rmf += 1
        else:
            rmc += 1
    return [len(test), len(ref), tf, rf, tmc, tmf, rmc, rmf, chunks]


def meteor_compute(st):
    """MeteorScorer.computeMetrics with Java's IEEE division semantics."""
    tl, rl, tf, rf, tmc, tmf, rmc, rmf, ch = st
    tw_len = (DELTA * (tl - tf)) + ((1.0 - DELTA) * tf)
    rw_len = (DELTA * (rl - rf)) + ((1.0 - DELTA) * rf)
    tw_m = tmc * 1.0 * DELTA + tmf * 1.0 * (1.0 - DELTA)
    rw_m = rmc * 1.0 * DELTA + rmf * 1.0 * (1.0 - DELTA)
    p = java_div(tw_m, tw_len)
    r = java_div(rw_m, rw_len)
    fmean = java_div(1.0, java_div(1.0 - ALPHA, p) + java_div(ALPHA, r))
    tm, rm = tmc + tmf, rmc + rmf
    if tm == tl and rm == rl and ch == 1:
        frag = 0.0
    else:
        frag = java_div(float(ch), (tm + rm) / 2.0)
    if math.isnan(frag):
        pen = float("nan")
    elif math.isinf(frag):
        pen = float("inf")
    else:
        pen = GAMMA * (frag ** BETA)
    score = fmean * (1.0 - pen)
    if math.isnan(score):
        return 0.0
    return max(score, 0.0)


def meteor(cands, refss):
    """Per segment: the first reference with the best score; corpus: MeteorStats.addStats over the
    chosen statistics (which leaves out the chunk of a segment identical to its reference) and one
    computeMetrics, as the Java tool's EVAL line."""
    per, tot = [], [0] * 9
    for cand, refs in zip(cands, refss):
        best, best_score = None, -1.0
        for r in refs:
            st = meteor_stats(cand, r)
            sc = meteor_compute(st)
            if sc > best_score:
                best, best_score = st, sc
        per.append(best_score)
        tl, rl, tf, rf, tmc, tmf, rmc, rmf, ch = best
        perfect = tmc + tmf == tl and rmc + rmf == rl and ch == 1
        tot = [a + b for a, b in zip(tot, best[:8] + [0 if perfect else ch])]
    return meteor_compute(tuple(tot)), per


# ----------------------------------------------------------------------------------------------------
class LCG:
    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        return self.s >> 33

    def below(self, n):
        return self.next() % n


ALPHABET = list("一个男人女孩在草地上的狗猫坐着站玩球白色黑红子桌旁边街道骑自行车")
WORDS = ["a", "dog", "2", "tv", "ok"]


def rand_sentence(g, lo, hi, base=None):
    if base is not None and g.below(3) != 0:  # mutate a reference: substitutions, drops, inserts
        out = []
        for ch in base:
            r = g.below(10)
            if r == 0:
                continue
            if r == 1:
                out.append(ALPHABET[g.below(len(ALPHABET))])
            out.append(ch)
        return out
    n = lo + g.below(hi - lo + 1)
    return [ALPHABET[g.below(12 if g.below(2) else len(ALPHABET))] for _ in range(n)]


def to_text(g, toks):
    """Render tokens as a raw caption string: Chinese characters run together, an occasional ASCII
    word (space-separated) and punctuation that the segmenter has to drop or keep."""
    s = ""
    for t in toks:
        r = g.below(40)
        if r == 0:
            s += "，"
        elif r == 1:
            s += " " + WORDS[g.below(len(WORDS))] + " "
        elif r == 2:
            s += ","
        s += t
    if g.below(2):
        s += "。"
    return s


def make_sets():
    g = LCG(20240611)
    items = []
    # random sets: 1..5 references, 3..18 characters
    for _ in range(360):
        nref = 1 + g.below(5)
        base = rand_sentence(g, 3, 18)
        refs = [to_text(g, rand_sentence(g, 3, 18, base)) for _ in range(nref)]
        cand = to_text(g, rand_sentence(g, 2, 20, base))
        items.append({"candidate": cand, "references": refs})
    # edge cases
    items.append({"candidate": "", "references": ["一个男人在草地上", "一只狗"]})                     # empty
    items.append({"candidate": "。", "references": ["一个男人在草地上"]})                             # empty after 。
    items.append({"candidate": "一个男人在草地上的狗猫坐着站玩球白色黑红子桌旁边街道骑自行车一个男人",
                  "references": ["一个男人在草地上", "男人坐着"]})                                    # longer than all refs
    items.append({"candidate": "一只狗在草地上", "references": ["一只狗在草地上跑"]})                  # single ref
    items.append({"candidate": "狗狗狗狗狗狗", "references": ["狗在草地上", "一只狗狗"]})               # repeated n-grams
    items.append({"candidate": "一只狗一只狗一只狗", "references": ["一只狗一只猫", "一只狗"]})         # repeated bigrams
    items.append({"candidate": "一个女孩在街道上骑自行车", "references": ["一个女孩在街道上骑自行车"] * 3})  # identical
    items.append({"candidate": "一个女孩在街道上骑自行车", "references": ["一个女孩在街道上骑自行车"]})  # identical, 1 ref
    items.append({"candidate": "猫", "references": ["猫"]})                                          # single token
    items.append({"candidate": "狗", "references": ["猫在桌子上"]})                                  # no overlap
    items.append({"candidate": "上草地在狗", "references": ["狗在草地上"]})                          # reversed
    items.append({"candidate": "A dog, 在 TV 旁边!", "references": ["a dog 在 tv 旁边", "一只 狗 ..."]})  # ASCII words
    items.append({"candidate": "白色的猫和白色的狗", "references": ["白色的狗和白色的猫", "白色的猫"]})   # ambiguous alignment
    return items


def score_all(items, seg=segment_char):
    cands = [seg(it["candidate"]) for it in items]
    refss = [[seg(r) for r in it["references"]] for it in items]
    b, bper = bleu(cands, refss)
    m, mper = meteor(cands, refss)
    r, rper = rouge_l(cands, refss)
    c, cper = cider_d(cands, refss)
    return {
        "corpus": {"Bleu_1": b[0], "Bleu_2": b[1], "Bleu_3": b[2], "Bleu_4": b[3], "METEOR": m,
                   "ROUGE_L": r, "CIDEr": c},
        "per_item": {"Bleu_4": bper[3], "METEOR": mper, "ROUGE_L": rper, "CIDEr": cper},
    }


def segmentation_cases():
    texts = ["一个男人在草地上。", "A Dog, 在 TV 旁边!", "“你好”，世界……", "abc...def--g (h) {i} [j] \"k\"",
             "  ", "", "3.5米", "x？y", "Ｆｕｌｌ　width", "e.g. it's"]
    return [{"text": t, "char": segment_char(t), "space": segment_space(t)} for t in texts]


def _check_argsort_rule_with_numpy(cases):
    """When numpy is importable, confirm the "argsort" rule is numpy's argsort(kind="stable")[::-1]."""
    try:
        import numpy as np
    except ImportError:
        return
    for c in cases:
        for q, row in enumerate(c["scores"]):
            inds = np.argsort(np.array(row, dtype=np.float32), kind="stable")[::-1]
            rk = min(int(np.where(inds == gi)[0][0]) for gi in c["gt"][q])
            assert rk == c["expect"]["argsort"]["ranks"][q], (q, rk)


def recall_cases():
    """Score matrices with ties, both tie rules; ranks by definition (pessimistic) and by a stable
    descending order equal to numpy's argsort(kind='stable')[::-1] (ties: higher index first)."""
    g = LCG(7)
    cases = []
    for t in range(6):
        nq, ni = 3 + g.below(6), 4 + g.below(9)
        levels = 2 + g.below(4)  # few distinct values -> many ties
        scores = [[float(g.below(levels)) / 2.0 for _ in range(ni)] for _ in range(nq)]
        gts = []
        for q in range(nq):
            k = 1 + (g.below(3) if t % 2 else 0)
            gts.append(sorted(set(g.below(ni) for _ in range(k))))
        ks = [1, 2, 5]
        out = {}
        for rule in ("pessimistic", "argsort"):
            ranks = []
            for q in range(nq):
                row = scores[q]
                best = None
                for gi in gts[q]:
                    if rule == "pessimistic":
                        rk = sum(1 for j in range(ni) if row[j] > row[gi] or (row[j] == row[gi] and j != gi))
                    else:
                        order = sorted(range(ni), key=lambda j: (row[j], j))[::-1]
                        rk = order.index(gi)
                    best = rk if best is None else min(best, rk)
                ranks.append(best)
            out[rule] = {"ranks": ranks, "recall": [100.0 * sum(1 for r in ranks if r < k) / nq for k in ks]}
        cases.append({"scores": scores, "gt": gts, "k": ks, "expect": out})
    _check_argsort_rule_with_numpy(cases)
    return cases


def check_against_pycocoevalcap(items, path):
    """Optional cross-check: run the official pycocoevalcap BLEU/ROUGE-L/CIDEr scorers (a checkout of
    salaniz/pycocoevalcap or tylin/coco-caption at `path`, not shipped here) on the same tokenised
    sentences and require agreement with this reference to 1e-12."""
    import sys
    sys.path.insert(0, path)
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.cider.cider import Cider
    for lo, hi in ((0, len(items)), (360, len(items))):
        sub = items[lo:hi]
        gts = {i: [" ".join(segment_char(r)) for r in it["references"]] for i, it in enumerate(sub)}
        res = {i: [" ".join(segment_char(it["candidate"]))] for i, it in enumerate(sub)}
        mine = score_all(sub)
        b, _ = Bleu(4).compute_score(gts, res, verbose=0)
        r, _ = Rouge().compute_score(gts, res)
        c, cs = Cider().compute_score(gts, res)
        got = {"Bleu_1": b[0], "Bleu_2": b[1], "Bleu_3": b[2], "Bleu_4": b[3], "ROUGE_L": r, "CIDEr": c}
        for k, v in got.items():
            assert abs(v - mine["corpus"][k]) <= 1e-12 * max(1.0, abs(v)), (lo, k, v, mine["corpus"][k])
        for i, v in enumerate(cs):
            assert abs(v - mine["per_item"]["CIDEr"][i]) <= 1e-12 * max(1.0, abs(v)), (lo, i, v)
        print("pycocoevalcap agrees on items[%d:%d]:" % (lo, hi), {k: round(v, 6) for k, v in got.items()})


METEOR_AGG_JAVA = r"""
import java.io.*;
import java.util.ArrayList;
import edu.cmu.meteor.scorer.*;
// Reads METEOR stats lines, prints each segment score and the addStats aggregate (the EVAL line of
// the meteor-1.5.jar coco-caption ships); configured like "-l en -norm -m exact".
public class MeteorAgg {
    public static void main(String[] a) throws Exception {
        MeteorConfiguration config = new MeteorConfiguration();
        config.setLanguage("en");
        config.setNormalization(2);
        ArrayList<Integer> mods = new ArrayList<Integer>();
        mods.add(0);
        config.setModules(mods);
        MeteorScorer scorer = new MeteorScorer(config);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        MeteorStats agg = new MeteorStats();
        String line;
        while ((line = in.readLine()) != null) {
            MeteorStats s = new MeteorStats(line.trim());
            scorer.computeMetrics(s);
            System.out.println(s.score);
            agg.addStats(s);
        }
        scorer.computeMetrics(agg);
        System.out.println(agg.score);
    }
}
"""


def check_against_meteor_java(items, classes):
    """Optional cross-check against METEOR 1.5 compiled from source (github cmu-mtlab/meteor:
    javac -d CLASSES $(find src -name '*.java'); cp -r resources/* CLASSES). Runs the Java aligner
    ("-l en -norm -m exact", SCORE lines) and aggregates the statistics with MeteorStats.addStats."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "MeteorAgg.java")
        with open(src, "w") as f:
            f.write(METEOR_AGG_JAVA)
        subprocess.run(["javac", "-cp", classes, "-d", tmp, src], check=True)
        cp = classes + os.pathsep + tmp
        for lo in (0, 360):
            sub = items[lo:]
            cands = [segment_char(it["candidate"]) for it in sub]
            refss = [[segment_char(r) for r in it["references"]] for it in sub]
            lines = "".join(" ||| ".join(["SCORE"] + [" ".join(r) for r in refs] + [" ".join(c)]) + "\n"
                            for c, refs in zip(cands, refss))
            cmd = ["java", "-cp", cp, "Meteor", "-", "-", "-stdio", "-l", "en", "-norm", "-m", "exact"]
            stats = subprocess.run(cmd, input=lines, capture_output=True, text=True, check=True).stdout
            out = subprocess.run(["java", "-cp", cp, "MeteorAgg"], input=stats, capture_output=True, text=True,
                                 check=True).stdout.split()
            java = [float(x) for x in out]
            mine, per = meteor(cands, refss)
            assert len(java) == len(per) + 1, (len(java), len(per))
            for i, (a, b) in enumerate(zip(java, per)):
                assert abs(a - b) <= 1e-12, ("segment", lo + i, a, b)
            assert abs(java[-1] - mine) <= 1e-12, ("corpus", java[-1], mine)
            print("METEOR 1.5 (Java) agrees on items[%d:]: %.6f" % (lo, mine))


def write_npy(path, data, shape, dtype):
    """Minimal .npy writer (no numpy needed): dtype '<f4' or '<i8', C order."""
    import struct
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        dtype, ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else ""))
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    fmt = "<%d%s" % (len(data), "f" if dtype == "<f4" else "q")
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(struct.pack(fmt, *data))


def _rank(row, gts, rule):
    best = None
    for gi in gts:
        if rule == "pessimistic":
            rk = sum(1 for j in range(len(row)) if row[j] > row[gi] or (row[j] == row[gi] and j != gi))
        else:
            rk = sorted(range(len(row)), key=lambda j: (row[j], j))[::-1].index(gi)
        best = rk if best is None else min(best, rk)
    return best


def retrieval_expect(i2t, txt2img, rule):
    n_img, n_txt = len(i2t), len(i2t[0])
    tr_ranks = [_rank(i2t[i], [t for t in range(n_txt) if txt2img[t] == i], rule) for i in range(n_img)]
    t2i = [[i2t[i][t] for i in range(n_img)] for t in range(n_txt)]
    ir_ranks = [_rank(t2i[t], [txt2img[t]], rule) for t in range(n_txt)]
    rec = lambda ranks: [100.0 * sum(1 for r in ranks if r < k) / len(ranks) for k in (1, 5, 10)]
    ir, tr = rec(ir_ranks), rec(tr_ranks)
    ir_mean, tr_mean = sum(ir) / 3, sum(tr) / 3
    return {"img_r1": ir[0], "img_r5": ir[1], "img_r10": ir[2], "img_r_mean": ir_mean,
            "txt_r1": tr[0], "txt_r5": tr[1], "txt_r10": tr[2], "txt_r_mean": tr_mean,
            "r_mean": (ir_mean + tr_mean) / 2}


def write_retrieval_fixtures():
    """12 images x 60 texts with many ties (scores on a coarse grid) for tests/cli_score.sh."""
    g = LCG(99)
    n_img, n_txt = 12, 60
    grouped = [t // 5 for t in range(n_txt)]
    shuffled = [(t * 7) % n_img for t in range(n_txt)]  # image of text t in a non-grouped layout
    i2t = [[0.25 * g.below(5) for _ in range(n_txt)] for _ in range(n_img)]
    for t in range(n_txt):  # make the GT pairs likelier to rank high
        if g.below(2):
            i2t[grouped[t]][t] = 1.0
    flat = [x for row in i2t for x in row]
    write_npy(os.path.join(HERE, "cli_i2t.npy"), flat, (n_img, n_txt), "<f4")
    write_npy(os.path.join(HERE, "cli_txt2img.npy"), shuffled, (n_txt,), "<i8")
    return {"grouped_pessimistic": retrieval_expect(i2t, grouped, "pessimistic"),
            "grouped_argsort": retrieval_expect(i2t, grouped, "argsort"),
            "map_pessimistic": retrieval_expect(i2t, shuffled, "pessimistic")}


def write_cli_fixtures(items):
    """Small files in the original formats for tests/cli_score.sh, with the expected scores."""
    sub = items[:40] + items[360:]
    ids = ["%06d" % (100000 + 7 * i) for i in range(len(sub))]
    ids[0] = "12"  # GT key shorter than 6 digits: the original pads it to "000012"
    gt = {ids[i]: it["references"] for i, it in enumerate(sub)}
    gt["999999"] = ["一张没有预测的图片"]  # GT images without a prediction are not scored
    pred_ids = ["000012"] + ids[1:]
    pred = [{"image_id": pred_ids[i], "caption": it["candidate"]} for i, it in enumerate(sub)]
    pred[5]["image_id"] = int(pred[5]["image_id"])  # integer ids are accepted
    # VQA: one answer per question; predictions with spaces inside, and an empty answer
    vqa_items = items[360:373]
    vqa_gt = {"val": [{"question_id": 500 + i, "Question": "?", "Answer": it["references"][0]}
                      for i, it in enumerate(vqa_items)]}
    vqa_pred = [{"question_id": 500 + i, "answer": " ".join(it["candidate"])} for i, it in enumerate(vqa_items)]
    vqa_pred[2]["answer"] = ""
    vqa_scored = [{"candidate": ("".join(p["answer"].split(" ")) or "\u3002"), "references": [g["Answer"]]}
                  for p, g in zip(vqa_pred, vqa_gt["val"])]
    norm = lambda s: "".join(s.split()).replace("\u3002", "")
    acc = 100.0 * sum(norm(x["candidate"]) == norm(x["references"][0]) for x in vqa_scored) / len(vqa_scored)
    expected = {"caption": score_all(sub)["corpus"], "vqa": dict(score_all(vqa_scored)["corpus"], accuracy=acc),
                "images": len(sub), "questions": len(vqa_items)}
    expected.update(write_retrieval_fixtures())
    for name, obj in (("cli_gt.json", gt), ("cli_pred.json", pred), ("cli_vqa_gt.json", vqa_gt),
                      ("cli_vqa_pred.json", vqa_pred), ("cli_expected.json", expected)):
        with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1)
            f.write("\n")


def main():
    items = make_sets()
    if len(sys.argv) > 2 and sys.argv[1] == "--meteor-classes":
        check_against_meteor_java(items, sys.argv[2])
    if len(sys.argv) > 2 and sys.argv[1] == "--pycocoevalcap":
        check_against_pycocoevalcap(items, sys.argv[2])
    golden = {
        "note": "generated by tests/data/metrics/make_golden.py; do not edit",
        "items": items,
        "full": score_all(items),
        # CIDEr's df depends on the evaluated set: score a second, smaller corpus (the edge cases alone)
        "edge": score_all(items[360:]),
        "first50_space": score_all([{"candidate": " ".join(segment_char(it["candidate"])),
                                     "references": [" ".join(segment_char(r)) for r in it["references"]]}
                                    for it in items[:50]], seg=segment_space),
        "segmentation": segmentation_cases(),
    }
    with open(os.path.join(HERE, "caption_golden.json"), "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=0)
        f.write("\n")
    with open(os.path.join(HERE, "recall_golden.json"), "w", encoding="utf-8") as f:
        json.dump({"note": "generated by tests/data/metrics/make_golden.py; do not edit",
                   "cases": recall_cases()}, f, indent=0)
        f.write("\n")
    write_cli_fixtures(items)
    full = golden["full"]["corpus"]
    print("full corpus:", {k: round(v, 6) for k, v in full.items()})


if __name__ == "__main__":
    main()
