#!/usr/bin/env python3
"""Makes the binary fixtures of tests/data/dataset (run from anywhere; needs numpy and PIL).
The JSON fixtures next to it are hand-written."""
import os
import numpy as np
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(0)
for rel in ["image/a.jpg", "image/b.jpg", "image/sub/c.jpg", "image/base_only.jpg"]:
    Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(os.path.join(here, rel), quality=90)
# VQ tokens: an 8x8 grid stored [8, 8] int32 under "feat" (readers flatten it)
np.savez(os.path.join(here, "img_tokens/img/a.jpg.npz"), feat=np.arange(64, dtype=np.int32).reshape(8, 8))
np.savez(os.path.join(here, "img_tokens/img/b.npz"), feat=np.arange(64, 0, -1, dtype=np.int64))
np.savez(os.path.join(here, "img_tokens/img/empty.npz"), feat=np.zeros((0,), dtype=np.int32))
