"""dask + zarr-python (obstore) on an S3 bucket, for benches/cloud_latency.sh.

    python cloud_dask.py OP ENDPOINT BUCKET INPUT OUTPUT THREADS

OP is `sum` (prints the sum), `add_t` (x + x.T written to OUTPUT) or `rechunk` (x with
chunks of (rows, 128) written to OUTPUT). Prints `seconds=<t>` (graph and compute, timed in
the process) and, for sum, `value=<v>`.
"""

import sys
import time

import dask
import dask.array as da
import zarr
from obstore.store import S3Store
from zarr.storage import ObjectStore


def store(endpoint, bucket, prefix, read_only):
    s3 = S3Store(
        bucket,
        prefix=prefix,
        endpoint=endpoint,
        access_key_id="testing",
        secret_access_key="testing",
        region="us-east-1",
        client_options={"allow_http": True},
    )
    return ObjectStore(s3, read_only=read_only)


def write(x, endpoint, bucket, prefix, chunks):
    out = zarr.create_array(
        store=store(endpoint, bucket, prefix, read_only=False),
        shape=x.shape,
        chunks=chunks,
        dtype=x.dtype,
        overwrite=True,
    )
    da.store(x, out, lock=False)


def main():
    op, endpoint, bucket, src, dst, threads = sys.argv[1:]
    dask.config.set(scheduler="threads", num_workers=int(threads))
    start = time.perf_counter()
    a = zarr.open_array(store=store(endpoint, bucket, src, read_only=True), mode="r")
    x = da.from_zarr(a)
    if op == "sum":
        value = float(x.sum().compute())
        print(f"value={value!r}")
    elif op == "add_t":
        write(x + x.T, endpoint, bucket, dst, a.chunks)
    elif op == "rechunk":
        chunks = (x.shape[0], 128)
        write(x.rechunk(chunks), endpoint, bucket, dst, chunks)
    else:
        raise SystemExit(f"unknown op {op}")
    print(f"seconds={time.perf_counter() - start:.3f}")


if __name__ == "__main__":
    main()
