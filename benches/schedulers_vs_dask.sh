#!/usr/bin/env bash
# brickwork's schedulers vs dask.distributed's (and dask's multiprocessing scheduler) on the
# dask tutorial workload, side by side in one run:
#
#     x = random((n, n), chunks=(c, c)); v = (x + x.T)[::2, n//2:].mean(axis=1); v.compute()
#
# Configurations (the dask tutorial's four cluster setups, then processes):
#   cluster-WxT   brickwork: --scheduler cluster --workers W --threads-per-worker T
#                 --memory-limit 2GB; dask: ONE distributed.Client(processes=False,
#                 n_workers=W, threads_per_worker=T, memory_limit="2GB") per process, created
#                 before the timed runs (its start is outside the timings), for
#                 (W, T) = (1, 2), (1, 4), (4, 1), (1, 1)
#   processes-N   brickwork: --scheduler processes --workers N; dask: compute(scheduler=
#                 "processes", num_workers=N), which starts a new pool of N spawned Python
#                 worker processes inside every compute() call (inside each timing)
# For each round and configuration, runs brickwork's release example
# (target/release/examples/tutorial) and benches/peer/tutorial_dask.py back to back, each
# with --repeat K in one process under `/usr/bin/time -v` (peak RSS) and `timeout`.
#
# Times: each run's own timer around building the graph and computing it (the `seconds=` of
# each output line), as in benches/tutorial_vs_dask.sh; dask also reports its compute() call
# alone. The ratio is dask / brickwork of the medians; the issue's target is >= 10 in every
# configuration. Peak RSS is of the whole process (cluster: workers are in the process); with
# processes, /usr/bin/time reports the largest single process of the tree, not their sum.
#
# A process that fails (non-zero exit, timeout, wrong number of result lines, or a line for
# another configuration than the one asked for) is recorded as failed in processes.csv and the
# summary, with the first line of its error; the script goes on with the other processes and
# exits 1 at the end.
#
# Correctness (benches/peer/tutorial_check.py; dask's random numbers differ from brickwork's,
# so each tool is compared with NumPy on its own x, never with the other tool):
#   every run, both tools   len(v) == ceil(n/2); |mean(v) - 1| within 8 sigma
#   every run, brickwork    first values and mean identical in every run, round and
#                           configuration (scheduler); the first 5 values equal NumPy's
#                           (relative 1e-12) from the elements of brickwork's x they depend
#                           on, written by the brickwork CLI with the same seed
#   every run, dask         the first 5 values equal NumPy's (relative 1e-12), computed in the
#                           dask process after the timing from the same dask x
#   once per configuration  at a small n (--check-n, chunks scaled alike), under that
#                           configuration's scheduler: brickwork's length, first values and
#                           mean against NumPy's v from all of its x (written by the CLI),
#                           dask's every element against NumPy's
# A mismatch is printed with engine, configuration, round and run; the script writes its
# results and then exits 1.
#
# Writes a new directory benches/peer/runs/<YYYY-MM-DD>-<host>-schedulers (or
# -schedulers-2, ... when it exists: earlier results are never overwritten) with
#   raw.csv        one row per timed run
#   processes.csv  one row per process: status (ok / failed), wall time, peak RSS, error
#   checks.csv     one row per check
#   meta.env       machine, versions, settings
#   summary.md     the tables
# --out DIR names the directory instead (again with a suffix if DIR exists).
#
# Usage: benches/schedulers_vs_dask.sh [--n N] [--chunk C] [--configs "CFG ..."] [--workers N]
#                                      [--memory-limit SIZE] [--repeat K] [--rounds R]
#                                      [--check-n N] [--timeout S] [--out DIR] [--bin PATH]
#                                      [--cli PATH] [--skip-build]
#   CFG: cluster:WxT, processes or processes:N (N defaults to --workers).
# Environment equivalents (flags win): N, CHUNK, CONFIGS, WORKERS, REPEAT, ROUNDS, OUT_DIR,
#   BENCH_NO_TIME=1 (measure RSS with getrusage instead of /usr/bin/time),
#   BRICKWORK_BIN (the tutorial example binary; skips the cargo build), BRICKWORK_CLI (the
#   brickwork binary, used to write brickwork's x for the checks), BENCH_HOST (host label),
#   BRICKWORK_VENV (see scripts/pyenv.sh).
# Defaults: n 10000, chunk 1000, configs "cluster:1x2 cluster:1x4 cluster:4x1 cluster:1x1
#   processes", workers = all cores, memory limit 2GB (per worker, cluster only), repeat 7,
#   rounds 1, check-n 1000, timeout 600 s per process. With --rounds R > 1 every
#   configuration's brickwork/dask pair is repeated R times (rounds outermost, so the rounds
#   interleave); medians are over all R*K runs and peak RSS is the maximum.
# Disk: the checks write at most 8 * check-n^2 bytes + 80 * n bytes to a temporary directory,
#   removed at exit.
# Example (a small run, about a minute): benches/schedulers_vs_dask.sh --n 2000 --chunk 200 --repeat 2
set -Eeuo pipefail
trap 'printf "schedulers_vs_dask.sh: error: command failed (exit %d) at line %d: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

die() { printf 'schedulers_vs_dask.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'schedulers_vs_dask.sh: %s\n' "$*" >&2; }

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd -- "$repo"
source "$repo/benches/common.sh"
script_args="$*"

ncores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
n="${N:-10000}"
chunk="${CHUNK:-1000}"
configs="${CONFIGS:-cluster:1x2 cluster:1x4 cluster:4x1 cluster:1x1 processes}"
workers="${WORKERS:-$ncores}"
memory_limit=2GB
repeat="${REPEAT:-7}"
rounds="${ROUNDS:-1}"
check_n=1000
timeout_s=600
out_dir="${OUT_DIR:-}"
bin="${BRICKWORK_BIN:-}"
cli="${BRICKWORK_CLI:-}"
skip_build=0
[[ -n "$bin" ]] && skip_build=1

while [[ $# -gt 0 ]]; do
    case "$1" in
        --n) n="${2:?--n needs a value}"; shift 2 ;;
        --chunk) chunk="${2:?--chunk needs a value}"; shift 2 ;;
        --configs) configs="${2:?--configs needs a value}"; shift 2 ;;
        --workers) workers="${2:?--workers needs a value}"; shift 2 ;;
        --memory-limit) memory_limit="${2:?--memory-limit needs a value}"; shift 2 ;;
        --repeat) repeat="${2:?--repeat needs a value}"; shift 2 ;;
        --rounds) rounds="${2:?--rounds needs a value}"; shift 2 ;;
        --check-n) check_n="${2:?--check-n needs a value}"; shift 2 ;;
        --timeout) timeout_s="${2:?--timeout needs a value}"; shift 2 ;;
        --out) out_dir="${2:?--out needs a value}"; shift 2 ;;
        --bin) bin="${2:?--bin needs a value}"; skip_build=1; shift 2 ;;
        --cli) cli="${2:?--cli needs a value}"; shift 2 ;;
        --skip-build) skip_build=1; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done

is_uint() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }
is_uint "$n" && (( n >= 20 )) || die "--n must be an integer >= 20, got '$n'"
is_uint "$chunk" || die "--chunk must be a positive integer, got '$chunk'"
is_uint "$workers" || die "--workers must be a positive integer, got '$workers'"
is_uint "$repeat" || die "--repeat must be a positive integer, got '$repeat'"
is_uint "$rounds" || die "--rounds must be a positive integer, got '$rounds'"
is_uint "$timeout_s" || die "--timeout must be a positive integer (seconds), got '$timeout_s'"
is_uint "$check_n" && (( check_n >= 20 )) || die "--check-n must be an integer >= 20, got '$check_n'"
[[ "$memory_limit" =~ ^[0-9]+(\.[0-9]+)?[A-Za-z]*$ ]] || die "bad --memory-limit '$memory_limit' (e.g. 2GB)"

# Configurations as labels: cluster-WxT, processes-N.
labels=()
for cfg in $configs; do
    if [[ "$cfg" =~ ^cluster:([1-9][0-9]*)x([1-9][0-9]*)$ ]]; then
        labels+=("cluster-${BASH_REMATCH[1]}x${BASH_REMATCH[2]}")
    elif [[ "$cfg" == processes ]]; then
        labels+=("processes-$workers")
    elif [[ "$cfg" =~ ^processes:([1-9][0-9]*)$ ]]; then
        labels+=("processes-${BASH_REMATCH[1]}")
    else
        die "bad config '$cfg' (expected cluster:WxT, processes or processes:N)"
    fi
done
(( ${#labels[@]} > 0 )) || die "no configurations"

# --- build brickwork's example and CLI ------------------------------------------------------
target="$repo/target"
[[ -n "${CARGO_TARGET_DIR:-}" ]] && target=$CARGO_TARGET_DIR
[[ -n "$bin" ]] || bin="$target/release/examples/tutorial"
[[ -n "$cli" ]] || cli="$target/release/brickwork"
if (( ! skip_build )); then
    command -v cargo >/dev/null 2>&1 || die "cargo not found (or pass --bin PATH --cli PATH)"
    log "building: cargo build --release --example tutorial --bin brickwork"
    cargo build --release --example tutorial --bin brickwork >&2 || die "cargo build failed"
fi
[[ -x "$bin" ]] || die "brickwork tutorial binary not found or not executable: $bin"
[[ -x "$cli" ]] || die "brickwork CLI not found or not executable: $cli (pass --cli PATH)"

# --- python peer env ----------------------------------------------------------------------
log "bootstrapping the Python peer venv (scripts/pyenv.sh)"
py=$("$repo/scripts/pyenv.sh" | tail -n 1) || die "scripts/pyenv.sh failed"
[[ -x "$py" ]] || die "scripts/pyenv.sh did not yield a python: '$py'"
"$py" -c 'import distributed' 2>/dev/null || die "distributed is not importable in $py (scripts/pyenv.sh installs it)"
peer="$repo/benches/peer"
for f in tutorial_dask.py tutorial_check.py schedulers_report.py; do
    [[ -f "$peer/$f" ]] || die "missing $peer/$f"
done
command -v timeout >/dev/null 2>&1 || die "timeout (coreutils) not found"

# --- peak RSS measurement -----------------------------------------------------------------
use_time=0
if [[ "${BENCH_NO_TIME:-0}" != 1 ]] && [[ -x /usr/bin/time ]] && /usr/bin/time -v -o /dev/null true >/dev/null 2>&1; then
    use_time=1
    log "peak RSS via /usr/bin/time -v"
else
    log "/usr/bin/time -v unavailable; peak RSS via getrusage(RUSAGE_CHILDREN) in a python wrapper"
fi

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

# measure OUT_FILE ERR_FILE CMD... : runs CMD under `timeout` with stdout to OUT_FILE and
# stderr to ERR_FILE; sets rc (its exit status, 124 on timeout), rss_mb (peak RSS, empty when
# unknown) and wall_s (wall time of the whole process, measured around it). Never fails.
measure() {
    local out="$1" err="$2"; shift 2
    local kb="" t0=$EPOCHREALTIME
    rc=0
    if (( use_time )); then
        /usr/bin/time -v -o "$work/time.txt" timeout -k 10 "$timeout_s" "$@" > "$out" 2> "$err" || rc=$?
        kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.txt" 2>/dev/null || true)
    else
        kb=$("$py" -c '
import resource, subprocess, sys
with open(sys.argv[1], "w") as f, open(sys.argv[2], "w") as e:
    rc = subprocess.run(sys.argv[3:], stdout=f, stderr=e).returncode
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(kb // 1024 if sys.platform == "darwin" else kb)
sys.exit(rc)
' "$out" "$err" timeout -k 10 "$timeout_s" "$@") || rc=$?
    fi
    wall_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f", b - a }')
    rss_mb=""
    [[ "$kb" =~ ^[0-9]+$ ]] && rss_mb=$(awk -v kb="$kb" 'BEGIN { printf "%.1f", kb / 1024 }')
    return 0
}

# value KEY LINE: the value of KEY=... in an output line.
value() { awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' <<< "$1"; }

# csv_text TEXT: one CSV field without commas, quotes or newlines.
csv_text() { printf '%s' "$1" | tr ',"\n\r' ";'  " | cut -c1-300; }

# expected LABEL: the scheduler, workers and threads fields an output line must carry.
expected() {
    case "$1" in
        cluster-*) local wt=${1#cluster-}; exp_scheduler=cluster; exp_workers=${wt%x*}; exp_threads=${wt#*x} ;;
        processes-*) exp_scheduler=processes; exp_workers=${1#processes-}; exp_threads=1 ;;
    esac
}

raw="$work/raw.csv"
processes="$work/processes.csv"
checks="$work/checks.csv"
echo "engine,n,chunk,config,scheduler,workers,threads,round,run,seconds,compute_only_seconds,len,peak_rss_mb,first,mean,ref_first_max_rel" > "$raw"
echo "engine,n,chunk,config,round,kind,status,exit_code,runs,wall_seconds,peak_rss_mb,error" > "$processes"
echo "engine,n,chunk,round,kind,run,check,value,tolerance,ok,detail" > "$checks"
mismatch=0
failures=()

# record ENGINE N CHUNK LABEL ROUND KIND WANT OUT ERR: checks the process's exit status and
# result lines; appends the process to processes.csv and, when it succeeded and KIND is
# timed, each of its runs to raw.csv. Returns 1 when the process failed (recorded as such).
record() {
    local engine=$1 rn=$2 rchunk=$3 label=$4 round=$5 kind=$6 want=$7 file=$8 errfile=$9
    local lines count line run=0 error="" compute_only
    lines=$(grep '^scheduler=' "$file" || true)
    count=$(grep -c '^scheduler=' <<< "$lines" || true)
    [[ -n "$lines" ]] || count=0
    expected "$label"
    if (( rc == 124 || rc == 137 )); then
        error="timed out after ${timeout_s} s"
    elif (( rc != 0 )); then
        # Rust (anyhow): the "Error: ..." line and the first line after "Caused by:" (not the
        # backtrace); otherwise (a Python traceback) the last line.
        local head cause
        head=$(grep -m 1 '^Error' "$errfile" || true)
        cause=$(awk '/^Caused by:/ { c = 1; next } c && NF { sub(/^[ \t]*/, ""); print; exit }' "$errfile" || true)
        [[ -n "$head" ]] || head=$(grep -v -e '^[[:space:]]*$' "$errfile" | tail -n 1 | sed 's/^[[:space:]]*//' || true)
        error="exit $rc: $head"
        [[ -n "$cause" ]] && error="$error (caused by: $cause)"
    elif (( count != want )); then
        error="printed $count result lines, expected $want"
    else
        while IFS= read -r line; do
            if [[ "$(value "$line" scheduler)" != "$exp_scheduler" || "$(value "$line" workers)" != "$exp_workers" \
                  || "$(value "$line" threads)" != "$exp_threads" ]]; then
                error="ran another configuration than $label: ${line%% seconds=*}"
                break
            fi
        done <<< "$lines"
    fi
    if [[ -n "$error" ]]; then
        printf '%s,%d,%d,%s,%s,%s,failed,%d,%d,%s,%s,%s\n' "$engine" "$rn" "$rchunk" "$label" "$round" "$kind" \
            "$rc" "$count" "$wall_s" "$rss_mb" "$(csv_text "$error")" >> "$processes"
        log "FAILED: $engine $label round $round ($kind): $error"
        awk '/^Stack backtrace:/ { exit } NR <= 12 { print "    stderr: " $0 }' "$errfile" >&2 || true
        failures+=("$engine $label round $round ($kind): $error")
        return 1
    fi
    printf '%s,%d,%d,%s,%s,%s,ok,0,%d,%s,%s,\n' "$engine" "$rn" "$rchunk" "$label" "$round" "$kind" \
        "$count" "$wall_s" "$rss_mb" >> "$processes"
    [[ "$kind" == timed ]] || return 0
    IFS=, read -r -a compute_only <<< "$(sed -n 's/^compute_only_seconds=//p' "$file")"
    while IFS= read -r line; do
        local first
        first=$(value "$line" first); first=${first//,/;}
        printf '%s,%d,%d,%s,%s,%s,%s,%s,%d,%s,%s,%s,%s,%s,%s,%s\n' "$engine" "$rn" "$rchunk" "$label" \
            "$(value "$line" scheduler)" "$(value "$line" workers)" "$(value "$line" threads)" "$round" \
            "$((run + 1))" "$(value "$line" seconds)" "${compute_only[$run]:-}" "$(value "$line" len)" \
            "$rss_mb" "$first" "$(value "$line" mean)" "$(value "$line" ref_first_max_rel)" >> "$raw"
        run=$(( run + 1 ))
    done <<< "$lines"
}

# The two commands, in the array `cmd`.
bw_cmd() {  # LABEL N CHUNK REPEAT
    local label=$1 cn=$2 cc=$3 k=$4
    expected "$label"
    if [[ "$exp_scheduler" == cluster ]]; then
        cmd=("$bin" --n "$cn" --chunk "$cc" --scheduler cluster --workers "$exp_workers"
             --threads-per-worker "$exp_threads" --memory-limit "$memory_limit" --seed 0 --repeat "$k")
    else
        cmd=("$bin" --n "$cn" --chunk "$cc" --scheduler processes --workers "$exp_workers" --seed 0 --repeat "$k")
    fi
}
dask_cmd() {  # LABEL N CHUNK REPEAT [EXTRA...]
    local label=$1 cn=$2 cc=$3 k=$4; shift 4
    expected "$label"
    if [[ "$exp_scheduler" == cluster ]]; then
        cmd=("$py" "$peer/tutorial_dask.py" --n "$cn" --chunk "$cc" --scheduler cluster --workers "$exp_workers"
             --threads-per-worker "$exp_threads" --memory-limit "$memory_limit" --repeat "$k" "$@")
    else
        cmd=("$py" "$peer/tutorial_dask.py" --n "$cn" --chunk "$cc" --scheduler processes
             --workers "$exp_workers" --repeat "$k" "$@")
    fi
}

# bw_ok LABEL: whether every timed brickwork process of LABEL succeeded so far.
declare -A failed_timed=()

for ((round = 1; round <= rounds; round++)); do
    for label in "${labels[@]}"; do
        log "n=$n chunk=$chunk $label round $round/$rounds: brickwork ($repeat runs in one process)"
        bw_cmd "$label" "$n" "$chunk" "$repeat"; measure "$work/bw.out" "$work/bw.err" "${cmd[@]}"
        record brickwork "$n" "$chunk" "$label" "$round" timed "$repeat" "$work/bw.out" "$work/bw.err" \
            || failed_timed[brickwork-$label]=1

        log "n=$n chunk=$chunk $label round $round/$rounds: dask ($repeat runs in one process)"
        dask_cmd "$label" "$n" "$chunk" "$repeat"; measure "$work/dask.out" "$work/dask.err" "${cmd[@]}"
        record dask "$n" "$chunk" "$label" "$round" timed "$repeat" "$work/dask.out" "$work/dask.err" \
            || failed_timed[dask-$label]=1
    done
done

# brickwork's first values at this size against NumPy, from the elements of brickwork's x
# they depend on (written by the CLI with the example's seed); the same values in every
# configuration are checked with every run below.
if grep -q '^brickwork,' "$raw"; then
    k=$(( (n + 1) / 2 < 5 ? (n + 1) / 2 : 5 ))
    half=$(( n / 2 ))
    log "n=$n chunk=$chunk: checking brickwork's first $k values against NumPy"
    "$cli" eval "x = random(($n, $n), chunks=($chunk, $chunk), seed=0); x[0:$(( 2 * k )):2, $half:]" \
        --output "$work/a.zarr" --codec none --quiet || die "the brickwork CLI could not write x[0:$(( 2 * k )):2, $half:]"
    "$cli" eval "x = random(($n, $n), chunks=($chunk, $chunk), seed=0); x[$half:, 0:$(( 2 * k )):2]" \
        --output "$work/b.zarr" --codec none --quiet || die "the brickwork CLI could not write x[$half:, 0:$(( 2 * k )):2]"
    "$py" "$peer/tutorial_check.py" first --raw "$raw" --n "$n" --chunk "$chunk" \
        --a "$work/a.zarr" --b "$work/b.zarr" --csv "$checks" >&2 || mismatch=1
    rm -rf -- "$work/a.zarr" "$work/b.zarr"
fi

# All of v at a small n, chunks scaled alike, under every configuration's scheduler
# (skipped for an engine and configuration whose timed process failed: already recorded).
cn=$(( check_n < n ? check_n : n ))
cc=$(( chunk * cn / n )); (( cc >= 1 )) || cc=1
"$cli" eval "random(($cn, $cn), chunks=($cc, $cc), seed=0)" --output "$work/x.zarr" --codec none --quiet \
    || die "the brickwork CLI could not write x at n=$cn"
for label in "${labels[@]}"; do
    log "n=$cn chunk=$cc $label: checking all of v against NumPy (brickwork: x written by the CLI; dask: in its process)"
    if [[ -n "${failed_timed[brickwork-$label]:-}" ]]; then
        log "    brickwork $label: skipped (its timed runs failed)"
    else
        bw_cmd "$label" "$cn" "$cc" 1; measure "$work/bwfull.out" "$work/bwfull.err" "${cmd[@]}"
        if record brickwork "$cn" "$cc" "$label" - full-check 1 "$work/bwfull.out" "$work/bwfull.err"; then
            "$py" "$peer/tutorial_check.py" full --engine brickwork --n "$cn" --chunk "$cc" --x "$work/x.zarr" \
                --line "$work/bwfull.out" --kind "full-check $label" --csv "$checks" >&2 || mismatch=1
        fi
    fi
    if [[ -n "${failed_timed[dask-$label]:-}" ]]; then
        log "    dask $label: skipped (its timed runs failed)"
    else
        dask_cmd "$label" "$cn" "$cc" 1 --check-full; measure "$work/daskfull.out" "$work/daskfull.err" "${cmd[@]}"
        if record dask "$cn" "$cc" "$label" - full-check 1 "$work/daskfull.out" "$work/daskfull.err"; then
            "$py" "$peer/tutorial_check.py" full --engine dask --n "$cn" --chunk "$cc" \
                --line "$work/daskfull.out" --kind "full-check $label" --csv "$checks" >&2 || mismatch=1
        fi
    fi
done
rm -rf -- "$work/x.zarr"
if [[ $(wc -l < "$raw") -gt 1 ]]; then
    log "checking every timed run (length, mean, brickwork's same values everywhere, dask's first values against NumPy)"
    "$py" "$peer/tutorial_check.py" runs --raw "$raw" --csv "$checks" >&2 || mismatch=1
fi

# --- output folder --------------------------------------------------------------------------
[[ -n "$out_dir" ]] || out_dir="$repo/benches/peer/runs/$(date +%F)-$(host_label)-schedulers"
requested_out=$out_dir
out_dir=$(new_run_dir "$out_dir") || die "cannot create $requested_out"
[[ "$out_dir" == "$requested_out" ]] || log "$requested_out exists; writing to $out_dir instead"
cp -- "$raw" "$processes" "$checks" "$out_dir/"
{
    machine_info
    echo "brickwork=git $(git_description "$repo"), $(rustc -V 2>/dev/null || echo 'rustc unknown')"
    echo "n=$n"
    echo "chunk=$chunk"
    echo "configs=${labels[*]}"
    echo "memory_limit=$memory_limit"
    echo "repeat=$repeat"
    echo "rounds=$rounds"
    echo "check_n=$check_n"
    echo "timeout_s=$timeout_s"
    echo "rss_via=$( ((use_time)) && echo '/usr/bin/time -v' || echo 'getrusage(RUSAGE_CHILDREN)')"
    echo "command=benches/schedulers_vs_dask.sh $script_args"
} > "$out_dir/meta.env"
"$py" "$peer/schedulers_report.py" "$out_dir"
log "wrote $out_dir/{raw.csv,processes.csv,checks.csv,meta.env,summary.md}"
status=0
if (( ${#failures[@]} )); then
    log "FAILED: ${#failures[@]} process(es) failed (processes.csv, summary.md):"
    printf '    %s\n' "${failures[@]}" >&2
    status=1
fi
if (( mismatch )); then
    log "FAILED: some results did not pass their checks (MISMATCH lines above, checks.csv)"
    status=1
fi
(( status == 0 )) && log "all $(( $(wc -l < "$checks") - 1 )) checks passed, no process failed"
exit "$status"
