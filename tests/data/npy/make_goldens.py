#!/usr/bin/python3
"""Golden .npy/.npz files for tests/test_npy.c, written by numpy itself.

Run from anywhere:  /usr/bin/python3 tests/data/npy/make_goldens.py
It rewrites every file in this folder plus expected.txt, a manifest the C test reads:

    case <file> <key or -> <normalised dtype> <ndim> <dims...>
    f32 <n> <values...>          # np.asarray(a, np.float32) in C order (%.9g, nan/inf spelled out)
    i64 <n> <values...>          # a.astype(np.int64) in C order, or "i64 error" when not exact

Also writes write_<name>.npy files that the C writer must reproduce byte for byte (np.save output).
"""
import io
import os
import struct
import zipfile
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
cases = []


def fmt(v):
    v = float(v)
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return "%.9g" % v


def expect(fname, key, a):
    a = np.asarray(a)
    lines = ["case %s %s %s %d %s" % (fname, key, a.dtype.str, a.ndim, " ".join(str(d) for d in a.shape))]
    with np.errstate(over="ignore"):   # 1e300 -> inf is the expected float32 result
        f = np.ascontiguousarray(a.astype(np.float32)).ravel()
    lines.append("f32 %d %s" % (f.size, " ".join(fmt(v) for v in f)))
    ok = True
    if a.dtype.kind == "f":
        ok = bool(np.all(np.isfinite(a)) and np.all(np.floor(a) == a) and np.all(np.abs(a.astype(np.float64)) < 2.0**63))
    if a.dtype.kind == "u" and a.size and int(a.max()) > 2**63 - 1:
        ok = False
    if ok:
        i = np.ascontiguousarray(a.astype(np.int64)).ravel()
        lines.append("i64 %d %s" % (i.size, " ".join(str(int(v)) for v in i)))
    else:
        lines.append("i64 error")
    cases.append("\n".join(lines))


def save(fname, a, version=None):
    path = os.path.join(HERE, fname)
    if version is None:
        np.save(path, a, allow_pickle=False)
    else:
        with open(path, "wb") as fh:
            np.lib.format.write_array(fh, a, version=version, allow_pickle=False)
    expect(fname, "-", a)


base = np.arange(6).reshape(2, 3)

# Every numeric dtype in both byte orders (1-byte types have no byte order).
for kind, sizes in (("b", [1]), ("i", [1, 2, 4, 8]), ("u", [1, 2, 4, 8]), ("f", [2, 4, 8])):
    for size in sizes:
        for order in ("<", ">") if size > 1 else ("|",):
            dt = np.dtype("%s%s%d" % (order, kind, size))
            if kind == "b":
                a = (base % 3 == 0).astype(dt)
            elif kind == "i":
                a = (base * 7 - 20).astype(dt)
            elif kind == "u":
                a = (base * 9 + 1).astype(dt)
            else:
                a = ((base - 2.5) * 0.75).astype(dt)
            name = "%s%d%s" % (kind, size, {"<": "le", ">": "be", "|": ""}[order])
            save("dt_%s.npy" % name, a)

# Integer-valued floats convert to int64; extremes of each type.
save("f8_integral.npy", np.array([-3.0, 0.0, 7.0, 2.0**52], dtype="<f8"))
save("i8_extremes.npy", np.array([-(2**63), 2**63 - 1, 0, -1], dtype="<i8"))
save("u8_big.npy", np.array([1, 2**64 - 1], dtype="<u8"))              # i64 read must fail
save("u8_fits.npy", np.array([0, 2**63 - 1], dtype=">u8"))
save("i1_extremes.npy", np.array([-128, 127, 0], dtype="|i1"))
save("u1_extremes.npy", np.array([0, 255], dtype="|u1"))
save("f2_special.npy", np.array([0.0, -0.0, 6.0e-8, 6.1e-5, 1.0, -2.5, 65504.0, np.inf, -np.inf, np.nan,
                                 1.0009765625, 3.0517578125e-05], dtype="<f2"))
save("f4_special.npy", np.array([1.5e-45, 3.4e38, -np.inf, np.nan], dtype="<f4"))
save("f8_to_f32.npy", np.array([0.1, 1e300, -1e-300, 1.0 / 3.0], dtype=">f8"))

# Shapes: 0-d, empty, 1-d, high rank, Fortran order.
save("zero_d_f4.npy", np.array(3.5, dtype="<f4"))
save("zero_d_i2.npy", np.array(-7, dtype="<i2"))
save("empty_1d.npy", np.zeros((0,), dtype="<f4"))
save("empty_3d.npy", np.zeros((3, 0, 2), dtype="<i4"))
save("one_d.npy", np.arange(5, dtype="<i8") * 3)
save("rank8.npy", np.arange(8, dtype="<f4").reshape(1, 2, 1, 2, 1, 1, 2, 1))
save("fortran_f4.npy", np.asfortranarray(np.arange(24, dtype="<f4").reshape(2, 3, 4) * 0.5))
save("fortran_i2be.npy", np.asfortranarray((np.arange(12, dtype=">i2") - 6).reshape(3, 4)))
save("fortran_f8_2d.npy", np.asfortranarray(np.linspace(-1, 1, 15).reshape(5, 3)))
save("fortran_1d.npy", np.asfortranarray(np.arange(4, dtype="<u2")))

# Header versions 2.0 and 3.0 (u32 header length).
save("v2.npy", (np.arange(6, dtype="<f4").reshape(3, 2) - 1), version=(2, 0))
save("v3.npy", (np.arange(6, dtype="<i4").reshape(2, 3) * -2), version=(3, 0))

# .npz: numpy.savez (stored) and savez_compressed (deflate); numpy forces zip64 local extras.
feat = (np.arange(7 * 16, dtype=np.float32).reshape(7, 16) % 5) * 0.25 - 0.5
ids = np.arange(12, dtype="<i4").reshape(3, 4) - 3
np.savez(os.path.join(HERE, "stored.npz"), feat=feat, ids=ids, scalar=np.array(2.0))
np.savez_compressed(os.path.join(HERE, "deflated.npz"), feat=feat, ids=ids.astype(">i8"),
                    ft=np.asfortranarray(feat.T.astype("<f8")))
for name in ("stored.npz", "deflated.npz"):
    with np.load(os.path.join(HERE, name)) as z:
        for key in z.files:
            expect(name, key, z[key])


# A hand-made zip64 archive: central entries with saturated 32-bit fields + zip64 extras, and a
# zip64 end record + locator (what writers produce for > 4 GiB archives; numpy only does local extras).
def zip64_archive(members):
    out = io.BytesIO()
    central = []
    for name, data, method in members:
        raw = data if method == 0 else zlib.compress(data, 9)[2:-4]
        crc = zlib.crc32(data) & 0xFFFFFFFF
        off = out.tell()
        nb = name.encode()
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(raw))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                              len(nb), len(extra)))
        out.write(nb + extra + raw)
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(raw), off)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, method, 0, 0x21, crc, 0xFFFFFFFF,
                                   0xFFFFFFFF, len(nb), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF) + nb + cextra)
    cd_off = out.tell()
    for c in central:
        out.write(c)
    cd_size = out.tell() - cd_off
    eocd64 = out.tell()
    out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(members), len(members), cd_size, cd_off))
    out.write(struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
    return out.getvalue()


def npy_bytes(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


z64a = np.arange(10, dtype="<f4") / 4
z64b = np.arange(6, dtype="<u2").reshape(2, 3)
with open(os.path.join(HERE, "zip64.npz"), "wb") as fh:
    fh.write(zip64_archive([("a.npy", npy_bytes(z64a), 0), ("b.npy", npy_bytes(z64b), 8)]))
with np.load(os.path.join(HERE, "zip64.npz")) as z:   # numpy/zipfile accept it
    assert np.array_equal(z["a"], z64a) and np.array_equal(z["b"], z64b)
    assert zipfile.ZipFile(os.path.join(HERE, "zip64.npz")).testzip() is None
expect("zip64.npz", "a", z64a)
expect("zip64.npz", "b", z64b)

# Byte-exact writer goldens: what np.save writes for these arrays.
np.save(os.path.join(HERE, "write_f32.npy"), (np.arange(6, dtype="<f4").reshape(2, 3) - 2) / 3)
np.save(os.path.join(HERE, "write_i64.npy"), np.array([-5, 0, 9, 2**40], dtype="<i8"))
np.save(os.path.join(HERE, "write_i4.npy"), (np.arange(4, dtype="<i4") - 2).reshape(2, 2, 1))
np.save(os.path.join(HERE, "write_u1.npy"), np.array([0, 7, 255], dtype="|u1"))
np.save(os.path.join(HERE, "write_0d.npy"), np.array(1.25, dtype="<f4"))
np.save(os.path.join(HERE, "write_empty.npy"), np.zeros((2, 0), dtype="<i2"))

with open(os.path.join(HERE, "expected.txt"), "w") as fh:
    fh.write("# generated by make_goldens.py (numpy %s); do not edit\n" % np.__version__)
    fh.write("\n".join(cases) + "\n")
print("wrote %d cases" % len(cases))
