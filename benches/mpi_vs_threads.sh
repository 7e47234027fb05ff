#!/usr/bin/env bash
# MPI ranks vs the threads scheduler, and where the bytes go between the ranks, in one run.
# Workloads over an N² float64 store (default 11000², chunks 1000², ~0.97 GB), each written
# to Zarr under the same per-process memory limit:
#
#   xxt-zstd   x + x.T          over a zstd store
#   xxt-none   x + x.T          over an uncompressed store
#   matmul     x @ x[:, :500]   over the zstd store
#
# Configurations, alternating, --rounds times:
#   threads    brickwork eval -i x=X EXPR --output Y --memory-limit L --scheduler threads
#   mpi        mpirun -n R brickwork ... --scheduler mpi, with Open MPI's monitoring counters
#              (--mca pml ob1,monitoring --mca pml_monitoring_enable 1): the bytes every rank
#              sent to every other, which give the bytes through rank 0 (sent or received by
#              it) and the bytes between workers
#   baseline   the same as mpi with another brickwork binary (--baseline BIN, e.g. a build
#              of an older commit), to compare data planes
#   2+2        with --netns: 2 ranks on each of two "hosts", network namespaces joined by a
#              veth pair, over TCP (--mca btl self,tcp): mpirun runs in the first, Open MPI
#              starts the second's daemon through a stand-in for ssh (ip netns exec, with a
#              host name of its own); the same monitoring counters. Needs root and ip(8).
#
# Each output is compared byte for byte with the threads output. Reported per workload and
# configuration (medians): wall time of the whole command, peak RSS (/usr/bin/time -v: for
# mpirun, the largest single rank), bytes read and written (--stats), bytes through rank 0,
# bytes between workers, and rank 0's share of all bytes moved.
#
# Builds target/release/brickwork with --features mpi (needs Open MPI: scripts/mpi.sh) unless
# --skip-build. Data in --data DIR (default target/bench-data/mpi: two inputs and one output
# per configuration, ~6 GB at the defaults), kept for reuse; delete it afterwards. Writes
# benches/peer/runs/<date>-<host>-mpi (summary.md, raw.csv, meta.env).
#
# Usage: benches/mpi_vs_threads.sh [--ranks 4] [--rounds 1] [--n 11000] [--chunk 1000]
#                                  [--limit 256MiB] [--workloads xxt-zstd,xxt-none,matmul]
#                                  [--baseline BIN] [--bin BIN] [--data DIR] [--skip-build]
#                                  [--netns]
# (--bin: the brickwork binary to measure instead of building target/release/brickwork)
set -Eeuo pipefail
die() { printf 'mpi_vs_threads.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'mpi_vs_threads.sh: %s\n' "$*" >&2; }
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd -- "$repo"
source "$repo/benches/common.sh"
script_args="$*"
ranks=4 rounds=1 n=11000 chunk=1000 limit=256MiB data="$repo/target/bench-data/mpi" skip_build=0
workloads=xxt-zstd,xxt-none,matmul baseline= bin="${CARGO_TARGET_DIR:-$repo/target}/release/brickwork" netns=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --ranks) ranks="${2:?}"; shift 2 ;;
        --rounds) rounds="${2:?}"; shift 2 ;;
        --n) n="${2:?}"; shift 2 ;;
        --chunk) chunk="${2:?}"; shift 2 ;;
        --limit) limit="${2:?}"; shift 2 ;;
        --workloads) workloads="${2:?}"; shift 2 ;;
        --baseline) baseline="${2:?}"; shift 2 ;;
        --bin) bin="${2:?}"; skip_build=1; shift 2 ;;
        --data) data="${2:?}"; shift 2 ;;
        --skip-build) skip_build=1; shift ;;
        --netns) netns=1; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done
for v in "$ranks" "$rounds" "$n" "$chunk"; do [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "not a positive integer: $v"; done
[[ -z "$baseline" || -x "$baseline" ]] || die "--baseline $baseline is not an executable"
bash scripts/mpi.sh || die "Open MPI is needed (scripts/mpi.sh)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
if (( ! skip_build )); then
    log "building: cargo build --release --features mpi --bin brickwork"
    cargo build --release --features brickwork/mpi,brickwork-cli/mpi --bin brickwork >&2
fi
[[ -x "$bin" ]] || die "no $bin"
mkdir -p "$data"
input() { # codec -> path of the input store, written once
    local x="$data/x-n$n-c$chunk-$1.zarr"
    if [[ ! -f "$x/zarr.json" ]]; then
        log "writing the input $x"
        "$bin" eval "random(($n, $n), chunks=($chunk, $chunk), seed=0)" --output "$x" \
            --codec "$1" --memory-limit 256MiB --quiet --overwrite
    fi
    printf '%s\n' "$x"
}
out=$(new_run_dir "$repo/benches/peer/runs/$(date -u +%F)-$(host_label)-mpi")
ns_a="bwbench$$a" ns_b="bwbench$$b"
if (( netns )); then
    cleanup_netns() { ip netns del "$ns_a" 2>/dev/null || true; ip netns del "$ns_b" 2>/dev/null || true; }
    trap cleanup_netns EXIT
    { ip netns add "$ns_a" && ip netns add "$ns_b" \
        && ip link add "${ns_a}v" type veth peer name "${ns_b}v" \
        && ip link set "${ns_a}v" netns "$ns_a" && ip link set "${ns_b}v" netns "$ns_b" \
        && ip -n "$ns_a" addr add 10.77.0.1/24 dev "${ns_a}v" \
        && ip -n "$ns_b" addr add 10.77.0.2/24 dev "${ns_b}v" \
        && ip -n "$ns_a" link set "${ns_a}v" up && ip -n "$ns_b" link set "${ns_b}v" up \
        && ip -n "$ns_a" link set lo up && ip -n "$ns_b" link set lo up; } \
        || die "cannot make two network namespaces (needs root and ip)"
    cat > "$out/netns-rsh" <<RSH
#!/bin/sh
# Open MPI's remote shell for the two namespaces: HOST COMMAND...
host=\$1; shift
case \$host in
  10.77.0.1) ns=$ns_a; name=node-a ;;
  10.77.0.2) ns=$ns_b; name=node-b ;;
  *) echo "netns-rsh: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec \$ns unshare --uts sh -c "hostname \$name; \$*"
RSH
    chmod +x "$out/netns-rsh"
fi
echo "workload,config,round,seconds,peak_rss_kb,bytes_read,bytes_written,rank0_bytes,worker_bytes" > "$out/raw.csv"
run() { # workload config round -> appends a row
    local workload=$1 config=$2 round=$3 x expr y="$data/y-$1-$2.zarr" cmd exe=$bin
    case "$workload" in
        xxt-zstd) x=$(input zstd) expr="x + x.T" ;;
        xxt-none) x=$(input none) expr="x + x.T" ;;
        matmul) x=$(input zstd) expr="x @ x[:, :500]" ;;
        *) die "unknown workload $workload" ;;
    esac
    [[ "$config" == baseline ]] && exe=$baseline
    cmd=("$exe" eval -i "x=$x" "$expr" --output "$y" --codec none --memory-limit "$limit"
         --quiet --overwrite --stats)
    local mon="$out/monitoring"
    rm -rf "$mon" && mkdir -p "$mon"
    if [[ "$config" == threads ]]; then
        cmd+=(--scheduler threads)
    elif [[ "$config" == 2+2 ]]; then
        cmd=(ip netns exec "$ns_a" mpirun -n 4 --host 10.77.0.1:2,10.77.0.2:2
             --mca plm_rsh_agent "$out/netns-rsh" --mca btl self,tcp
             --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24
             -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
             --mca pml ob1,monitoring --mca pml_monitoring_enable 1
             --mca pml_monitoring_enable_output 3 --mca pml_monitoring_filename "$mon/prof"
             "${cmd[@]}" --scheduler mpi)
    else
        cmd=(mpirun --oversubscribe -n "$ranks" --mca pml ob1,monitoring
             --mca pml_monitoring_enable 1 --mca pml_monitoring_enable_output 3
             --mca pml_monitoring_filename "$mon/prof" "${cmd[@]}" --scheduler mpi)
    fi
    sync
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -v -o "$out/time.txt" "${cmd[@]}" 2> "$out/stderr.txt" >&2 \
        || { cat "$out/stderr.txt" >&2; die "$workload $config failed"; }
    end=$(date +%s.%N)
    local rss stats moved
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$out/time.txt")
    stats=$(grep '^{' "$out/stderr.txt" | tail -n 1)
    # Point-to-point lines of the monitoring files: E <from> <to> <bytes> bytes ...
    moved=$({ cat "$mon"/prof.*.prof 2>/dev/null || true; } | awk -F'\t' '$1 == "E" {
                split($4, b, " "); if ($2 == 0 || $3 == 0) r0 += b[1]; else w += b[1] }
            END { printf "%.0f,%.0f", r0, w }')
    python3 - "$stats" "$workload,$config,$round,$(echo "$end - $start" | bc),$rss" "$moved" \
        >> "$out/raw.csv" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
print(f"{sys.argv[2]},{s['bytes_read']},{s['bytes_written']},{sys.argv[3]}")
PY
    log "$(tail -n 1 "$out/raw.csv")"
}
configs=(threads mpi)
[[ -n "$baseline" ]] && configs+=(baseline)
(( netns )) && configs+=(2+2)
IFS=, read -r -a wl <<< "$workloads"
same=yes
for w in "${wl[@]}"; do
    for ((r = 1; r <= rounds; r++)); do
        for c in "${configs[@]}"; do run "$w" "$c" "$r"; done
    done
    for c in "${configs[@]:1}"; do
        a="$data/y-$w-threads.zarr" b="$data/y-$w-$c.zarr"
        while read -r f; do
            cmp -s "$a/$f" "$b/$f" || { same=no; log "$w $c differs: $f"; break; }
        done < <(cd "$a" && find . -type f ! -name zarr.json | sort)
    done
done
rm -rf "$out/time.txt" "$out/stderr.txt" "$out/monitoring" "$out/netns-rsh"
python3 - "$out" "$ranks" "$same" "$n" "$chunk" "$limit" "$script_args" <<'PY' > "$out/summary.md"
import csv, statistics, sys
out, ranks, same, n, chunk, limit, args = sys.argv[1:]
rows = list(csv.DictReader(open(f"{out}/raw.csv")))
print(f"# MPI ranks vs threads on {n}² float64 (chunks {chunk}²), written to Zarr under {limit}\n")
print(f"Command: `benches/mpi_vs_threads.sh {args}`; medians over rounds. mpi: {ranks} ranks "
      "(rank 0 schedules); 2+2: 2 ranks on each of two network namespaces over TCP. Bytes "
      "moved: Open MPI's monitoring counters (point to point).\n")
print("| workload | configuration | seconds | x threads | peak RSS MB | read GB | written GB "
      "| through rank 0 GB | between workers GB | rank 0's share |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
def med(rs, k): return statistics.median(float(r[k]) for r in rs)
for w in dict.fromkeys(r["workload"] for r in rows):
    t = med([r for r in rows if r["workload"] == w and r["config"] == "threads"], "seconds")
    for c in dict.fromkeys(r["config"] for r in rows if r["workload"] == w):
        rs = [r for r in rows if r["workload"] == w and r["config"] == c]
        s = med(rs, "seconds")
        r0, wk = med(rs, "rank0_bytes"), med(rs, "worker_bytes")
        share = ("–" if c == "threads" else "control only" if r0 + wk < 1e6
                 else f"{100 * r0 / (r0 + wk):.1f}%")
        moved = (f"{r0 / 1e9:.3f} | {wk / 1e9:.3f}" if c != "threads" else "– | –")
        print(f"| {w} | {c} | {s:.2f} | {s / t:.2f} | {max(int(r['peak_rss_kb']) for r in rs) / 1024:.0f} "
              f"| {med(rs, 'bytes_read') / 1e9:.2f} | {med(rs, 'bytes_written') / 1e9:.2f} | {moved} | {share} |")
print(f"\nOutputs byte-identical to threads: {same}.")
PY
machine_info "$data" > "$out/meta.env"
echo "brickwork=$(git_description "$repo")" >> "$out/meta.env"
[[ -n "$baseline" ]] && echo "baseline=$baseline" >> "$out/meta.env"
cat "$out/summary.md"
[[ "$same" == yes ]] || exit 1
