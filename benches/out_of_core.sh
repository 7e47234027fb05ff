#!/usr/bin/env bash
# Out-of-core benchmark: brickwork (CLI) vs dask.array vs Cubed over Zarr stores on disk,
# every result checked against NumPy.
#
# Inputs, created once with brickwork and reused (cached in the data directory):
#   x: float64 N x N, chunks (C, C) with C = N/20, uncompressed (random, seed 0)
#   r: the same data, chunks (R, N) with R = N/200 (100 at N=20000), uncompressed
# Workloads (brickwork expression; dask/Cubed do the same, see benches/peer/ooc_*.py):
#   sum      x.sum()                       scalar, printed
#   mean0    x.mean(axis=0)                vector, printed
#   std0     x.std(axis=0)                 vector, printed
#   demean   x - x.mean(axis=0)            written to Zarr
#   xpxt     x + x.T                       written to Zarr (square chunks)
#   rpxt     r + r.T                       written to Zarr (row chunks)
#   rechunk  r -> chunks (N, R)            written to Zarr (brickwork: `eval -i r=R r --chunks
#                                          N,R --output`, the library call of `brickwork
#                                          rechunk`, which has no --stats)
# Tools: brickwork, dask, cubed, and brickwork-buffered: brickwork with
# BRICKWORK_NO_DIRECT_IO=1 (outputs written through the page cache instead of O_DIRECT; not
# run unless named in --tools). brickwork runs with BRICKWORK_NO_DIRECT_IO unset.
#
# Times: every run is one process under `/usr/bin/time -v` (peak RSS, user + system CPU) and
# `timeout`; the wall time of the whole process is measured around it. Next to it, the
# in-process time: brickwork's `--stats` "seconds" (parse, graph, plan, compute, write or
# print; the inputs are opened before it starts) and the peers' own timer around graph
# construction + compute/store (inputs opened before it starts); raw.csv also has the
# compute call alone (brickwork "execute_seconds", the peers' compute()/to_zarr()).
# brickwork gets --memory-limit, Cubed allowed_mem = the same bytes, dask (threads scheduler)
# has no memory limit.
#
# Correctness: every result of every run of every tool is compared with NumPy
# (benches/peer/ooc_check.py, after the run, outside its timing). NumPy computes the
# references itself, streaming x band by band with zarr-python (bounded memory: a few bands
# of --check-band-mb): the reductions once per workload (cached in the run's temporary
# directory), the written arrays band by band while reading the output. Tolerances:
# sum, mean0, std0: relative 1e-12 (per element for vectors); demean: 1e-12 x max(1, |mean|)
# per element; xpxt, rpxt, rechunk: exact, bitwise. The references of rpxt and rechunk are
# computed from x; that r holds exactly the data of x is checked once per run, element by
# element, before any workload that reads r. A mismatch is printed at once (workload, tool,
# repeat) and the benchmark goes on; at the end the script exits 1, after writing the
# results, if any check failed or any brickwork run did not succeed.
#
# Outputs are uncompressed Zarr v3 in the data directory and are deleted after each run
# (after the check); the size of Cubed's intermediates in its work_dir is measured and the
# work_dir deleted. A failed, refused or timed out run is recorded and the benchmark goes
# on. The store's sequential read bandwidth (cat of every chunk file) is measured warm, and
# cold when the page cache can be dropped.
#
# Writes a new directory benches/peer/runs/<YYYY-MM-DD>-<host>-ooc (or -ooc-2, -ooc-3, ...
# when it exists: earlier results are never overwritten) with raw.csv (one row per run),
# checks.csv (one row per checked result), meta.env (machine, versions, settings) and
# summary.md (tables). --out DIR names the directory instead (again with a suffix if DIR
# exists).
#
# Usage: benches/out_of_core.sh [--n N] [--chunk C] [--row-chunk R] [--data DIR]
#            [--threads T] [--memory-limit SIZE] [--timeout S] [--repeat K]
#            [--workloads LIST] [--tools LIST] [--cache warm|cold] [--no-drop-caches]
#            [--max-run-disk SIZE] [--check-band-mb MB] [--out DIR] [--bin PATH] [--skip-build]
# Defaults: --n 20000 (3.2 GB per input), --data /work/bench-data, --threads all cores,
#   --memory-limit 256MiB, --timeout 600 (per run), --repeat 1 (medians when > 1),
#   --workloads sum,mean0,std0,demean,xpxt,rpxt,rechunk, --tools brickwork,dask,cubed,
#   --cache warm (the run's input store is read once with cat before each run; `cold` drops
#   the page cache before each run instead, which needs root), --check-band-mb 128.
# Example (a small run, a few minutes; r + r.T is left out because at N=2000 its row chunks
#   are 10 x 2000 and dask and Cubed take minutes on them):
#   benches/out_of_core.sh --n 2000 --workloads sum,mean0,std0,demean,xpxt,rechunk --data /tmp/ooc-small
# --no-drop-caches: never write /proc/sys/vm/drop_caches (no cold bandwidth figure).
# --max-run-disk SIZE: disk guard. A run is stopped (status disk-limit) when the free space of
#   the data directory's filesystem drops by more than SIZE since the run started, or below
#   2 GB. Default 5 x 8N^2 bytes (16 GB at N=20000; Cubed's rechunk needs ~12 GB there, while
#   Cubed's r + r.T wrote 15 GB of intermediates in 180 s). Free space is read with df, so
#   other writers on the same filesystem count too.
# Only one run at a time per data directory (flock on DATA/.ooc-bench.lock).
# Environment equivalents (flags win): N, DATA_DIR, THREADS, MEMORY_LIMIT, TIMEOUT, REPEAT,
#   WORKLOADS, TOOLS, MAX_RUN_DISK, OUT_DIR, BRICKWORK_BIN (use this binary, skip the cargo build),
#   BENCH_HOST (host label), BENCH_NO_TIME=1 (peak RSS via getrusage instead of
#   /usr/bin/time; no CPU times), BRICKWORK_VENV (see scripts/pyenv.sh).
# Disk: 2 x 8N^2 bytes of inputs (6.4 GB at N=20000) plus, during a run, one output (8N^2)
# and the tool's intermediates (brickwork's and Cubed's rechunk stores, Cubed's work_dir),
# bounded by --max-run-disk. The data directory is kept for the next run; delete it by hand.
set -Eeuo pipefail
trap 'printf "out_of_core.sh: error: command failed (exit %d) at line %d: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

die() { printf 'out_of_core.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'out_of_core.sh: %s\n' "$*" >&2; }

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd -- "$repo"
source "$repo/benches/common.sh"
script_start=$EPOCHREALTIME
script_args="$*"

all_workloads="sum,mean0,std0,demean,xpxt,rpxt,rechunk"
all_tools="brickwork,dask,cubed,brickwork-buffered"
default_tools="brickwork,dask,cubed"
ncores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
n="${N:-20000}"
chunk=""
row_chunk=""
data="${DATA_DIR:-/work/bench-data}"
threads="${THREADS:-$ncores}"
mem="${MEMORY_LIMIT:-256MiB}"
run_timeout="${TIMEOUT:-600}"
repeat="${REPEAT:-1}"
workloads="${WORKLOADS:-$all_workloads}"
tools="${TOOLS:-$default_tools}"
cache=warm
drop_ok=1
max_run_disk="${MAX_RUN_DISK:-}"
band_mb=128
out_dir="${OUT_DIR:-}"
bin="${BRICKWORK_BIN:-}"
skip_build=0
[[ -n "$bin" ]] && skip_build=1

while [[ $# -gt 0 ]]; do
    case "$1" in
        --n) n="${2:?--n needs a value}"; shift 2 ;;
        --chunk) chunk="${2:?--chunk needs a value}"; shift 2 ;;
        --row-chunk) row_chunk="${2:?--row-chunk needs a value}"; shift 2 ;;
        --data) data="${2:?--data needs a value}"; shift 2 ;;
        --threads) threads="${2:?--threads needs a value}"; shift 2 ;;
        --memory-limit) mem="${2:?--memory-limit needs a value}"; shift 2 ;;
        --timeout) run_timeout="${2:?--timeout needs a value}"; shift 2 ;;
        --repeat) repeat="${2:?--repeat needs a value}"; shift 2 ;;
        --workloads) workloads="${2:?--workloads needs a value}"; shift 2 ;;
        --tools) tools="${2:?--tools needs a value}"; shift 2 ;;
        --cache) cache="${2:?--cache needs a value}"; shift 2 ;;
        --no-drop-caches) drop_ok=0; shift ;;
        --max-run-disk) max_run_disk="${2:?--max-run-disk needs a value}"; shift 2 ;;
        --check-band-mb) band_mb="${2:?--check-band-mb needs a value}"; shift 2 ;;
        --out) out_dir="${2:?--out needs a value}"; shift 2 ;;
        --bin) bin="${2:?--bin needs a value}"; skip_build=1; shift 2 ;;
        --skip-build) skip_build=1; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done

is_uint() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }
is_uint "$n" || die "--n must be a positive integer, got '$n'"
(( n >= 200 )) || die "--n must be at least 200 (chunks are N/20 and N/200), got $n"
[[ -n "$chunk" ]] || chunk=$(( n / 20 ))
[[ -n "$row_chunk" ]] || row_chunk=$(( n / 200 ))
is_uint "$chunk" || die "--chunk must be a positive integer, got '$chunk'"
is_uint "$row_chunk" || die "--row-chunk must be a positive integer, got '$row_chunk'"
is_uint "$threads" || die "--threads must be a positive integer, got '$threads'"
is_uint "$run_timeout" || die "--timeout must be a positive integer (seconds), got '$run_timeout'"
is_uint "$repeat" || die "--repeat must be a positive integer, got '$repeat'"
is_uint "$band_mb" || die "--check-band-mb must be a positive integer (MB), got '$band_mb'"
[[ "$cache" == warm || "$cache" == cold ]] || die "--cache must be warm or cold, got '$cache'"
IFS=, read -r -a workload_list <<< "$workloads"
IFS=, read -r -a tool_list <<< "$tools"
for w in "${workload_list[@]}"; do
    [[ ",$all_workloads," == *",$w,"* ]] || die "unknown workload '$w' (known: $all_workloads)"
done
for t in "${tool_list[@]}"; do
    [[ ",$all_tools," == *",$t,"* ]] || die "unknown tool '$t' (known: $all_tools)"
done

# SIZE -> bytes: 256MiB, 256MB, 2GiB, 1.5GB, 268435456 (K/M/G/T = powers of 1000, Ki/Mi/... of 1024).
to_bytes() { awk -v s="$1" 'BEGIN {
    if (match(s, /^[0-9]+(\.[0-9]+)?/) == 0) exit 1
    v = substr(s, 1, RLENGTH); u = toupper(substr(s, RLENGTH + 1)); sub(/^ +/, "", u)
    m["" ] = 1; m["B"] = 1
    m["K"] = 1e3; m["KB"] = 1e3; m["M"] = 1e6; m["MB"] = 1e6; m["G"] = 1e9; m["GB"] = 1e9; m["T"] = 1e12; m["TB"] = 1e12
    m["KI"] = 1024; m["KIB"] = 1024; m["MI"] = 1048576; m["MIB"] = 1048576
    m["GI"] = 1073741824; m["GIB"] = 1073741824; m["TI"] = 1099511627776; m["TIB"] = 1099511627776
    if (!(u in m)) exit 1
    printf "%.0f", v * m[u] }'; }
mem_bytes=$(to_bytes "$mem") || die "--memory-limit: cannot parse '$mem' (e.g. 256MiB, 1GB, 268435456)"
if [[ -n "$max_run_disk" ]]; then
    max_run_disk_bytes=$(to_bytes "$max_run_disk") || die "--max-run-disk: cannot parse '$max_run_disk' (e.g. 16GB)"
else
    max_run_disk_bytes=$(( 5 * 8 * n * n ))
    (( max_run_disk_bytes >= 1000000000 )) || max_run_disk_bytes=1000000000
fi
min_free_bytes=2000000000

# --- tools ----------------------------------------------------------------------------------
if [[ -z "$bin" ]]; then
    bin="$repo/target/release/brickwork"
    if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then bin="$CARGO_TARGET_DIR/release/brickwork"; fi
fi
if (( ! skip_build )); then
    command -v cargo >/dev/null 2>&1 || die "cargo not found (or pass --bin PATH)"
    log "building: cargo build --release --bin brickwork"
    cargo build --release --bin brickwork >&2 || die "cargo build failed"
fi
[[ -x "$bin" ]] || die "brickwork binary not found or not executable: $bin"
command -v timeout >/dev/null 2>&1 || die "timeout (coreutils) not found"

log "bootstrapping the Python peer venv (scripts/pyenv.sh)"
py=$("$repo/scripts/pyenv.sh" | tail -n 1) || die "scripts/pyenv.sh failed"
[[ -x "$py" ]] || die "scripts/pyenv.sh did not yield a python: '$py'"
peer="$repo/benches/peer"
for f in ooc_dask.py ooc_cubed.py ooc_check.py ooc_report.py; do
    [[ -f "$peer/$f" ]] || die "missing $peer/$f"
done
for t in "${tool_list[@]}"; do
    case "$t" in
        dask) "$py" -c 'import dask.array' 2>/dev/null || die "dask is not importable in $py" ;;
        cubed) "$py" -c 'import cubed' 2>/dev/null || die "cubed is not importable in $py (scripts/pyenv.sh installs it as optional)" ;;
    esac
done

use_time=0
if [[ "${BENCH_NO_TIME:-0}" != 1 ]] && [[ -x /usr/bin/time ]] && /usr/bin/time -v -o /dev/null true >/dev/null 2>&1; then
    use_time=1
    log "peak RSS via /usr/bin/time -v"
else
    log "/usr/bin/time -v unavailable; peak RSS via getrusage(RUSAGE_CHILDREN) in a python wrapper"
fi

can_drop=0
if (( drop_ok )) && [[ -w /proc/sys/vm/drop_caches ]] && { sync; echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null; then
    can_drop=1
fi
[[ "$cache" == cold ]] && (( ! can_drop )) && die "--cache cold needs a writable /proc/sys/vm/drop_caches (root)"
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
res="$work/results"
mkdir -p -- "$res"

# --- input data (cached) ------------------------------------------------------------------
mkdir -p -- "$data" || die "cannot create the data directory $data"
data=$(cd -- "$data" && pwd)
if command -v flock >/dev/null 2>&1; then
    exec 8>"$data/.ooc-bench.lock" || die "cannot open $data/.ooc-bench.lock"
    flock -n 8 || die "another out_of_core.sh run is using $data (lock $data/.ooc-bench.lock); wait for it or pass --data"
fi
x_store="$data/ooc-x-n$n-c$chunk.zarr"
r_store="$data/ooc-r-n$n-c$row_chunk.zarr"
nx=$(( (n + chunk - 1) / chunk ))
nr=$(( (n + row_chunk - 1) / row_chunk ))

chunk_files() { find "$1" -type f -path "$1/c/*" -print0 | sort -z; }
count_chunks() { find "$1" -type f -path "$1/c/*" | wc -l; }
store_bytes() { find "$1" -type f -path "$1/c/*" -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s }'; }
# Bytes of all files under a directory (apparent sizes, metadata included, directories not).
du_bytes() {
    if [[ -e "$1" ]]; then find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s }'
    else echo 0; fi
}
# A store is reused when its marker (written after a successful creation) matches and all
# its chunk files are there with the expected total size.
store_ok() {  # STORE MARKER_TEXT CHUNK_COUNT
    [[ -f "$1.ok" && "$(cat -- "$1.ok")" == "$2" && -f "$1/zarr.json" ]] || return 1
    [[ "$(count_chunks "$1")" -eq "$3" && "$(store_bytes "$1")" -eq $(( 8 * n * n )) ]]
}
need=$(( 8 * n * n ))
avail=$(( $(df -Pk -- "$data" | awk 'NR == 2 { print $4 }') * 1024 ))
x_mark="brickwork random(($n, $n), chunks=($chunk, $chunk), seed=0) codec=none"
r_mark="brickwork rechunk of $(basename -- "$x_store") to ($row_chunk, $n) codec=none"
if store_ok "$x_store" "$x_mark" $(( nx * nx )) && store_ok "$r_store" "$r_mark" "$nr"; then
    log "reusing inputs $x_store and $r_store"
else
    (( avail > 4 * need )) || log "WARNING: $(( avail / 1000000 )) MB free in $data; inputs + outputs need about $(( 5 * need / 1000000 )) MB"
    if ! store_ok "$x_store" "$x_mark" $(( nx * nx )); then
        log "creating $x_store (float64 ($n, $n), chunks ($chunk, $chunk), uncompressed)"
        rm -rf -- "$x_store" "$x_store.ok" "$r_store" "$r_store.ok"
        t0=$EPOCHREALTIME
        "$bin" eval "random(($n, $n), chunks=($chunk, $chunk), seed=0)" --output "$x_store" \
            --codec none --memory-limit "$mem" --threads "$threads" --quiet \
            || die "brickwork could not create $x_store"
        log "  took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
        printf '%s\n' "$x_mark" > "$x_store.ok"
    fi
    log "creating $r_store (rechunk to ($row_chunk, $n), uncompressed)"
    rm -rf -- "$r_store" "$r_store.ok"
    t0=$EPOCHREALTIME
    "$bin" rechunk "$x_store" "$r_store" --chunks "$row_chunk,$n" --codec none \
        --memory-limit "$mem" --threads "$threads" --quiet \
        || die "brickwork could not create $r_store"
    log "  took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
    printf '%s\n' "$r_mark" > "$r_store.ok"
    store_ok "$x_store" "$x_mark" $(( nx * nx )) || die "$x_store is incomplete after creation"
    store_ok "$r_store" "$r_mark" "$nr" || die "$r_store is incomplete after creation"
fi
x_bytes=$(store_bytes "$x_store")
r_bytes=$(store_bytes "$r_store")

# Leftovers of an interrupted earlier run.
rm -rf -- "$data"/ooc-out-* "$data"/ooc-work-*

# --- read bandwidth -------------------------------------------------------------------------
read_store() { chunk_files "$1" | xargs -0 cat > /dev/null; }
timed_read() {  # STORE -> seconds
    local t0=$EPOCHREALTIME
    read_store "$1"
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f", b - a }'
}
log "measuring sequential read bandwidth of $x_store ($x_bytes bytes, $(( nx * nx )) chunk files, one cat)"
bw_cold=""
if (( can_drop )); then
    drop_caches
    s=$(timed_read "$x_store")
    bw_cold=$(awk -v b="$x_bytes" -v s="$s" 'BEGIN { printf "%.0f", b / s }')
    log "  cold (page cache dropped): $s s, $(awk -v v="$bw_cold" 'BEGIN { printf "%.2f", v / 1e9 }') GB/s"
else
    log "  cold: not measured (cannot drop the page cache)"
fi
read_store "$x_store"  # warm-up
warm_times=()
for _ in 1 2 3; do warm_times+=("$(timed_read "$x_store")"); done
s=$(printf '%s\n' "${warm_times[@]}" | sort -g | sed -n 2p)
bw_warm=$(awk -v b="$x_bytes" -v s="$s" 'BEGIN { printf "%.0f", b / s }')
log "  warm (page cache, median of 3): $s s, $(awk -v v="$bw_warm" 'BEGIN { printf "%.2f", v / 1e9 }') GB/s"

# --- workloads ------------------------------------------------------------------------------
declare -A expr=(
    [sum]="x.sum()" [mean0]="x.mean(axis=0)" [std0]="x.std(axis=0)"
    [demean]="x - x.mean(axis=0)" [xpxt]="x + x.T" [rpxt]="r + r.T" [rechunk]="rechunk"
)
reads_r() { [[ "$1" == rpxt || "$1" == rechunk ]]; }
writes() { [[ "$1" == demean || "$1" == xpxt || "$1" == rpxt || "$1" == rechunk ]]; }

raw="$work/raw.csv"
# seconds: wall time of the whole process; compute_seconds: in-process (see the top);
# execute_seconds: the compute call alone; cpu_seconds: user + system CPU of the process;
# check: ok or MISMATCH against NumPy (empty when the run did not succeed).
# rss_anon_bytes, rss_file_bytes, rss_total_bytes: peaks of the process tree's RssAnon,
# RssFile and their sum, sampled from /proc every 20 ms (benches/peer/rss_sample.py).
echo "tool,workload,seconds,max_rss_bytes,bytes_written,status,note,run,compute_seconds,workdir_bytes,execute_seconds,cpu_seconds,check,rss_anon_bytes,rss_file_bytes,rss_total_bytes" > "$raw"
csv_field() { local v=${1//$'\n'/ }; v=${v//\"/\"\"}; printf '"%s"' "$v"; }

# measure TIME_FILE CMD...: runs CMD (stdin /dev/null, stdout/stderr to $work) under
# `timeout`; peak RSS and CPU times in TIME_FILE as /usr/bin/time -v writes them. Returns
# CMD's status.
measure() {
    local tf="$1"; shift
    if (( use_time )); then
        /usr/bin/time -v -o "$tf" timeout -k 10 "$run_timeout" "$@" </dev/null >"$work/stdout" 2>"$work/stderr"
    else
        "$py" -c '
import resource, subprocess, sys
rc = subprocess.run(sys.argv[2:]).returncode
with open(sys.argv[1], "w") as f:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    f.write("Maximum resident set size (kbytes): %d\n" % ru.ru_maxrss)
    f.write("User time (seconds): %.2f\nSystem time (seconds): %.2f\n" % (ru.ru_utime, ru.ru_stime))
sys.exit(rc if rc >= 0 else 128 - rc)
' "$tf" timeout -k 10 "$run_timeout" "$@" </dev/null >"$work/stdout" 2>"$work/stderr"
    fi
}

free_bytes() { df -Pk -- "$data" | awk 'NR == 2 { printf "%.0f", $4 * 1024 }'; }
descendants() {  # PID: all descendant pids
    local p
    for p in $(ps -o pid= --ppid "$1" 2>/dev/null || true); do echo "$p"; descendants "$p"; done
}
# Stops a measured run started as background job PID: TERM to its `timeout` process, which
# passes it on to the command's process group and KILLs it 10 s later if needed.
stop_run() {
    local p
    for p in $(descendants "$1"); do
        if [[ "$(ps -o comm= -p "$p" 2>/dev/null || true)" == timeout ]]; then kill -TERM "$p" 2>/dev/null || true; fi
    done
}

# brickwork's --stats JSON (last line of stderr starting with "{") -> "KEY VALUE" for KEYS.
stats_field() {  # KEY
    grep '^{' "$work/stderr" | tail -n 1 | "$py" -c '
import json, sys
text = sys.stdin.read().strip()
v = json.loads(text).get(sys.argv[1]) if text else None
print("" if v is None else v)' "$1" 2>/dev/null || true
}

# check_result TOOL WORKLOAD RUN PATH: compares one result with NumPy (ooc_check.py check),
# appends to checks.csv; a mismatch or a failed check is logged and remembered.
check_result() {
    local tool=$1 w=$2 run=$3 path=$4 t0=$EPOCHREALTIME rc=0 line
    line=$("$py" "$peer/ooc_check.py" check --workload "$w" --tool "$tool" --run "$run" \
        --x "$x_store" --refdir "$refdir" --result "$path" --csv "$checks" \
        --band-mb "$band_mb" 2>"$work/check.err") || rc=$?
    check_seconds=$(awk -v a="$check_seconds" -v t="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", a + b - t }')
    if (( rc == 0 )); then
        log "  $line"
        check_status=ok
    else
        check_status=MISMATCH
        cat -- "$work/check.err" >&2
        printf 'workload=%s tool=%s repeat=%s: %s\n' "$w" "$tool" "$run" \
            "$(grep -m1 'MISMATCH' "$work/check.err" | sed 's/.*repeat=[0-9]*: //' || echo "check failed (exit $rc)")" \
            >> "$failures"
        log "  MISMATCH: workload $w, tool $tool, repeat $run (see above)"
    fi
}

run_one() {  # TOOL WORKLOAD RUN
    local tool=$1 w=$2 run=$3
    local out="$data/ooc-out-$tool-$w.zarr" wd="$data/ooc-work-$tool"
    local result="$res/$tool-$w-$run"  # where a reduction's result is kept for the check
    rm -rf -- "$out" "$wd"
    local -a cmd
    case "$tool" in
        brickwork|brickwork-buffered)
            if [[ "$tool" == brickwork ]]; then cmd=(env -u BRICKWORK_NO_DIRECT_IO)
            else cmd=(env BRICKWORK_NO_DIRECT_IO=1); fi
            if [[ "$w" == rechunk ]]; then
                cmd+=("$bin" eval r --input "r=$r_store" --output "$out" --chunks "$n,$row_chunk" --stats)
            else
                cmd+=("$bin" eval "${expr[$w]}" --stats)
                if reads_r "$w"; then cmd+=(--input "r=$r_store"); else cmd+=(--input "x=$x_store"); fi
                if writes "$w"; then cmd+=(--output "$out"); fi
            fi
            if writes "$w"; then cmd+=(--codec none); fi
            cmd+=(--memory-limit "$mem" --threads "$threads" --quiet)
            ;;
        dask|cubed)
            cmd=("$py" "$peer/ooc_$tool.py" --workload "$w" --threads "$threads")
            if reads_r "$w"; then cmd+=(--r "$r_store"); else cmd+=(--x "$x_store"); fi
            if writes "$w"; then cmd+=(--output "$out"); fi
            if [[ "$w" == rechunk ]]; then cmd+=(--rechunk-chunks "$n,$row_chunk"); fi
            if [[ "$w" == mean0 || "$w" == std0 ]]; then cmd+=(--result-npy "$result.npy"); fi
            if [[ "$tool" == cubed ]]; then cmd+=(--work-dir "$wd" --allowed-mem "$mem_bytes"); fi
            ;;
    esac

    if [[ "$cache" == cold ]]; then
        drop_caches
    else
        if reads_r "$w"; then read_store "$r_store"; else read_store "$x_store"; fi
    fi
    log "$w [$run/$repeat] $tool: ${cmd[*]##*/}"
    rm -f -- "$work/end"
    local rc=0 t0=$EPOCHREALTIME t1 guard=0 free0 free
    free0=$(free_bytes)
    { local mrc=0; measure "$work/time.txt" "${cmd[@]}" || mrc=$?; echo "$EPOCHREALTIME $mrc" > "$work/end"; } &
    local mpid=$!
    rm -f -- "$work/rss.txt"
    "$py" "$peer/rss_sample.py" "$mpid" "$work/rss.txt" &
    local spid=$!
    while kill -0 "$mpid" 2>/dev/null; do
        free=$(free_bytes)
        if (( free0 - free > max_run_disk_bytes || free < min_free_bytes )); then
            guard=1
            log "  disk guard: free space went from $(( free0 / 1000000 )) MB to $(( free / 1000000 )) MB; stopping the run"
            stop_run "$mpid"
            break
        fi
        sleep 0.5
    done
    wait "$mpid" || true
    wait "$spid" || true
    local rss_anon="" rss_file="" rss_total=""
    if [[ -s "$work/rss.txt" ]]; then read -r rss_anon rss_file rss_total _ < "$work/rss.txt"; fi
    if [[ -f "$work/end" ]]; then read -r t1 rc < "$work/end"; else t1=$EPOCHREALTIME; rc=1; fi
    local seconds kb cpu
    seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    kb=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$work/time.txt" 2>/dev/null || true)
    [[ "$kb" =~ ^[0-9]+$ ]] || kb=0
    cpu=$(awk -F: '/User time \(seconds\)|System time \(seconds\)/ { s += $2; n++ } END { if (n == 2) printf "%.2f", s }' \
        "$work/time.txt" 2>/dev/null || true)

    local status=ok note="" compute="" execute=""
    check_status=""
    if (( guard )); then
        status=disk-limit
        note="stopped by the disk guard: free space dropped by more than $(( max_run_disk_bytes / 1000000 )) MB (--max-run-disk) or below $(( min_free_bytes / 1000000 )) MB"
    elif (( rc == 124 || rc == 137 )); then
        status=timeout
        note="exceeded --timeout ${run_timeout}s"
    elif (( rc != 0 )); then
        note=$(grep -v -E '^[[:space:]]*$' "$work/stderr" | tail -n 1 | cut -c1-400 || true)
        [[ -n "$note" ]] || note="exit status $rc"
        if grep -q -i -E 'memory limit|allowed_mem|exceeds.*mem|refus' <<< "$note"; then
            status=refused
        else
            status=failed
        fi
    fi
    if [[ "$status" == ok ]]; then
        if [[ "$tool" == brickwork* ]]; then
            compute=$(stats_field seconds)
            execute=$(stats_field execute_seconds)
            note="tasks=$(stats_field tasks) bytes_read=$(stats_field bytes_read) peak_reserved=$(stats_field peak_reserved_bytes)"
        else
            compute=$(sed -n 's/^seconds=//p' "$work/stdout" | tail -n 1)
            execute=$(sed -n 's/^compute_seconds=//p' "$work/stdout" | tail -n 1)
        fi
        case "$w" in
            sum)
                if [[ "$tool" == brickwork* ]]; then tail -n 1 "$work/stdout" > "$result.txt"
                else sed -n 's/^result=//p' "$work/stdout" > "$result.txt"; fi
                note="${note:+$note }result=$(cat "$result.txt")"
                check_result "$tool" "$w" "$run" "$result.txt"
                ;;
            mean0|std0)
                if [[ "$tool" == brickwork* ]]; then cp -- "$work/stdout" "$result.txt"; result="$result.txt"
                else result="$result.npy"; fi
                check_result "$tool" "$w" "$run" "$result"
                ;;
            *)
                check_result "$tool" "$w" "$run" "$out"
                ;;
        esac
    elif [[ "$tool" == brickwork* ]]; then
        printf 'workload=%s tool=%s repeat=%s: the run did not succeed (%s): %s\n' \
            "$w" "$tool" "$run" "$status" "$note" >> "$failures"
    fi
    local written=0 wbytes=""
    if writes "$w" && [[ -d "$out" ]]; then
        written=$(du_bytes "$out")
    fi
    if [[ "$tool" == cubed ]]; then
        # Cubed removes its work_dir context at exit; the peer reports its size before that.
        # After a failure or timeout, what is left on disk is measured instead.
        wbytes=$(sed -n 's/^workdir_bytes=//p' "$work/stdout" | tail -n 1)
        [[ "$wbytes" =~ ^[0-9]+$ ]] || wbytes=$(du_bytes "$wd")
    fi
    rm -rf -- "$out" "$wd"
    sync
    log "  -> $status, wall ${seconds} s, in-process ${compute:-?} s, peak RSS $(( kb / 1024 )) MiB (tree: anon $(( ${rss_anon:-0} / 1048576 )) + file $(( ${rss_file:-0} / 1048576 )) MiB, together $(( ${rss_total:-0} / 1048576 )) MiB), written $written B${wbytes:+, work_dir $wbytes B}${check_status:+, check $check_status}${note:+ ($note)}"
    printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$tool" "$w" "$seconds" "$(( kb * 1024 ))" "$written" \
        "$status" "$(csv_field "$note")" "$run" "$compute" "$wbytes" "$execute" "$cpu" "$check_status" \
        "$rss_anon" "$rss_file" "$rss_total" >> "$raw"
}

checks="$work/checks.csv"
failures="$work/failures.txt"
refdir="$work/ref"
check_seconds=0
: > "$failures"
echo "workload,tool,run,against,metric,value,tolerance,ok,detail" > "$checks"
inputs_checked=0
for w in "${workload_list[@]}"; do
    t0=$EPOCHREALTIME
    if reads_r "$w" && (( ! inputs_checked )); then
        log "checking that $r_store holds exactly the data of $x_store (NumPy, band by band)"
        "$py" "$peer/ooc_check.py" inputs --x "$x_store" --r "$r_store" --band-mb "$band_mb" >&2 \
            || die "the row-chunked input differs from the square-chunked one; delete $data and rerun"
        inputs_checked=1
    fi
    case "$w" in
        sum|mean0|std0)
            log "computing the NumPy reference of $w (streaming $x_store)"
            "$py" "$peer/ooc_check.py" reference --workload "$w" --x "$x_store" --refdir "$refdir" \
                --band-mb "$band_mb" || die "computing the NumPy reference of $w failed"
            ;;
    esac
    check_seconds=$(awk -v a="$check_seconds" -v t="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", a + b - t }')
    for ((run = 1; run <= repeat; run++)); do
        for tool in "${tool_list[@]}"; do
            run_one "$tool" "$w" "$run"
        done
    done
done

# --- output ------------------------------------------------------------------------------------
if [[ -z "$out_dir" ]]; then
    out_dir="$repo/benches/peer/runs/$(date +%F)-$(host_label)-ooc"
fi
requested_out=$out_dir
out_dir=$(new_run_dir "$out_dir") || die "cannot create $requested_out"
[[ "$out_dir" == "$requested_out" ]] || log "$requested_out exists; writing to $out_dir instead"
cp -- "$raw" "$out_dir/raw.csv"
cp -- "$checks" "$out_dir/checks.csv"
brickwork_env=$(env | grep -E '^BRICKWORK_NO_' | tr '\n' ' ' || true)
{
    machine_info "$data"
    echo "brickwork=$("$bin" --version 2>/dev/null || echo brickwork), git $(git_description "$repo"), $(rustc -V 2>/dev/null || echo 'rustc unknown')"
    echo "brickwork_env=${brickwork_env:-none}"
    echo "n=$n"
    echo "chunk=$chunk"
    echo "row_chunk=$row_chunk"
    echo "threads=$threads"
    echo "memory_limit=$mem"
    echo "memory_limit_bytes=$mem_bytes"
    echo "timeout=$run_timeout"
    echo "repeat=$repeat"
    echo "max_run_disk_bytes=$max_run_disk_bytes"
    echo "cache=$cache"
    echo "rss_via=$( ((use_time)) && echo '/usr/bin/time -v' || echo 'getrusage(RUSAGE_CHILDREN)')"
    echo "x_store=$x_store"
    echo "r_store=$r_store"
    echo "x_bytes=$x_bytes"
    echo "r_bytes=$r_bytes"
    echo "x_chunk_files=$(( nx * nx ))"
    echo "bw_warm=$bw_warm"
    echo "bw_cold=$bw_cold"
    echo "inputs_checked=$inputs_checked"
    echo "check_band_mb=$band_mb"
    echo "check_seconds=$check_seconds"
    echo "command=benches/out_of_core.sh $script_args"
    echo "elapsed=$(awk -v a="$script_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')"
} > "$out_dir/meta.env"
"$py" "$peer/ooc_report.py" "$out_dir/raw.csv" "$out_dir/checks.csv" "$out_dir/meta.env" "$out_dir/summary.md"
log "wrote $out_dir/raw.csv, checks.csv, meta.env and summary.md"

if [[ -s "$failures" ]]; then
    log "FAILED: $(wc -l < "$failures") result(s) did not match NumPy or brickwork runs did not succeed:"
    sed 's/^/    /' "$failures" >&2
    exit 1
fi
log "all $(( $(wc -l < "$checks") - 1 )) checked results match NumPy"
