"""Writer for taichu's golden-file format (read in C by tests/tc_golden.h).

Format (little-endian):
    b"TCGOLD01"                      magic
    u32 count                        number of records
    count x record:
        u32 name_len, name (utf-8, no NUL)
        u32 dtype                    0 = float32, 1 = int32
        u32 ndim, u32 shape[ndim]
        data                         prod(shape) elements, row-major

Records keep insertion order; names are unique. A self-contained format so tests need neither numpy nor
the npy reader, and CI needs no torch (the files are committed).
"""
import struct

import numpy as np


def write(path, records):
    """records: dict (ordered) name -> array-like (float -> float32, int -> int32)."""
    out = [b"TCGOLD01", struct.pack("<I", len(records))]
    for name, arr in records.items():
        a = np.asarray(arr)
        if a.dtype.kind == "f":
            a, code = a.astype("<f4"), 0
        elif a.dtype.kind in "iub":
            a, code = a.astype("<i4"), 1
        else:
            raise TypeError(f"{name}: unsupported dtype {a.dtype}")
        nb = name.encode()
        out.append(struct.pack("<I", len(nb)) + nb)
        out.append(struct.pack("<II", code, a.ndim) + struct.pack(f"<{a.ndim}I", *a.shape))
        out.append(np.ascontiguousarray(a).tobytes())
    with open(path + ".tmp", "wb") as f:
        f.write(b"".join(out))
    import os
    os.replace(path + ".tmp", path)


def read(path):
    """The inverse of write (for checking the files from Python)."""
    data = open(path, "rb").read()
    assert data[:8] == b"TCGOLD01", path
    (n,), pos = struct.unpack_from("<I", data, 8), 12
    recs = {}
    for _ in range(n):
        (ln,) = struct.unpack_from("<I", data, pos); pos += 4
        name = data[pos:pos + ln].decode(); pos += ln
        code, nd = struct.unpack_from("<II", data, pos); pos += 8
        shape = struct.unpack_from(f"<{nd}I", data, pos); pos += 4 * nd
        dt = "<f4" if code == 0 else "<i4"
        cnt = int(np.prod(shape)) if nd else 1
        recs[name] = np.frombuffer(data, dt, cnt, pos).reshape(shape); pos += 4 * cnt
    return recs
