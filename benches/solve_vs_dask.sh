#!/usr/bin/env bash
# Out-of-core linear solve: brickwork vs dask.array vs NumPy, `linalg.solve(a, b)` for an
# N x N float64 Zarr store `a` (uncompressed, C x C chunks) and a vector `b`, in one run.
#
#   bash benches/solve_vs_dask.sh [--n 10000] [--chunk 1000] [--threads 2]
#                                 [--memory-limit 256MiB] [--repeat 3] [--data-dir DIR]
#                                 [--tools brickwork,dask,numpy]
#
# - a = random((N, N), seed=0), b = random((N,), seed=1), created once with the brickwork CLI
#   in DIR (default target/bench-data, or $BENCH_DATA) and reused; 800 MB at the defaults.
# - brickwork: `brickwork eval -i a=A -i b=B 'linalg.solve(a, b)' --output X --memory-limit M
#   --threads T --stats` (blocked LU with tournament pivoting, out of core);
#   dask: `da.linalg.solve(a, b).to_zarr(X)` with the threads scheduler and T threads (its
#   blocked LU pivots within diagonal blocks; no memory limit);
#   numpy: `np.linalg.solve` on the whole matrix read into memory (LAPACK, the reference).
# - Peak memory is sampled from /proc every 20 ms for the process (anonymous + file-backed
#   pages, benches/peer/rss_sample.py), the way a batch system charges it.
# - Every result is checked (benches/peer/solve_check.py) against NumPy's solution, computed
#   once and kept in DIR: relative 1e-8 of its largest element, and the residual of 16 rows.
#   A mismatch fails the script (exit 1) after the summary is written.
# Results go to a new dated run directory under benches/peer/runs/ (never overwritten).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
source "$repo/benches/common.sh"
n=10000 chunk=1000 threads=2 limit=256MiB repeat=3 tools=brickwork,dask,numpy
data="${BENCH_DATA:-$repo/target/bench-data}"
while (($#)); do
    case "$1" in
        --n) n="$2"; shift 2 ;;
        --chunk) chunk="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --memory-limit) limit="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        --data-dir) data="$2"; shift 2 ;;
        --tools) tools="$2"; shift 2 ;;
        *) echo "solve_vs_dask.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
log() { echo "solve_vs_dask.sh: $*" >&2; }
py="$(bash "$repo/scripts/pyenv.sh" | tail -n 1)"
(cd "$repo" && cargo build --release --bin brickwork -q)
bw="$repo/target/release/brickwork"
mkdir -p "$data"
a="$data/solve-a-n$n-c$chunk.zarr" b="$data/solve-b-n$n-c$chunk.zarr"
if [[ ! -f "$a.ok" ]]; then
    log "creating $a and $b"
    rm -rf "$a" "$b"
    "$bw" eval "random(($n, $n), chunks=($chunk, $chunk), seed=0)" --output "$a" --codec none -q
    "$bw" eval "random(($n,), chunks=($chunk,), seed=1)" --output "$b" --codec none -q
    touch "$a.ok"
fi
run="$(new_run_dir "$repo/benches/peer/runs/$(date -u +%F)-$(host_label)-solve")"
machine_info "$data" > "$run/meta.env"
echo "brickwork=$(git_description "$repo")" >> "$run/meta.env"
echo "command=benches/solve_vs_dask.sh --n $n --chunk $chunk --threads $threads --memory-limit $limit --repeat $repeat --tools $tools" >> "$run/meta.env"
echo "tool,repeat,wall_s,inprocess_s,rss_anon_bytes,rss_file_bytes,rss_total_bytes,check" > "$run/raw.csv"
failed=0
IFS=, read -r -a tool_list <<< "$tools"
for ((i = 1; i <= repeat; i++)); do
    for tool in "${tool_list[@]}"; do
        out="$data/solve-out-$tool.zarr"
        rm -rf "$out"
        sync
        start=$EPOCHREALTIME
        case "$tool" in
            brickwork)
                "$bw" eval -i "a=$a" -i "b=$b" "linalg.solve(a, b)" --output "$out" --codec none \
                    --memory-limit "$limit" --threads "$threads" --stats -q 2> "$run/stats.json" &
                ;;
            dask|numpy)
                "$py" - "$tool" "$a" "$b" "$out" "$threads" > "$run/peer.out" <<'PY' &
import sys, time
tool, a_path, b_path, out, threads = sys.argv[1:6]
import numpy as np
t = time.perf_counter()
if tool == "dask":
    import dask, dask.array as da
    a, b = da.from_zarr(a_path), da.from_zarr(b_path)
    with dask.config.set(scheduler="threads", num_workers=int(threads)):
        da.linalg.solve(a, b).to_zarr(out)
else:
    import zarr
    x = np.linalg.solve(zarr.open_array(a_path, mode="r")[:], zarr.open_array(b_path, mode="r")[:])
    zarr.save_array(out, x)
print(time.perf_counter() - t)
PY
                ;;
            *) echo "solve_vs_dask.sh: unknown tool $tool" >&2; exit 2 ;;
        esac
        pid=$!
        "$py" "$repo/benches/peer/rss_sample.py" "$pid" "$run/rss.txt"
        rc=0; wait "$pid" || rc=$?
        wall=$(echo "$EPOCHREALTIME - $start" | bc)
        if ((rc != 0)); then
            log "$tool [$i/$repeat] failed (exit $rc)"; failed=1; continue
        fi
        if [[ $tool == brickwork ]]; then
            inproc=$("$py" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["seconds"])' "$run/stats.json")
        else
            inproc=$(tail -n 1 "$run/peer.out")
        fi
        read -r anon file total _ < "$run/rss.txt"
        if "$py" "$repo/benches/peer/solve_check.py" "$a" "$b" "$out" "$data/solve-numpy-n$n.npy" > "$run/check.txt" 2>&1; then
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
"$py" - "$run" "$n" "$limit" <<'PY' | tee "$run/summary.md"
import csv, statistics, sys
run, n, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = list(csv.DictReader(open(f"{run}/raw.csv")))
tools = [t for t in ("brickwork", "dask", "numpy") if any(r["tool"] == t for r in rows)]
med = lambda tool, col: statistics.median(float(r[col]) for r in rows if r["tool"] == tool)
print(f"# linalg.solve(a, b), a float64 {n} x {n} ({n * n * 8 / 1e6:.0f} MB), brickwork under --memory-limit {limit}\n")
print("| tool | wall s (median) | in-process s | peak RSS MiB (anon + file) | GFLOP/s (2/3 n^3, in-process) | checks |")
print("|---|---:|---:|---:|---:|---|")
for tool in tools:
    checks = [r["check"] for r in rows if r["tool"] == tool]
    print(f"| {tool} | {med(tool, 'wall_s'):.2f} | {med(tool, 'inprocess_s'):.2f} | "
          f"{max(float(r['rss_total_bytes']) for r in rows if r['tool'] == tool) / 2**20:.0f} "
          f"({med(tool, 'rss_anon_bytes') / 2**20:.0f} + {med(tool, 'rss_file_bytes') / 2**20:.0f}) | "
          f"{2 / 3 * n**3 / med(tool, 'inprocess_s') / 1e9:.1f} | {checks.count('ok')} of {len(checks)} ok |")
for peer in tools[1:]:
    if "brickwork" in tools:
        print(f"\n{peer} / brickwork (wall): {med(peer, 'wall_s') / med('brickwork', 'wall_s'):.2f}x")
PY
log "wrote $run"
exit "$failed"
