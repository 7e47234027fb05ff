#!/usr/bin/env bash
# Object stores with latency: brickwork against dask + zarr-python (obstore) on an S3 bucket
# (moto, on loopback) behind a proxy that adds 20 ms to every request (this kernel has no
# netem; the proxy is tests/python/object_server.py's), in one run: x.sum() on chunks of
# 8 MiB and on shards of 128 MiB with 512 KiB inner chunks, x + x.T written to another
# prefix, and a rechunk written; same threads; brickwork under --memory-limit 256MiB.
# Reports medians, dask / brickwork, requests, the most requests in flight, peak RSS and
# bandwidth (benches/peer/cloud_latency.py says how).
#
# Writes benches/peer/runs/<YYYY-MM-DD>-<host>-cloud-latency (a suffix when it exists) with
# raw.txt and summary.md.
#
# Usage: benches/cloud_latency.sh [--n N] [--chunk C] [--threads T] [--delay MS] [--repeat K]
#            [--workloads LIST] [--bin PATH]
# --workloads: LAYOUT:OP,... among chunks:sum, shards:sum, chunks:add_t, chunks:rechunk
#   (default all; moto reads a whole shard object for each ranged GET, so shards:sum at
#   512 MiB takes minutes). --bin: use this brickwork binary instead of building one.
# Defaults: n 8192 (512 MiB), chunk 1024 (8 MiB), threads 2, delay 20, repeat 3.
set -euo pipefail
cd "$(dirname "$0")/.."
n=8192 chunk=1024 threads=2 delay=20 repeat=3 workloads="" bin=""
while (($#)); do
    case $1 in
        --n) n=$2; shift 2 ;;
        --chunk) chunk=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --delay) delay=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        --workloads) workloads=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        *) echo "unknown flag $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
source benches/common.sh
out=$(new_run_dir "benches/peer/runs/$(date +%F)-$(host_label)-cloud-latency")
py=$(bash scripts/pyenv.sh | tail -n 1)
if [[ -z "$bin" ]]; then
    cargo build --release -p brickwork-cli >&2
    bin="${CARGO_TARGET_DIR:-target}/release/brickwork"
fi
machine_info "$out" > "$out/meta.env"
"$py" benches/peer/cloud_latency.py "$bin" "$out" "$n" "$chunk" "$threads" "$delay" "$repeat" "$workloads"
