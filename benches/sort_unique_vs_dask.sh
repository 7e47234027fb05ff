#!/usr/bin/env bash
# Out-of-core sort and unique: brickwork vs dask.array, in one run.
#
#   bash benches/sort_unique_vs_dask.sh [--workload sort|unique] [--n 20000]
#                                       [--threads 2] [--memory-limit 256MiB]
#                                       [--repeat 3] [--data-dir DIR] [--tools brickwork,dask]
#
# - sort: `sort(x, axis=0)` of x = random((N, N), chunks=(100, N), seed=0), float64,
#   uncompressed (3.2 GB at the defaults; no chunk holds a whole column). brickwork makes
#   the axis whole by a realigned copy within the limit, then sorts column strips; dask has
#   no sort along an axis: `x.rechunk({0: -1, 1: "auto"}).map_blocks(np.sort, axis=0)`, the
#   documented way, written with to_zarr. Checked: 16 columns equal np.sort of them.
# - unique: `unique(x)` of x = astype(floor(random((N, N), chunks=(1000, 1000), seed=1)
#   * 1e9), 'int64') (3.2 GB, about 330 million distinct values, 2.6 GB): brickwork sorts
#   slabs into runs on disk and merges them (driver/external.rs); dask: `da.unique(x)`
#   computed (it concatenates every chunk's np.unique in one task) and written with zarr.
#   Checked: equal to np.unique(x) (length and SHA-256; NumPy's answer computed once).
# - brickwork: `brickwork eval -i x=X EXPR --output Y --memory-limit M --threads T --stats`;
#   dask: the threads scheduler with T threads, no memory limit (it has none).
# - Peak memory is sampled from /proc every 20 ms for the process (anonymous + file-backed
#   pages, benches/peer/rss_sample.py). A mismatch fails the script (exit 1) after the
#   summary is written. Results go to a new dated run directory under benches/peer/runs/.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
source "$repo/benches/common.sh"
workload=sort n=20000 threads=2 limit=256MiB repeat=3 tools=brickwork,dask
data="${BENCH_DATA:-$repo/target/bench-data}"
while (($#)); do
    case "$1" in
        --workload) workload="$2"; shift 2 ;;
        --n) n="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --memory-limit) limit="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        --data-dir) data="$2"; shift 2 ;;
        --tools) tools="$2"; shift 2 ;;
        *) echo "sort_unique_vs_dask.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
log() { echo "sort_unique_vs_dask.sh: $*" >&2; }
py="$(bash "$repo/scripts/pyenv.sh" | tail -n 1)"
(cd "$repo" && cargo build --release --bin brickwork -q)
bw="$repo/target/release/brickwork"
mkdir -p "$data"
case "$workload" in
    sort)
        x="$data/sort-x-n$n.zarr"
        make="random(($n, $n), chunks=(100, $n), seed=0)"
        expr="sort(x, axis=0)" ;;
    unique)
        x="$data/unique-x-n$n.zarr"
        make="astype(floor(random(($n, $n), chunks=(1000, 1000), seed=1) * 1e9), 'int64')"
        expr="unique(x)" ;;
    *) echo "sort_unique_vs_dask.sh: --workload is sort or unique" >&2; exit 2 ;;
esac
if [[ ! -f "$x.ok" ]]; then
    log "creating $x"
    rm -rf "$x"
    "$bw" eval "$make" --output "$x" --codec none -q
    touch "$x.ok"
fi
run="$(new_run_dir "$repo/benches/peer/runs/$(date -u +%F)-$(host_label)-$workload")"
machine_info "$data" > "$run/meta.env"
echo "brickwork=$(git_description "$repo")" >> "$run/meta.env"
echo "command=benches/sort_unique_vs_dask.sh --workload $workload --n $n --threads $threads --memory-limit $limit --repeat $repeat --tools $tools" >> "$run/meta.env"
echo "tool,repeat,wall_s,inprocess_s,rss_anon_bytes,rss_file_bytes,rss_total_bytes,check" > "$run/raw.csv"
failed=0
IFS=, read -r -a tool_list <<< "$tools"
for ((i = 1; i <= repeat; i++)); do
    for tool in "${tool_list[@]}"; do
        out="$data/$workload-out-$tool.zarr"
        rm -rf "$out"
        sync
        start=$EPOCHREALTIME
        case "$tool" in
            brickwork)
                "$bw" eval -i "x=$x" "$expr" --output "$out" --codec none \
                    --memory-limit "$limit" --threads "$threads" --stats -q 2> "$run/stats.json" &
                ;;
            dask)
                "$py" - "$workload" "$x" "$out" "$threads" > "$run/peer.out" <<'PY' &
import sys, time
workload, x_path, out, threads = sys.argv[1:5]
import numpy as np, zarr, dask, dask.array as da
t = time.perf_counter()
x = da.from_zarr(x_path)
with dask.config.set(scheduler="threads", num_workers=int(threads)):
    if workload == "sort":
        y = x.rechunk({0: -1, 1: "auto"}).map_blocks(np.sort, axis=0)
        y.to_zarr(out, compressors=None)
    else:
        u = da.unique(x).compute()
        z = zarr.create_array(out, shape=u.shape, chunks=(1 << 22,), dtype=u.dtype, compressors=None)
        z[:] = u
print(time.perf_counter() - t)
PY
                ;;
            *) echo "sort_unique_vs_dask.sh: unknown tool $tool" >&2; exit 2 ;;
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
        if "$py" "$repo/benches/peer/sort_check.py" "$workload" "$x" "$out" "$x.expected.json" > "$run/check.txt" 2>&1; then
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
"$py" - "$run" "$expr" "$n" "$limit" <<'PY' | tee "$run/summary.md"
import csv, statistics, sys
run, expr, n, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rows = list(csv.DictReader(open(f"{run}/raw.csv")))
tools = [t for t in ("brickwork", "dask") if any(r["tool"] == t for r in rows)]
med = lambda tool, col: statistics.median(float(r[col]) for r in rows if r["tool"] == tool)
print(f"# {expr}, x {n} x {n} ({n * n * 8 / 1e9:.1f} GB), brickwork under --memory-limit {limit}\n")
print("| tool | wall s (median) | in-process s | peak RSS MiB (anon + file) | checks |")
print("|---|---:|---:|---:|---|")
for tool in tools:
    checks = [r["check"] for r in rows if r["tool"] == tool]
    print(f"| {tool} | {med(tool, 'wall_s'):.2f} | {med(tool, 'inprocess_s'):.2f} | "
          f"{max(float(r['rss_total_bytes']) for r in rows if r['tool'] == tool) / 2**20:.0f} "
          f"({med(tool, 'rss_anon_bytes') / 2**20:.0f} + {med(tool, 'rss_file_bytes') / 2**20:.0f}) | "
          f"{checks.count('ok')} of {len(checks)} ok |")
if "dask" in tools and "brickwork" in tools:
    print(f"\ndask / brickwork (wall): {med('dask', 'wall_s') / med('brickwork', 'wall_s'):.2f}x")
PY
log "wrote $run"
exit "$failed"
