#!/usr/bin/env bash
# Out-of-core FFT along a chunked axis: brickwork vs dask.array vs NumPy,
# `fft.fft(x, axis=0)` of an N x N float64 Zarr store in row chunks (R x N, uncompressed:
# every chunk holds a piece of every column, so no chunk holds a whole lane), in one run.
#
#   bash benches/fft_vs_dask.sh [--n 20000] [--rows 100] [--threads 2]
#                               [--memory-limit 256MiB] [--repeat 3] [--data-dir DIR]
#                               [--tools brickwork,dask,numpy]
#
# - x = random((N, N), chunks=(R, N), seed=0), created once with the brickwork CLI in DIR
#   (default target/bench-data, or $BENCH_DATA) and reused; 3.2 GB at the defaults (the
#   store of issue 24's rechunk). The complex128 result (6.4 GB) is written uncompressed.
# - brickwork: `brickwork eval -i x=X 'fft.fft(x, axis=0)' --output Y --memory-limit M
#   --threads T --stats` (the axis is made whole by a realigned copy of x within the limit,
#   then one FFT task per column strip);
#   dask: `da.fft.fft(x.rechunk({0: -1, 1: "auto"}), axis=0).to_zarr(Y)` with the threads
#   scheduler and T threads (dask's fft needs the axis in one chunk: the rechunk is the
#   user's; no memory limit);
#   numpy: `np.fft.fft` of the whole array read into memory (pocketfft, the reference).
# - Peak memory is sampled from /proc every 20 ms for the process (anonymous + file-backed
#   pages, benches/peer/rss_sample.py), the way a batch system charges it.
# - Every result is checked (benches/peer/fft_check.py): 16 columns against NumPy's FFT of
#   them, relative 1e-12. A mismatch fails the script (exit 1) after the summary is written.
# Results go to a new dated run directory under benches/peer/runs/ (never overwritten).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
source "$repo/benches/common.sh"
n=20000 rows=100 threads=2 limit=256MiB repeat=3 tools=brickwork,dask,numpy
data="${BENCH_DATA:-$repo/target/bench-data}"
while (($#)); do
    case "$1" in
        --n) n="$2"; shift 2 ;;
        --rows) rows="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --memory-limit) limit="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        --data-dir) data="$2"; shift 2 ;;
        --tools) tools="$2"; shift 2 ;;
        *) echo "fft_vs_dask.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
log() { echo "fft_vs_dask.sh: $*" >&2; }
py="$(bash "$repo/scripts/pyenv.sh" | tail -n 1)"
(cd "$repo" && cargo build --release --bin brickwork -q)
bw="$repo/target/release/brickwork"
mkdir -p "$data"
x="$data/fft-x-n$n-r$rows.zarr"
if [[ ! -f "$x.ok" ]]; then
    log "creating $x"
    rm -rf "$x"
    "$bw" eval "random(($n, $n), chunks=($rows, $n), seed=0)" --output "$x" --codec none -q
    touch "$x.ok"
fi
run="$(new_run_dir "$repo/benches/peer/runs/$(date -u +%F)-$(host_label)-fft")"
machine_info "$data" > "$run/meta.env"
echo "brickwork=$(git_description "$repo")" >> "$run/meta.env"
echo "command=benches/fft_vs_dask.sh --n $n --rows $rows --threads $threads --memory-limit $limit --repeat $repeat --tools $tools" >> "$run/meta.env"
echo "tool,repeat,wall_s,inprocess_s,rss_anon_bytes,rss_file_bytes,rss_total_bytes,check" > "$run/raw.csv"
failed=0
IFS=, read -r -a tool_list <<< "$tools"
for ((i = 1; i <= repeat; i++)); do
    for tool in "${tool_list[@]}"; do
        out="$data/fft-out-$tool.zarr"
        rm -rf "$out"
        sync
        start=$EPOCHREALTIME
        case "$tool" in
            brickwork)
                "$bw" eval -i "x=$x" "fft.fft(x, axis=0)" --output "$out" --codec none \
                    --memory-limit "$limit" --threads "$threads" --stats -q 2> "$run/stats.json" &
                ;;
            dask|numpy)
                "$py" - "$tool" "$x" "$out" "$threads" > "$run/peer.out" <<'PY' &
import sys, time
tool, x_path, out, threads = sys.argv[1:5]
import numpy as np
t = time.perf_counter()
if tool == "dask":
    import dask, dask.array as da
    x = da.from_zarr(x_path)
    with dask.config.set(scheduler="threads", num_workers=int(threads)):
        da.fft.fft(x.rechunk({0: -1, 1: "auto"}), axis=0).to_zarr(out, compressors=None)
else:
    import zarr
    y = np.fft.fft(zarr.open_array(x_path, mode="r")[:], axis=0)
    z = zarr.create_array(out, shape=y.shape, chunks=(y.shape[0], 100), dtype=y.dtype, compressors=None)
    z[:] = y
print(time.perf_counter() - t)
PY
                ;;
            *) echo "fft_vs_dask.sh: unknown tool $tool" >&2; exit 2 ;;
        esac
        pid=$!
        "$py" "$repo/benches/peer/rss_sample.py" "$pid" "$run/rss.txt"
        rc=0; wait "$pid" || rc=$?
        wall=$(echo "$EPOCHREALTIME - $start" | bc)
        if ((rc != 0)); then
            log "$tool [$i/$repeat] failed (exit $rc)"; failed=1; rm -rf "$out"; continue
        fi
        if [[ $tool == brickwork ]]; then
            inproc=$("$py" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["seconds"])' "$run/stats.json")
        else
            inproc=$(tail -n 1 "$run/peer.out")
        fi
        read -r anon file total _ < "$run/rss.txt"
        if "$py" "$repo/benches/peer/fft_check.py" "$x" "$out" > "$run/check.txt" 2>&1; then
            check=ok
        else
            check=MISMATCH; failed=1
        fi
        log "$tool [$i/$repeat]: wall ${wall} s, in-process ${inproc} s, peak RSS $((total / 1048576)) MiB (anon $((anon / 1048576)) + file $((file / 1048576))), check $check ($(tail -n 1 "$run/check.txt"))"
        echo "$tool,$i,$wall,$inproc,$anon,$file,$total,$check" >> "$run/raw.csv"
        rm -rf "$out"
    done
done
rm -f "$run/stats.json" "$run/peer.out" "$run/check.txt" "$run/rss.txt"
"$py" - "$run" "$n" "$rows" "$limit" <<'PY' | tee "$run/summary.md"
import csv, statistics, sys
run, n, rows_, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = list(csv.DictReader(open(f"{run}/raw.csv")))
tools = [t for t in ("brickwork", "dask", "numpy") if any(r["tool"] == t for r in rows)]
med = lambda tool, col: statistics.median(float(r[col]) for r in rows if r["tool"] == tool)
print(f"# fft.fft(x, axis=0), x float64 {n} x {n} ({n * n * 8 / 1e9:.1f} GB) in chunks ({rows_}, {n}), "
      f"brickwork under --memory-limit {limit}\n")
print("| tool | wall s (median) | in-process s | peak RSS MiB (anon + file) | checks |")
print("|---|---:|---:|---:|---|")
for tool in tools:
    checks = [r["check"] for r in rows if r["tool"] == tool]
    print(f"| {tool} | {med(tool, 'wall_s'):.2f} | {med(tool, 'inprocess_s'):.2f} | "
          f"{max(float(r['rss_total_bytes']) for r in rows if r['tool'] == tool) / 2**20:.0f} "
          f"({med(tool, 'rss_anon_bytes') / 2**20:.0f} + {med(tool, 'rss_file_bytes') / 2**20:.0f}) | "
          f"{checks.count('ok')} of {len(checks)} ok |")
for peer in tools[1:]:
    if "brickwork" in tools:
        print(f"\n{peer} / brickwork (wall): {med(peer, 'wall_s') / med('brickwork', 'wall_s'):.2f}x")
PY
log "wrote $run"
exit "$failed"
