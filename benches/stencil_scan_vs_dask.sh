#!/usr/bin/env bash
# Out-of-core stencil and scan: brickwork vs dask.array over an N x N float64 Zarr store
# (uncompressed, C x C chunks), written to Zarr, in one run:
#   filter  a 3 x 3 mean filter, reflected at the edges: brickwork
#           `uniform_filter(x, 3, mode="reflect")` (map_overlap inside); dask
#           `x.map_overlap(lambda b: scipy.ndimage.uniform_filter(b, 3, mode="reflect"),
#           depth=1, boundary="reflect")`
#   cumsum  `cumsum(x, axis=0)` (dask: `da.cumsum(x, axis=0)`)
#
#   bash benches/stencil_scan_vs_dask.sh [--workloads filter,cumsum] [--n 20000]
#        [--chunk 1000] [--threads 2] [--memory-limit 256MiB] [--repeat 3] [--data-dir DIR]
#
# - x is created once with the brickwork CLI (random, seed 0) in DIR (default
#   target/bench-data, or $BENCH_DATA) and reused; 3.2 GB at the defaults.
# - brickwork runs under --memory-limit; dask with the threads scheduler and the same
#   threads (no memory limit). One process per run under /usr/bin/time -v (wall, peak RSS);
#   in-process time is brickwork's --stats "seconds" and dask's timer around graph + to_zarr.
# - Every output of every run is checked (benches/peer/stencil_scan_check.py: 16 rows
#   recomputed by scipy/NumPy); a mismatch fails the script (exit 1) after the summary.
# Results go to a new dated run directory under benches/peer/runs/ (never overwritten).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
source "$repo/benches/common.sh"
workloads=filter,cumsum n=20000 chunk=1000 threads=2 limit=256MiB repeat=3
data="${BENCH_DATA:-$repo/target/bench-data}"
while (($#)); do
    case "$1" in
        --workloads) workloads="$2"; shift 2 ;;
        --n) n="$2"; shift 2 ;;
        --chunk) chunk="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --memory-limit) limit="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        --data-dir) data="$2"; shift 2 ;;
        *) echo "stencil_scan_vs_dask.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
log() { echo "stencil_scan_vs_dask.sh: $*" >&2; }
py="$(bash "$repo/scripts/pyenv.sh" | tail -n 1)"
(cd "$repo" && cargo build --release --bin brickwork -q)
bw="$repo/target/release/brickwork"
mkdir -p "$data"
x="$data/mm-x-n$n-c$chunk.zarr"
if [[ ! -f "$x.ok" ]]; then
    log "creating $x"
    rm -rf "$x"
    "$bw" eval "random(($n, $n), chunks=($chunk, $chunk), seed=0)" --output "$x" --codec none -q
    touch "$x.ok"
fi
run="$(new_run_dir "$repo/benches/peer/runs/$(date -u +%F)-$(host_label)-stencil-scan")"
machine_info "$data" > "$run/meta.env"
echo "brickwork=$(git_description "$repo")" >> "$run/meta.env"
echo "command=benches/stencil_scan_vs_dask.sh --workloads $workloads --n $n --chunk $chunk --threads $threads --memory-limit $limit --repeat $repeat" >> "$run/meta.env"
echo "workload,tool,repeat,wall_s,inprocess_s,peak_rss_kb,check" > "$run/raw.csv"
failed=0
IFS=, read -r -a wl <<< "$workloads"
for w in "${wl[@]}"; do
    case "$w" in
        filter) expr='uniform_filter(x, 3, mode="reflect")' ;;
        cumsum) expr='cumsum(x, axis=0)' ;;
        *) log "unknown workload $w"; exit 2 ;;
    esac
    for ((i = 1; i <= repeat; i++)); do
        for tool in brickwork dask; do
            out="$data/ss-out-$tool.zarr"
            rm -rf "$out"
            sync
            start=$(date +%s.%N)
            if [[ $tool == brickwork ]]; then
                /usr/bin/time -v -o "$run/time.txt" "$bw" eval -i "x=$x" "$expr" \
                    --output "$out" --codec none --memory-limit "$limit" --threads "$threads" \
                    --stats -q 2> "$run/stats.json"
                inproc=$("$py" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["seconds"])' "$run/stats.json")
            else
                /usr/bin/time -v -o "$run/time.txt" "$py" - "$w" "$x" "$out" "$threads" > "$run/dask.out" <<'PY'
import sys, time
import dask, dask.array as da
import scipy.ndimage as ndi
w, x_path, out, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
x = da.from_zarr(x_path)
t = time.perf_counter()
with dask.config.set(scheduler="threads", num_workers=threads):
    if w == "filter":
        y = x.map_overlap(lambda b: ndi.uniform_filter(b, 3, mode="reflect"), depth=1, boundary="reflect")
    else:
        y = da.cumsum(x, axis=0)
    y.to_zarr(out)
print(time.perf_counter() - t)
PY
                inproc=$(tail -n 1 "$run/dask.out")
            fi
            wall=$(echo "$(date +%s.%N) - $start" | bc)
            rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$run/time.txt")
            if "$py" "$repo/benches/peer/stencil_scan_check.py" "$w" "$x" "$out" > "$run/check.txt" 2>&1; then
                check=ok
            else
                check=MISMATCH; failed=1
            fi
            log "$w $tool [$i/$repeat]: wall ${wall} s, in-process ${inproc} s, peak RSS ${rss} kB, check $check ($(tail -n 1 "$run/check.txt"))"
            echo "$w,$tool,$i,$wall,$inproc,$rss,$check" >> "$run/raw.csv"
            rm -rf "$out"
        done
    done
done
rm -f "$run/time.txt" "$run/stats.json" "$run/dask.out" "$run/check.txt"
"$py" - "$run" "$n" <<'PY' | tee "$run/summary.md"
import csv, statistics, sys
run, n = sys.argv[1], int(sys.argv[2])
rows = list(csv.DictReader(open(f"{run}/raw.csv")))
print(f"# stencil and scan over x, float64 {n} x {n}\n")
print("| workload | tool | wall s | in-process s | peak RSS MB | checks | dask / brickwork (wall) |")
print("|---|---|---:|---:|---:|---|---:|")
for w in dict.fromkeys(r["workload"] for r in rows):
    med = lambda tool, col: statistics.median(float(r[col]) for r in rows if r["tool"] == tool and r["workload"] == w)
    for tool in ("brickwork", "dask"):
        checks = [r["check"] for r in rows if r["tool"] == tool and r["workload"] == w]
        ratio = f"{med('dask', 'wall_s') / med('brickwork', 'wall_s'):.2f}x" if tool == "brickwork" else ""
        print(f"| {w} | {tool} | {med(tool, 'wall_s'):.2f} | {med(tool, 'inprocess_s'):.2f} | "
              f"{med(tool, 'peak_rss_kb') / 1024:.0f} | {checks.count('ok')} of {len(checks)} ok | {ratio} |")
PY
log "wrote $run"
exit "$failed"
