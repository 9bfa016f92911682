"""Minimal MindSpore .ckpt writer/reader (opt-spec §7.1) for the PyTorch twins' golden checkpoints.

A .ckpt is a proto2 stream of `Checkpoint { repeated Value value = 1; }` with
`Value { required string tag = 1; required TensorProto tensor = 2; }` and
`TensorProto { repeated int64 dims = 1; required string tensor_type = 2; required bytes tensor_content = 3; }`.
MindSpore serialises one single-Value Checkpoint per parameter and appends them, which is what write() does
(dims unpacked, as proto2 does by default; a scalar is written with dims [0] like MindSpore does).
No protobuf dependency: the wire format is three varint/length-delimited field kinds.
"""
import os

import numpy as np

_TYPES = {np.dtype("float32"): "Float32", np.dtype("float16"): "Float16", np.dtype("float64"): "Float64",
          np.dtype("int32"): "Int32", np.dtype("int64"): "Int64", np.dtype("int8"): "Int8",
          np.dtype("uint8"): "UInt8", np.dtype("bool"): "Bool"}
_NP = {v: k for k, v in _TYPES.items()}
_NP["Uint8"] = np.dtype("uint8")


def _varint(n):
    n &= (1 << 64) - 1  # int64 negatives are 10-byte two's complement varints
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num, wire, payload):
    key = _varint((num << 3) | wire)
    if wire == 0:
        return key + _varint(payload)
    return key + _varint(len(payload)) + payload


def encode_value(name, arr):
    a = np.asarray(arr)  # (ascontiguousarray would turn a 0-d scalar into shape [1])
    if a.dtype not in _TYPES:
        raise TypeError(f"{name}: unsupported dtype {a.dtype}")
    dims = list(a.shape) if a.ndim else [0]
    t = b"".join(_field(1, 0, int(d)) for d in dims)
    t += _field(2, 2, _TYPES[a.dtype].encode())
    t += _field(3, 2, a.astype(a.dtype.newbyteorder("<")).tobytes())
    value = _field(1, 2, name.encode()) + _field(2, 2, t)
    return _field(1, 2, value)


def write(path, tensors):
    """tensors: ordered dict name -> numpy array (kept in its dtype). Atomic (temp + rename)."""
    data = b"".join(encode_value(k, v) for k, v in tensors.items())
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read_varint(buf, pos):
    n = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, pos


def _fields(buf):
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, pos = _read_varint(buf, pos)
        elif wire == 2:
            ln, pos = _read_varint(buf, pos)
            v, pos = buf[pos:pos + ln], pos + ln
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield num, wire, v


def read(path):
    """The inverse of write (for checks): name -> numpy array, same-tag records concatenated."""
    out = {}
    for num, _, value in _fields(open(path, "rb").read()):
        if num != 1:
            continue
        name, dims, ttype, content = None, [], None, b""
        for n2, _, v2 in _fields(value):
            if n2 == 1:
                name = v2.decode()
            elif n2 == 2:
                for n3, w3, v3 in _fields(v2):
                    if n3 == 1 and w3 == 0:
                        dims.append(v3)
                    elif n3 == 1:  # packed
                        p = 0
                        while p < len(v3):
                            d, p = _read_varint(v3, p)
                            dims.append(d)
                    elif n3 == 2:
                        ttype = v3.decode()
                    elif n3 == 3:
                        content = v3
        a = np.frombuffer(content, dtype=_NP[ttype].newbyteorder("<"))
        shape = () if dims in ([], [0]) else tuple(dims)
        a = a.reshape(shape)
        out[name] = np.concatenate([out[name].reshape(-1), a.reshape(-1)]).reshape(shape) if name in out else a
    return out
