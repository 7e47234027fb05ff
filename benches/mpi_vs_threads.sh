#!/usr/bin/env bash
# MPI ranks vs the threads scheduler on `x + x.T` over a 3.2 GB float64 store (20000²,
# chunks 1000², uncompressed), written to Zarr under a 256 MiB limit, in one run:
#
#   threads   brickwork eval -i x=X "x + x.T" --output Y --codec none --memory-limit 256MiB
#   mpi N     mpirun -n N brickwork eval ... (the same command; rank 0 schedules and writes,
#             the other N - 1 ranks compute), --oversubscribe when N exceeds the cores
#
# alternating, --rounds times. Each output is compared byte for byte with the first threads
# output (cmp over every chunk file). Reported: the wall time of the whole command, median
# per configuration, the ratio mpi / threads, and peak RSS (/usr/bin/time -v: for mpirun,
# the largest single rank).
#
# Builds target/release/brickwork with --features mpi (needs Open MPI: scripts/mpi.sh) unless
# --skip-build. Data in --data DIR (default target/bench-data/mpi; 3.2 GB input + 2 x 3.2 GB
# outputs), kept for reuse; delete it afterwards. Writes benches/peer/runs/<date>-<host>-mpi
# (summary.md, raw.csv, meta.env).
#
# Usage: benches/mpi_vs_threads.sh [--ranks 4] [--rounds 3] [--n 20000] [--chunk 1000]
#                                  [--data DIR] [--skip-build]
set -Eeuo pipefail
die() { printf 'mpi_vs_threads.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'mpi_vs_threads.sh: %s\n' "$*" >&2; }
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd -- "$repo"
source "$repo/benches/common.sh"
script_args="$*"
ranks=4 rounds=3 n=20000 chunk=1000 data="$repo/target/bench-data/mpi" skip_build=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --ranks) ranks="${2:?}"; shift 2 ;;
        --rounds) rounds="${2:?}"; shift 2 ;;
        --n) n="${2:?}"; shift 2 ;;
        --chunk) chunk="${2:?}"; shift 2 ;;
        --data) data="${2:?}"; shift 2 ;;
        --skip-build) skip_build=1; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done
for v in "$ranks" "$rounds" "$n" "$chunk"; do [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "not a positive integer: $v"; done
bash scripts/mpi.sh || die "Open MPI is needed (scripts/mpi.sh)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bin="$repo/target/release/brickwork"
if (( ! skip_build )); then
    log "building: cargo build --release --features mpi --bin brickwork"
    cargo build --release --features mpi --bin brickwork >&2
fi
[[ -x "$bin" ]] || die "no $bin"
mkdir -p "$data"
x="$data/x-n$n-c$chunk.zarr"
if [[ ! -f "$x/zarr.json" ]]; then
    log "writing the input $x"
    "$bin" eval "random(($n, $n), chunks=($chunk, $chunk), seed=0)" --output "$x" --codec none \
        --memory-limit 256MiB --quiet --overwrite
fi
out=$(new_run_dir "$repo/benches/peer/runs/$(date -u +%F)-$(host_label)-mpi")
echo "config,round,seconds,peak_rss_kb" > "$out/raw.csv"
run() { # config round -> appends a row
    local config=$1 round=$2 y="$data/y-$1.zarr" cmd
    cmd=("$bin" eval -i "x=$x" "x + x.T" --output "$y" --codec none --memory-limit 256MiB
         --quiet --overwrite)
    if [[ "$config" == mpi ]]; then
        cmd=(mpirun --oversubscribe -n "$ranks" "${cmd[@]}" --scheduler mpi)
    else
        cmd+=(--scheduler threads)
    fi
    sync
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -v -o "$out/time.txt" "${cmd[@]}" >&2
    end=$(date +%s.%N)
    local rss
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$out/time.txt")
    printf '%s,%s,%.3f,%s\n' "$config" "$round" "$(echo "$end - $start" | bc)" "$rss" >> "$out/raw.csv"
    log "$config round $round: $(tail -n 1 "$out/raw.csv")"
}
for ((r = 1; r <= rounds; r++)); do
    run threads "$r"
    run mpi "$r"
done
rm -f "$out/time.txt"
log "comparing the outputs byte for byte"
same=yes
(cd "$data/y-threads.zarr" && find . -type f ! -name zarr.json | sort) > "$out/files.txt"
while read -r f; do
    cmp -s "$data/y-threads.zarr/$f" "$data/y-mpi.zarr/$f" || { same=no; log "differs: $f"; break; }
done < "$out/files.txt"
nfiles=$(wc -l < "$out/files.txt")
rm -f "$out/files.txt"
python3 - "$out" "$ranks" "$same" "$nfiles" "$script_args" <<'PY' > "$out/summary.md"
import csv, statistics, sys
out, ranks, same, nfiles, args = sys.argv[1:]
rows = list(csv.DictReader(open(f"{out}/raw.csv")))
def med(c): return statistics.median(float(r["seconds"]) for r in rows if r["config"] == c)
def rss(c): return max(int(r["peak_rss_kb"]) for r in rows if r["config"] == c) / 1024
t, m = med("threads"), med("mpi")
print("# MPI ranks vs threads: `x + x.T` over a 3.2 GB store, written to Zarr under 256 MiB\n")
print(f"Command: `benches/mpi_vs_threads.sh {args}`; wall time of the whole command, median of "
      f"{sum(r['config'] == 'threads' for r in rows)} rounds.\n")
print("| configuration | seconds | peak RSS MB |\n|---|---:|---:|")
print(f"| threads | {t:.2f} | {rss('threads'):.0f} |")
print(f"| mpi, {ranks} ranks | {m:.2f} | {rss('mpi'):.0f} (largest rank) |")
print(f"\nmpi / threads: **{m / t:.2f}x** (target: within 1.5x). Outputs byte-identical "
      f"({nfiles} chunk files): {same}.")
PY
machine_info "$data" > "$out/meta.env"
echo "brickwork=$(git_description "$repo")" >> "$out/meta.env"
cat "$out/summary.md"
[[ "$same" == yes ]] || exit 1
