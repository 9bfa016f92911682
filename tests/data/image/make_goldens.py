#!/usr/bin/python3
"""Make the image test files and goldens for tests/test_image_*.c.

Run with Debian's /usr/bin/python3 (python3-opencv 4.6, python3-pil 9.4, python3-skimage 0.19):
    /usr/bin/python3 tests/data/image/make_goldens.py
Everything it writes is committed, so the C tests need no Python.

  sources/   small crops of python3-skimage's real photos (PNG, JPEG)
  decode/    layout/EXIF test files made with PIL (and cv2 for 16-bit RGB)
  bad/       broken files (skimage's truncated.jpg, decompression bombs, a cut PNG)
  resize.txt + resize.bin.z   cv2.resize(INTER_LINEAR, INTER_CUBIC), PIL resize(BILINEAR/BICUBIC) outputs, raw RGB8
  decode.txt + decode.bin     PIL decodes (convert("RGB"), ImageOps.exif_transpose where noted), raw RGB8
  prep.txt + prep.bin         full preprocessing pipelines (float32 CHW or patch rows), see below
  geometry/                   resize + centre crop at the real model sizes (448, 384, 224) as PNG
  draft/                      PIL draft-mode (DCT-scaled) JPEG decodes as PNG: <stem>_s<min side>.png

Manifest lines: "<key fields...> <w> <h> <byte offset>" (floats: "<name> <count> <byte offset>").
resize.bin.z is one zlib stream (offsets refer to the uncompressed bytes) to keep the repository small.
"""
import io
import os
import struct
import zlib

import cv2
import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
SK = "/usr/lib/python3/dist-packages/skimage/data"


def path(*p):
    full = os.path.join(HERE, *p)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    return full


def rgb_of(p):
    return np.asarray(Image.open(p).convert("RGB"))


# ---------------------------------------------------------------- sources: real photos, cut small
def make_sources():
    astro = Image.open(f"{SK}/astronaut.png").convert("RGB").crop((150, 40, 270, 136))  # 120x96 face
    astro.save(path("sources", "astro.png"))
    chelsea = Image.open(f"{SK}/chelsea.png").convert("RGB").crop((120, 40, 221, 107))  # 101x67, odd
    chelsea.save(path("sources", "chelsea.png"))
    coffee = Image.open(f"{SK}/coffee.png").convert("RGB").crop((200, 80, 288, 210))  # 88x130 portrait
    coffee.save(path("sources", "coffee.jpg"), quality=90)
    rocket = Image.open(f"{SK}/rocket.jpg").convert("RGB").crop((280, 120, 344, 168))  # 64x48
    rocket.save(path("sources", "rocket.jpg"), quality=85)
    camera = Image.open(f"{SK}/camera.png").convert("L").crop((200, 60, 272, 120))  # 72x60 grey
    camera.save(path("sources", "camera.png"))
    # One photo at full size for the real model sizes (v1 448 down-scales it; COCO photos are ~640x480).
    Image.open(f"{SK}/coffee.png").convert("RGB").save(path("sources", "coffee_full.jpg"), quality=85)
    return ["astro.png", "chelsea.png", "coffee.jpg", "rocket.jpg", "camera.png"]


def resize_targets(w, h):
    t = [(w // 2, h // 2),          # exact halving when even (OpenCV switches to INTER_AREA)
         (37, 29), (29, 41),        # odd, non-square down-scales
         (w + 13, h + 7),           # up-scaling, different factors per axis
         (w // 2 + 3, h * 2 - 5) if w * h <= 4000 else (w - 1, h // 3),  # mixed up/down
         (w * 2, h * 2) if w * h <= 4000 else (w // 4, h // 4),  # integer up-scale on the small ones
         (w // 5, h // 3),          # strong down-scale (wide antialias support)
         (7, 5), (1, 1), (w, 3), (2, h)]
    out = []
    for tw, th in t:
        if tw >= 1 and th >= 1 and (tw, th) not in out:
            out.append((tw, th))
    return out


def make_resize_goldens(sources):
    lines, blob = [], bytearray()
    for name in sources:
        src = rgb_of(path("sources", name))
        h, w = src.shape[:2]
        for tw, th in resize_targets(w, h):
            outs = {
                "cv_linear": cv2.resize(src, (tw, th), interpolation=cv2.INTER_LINEAR),
                "cv_cubic": cv2.resize(src, (tw, th), interpolation=cv2.INTER_CUBIC),
                "pil_bilinear": np.asarray(Image.fromarray(src).resize((tw, th), Image.BILINEAR)),
                "pil_bicubic": np.asarray(Image.fromarray(src).resize((tw, th), Image.BICUBIC)),
            }
            for method, arr in outs.items():
                assert arr.shape == (th, tw, 3) and arr.dtype == np.uint8
                lines.append(f"{name} {method} {tw} {th} {len(blob)}")
                blob += arr.tobytes()
    open(path("resize.txt"), "w").write("\n".join(lines) + "\n")
    open(path("resize.bin.z"), "wb").write(zlib.compress(bytes(blob), 9))  # zlib stream (uncompress())


# ---------------------------------------------------------------- decode layouts and EXIF
def exif_bytes(orientation, big_endian=False):
    """A minimal TIFF block with one IFD entry, Orientation (0x0112, SHORT)."""
    e = ">" if big_endian else "<"
    tiff = (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8)
    tiff += struct.pack(e + "H", 2)
    tiff += struct.pack(e + "HHI", 0x010F, 2, 4) + b"Cam\0"              # Make (inline ASCII)
    tiff += struct.pack(e + "HHIH", 0x0112, 3, 1, orientation) + b"\0\0"  # Orientation
    tiff += struct.pack(e + "I", 0)
    return b"Exif\0\0" + tiff


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(fname, arr, color_type, depth, interlace=False):
    """A minimal PNG writer (filter 0 on every row) for layouts PIL cannot save. arr: [h][w] or [h][w][c]."""
    arr = arr if arr.ndim == 3 else arr[:, :, None]
    h, w, c = arr.shape

    def rows_of(img):
        out = bytearray()
        for row in img:
            if depth == 16:
                out += b"\0" + row.astype(">u2").tobytes()
            elif depth == 8:
                out += b"\0" + row.astype(np.uint8).tobytes()
            else:  # sub-byte grey, packed MSB first
                vals = row.reshape(-1).astype(np.uint8)
                per = 8 // depth
                packed = bytearray((len(vals) + per - 1) // per)
                for i, v in enumerate(vals):
                    packed[i // per] |= int(v) << (8 - depth * (i % per + 1))
                out += b"\0" + bytes(packed)
        return out

    if interlace:
        raw = bytearray()
        for x0, y0, dx, dy in ADAM7:
            sub = arr[y0::dy, x0::dx]
            if sub.size:
                raw += rows_of(sub)
    else:
        raw = rows_of(arr)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(bytes(raw), 9)) \
        + png_chunk(b"IEND", b"")
    open(fname, "wb").write(data)


def make_decode_files():
    base = Image.open(path("sources", "astro.png")).convert("RGB").crop((10, 20, 50, 44))  # 40x24
    files = []  # (file, golden array)

    def add(fname, golden):
        files.append((fname, np.ascontiguousarray(golden)))

    base.save(path("decode", "rgb.jpg"), quality=92)
    add("rgb.jpg", rgb_of(path("decode", "rgb.jpg")))
    base.save(path("decode", "rgb444.jpg"), quality=95, subsampling=0)
    add("rgb444.jpg", rgb_of(path("decode", "rgb444.jpg")))
    base.save(path("decode", "progressive.jpg"), quality=80, progressive=True)
    add("progressive.jpg", rgb_of(path("decode", "progressive.jpg")))
    base.convert("L").save(path("decode", "grey.jpg"), quality=90)
    add("grey.jpg", rgb_of(path("decode", "grey.jpg")))
    base.convert("CMYK").save(path("decode", "cmyk.jpg"), quality=95)  # PIL writes Adobe-inverted CMYK
    add("cmyk.jpg", rgb_of(path("decode", "cmyk.jpg")))

    rgba = base.copy()
    alpha = Image.linear_gradient("L").resize(base.size)
    rgba.putalpha(alpha)
    rgba.save(path("decode", "rgba.png"))
    add("rgba.png", rgb_of(path("decode", "rgba.png")))  # PIL drops alpha
    la = base.convert("L")
    la.putalpha(alpha)
    la.save(path("decode", "la.png"))
    add("la.png", rgb_of(path("decode", "la.png")))
    base.convert("L").save(path("decode", "grey.png"))
    add("grey.png", rgb_of(path("decode", "grey.png")))
    base.convert("1").save(path("decode", "bilevel.png"))
    add("bilevel.png", rgb_of(path("decode", "bilevel.png")))
    pal = base.quantize(colors=37)
    pal.save(path("decode", "palette.png"))
    add("palette.png", rgb_of(path("decode", "palette.png")))
    pal.save(path("decode", "palette_trns.png"), transparency=3)
    add("palette_trns.png", rgb_of(path("decode", "palette_trns.png")))
    pal16 = base.quantize(colors=16)
    pal16.save(path("decode", "palette4bit.png"), bits=4)
    add("palette4bit.png", rgb_of(path("decode", "palette4bit.png")))

    # 16-bit: values spread over the whole range so the low byte matters.
    a8 = np.asarray(base).astype(np.uint16)
    a16 = (a8 << 8) | ((a8 * 37 + 11) & 0xFF)
    ok, enc = cv2.imencode(".png", a16[:, :, ::-1].copy())  # cv2 writes BGR 16-bit RGB PNGs
    assert ok
    open(path("decode", "rgb16.png"), "wb").write(enc.tobytes())
    add("rgb16.png", rgb_of(path("decode", "rgb16.png")))  # PIL keeps the high byte ("RGB;16B")
    g16 = a16[:, :, 1].copy()
    Image.fromarray(g16).save(path("decode", "grey16.png"))
    # PIL saturates 16-bit grey at 255 through mode "I"; taichu keeps the high byte (docs/images.md).
    add("grey16.png", np.repeat((g16 >> 8).astype(np.uint8)[:, :, None], 3, axis=2))

    # EXIF orientations 1..8 (little-endian, as PIL writes) and two big-endian ones.
    for o in range(1, 9):
        f = f"exif{o}.jpg"
        base.save(path("decode", f), quality=90, exif=exif_bytes(o))
        im = Image.open(path("decode", f))
        assert im.getexif().get(0x0112) == o
        add(f, np.asarray(ImageOps.exif_transpose(im).convert("RGB")))
    for o in (6, 7):
        f = f"exif{o}_be.jpg"
        base.save(path("decode", f), quality=90, exif=exif_bytes(o, big_endian=True))
        add(f, np.asarray(ImageOps.exif_transpose(Image.open(path("decode", f))).convert("RGB")))
    # PNG with an eXIf chunk (orientation 8).
    base.save(path("decode", "exif8.png"), exif=exif_bytes(8))
    add("exif8.png", np.asarray(ImageOps.exif_transpose(Image.open(path("decode", "exif8.png"))).convert("RGB")))

    # Layouts PIL and cv2 cannot write: Adam7-interlaced RGB, 2-bit grey, interlaced 16-bit grey+alpha.
    a = np.asarray(base)
    write_png(path("decode", "interlaced.png"), a, 2, 8, interlace=True)
    add("interlaced.png", rgb_of(path("decode", "interlaced.png")))
    g2 = (np.asarray(base.convert("L")) >> 6).astype(np.uint8)  # values 0..3
    write_png(path("decode", "grey2bit.png"), g2, 0, 2)
    add("grey2bit.png", rgb_of(path("decode", "grey2bit.png")))
    ga16 = np.stack([g16, (a16[:, :, 0] ^ 0x5A5A)], axis=2)
    write_png(path("decode", "greyalpha16_interlaced.png"), ga16, 4, 16, interlace=True)
    # PIL opens 16-bit LA as "LA" from the high bytes; drop alpha.
    add("greyalpha16_interlaced.png", rgb_of(path("decode", "greyalpha16_interlaced.png")))

    lines, blob = [], bytearray()
    for f, arr in files:
        h, w = arr.shape[:2]
        lines.append(f"{f} {w} {h} {len(blob)}")
        blob += arr.astype(np.uint8).tobytes()
    open(path("decode.txt"), "w").write("\n".join(lines) + "\n")
    open(path("decode.bin"), "wb").write(bytes(blob))


# ---------------------------------------------------------------- bad files
def png_chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def make_bad_files():
    open(path("bad", "truncated.jpg"), "wb").write(open(f"{SK}/truncated.jpg", "rb").read())
    # A PNG whose header claims 30000 x 30000 (900 MP) over a few bytes of data.
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 1000)) \
        + png_chunk(b"IEND", b"")
    open(path("bad", "bomb.png"), "wb").write(bomb)
    # A JPEG whose SOF claims 20000 x 20000.
    jb = bytearray(open(path("decode", "rgb.jpg"), "rb").read())
    i = jb.find(b"\xff\xc0")
    assert i > 0
    jb[i + 5:i + 9] = struct.pack(">HH", 20000, 20000)
    open(path("bad", "bomb.jpg"), "wb").write(bytes(jb))
    # A PNG cut in the middle of its image data, and a JPEG cut after its headers.
    p = open(path("sources", "chelsea.png"), "rb").read()
    open(path("bad", "cut.png"), "wb").write(p[: len(p) // 2])
    j = open(path("sources", "rocket.jpg"), "rb").read()
    open(path("bad", "cut.jpg"), "wb").write(j[: len(j) * 2 // 3])
    # A PNG with a zero width (libpng refuses it in IHDR).
    ihdr0 = struct.pack(">IIBBBBB", 0, 10, 8, 2, 0, 0, 0)
    open(path("bad", "zero.png"), "wb").write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr0)
                                              + png_chunk(b"IEND", b""))


# ---------------------------------------------------------------- preprocessing pipelines
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CLIP = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))


def normalize(u8, stats):
    mean, std = stats
    m = np.array([np.float32(x * 255.0) for x in mean], np.float32)
    s = np.array([np.float32(x * 255.0) for x in std], np.float32)
    return ((u8.astype(np.float32) - m) / s).transpose(2, 0, 1).copy()  # CHW float32


def mindspore_pipeline(src, size, stats):
    """c_transforms Resize(size, BILINEAR) -> CenterCrop(size) -> Normalize -> HWC2CHW."""
    return normalize(mindspore_geometry(src, size), stats)


def mindspore_geometry(src, size):
    h, w = src.shape[:2]
    if h < w:
        oh, ow = size, int(np.floor(np.float32(w) / np.float32(h) * np.float32(size)))
    else:
        ow, oh = size, int(np.floor(np.float32(h) / np.float32(w) * np.float32(size)))
    r = cv2.resize(src, (ow, oh), interpolation=cv2.INTER_LINEAR)
    y, x = (oh - size) // 2, (ow - size) // 2
    return np.ascontiguousarray(r[y:y + size, x:x + size])


def torchvision_pipeline(src, size, stats):
    """torchvision Resize(size, BICUBIC) -> CenterCrop(size) on PIL images, then Normalize."""
    return normalize(torchvision_geometry(src, size), stats)


def torchvision_geometry(src, size):
    im = Image.fromarray(src)
    w, h = im.size
    short, long_ = min(w, h), max(w, h)
    ns, nl = size, int(size * long_ / short)
    ow, oh = (ns, nl) if w <= h else (nl, ns)
    im = im.resize((ow, oh), Image.BICUBIC)
    top, left = int(round((oh - size) / 2.0)), int(round((ow - size) / 2.0))
    return np.asarray(im.crop((left, top, left + size, top + size)))


def patchify(chw, p, pad):
    c, h, w = chw.shape
    gh, gw = h // p, w // p
    rows = chw.reshape(c, gh, p, gw, p).transpose(1, 3, 0, 2, 4).reshape(gh * gw, c * p * p)
    return np.concatenate([rows, np.zeros((pad, c * p * p), np.float32)], 0)


def make_prep_goldens():
    lines, blob = [], bytearray()

    def add(name, arr):
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        lines.append(f"{name} {arr.size} {len(blob)}")
        blob.extend(arr.tobytes())

    chelsea = rgb_of(path("sources", "chelsea.png"))   # 101x67 landscape
    coffee = rgb_of(path("sources", "coffee.jpg"))     # 88x130 portrait
    add("ms_chelsea_64_imagenet", mindspore_pipeline(chelsea, 64, IMAGENET))
    add("ms_coffee_48_clip", mindspore_pipeline(coffee, 48, CLIP))
    add("tv_chelsea_48_clip", torchvision_pipeline(chelsea, 48, CLIP))
    add("tv_coffee_33_clip", torchvision_pipeline(coffee, 33, CLIP))  # odd crop offsets
    add("patches_chelsea_64_p32_pad1", patchify(mindspore_pipeline(chelsea, 64, IMAGENET), 32, 1))
    add("patches_coffee_48_p16_pad0", patchify(mindspore_pipeline(coffee, 48, CLIP), 16, 0))
    # Full-size geometry goldens as PNG (lossless, compact): v1 (448, OpenCV bilinear, MindSpore rules),
    # v2 caption size (384), and CLIP style (224, Pillow bicubic, torchvision rules).
    full = rgb_of(path("sources", "coffee_full.jpg"))  # 600x400
    for name, size, fn in (("v1_448", 448, "ms"), ("v2_384", 384, "ms"), ("clip_224", 224, "tv")):
        u8 = mindspore_geometry(full, size) if fn == "ms" else torchvision_geometry(full, size)
        Image.fromarray(u8).save(path("geometry", f"coffee_full_{name}.png"), optimize=True)
    open(path("prep.txt"), "w").write("\n".join(lines) + "\n")
    open(path("prep.bin"), "wb").write(bytes(blob))


def make_draft_goldens():
    """PIL's JPEG draft mode (libjpeg DCT scaling): im.draft("RGB", (s, s)) then convert("RGB")."""
    # (scale 1 is a plain decode: the C test compares it with one instead of storing a golden)
    for src, s in (("sources/coffee_full.jpg", 50), ("sources/coffee_full.jpg", 100), ("sources/coffee_full.jpg", 150),
                   ("sources/rocket.jpg", 20), ("decode/cmyk.jpg", 10)):
        im = Image.open(path(*src.split("/")))
        im.draft("RGB", (s, s))
        stem = os.path.splitext(os.path.basename(src))[0]
        im.convert("RGB").save(path("draft", f"{stem}_s{s}.png"))


if __name__ == "__main__":
    srcs = make_sources()
    make_resize_goldens(srcs)
    make_decode_files()
    make_bad_files()
    make_prep_goldens()
    make_draft_goldens()
    print("ok")
