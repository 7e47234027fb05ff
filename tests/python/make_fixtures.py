#!/usr/bin/env python3
"""Writes the zarr-python fixtures that brickwork's interoperability tests read.

Usage: make_fixtures.py OUTDIR

Each store is written by zarr-python (the versions pinned in scripts/requirements-peer.txt)
with deterministic data from a NumPy generator seeded by the store's path, and its expected
full contents are saved beside it as a .npy file. Covered: Zarr format 3 and 2; bool,
int8-int64, uint8-uint64, float32, float64; codecs none, zstd, gzip, zlib, blosc (lz4, zstd;
shuffle, bitshuffle), crc32c, transpose, big-endian bytes, sharding_indexed; ragged edge
chunks; 0-d, 1-d, 3-d arrays; a chunk larger than the array; Fortran order and big-endian
dtypes (v2); chunks never written read as the fill value (42, -1, NaN); arrays in v3 and v2
groups with attributes; chunk keys with separators "/" (v2) and "." (v3), and v3 with
v2 chunk keys.

`manifest.json` lists every array: `path` (relative to OUTDIR; arrays in a group are
`group.zarr/name`), `zarr_format`, `dtype` (NumPy dtype string), `shape`, `chunks`, `shards`
(or null), `codecs` (a description), `fill_value` ("NaN" for NaN), `expected` (the .npy
path), `notes`.

The set is written into a temporary folder beside OUTDIR and renamed to OUTDIR at the end,
so an interrupted run never leaves a partial set. OUTDIR must not exist yet; when another
run creates it first, this run's copy is dropped. Prints nothing but errors. The tests run
it through `zarr_python_fixtures()` in tests/common.rs, once per version of this file.
"""

import json
import os
import shutil
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numcodecs
import numpy as np
import zarr
from zarr.codecs import (
    BloscCodec,
    BytesCodec,
    Crc32cCodec,
    GzipCodec,
    TransposeCodec,
    ZstdCodec,
)

DTYPES = [
    "bool",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float32",
    "float64",
]


@dataclass
class Fixture:
    """One array to write: where, its metadata, and which parts of it hold data."""

    path: str
    zarr_format: int
    dtype: str
    shape: tuple
    chunks: tuple
    notes: str = ""
    shards: tuple | None = None
    # More zarr.create_array arguments: codecs, order, chunk_key_encoding.
    codecs: dict = field(default_factory=dict)
    fill_value: object = None
    attributes: dict = field(default_factory=dict)
    # The regions written (tuples of slices); None writes the whole array.
    written: list | None = None


# Groups to create before their arrays: path -> (zarr_format, attributes).
GROUPS = {
    "group_v3.zarr": (3, {"title": "fixture group", "seed": 1}),
    "group_v3.zarr/level1": (3, {"units": "m"}),
    "group_v2.zarr": (2, {"title": "fixture group", "seed": 2}),
    "group_v2.zarr/level1": (2, {"units": "m"}),
}

# Two chunks of a 3x2 grid of 10x10 chunks: (1, 0) whole and one element of (0, 1).
SOME_CHUNKS = [
    (slice(10, 20), slice(0, 10)),
    (slice(0, 1), slice(19, 20)),
]


def dtype_fixtures():
    """Every dtype with zarr-python's default codecs, v3 and v2, with ragged edge chunks."""
    out = []
    for name in DTYPES:
        dt = np.dtype(name).str
        v3 = "zarr-python v3 defaults (zstd), ragged edges"
        out.append(Fixture(f"v3_{name}.zarr", 3, dt, (24, 18), (5, 6), v3))
        v2 = "zarr-python v2 defaults, ragged edges"
        out.append(Fixture(f"v2_{name}.zarr", 2, dt, (24, 18), (6, 5), v2))
    return out


def codec_fixtures():
    """float64 through every v3 codec and v2 compressor, sharding, order and byte order."""

    def v3(name, notes="", **codecs):
        return Fixture(name, 3, "<f8", (41, 30), (16, 16), notes, codecs=codecs)

    def v2(name, notes="", dtype="<f8", **codecs):
        return Fixture(name, 2, dtype, (34, 21), (10, 10), notes, codecs=codecs)

    return [
        v3("v3_f8_none.zarr", "bytes only, uncompressed", compressors=None),
        v3("v3_f8_zstd9.zarr", compressors=ZstdCodec(level=9)),
        v3("v3_f8_gzip.zarr", compressors=GzipCodec(level=5)),
        v3(
            "v3_f8_blosc_lz4.zarr",
            compressors=BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),
        ),
        v3(
            "v3_f8_blosc_zstd_bitshuffle.zarr",
            compressors=BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle"),
        ),
        v3("v3_f8_crc32c.zarr", compressors=[ZstdCodec(level=1), Crc32cCodec()]),
        v3(
            "v3_f8_bigendian.zarr",
            serializer=BytesCodec(endian="big"),
            compressors=None,
        ),
        v3("v3_f8_transpose.zarr", filters=[TransposeCodec(order=(1, 0))]),
        Fixture(
            "v3_f8_sharded.zarr",
            3,
            "<f8",
            (65, 48),
            (8, 8),
            "sharding_indexed, inner chunks 8x8",
            shards=(32, 24),
        ),
        Fixture(
            "v3_i4_sharded_zstd_ragged.zarr",
            3,
            "<i4",
            (51, 37),
            (5, 7),
            "sharding with ragged outer edge",
            shards=(20, 14),
            codecs={"compressors": ZstdCodec(level=3)},
        ),
        v2("v2_f8_none.zarr", compressors=None),
        v2("v2_f8_zlib.zarr", compressors=numcodecs.Zlib(level=4)),
        v2(
            "v2_f8_blosc_lz4.zarr",
            compressors=numcodecs.Blosc(
                cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE
            ),
        ),
        v2("v2_f8_zstd.zarr", compressors=numcodecs.Zstd(level=3)),
        v2("v2_f8_order_F.zarr", "Fortran (column-major) chunk order", order="F"),
        v2("v2_be_f8.zarr", "big-endian float64", dtype=">f8"),
        Fixture("v2_be_i4.zarr", 2, ">i4", (19, 13), (7, 7), "big-endian int32"),
    ]


def layout_fixtures():
    """Ranks other than 2, a chunk larger than the array, chunk key separators."""
    return [
        Fixture("v3_1d_f4.zarr", 3, "<f4", (102,), (10,)),
        Fixture("v3_3d_i2.zarr", 3, "<i2", (7, 10, 5), (3, 4, 2)),
        Fixture("v2_3d_u4.zarr", 2, "<u4", (6, 5, 9), (4, 4, 3)),
        Fixture("v3_0d_f8.zarr", 3, "<f8", (), (), "0-d array"),
        Fixture(
            "v3_one_chunk_bigger.zarr",
            3,
            "<f8",
            (5, 3),
            (8, 8),
            "one chunk larger than the array",
        ),
        Fixture(
            "v2_f8_slash_separator.zarr",
            2,
            "<f8",
            (34, 21),
            (10, 10),
            'dimension_separator "/": chunk keys i/j',
            codecs={"chunk_key_encoding": {"name": "v2", "separator": "/"}},
        ),
        Fixture(
            "v3_f8_dot_separator.zarr",
            3,
            "<f8",
            (41, 30),
            (16, 16),
            'default chunk key encoding with separator ".": chunk keys c.i.j',
            codecs={"chunk_key_encoding": {"name": "default", "separator": "."}},
        ),
        Fixture(
            "v3_f8_v2_key_encoding.zarr",
            3,
            "<f8",
            (41, 30),
            (16, 16),
            'v2 chunk key encoding in Zarr v3: chunk keys i.j',
            codecs={"chunk_key_encoding": {"name": "v2", "separator": "."}},
        ),
    ]


def fill_fixtures():
    """Chunks never written read as the fill value."""

    def missing(name, fmt, dtype, fill, notes):
        return Fixture(
            name,
            fmt,
            dtype,
            (30, 20),
            (10, 10),
            notes,
            fill_value=fill,
            written=SOME_CHUNKS,
        )

    nan = "NaN fill value; compare NaN-aware"
    return [
        missing(
            "v3_missing_chunks_fill42.zarr",
            3,
            "<i4",
            42,
            "only 2 of 6 chunks written; the rest read as fill_value 42",
        ),
        missing(
            "v2_missing_chunks_fill_neg1.zarr",
            2,
            "<f8",
            -1.0,
            "missing chunks read as fill_value -1",
        ),
        missing("v3_missing_chunks_nan.zarr", 3, "<f8", float("nan"), nan),
        missing("v2_missing_chunks_nan.zarr", 2, "<f4", float("nan"), nan),
    ]


def group_fixtures():
    """Arrays inside the groups of GROUPS, each with an attribute."""
    out = []
    for group in ("group_v3.zarr", "group_v2.zarr"):
        fmt = GROUPS[group][0]
        for name in ("top", "level1/inner"):
            out.append(
                Fixture(
                    f"{group}/{name}",
                    fmt,
                    "<f8",
                    (12, 9),
                    (5, 5),
                    "array inside a group; the group and arrays carry attributes",
                    attributes={"long_name": f"array {name}"},
                )
            )
    return out


def values(f):
    """Deterministic data for a fixture, from a generator seeded by its path."""
    rng = np.random.default_rng(zlib.crc32(f.path.encode()))
    dt = np.dtype(f.dtype)
    if dt.kind == "b":
        return rng.random(f.shape) < 0.5
    if dt.kind in "iu":
        info = np.iinfo(dt)
        lo, hi = max(int(info.min), -(10**6)), min(int(info.max), 10**6)
        return rng.integers(lo, hi, size=f.shape, endpoint=True).astype(dt)
    return np.asarray(rng.normal(0.0, 100.0, size=f.shape)).astype(dt)


def json_fill(value):
    """The fill value as the manifest writes it: a JSON scalar, "NaN" for NaN."""
    v = np.asarray(value).item()
    return "NaN" if isinstance(v, float) and np.isnan(v) else v


def describe(codecs):
    """A one-line description of the codec arguments, as the manifest writes it."""
    return "; ".join(f"{k}={v!r}" for k, v in codecs.items()) or "defaults"


def write(root, f):
    """Writes one fixture and its expected .npy; returns its manifest entry."""
    fill = {} if f.fill_value is None else {"fill_value": f.fill_value}
    arr = zarr.create_array(
        store=str(root / f.path),
        shape=f.shape,
        chunks=f.chunks,
        shards=f.shards,
        dtype=f.dtype,
        zarr_format=f.zarr_format,
        attributes=f.attributes,
        **fill,
        **f.codecs,
    )
    data = values(f)
    expected = np.full(f.shape, arr.fill_value, dtype=f.dtype)
    for region in f.written or [...]:
        arr[region] = data[region]
        expected[region] = data[region]
    check(arr, expected, f.path)
    npy = f.path.replace(".zarr", "").replace("/", "_") + ".npy"
    np.save(root / npy, expected)
    return {
        "path": f.path,
        "zarr_format": f.zarr_format,
        "dtype": np.dtype(f.dtype).str,
        "shape": list(f.shape),
        "chunks": list(f.chunks),
        "shards": None if f.shards is None else list(f.shards),
        "codecs": describe(f.codecs),
        "fill_value": json_fill(arr.fill_value),
        "expected": npy,
        "notes": f.notes,
    }


def check(arr, expected, path):
    """zarr-python reads back exactly the expected contents (NaN-aware)."""
    got = arr[...]
    nan_aware = np.dtype(expected.dtype).kind == "f"
    if not np.array_equal(got, expected, equal_nan=nan_aware):
        raise RuntimeError(f"{path}: zarr-python does not read back what was written")


def write_all(root):
    """Writes every group, array and expected file, then manifest.json, under root."""
    for path, (fmt, attrs) in GROUPS.items():
        zarr.open_group(str(root / path), mode="w", zarr_format=fmt, attributes=attrs)
    fixtures = (
        dtype_fixtures()
        + codec_fixtures()
        + layout_fixtures()
        + fill_fixtures()
        + group_fixtures()
    )
    manifest = [write(root, f) for f in fixtures]
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def main(argv):
    """Writes the set into a temporary sibling of OUTDIR, then renames it into place."""
    if len(argv) != 2:
        print("usage: make_fixtures.py OUTDIR", file=sys.stderr)
        return 2
    out = Path(argv[1]).absolute()
    if out.exists():
        print(f"make_fixtures.py: {out} exists; remove it first", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".partial-", dir=out.parent))
    try:
        os.chmod(tmp, 0o755)
        write_all(tmp)
        try:
            os.rename(tmp, out)
        except OSError:
            if not out.is_dir():
                raise
            # Another run finished first; its set is as good as this one.
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
