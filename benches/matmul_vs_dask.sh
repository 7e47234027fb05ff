#!/usr/bin/env bash
# Out-of-core matrix product: brickwork vs dask.array, `x @ x[:, :K]` over an N x N float64
# Zarr store (uncompressed, C x C chunks), written to Zarr, in one run, with the GEMM
# kernel's in-memory GFLOP/s beside it.
#
#   bash benches/matmul_vs_dask.sh [--n 20000] [--chunk 1000] [--k 1000] [--threads 2]
#                                  [--memory-limit 256MiB] [--repeat 3] [--data-dir DIR]
#                                  [--kernel openblas|gemm]
#
# - x is created once with the brickwork CLI (random, seed 0) in DIR (default
#   target/bench-data, or $BENCH_DATA) and reused; 3.2 GB at the defaults.
# - brickwork: `brickwork eval -i x=X 'x @ x[:, :K]' --output OUT --memory-limit M --stats`;
#   dask: `(x @ x[:, :K]).to_zarr(OUT)` with the threads scheduler and the same threads (no
#   memory limit). One process per run under /usr/bin/time -v (wall, peak RSS); the
#   in-process time is brickwork's --stats "seconds" and dask's timer around graph + to_zarr.
# - Every output of every run is checked against NumPy (benches/peer/matmul_check.py): 16
#   rows spread over the output, each recomputed by NumPy from x (relative 1e-10 of the row's
#   largest magnitude: the tools sum the contracted axis in another order than NumPy).
#   A mismatch fails the script (exit 1) after the summary is written.
# - brickwork's float GEMM: OpenBLAS (`--features openblas`) when scripts/openblas.sh finds or
#   installs it, else the `gemm` crate; `--kernel gemm` forces the crate. Recorded as
#   `gemm_kernel=` in meta.env. dask multiplies blocks with NumPy's OpenBLAS.
# - GEMM kernel: `cargo bench --bench gemm -- --size C --threads T` (in-memory GFLOP/s of the
#   kernel the product runs); the product's GFLOP/s is 2 N^2 K over brickwork's time.
# Results go to a new dated run directory under benches/peer/runs/ (never overwritten).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
source "$repo/benches/common.sh"
n=20000 chunk=1000 k=1000 threads=2 limit=256MiB repeat=3 kernel=
data="${BENCH_DATA:-$repo/target/bench-data}"
while (($#)); do
    case "$1" in
        --n) n="$2"; shift 2 ;;
        --chunk) chunk="$2"; shift 2 ;;
        --k) k="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --memory-limit) limit="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        --data-dir) data="$2"; shift 2 ;;
        --kernel) kernel="$2"; shift 2 ;;
        *) echo "matmul_vs_dask.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
log() { echo "matmul_vs_dask.sh: $*" >&2; }
py="$(bash "$repo/scripts/pyenv.sh" | tail -n 1)"
if [[ -z $kernel ]]; then
    if bash "$repo/scripts/openblas.sh"; then kernel=openblas; else kernel=gemm; fi
fi
case "$kernel" in
    openblas) features=(--features openblas) ;;
    gemm) features=() ;;
    *) echo "matmul_vs_dask.sh: --kernel is openblas or gemm, not $kernel" >&2; exit 2 ;;
esac
(cd "$repo" && cargo build --release "${features[@]}" --bin brickwork -q)
bw="$repo/target/release/brickwork"
mkdir -p "$data"
x="$data/mm-x-n$n-c$chunk.zarr"
if [[ ! -f "$x.ok" ]]; then
    log "creating $x"
    rm -rf "$x"
    "$bw" eval "random(($n, $n), chunks=($chunk, $chunk), seed=0)" --output "$x" --codec none -q
    touch "$x.ok"
fi
run="$(new_run_dir "$repo/benches/peer/runs/$(date -u +%F)-$(host_label)-matmul")"
machine_info "$data" > "$run/meta.env"
echo "brickwork=$(git_description "$repo")" >> "$run/meta.env"
echo "command=benches/matmul_vs_dask.sh --n $n --chunk $chunk --k $k --threads $threads --memory-limit $limit --repeat $repeat --kernel $kernel" >> "$run/meta.env"
echo "gemm_kernel=$kernel" >> "$run/meta.env"
echo "tool,repeat,wall_s,inprocess_s,peak_rss_kb,check" > "$run/raw.csv"
failed=0
for ((i = 1; i <= repeat; i++)); do
    for tool in brickwork dask; do
        out="$data/mm-out-$tool.zarr"
        rm -rf "$out"
        sync
        start=$(date +%s.%N)
        if [[ $tool == brickwork ]]; then
            /usr/bin/time -v -o "$run/time.txt" "$bw" eval -i "x=$x" "x @ x[:, :$k]" \
                --output "$out" --codec none --memory-limit "$limit" --threads "$threads" \
                --stats -q 2> "$run/stats.json"
            inproc=$("$py" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["seconds"])' "$run/stats.json")
        else
            /usr/bin/time -v -o "$run/time.txt" "$py" - "$x" "$out" "$k" "$threads" > "$run/dask.out" <<'PY'
import sys, time
import dask, dask.array as da
x_path, out, k, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
x = da.from_zarr(x_path)
t = time.perf_counter()
with dask.config.set(scheduler="threads", num_workers=threads):
    (x @ x[:, :k]).to_zarr(out)
print(time.perf_counter() - t)
PY
            inproc=$(tail -n 1 "$run/dask.out")
        fi
        wall=$(echo "$(date +%s.%N) - $start" | bc)
        rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$run/time.txt")
        if "$py" "$repo/benches/peer/matmul_check.py" "$x" "$out" "$k" > "$run/check.txt" 2>&1; then
            check=ok
        else
            check=MISMATCH; failed=1
        fi
        log "$tool [$i/$repeat]: wall ${wall} s, in-process ${inproc} s, peak RSS ${rss} kB, check $check ($(tail -n 1 "$run/check.txt"))"
        echo "$tool,$i,$wall,$inproc,$rss,$check" >> "$run/raw.csv"
        rm -rf "$out"
    done
done
rm -f "$run/time.txt" "$run/stats.json" "$run/dask.out" "$run/check.txt"
log "GEMM kernel: cargo bench ${features[*]} --bench gemm -- --size $chunk --threads $threads"
(cd "$repo" && cargo bench "${features[@]}" --bench gemm -q -- --size "$chunk" --threads "$threads") > "$run/gemm.txt" 2>&1 || failed=1
"$py" - "$run" "$n" "$k" <<'PY' | tee "$run/summary.md"
import csv, statistics, sys
run, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = list(csv.DictReader(open(f"{run}/raw.csv")))
med = lambda tool, col: statistics.median(float(r[col]) for r in rows if r["tool"] == tool)
flops = 2 * n * n * k
print(f"# x @ x[:, :{k}], x float64 {n} x {n}\n")
print("| tool | wall s | in-process s | peak RSS MB | product GFLOP/s (in-process) | checks |")
print("|---|---:|---:|---:|---:|---|")
for tool in ("brickwork", "dask"):
    checks = [r["check"] for r in rows if r["tool"] == tool]
    print(f"| {tool} | {med(tool, 'wall_s'):.2f} | {med(tool, 'inprocess_s'):.2f} | "
          f"{med(tool, 'peak_rss_kb') / 1024:.0f} | {flops / med(tool, 'inprocess_s') / 1e9:.1f} | "
          f"{checks.count('ok')} of {len(checks)} ok |")
print(f"\ndask / brickwork (wall): {med('dask', 'wall_s') / med('brickwork', 'wall_s'):.2f}x\n")
gemm = [l for l in open(f"{run}/gemm.txt") if l.startswith("gemm_csv,")]
print(open(f"{run}/gemm.txt").readline().strip() + "\n")
print("GEMM kernel in memory (impl, threads, size, reps, seconds, GFLOP/s):\n")
for l in gemm:
    print("    " + l.strip())
PY
log "wrote $run"
exit "$failed"
