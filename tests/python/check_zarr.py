#!/usr/bin/env python3
"""zarr-python side of brickwork's interop tests.

Run it with the peer venv's python (``PY=$(scripts/pyenv.sh)``).

Modes
-----
Check (default)::

    python check_zarr.py STORE EXPECTED.npy [--strict-byteorder]

  Opens the Zarr array at STORE with ``zarr.open_array(STORE, mode="r")`` and
  compares it with EXPECTED.npy: shape, dtype and values must match exactly
  (NaN == NaN, at the same positions). Byte order is a storage detail and is
  ignored unless --strict-byteorder is given. Exit 0 on match; on mismatch a
  diff summary goes to stderr and the exit status is 1. Exit 1 also when the
  store or the .npy cannot be read; 2 on usage errors.

Write::

    python check_zarr.py --write STORE SOURCE.npy [--format 3|2] [--chunks a,b,...]
                         [--codec none|zstd|gzip|blosc] [--fill-value V]
                         [--attrs JSON] [--shards a,b,...]

  Writes SOURCE.npy as a Zarr array at STORE (overwriting) with zarr-python.
  Defaults: --format 3, chunks = whole array, --codec zstd.

Info::

    python check_zarr.py --info STORE

  Prints JSON {shape, dtype, chunks, zarr_format, attributes, ...} to stdout.

Batch::

    python check_zarr.py --batch LIST.json

  LIST.json is a JSON list of {"store": STORE, "expected": EXPECTED.npy}. Checks
  each store as the check mode does (byte order ignored) and prints one JSON list
  to stdout, one {"store", "ok", "problems", "info"} per entry ("info" as the info
  mode prints it, null when the store cannot be opened). Exit 0 when every entry
  matches, 1 otherwise. One interpreter for many stores: starting Python and
  importing zarr costs about a second.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

try:
    import numpy as np
    import zarr
except ImportError as e:  # pragma: no cover - environment problem
    sys.stderr.write(
        f"check_zarr.py: {e}\n"
        "check_zarr.py: run it with the peer venv's python: PY=$(scripts/pyenv.sh); $PY check_zarr.py ...\n"
    )
    sys.exit(1)

MAX_LISTED = 10


def eprint(*args: object) -> None:
    print(*args, file=sys.stderr)


def parse_shape(text: str) -> tuple[int, ...]:
    text = text.strip()
    if text in ("", "()", "scalar"):
        return ()
    try:
        dims = tuple(int(p) for p in text.split(",") if p.strip() != "")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(f"chunk sizes must be >= 1, got {text!r}")
    return dims


def native(dt: np.dtype) -> np.dtype:
    return dt.newbyteorder("=") if dt.byteorder not in ("=", "|") else dt


# ---------------------------------------------------------------------------
# check


def compare(actual: np.ndarray, expected: np.ndarray, strict_byteorder: bool) -> list[str]:
    """Returns a list of problems (empty when equal)."""
    problems: list[str] = []
    if actual.shape != expected.shape:
        problems.append(f"shape: store has {actual.shape}, expected {expected.shape}")
    if strict_byteorder:
        dtype_ok = actual.dtype == expected.dtype
    else:
        dtype_ok = native(actual.dtype) == native(expected.dtype)
    if not dtype_ok:
        problems.append(f"dtype: store has {actual.dtype.str} ({actual.dtype}), expected {expected.dtype.str} ({expected.dtype})")
    if problems:
        return problems

    if expected.dtype.kind in "fc":
        a_nan, e_nan = np.isnan(actual), np.isnan(expected)
        with np.errstate(invalid="ignore"):
            neq = (actual != expected) & ~(a_nan & e_nan)
    else:
        neq = actual != expected
    neq = np.asarray(neq)
    n_bad = int(neq.sum())
    if n_bad == 0:
        return problems

    total = expected.size
    problems.append(f"values: {n_bad} of {total} elements differ ({100.0 * n_bad / max(total, 1):.4g}%)")
    if expected.dtype.kind in "fc":
        nan_only = int((np.isnan(actual) & ~np.isnan(expected)).sum())
        nan_missing = int((~np.isnan(actual) & np.isnan(expected)).sum())
        if nan_only or nan_missing:
            problems.append(f"  NaN in store but not expected: {nan_only}; NaN expected but not in store: {nan_missing}")
    if expected.dtype.kind in "iufc":
        both = neq & ~(np.isnan(actual) | np.isnan(expected)) if expected.dtype.kind in "fc" else neq
        if both.any():
            diff = np.abs(actual[both].astype(np.complex128 if expected.dtype.kind == "c" else np.float64)
                          - expected[both].astype(np.complex128 if expected.dtype.kind == "c" else np.float64))
            problems.append(f"  max |store - expected| over finite mismatches: {float(np.max(diff)):.6g}")
    idx = np.argwhere(neq) if neq.ndim else np.zeros((1, 0), dtype=int)
    for pos in idx[:MAX_LISTED]:
        t = tuple(int(i) for i in pos)
        a_v, e_v = actual[t], expected[t]
        a_v = a_v.item() if hasattr(a_v, "item") else a_v
        e_v = e_v.item() if hasattr(e_v, "item") else e_v
        problems.append(f"  at {list(t)}: store={a_v!r} expected={e_v!r}")
    if len(idx) > MAX_LISTED:
        problems.append(f"  ... and {len(idx) - MAX_LISTED} more")
    # Where do the mismatches live? Useful for chunk-boundary bugs.
    if neq.ndim:
        lo = idx.min(axis=0).tolist()
        hi = idx.max(axis=0).tolist()
        problems.append(f"  mismatches span index box {lo} .. {hi}")
    return problems


def cmd_check(store: str, expected_path: str, strict_byteorder: bool) -> int:
    try:
        expected = np.load(expected_path, allow_pickle=False)
    except Exception as e:
        eprint(f"check_zarr.py: cannot load expected array {expected_path}: {type(e).__name__}: {e}")
        return 1
    try:
        arr = zarr.open_array(store, mode="r")
        actual = np.asarray(arr[...])
    except Exception as e:
        eprint(f"check_zarr.py: zarr-python cannot read {store}: {type(e).__name__}: {e}")
        return 1
    problems = compare(actual, expected, strict_byteorder)
    if problems:
        eprint(f"check_zarr.py: MISMATCH between {store} (zarr_format={arr.metadata.zarr_format}, "
               f"chunks={arr.chunks}) and {expected_path}:")
        for p in problems:
            eprint("  " + p)
        return 1
    return 0


# ---------------------------------------------------------------------------
# write


def compressors_for(codec: str, zarr_format: int, level: int | None):
    if codec == "none":
        return None
    if zarr_format == 3:
        from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec

        if codec == "zstd":
            return ZstdCodec() if level is None else ZstdCodec(level=level)
        if codec == "gzip":
            return GzipCodec() if level is None else GzipCodec(level=level)
        if codec == "blosc":
            return BloscCodec() if level is None else BloscCodec(clevel=level)
    else:
        import numcodecs

        if codec == "zstd":
            return numcodecs.Zstd() if level is None else numcodecs.Zstd(level=level)
        if codec == "gzip":
            return numcodecs.GZip() if level is None else numcodecs.GZip(level=level)
        if codec == "blosc":
            return numcodecs.Blosc() if level is None else numcodecs.Blosc(clevel=level)
    raise ValueError(f"unknown codec {codec!r}")


def cmd_write(args: argparse.Namespace) -> int:
    try:
        data = np.load(args.source, allow_pickle=False)
    except Exception as e:
        eprint(f"check_zarr.py: cannot load source array {args.source}: {type(e).__name__}: {e}")
        return 1
    chunks = args.chunks if args.chunks is not None else (tuple(max(d, 1) for d in data.shape))
    if len(chunks) != data.ndim:
        eprint(f"check_zarr.py: --chunks has {len(chunks)} dims, the array has {data.ndim} (shape {data.shape})")
        return 2
    kwargs = {}
    if args.shards is not None:
        if args.format != 3:
            eprint("check_zarr.py: --shards needs --format 3")
            return 2
        kwargs["shards"] = args.shards
    if args.fill_value is not None:
        kwargs["fill_value"] = json.loads(args.fill_value) if args.fill_value not in ("nan", "NaN") else float("nan")
    if args.attrs is not None:
        kwargs["attributes"] = json.loads(args.attrs)
    try:
        comp = compressors_for(args.codec, args.format, args.level)
        arr = zarr.create_array(
            store=args.store,
            shape=data.shape,
            dtype=data.dtype,
            chunks=chunks,
            zarr_format=args.format,
            compressors=comp,
            overwrite=True,
            **kwargs,
        )
        arr[...] = data
    except Exception as e:
        eprint(f"check_zarr.py: zarr-python failed to write {args.store}: {type(e).__name__}: {e}")
        return 1
    return 0


# ---------------------------------------------------------------------------
# info


def jsonable(v):
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, complex):
        return [jsonable(v.real), jsonable(v.imag)]
    if isinstance(v, bytes):
        return v.hex()
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def describe(arr) -> dict:
    md = arr.metadata
    return {
        "shape": list(arr.shape),
        "dtype": str(native(np.dtype(arr.dtype))),
        "chunks": list(arr.chunks),
        "zarr_format": int(md.zarr_format),
        "attributes": jsonable(dict(arr.attrs)),
        "shards": list(arr.shards) if getattr(arr, "shards", None) else None,
        "fill_value": jsonable(arr.fill_value),
        "order": getattr(arr, "order", None),
        "compressors": [jsonable(c.to_dict() if hasattr(c, "to_dict") else c.get_config())
                        for c in (arr.compressors or ())],
    }


def cmd_info(store: str) -> int:
    try:
        arr = zarr.open_array(store, mode="r")
    except Exception as e:
        eprint(f"check_zarr.py: zarr-python cannot open {store}: {type(e).__name__}: {e}")
        return 1
    json.dump(describe(arr), sys.stdout)
    sys.stdout.write("\n")
    return 0


# ---------------------------------------------------------------------------
# batch


def check_one(store: str, expected_path: str) -> dict:
    result = {"store": store, "ok": False, "problems": [], "info": None}
    try:
        expected = np.load(expected_path, allow_pickle=False)
    except Exception as e:
        result["problems"].append(f"cannot load expected array {expected_path}: {type(e).__name__}: {e}")
        return result
    try:
        arr = zarr.open_array(store, mode="r")
        result["info"] = describe(arr)
        actual = np.asarray(arr[...])
    except Exception as e:
        result["problems"].append(f"zarr-python cannot read {store}: {type(e).__name__}: {e}")
        return result
    result["problems"] = compare(actual, expected, strict_byteorder=False)
    result["ok"] = not result["problems"]
    return result


def cmd_batch(list_path: str) -> int:
    try:
        with open(list_path) as f:
            entries = json.load(f)
    except Exception as e:
        eprint(f"check_zarr.py: cannot read batch list {list_path}: {type(e).__name__}: {e}")
        return 1
    results = [check_one(e["store"], e["expected"]) for e in entries]
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")
    for r in results:
        if not r["ok"]:
            eprint(f"check_zarr.py: MISMATCH in {r['store']}:")
            for p in r["problems"]:
                eprint("  " + p)
    return 0 if all(r["ok"] for r in results) else 1


# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="check_zarr.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write SOURCE.npy to STORE")
    mode.add_argument("--info", action="store_true", help="print JSON metadata of STORE")
    mode.add_argument("--batch", action="store_true",
                      help="check every {store, expected} of the JSON list STORE")
    p.add_argument("store", metavar="STORE")
    p.add_argument("npy", metavar="EXPECTED.npy|SOURCE.npy", nargs="?")
    p.add_argument("--strict-byteorder", action="store_true",
                   help="check: also require the same byte order")
    p.add_argument("--format", type=int, choices=(2, 3), default=3, help="write: zarr format (default 3)")
    p.add_argument("--chunks", type=parse_shape, default=None, help="write: chunk shape a,b,... (default: whole array)")
    p.add_argument("--shards", type=parse_shape, default=None, help="write: shard shape (format 3 only)")
    p.add_argument("--codec", choices=("none", "zstd", "gzip", "blosc"), default="zstd", help="write: compressor")
    p.add_argument("--level", type=int, default=None, help="write: compression level (codec default if omitted)")
    p.add_argument("--fill-value", default=None, help="write: fill value as JSON (or nan)")
    p.add_argument("--attrs", default=None, help="write: user attributes as a JSON object")
    args = p.parse_args(argv)

    if args.batch:
        if args.npy is not None:
            p.error("--batch takes only LIST.json")
        return cmd_batch(args.store)
    if args.info:
        if args.npy is not None:
            p.error("--info takes only STORE")
        return cmd_info(args.store)
    if args.npy is None:
        p.error("missing EXPECTED.npy / SOURCE.npy")
    if args.write:
        args.source = args.npy
        return cmd_write(args)
    return cmd_check(args.store, args.npy, args.strict_byteorder)


if __name__ == "__main__":
    sys.exit(main())
