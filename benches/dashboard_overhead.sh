#!/usr/bin/env bash
# What the live dashboard costs: the same workloads with and without it, alternating, in one
# run (the peer here is brickwork itself with the dashboard off).
#
#   tutorial   target/release/examples/tutorial (threads, all cores), `--repeat K` in one
#              process, without and with `--dashboard 127.0.0.1:0` (each computation starts
#              the server, records every task and memory sample, and stops it); the figure is
#              the median of each process's in-process `seconds=` over ROUNDS rounds
#   x + x.T    `brickwork eval -i x=STORE "x + x.T" --output OUT --overwrite --codec none`
#              over a float64 store of N x N in 1000 x 1000 chunks, without and with
#              `--dashboard 127.0.0.1:0 --report R.html`; the figure is the median process
#              wall time
#
# Both results are checked: the tutorial's output values are identical with and without the
# dashboard; the x + x.T outputs are byte-identical (sha256 of every chunk file).
#
# Usage: benches/dashboard_overhead.sh [--rounds R] [--repeat K] [--n N] [--keep]
# Writes benches/peer/runs/<date>-<host>-dashboard[-k]/results.csv and prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=5
repeat=15
n=8000
keep=0
while (($#)); do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        --n) n=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done

cargo build --release --quiet --example tutorial --bin brickwork
tutorial=target/release/examples/tutorial
bw=target/release/brickwork

base="benches/peer/runs/$(date +%F)-$(hostname)-dashboard"
out=$base; k=2
while [[ -e $out ]]; do out="$base-$k"; k=$((k + 1)); done
mkdir -p "$out"
csv="$out/results.csv"
echo "workload,dashboard,round,seconds" > "$csv"
data=target/bench-data/dashboard
mkdir -p "$data"
store="$data/x-$n.zarr"
[[ -e $store ]] || "$bw" eval "random(($n, $n), chunks=(1000, 1000), seed=0)" \
    --output "$store" --codec none -q

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

status=0
for ((r = 1; r <= rounds; r++)); do
    for mode in off on; do
        flags=()
        [[ $mode == on ]] && flags=(--dashboard 127.0.0.1:0)
        lines=$("$tutorial" --scheduler threads --repeat "$repeat" "${flags[@]}" 2>/dev/null | grep '^scheduler=')
        med=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$lines" | median)
        echo "tutorial,$mode,$r,$med" >> "$csv"
        values=$(sed -E 's/.*seconds=[0-9.]+ //' <<<"$lines" | sort -u)
        if [[ $(wc -l <<<"$values") -ne 1 ]]; then
            echo "MISMATCH: tutorial results differ between runs ($mode)" >&2; status=1
        fi
        echo "$values" > "$out/tutorial-$mode.txt"
    done
    for mode in off on; do
        flags=()
        [[ $mode == on ]] && flags=(--dashboard 127.0.0.1:0 --report "$data/xpxt-report.html")
        t0=$(date +%s.%N)
        "$bw" eval -i "x=$store" "x + x.T" --output "$data/out-$mode.zarr" --overwrite \
            --codec none -q "${flags[@]}" 2>/dev/null
        t1=$(date +%s.%N)
        echo "xpxt,$mode,$r,$(echo "$t1 - $t0" | bc -l)" >> "$csv"
    done
done

if ! cmp -s "$out/tutorial-off.txt" "$out/tutorial-on.txt"; then
    echo "MISMATCH: tutorial values differ with the dashboard" >&2; status=1
fi
sums() { (cd "$1" && find . -type f ! -name zarr.json -print0 | sort -z | xargs -0 sha256sum); }
if ! diff -q <(sums "$data/out-off.zarr") <(sums "$data/out-on.zarr") >/dev/null; then
    echo "MISMATCH: x + x.T outputs differ with the dashboard" >&2; status=1
fi

{
    echo "workload  off (median s)  on (median s)  overhead"
    for w in tutorial xpxt; do
        off=$(awk -F, -v w=$w '$1==w && $2=="off" {print $4}' "$csv" | median)
        on=$(awk -F, -v w=$w '$1==w && $2=="on" {print $4}' "$csv" | median)
        printf '%-9s %14.4f %14.4f %+8.1f%%\n' "$w" "$off" "$on" "$(echo "100 * ($on - $off) / $off" | bc -l)"
    done
} | tee "$out/summary.txt"
echo "results in $out (rounds=$rounds, tutorial --repeat $repeat, x + x.T n=$n)"
[[ $keep == 1 ]] || rm -rf "$data"
exit $status
