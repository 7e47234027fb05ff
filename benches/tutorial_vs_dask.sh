#!/usr/bin/env bash
# brickwork vs dask.array on the dask tutorial workload:
#
#     x = random((n, n), chunks=(c, c)); v = (x + x.T)[::2, n//2:].mean(axis=1); v.compute()
#
# For each config and round, runs brickwork's release example (target/release/examples/tutorial)
# and benches/peer/tutorial_dask.py back to back, each with --repeat K in one process under
# `/usr/bin/time -v` (peak RSS), then each once more in a fresh process with --repeat 1.
#
# Times:
#   in-process   each run's own timer: building the graph and computing it (the `seconds=`
#                of each output line); dask also reports its compute() call alone;
#   process wall the wall time of the whole process measured around it: for the one-run
#                process, startup (for dask: the Python interpreter and imports) + one run +
#                exit; this is the figure reported. The K-run process's wall (processes.csv)
#                also holds dask's NumPy checks after each run.
#
# Correctness (benches/peer/tutorial_check.py; dask's random numbers differ from brickwork's,
# so each tool is compared with NumPy on its own x, never with the other tool):
#   every run, both tools   len(v) == ceil(n/2); |mean(v) - 1| within 8 sigma of its
#                           sampling distribution (the `mean=` field, see tutorial_check.py)
#   every run, brickwork    first values and mean identical in every run and round;
#                           the first 5 values equal NumPy's (relative 1e-12), computed from
#                           the elements of brickwork's x they depend on, written by the
#                           brickwork CLI with the same seed (random(..., seed=0))
#   every run, dask         the first 5 values equal NumPy's (relative 1e-12), computed in the
#                           dask process after the timing from the same dask x (K-run
#                           processes; the one-run process skips it, see below)
#   once per config         at a small n (--check-n, chunks scaled alike), all of v: brickwork's
#                           length, first values and mean against NumPy's v from all of x
#                           (written by the CLI), dask's every element against NumPy's
# A mismatch is printed with engine, config, round and run; the script writes its results and
# then exits 1.
#
# Writes a new directory benches/peer/runs/<YYYY-MM-DD>-<host>-tutorial (or -tutorial-2, ...
# when it exists: earlier results are never overwritten) with
#   raw.csv        one row per timed run (K-run processes)
#   processes.csv  one row per process: wall time, peak RSS, runs in it
#   checks.csv     one row per check
#   meta.env       machine, versions, settings
#   summary.md     the tables
# --out DIR names the directory instead (again with a suffix if DIR exists).
#
# Usage: benches/tutorial_vs_dask.sh [--configs "N:C N:C ..."] [--threads T] [--repeat K]
#                                    [--rounds R] [--check-n N] [--out DIR] [--bin PATH]
#                                    [--cli PATH] [--skip-build]
# Environment equivalents (flags win): CONFIGS, THREADS, REPEAT, ROUNDS, OUT_DIR,
#   BENCH_NO_TIME=1 (measure RSS with getrusage instead of /usr/bin/time),
#   BRICKWORK_BIN (the tutorial example binary; skips the cargo build), BRICKWORK_CLI (the
#   brickwork binary, used to write brickwork's x for the checks), BENCH_HOST (host label),
#   BRICKWORK_VENV (see scripts/pyenv.sh).
# Defaults: configs "10000:1000 10000:250", threads = all cores, repeat 7, rounds 1,
#   check-n 1000. With --rounds R > 1 the brickwork/dask pair is repeated R times
#   (interleaved); medians are over all R*K runs and peak RSS is the maximum.
# Disk: the checks write at most 8 * check-n^2 bytes + 80 * n bytes to a temporary directory,
#   removed at exit.
# Example (a small run, seconds): benches/tutorial_vs_dask.sh --configs 2000:200 --repeat 2
set -Eeuo pipefail
trap 'printf "tutorial_vs_dask.sh: error: command failed (exit %d) at line %d: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

die() { printf 'tutorial_vs_dask.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'tutorial_vs_dask.sh: %s\n' "$*" >&2; }

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd -- "$repo"
source "$repo/benches/common.sh"
script_args="$*"

ncores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
configs="${CONFIGS:-10000:1000 10000:250}"
threads="${THREADS:-$ncores}"
repeat="${REPEAT:-7}"
rounds="${ROUNDS:-1}"
check_n=1000
out_dir="${OUT_DIR:-}"
bin="${BRICKWORK_BIN:-}"
cli="${BRICKWORK_CLI:-}"
skip_build=0
[[ -n "$bin" ]] && skip_build=1

while [[ $# -gt 0 ]]; do
    case "$1" in
        --configs) configs="${2:?--configs needs a value}"; shift 2 ;;
        --threads) threads="${2:?--threads needs a value}"; shift 2 ;;
        --repeat) repeat="${2:?--repeat needs a value}"; shift 2 ;;
        --rounds) rounds="${2:?--rounds needs a value}"; shift 2 ;;
        --check-n) check_n="${2:?--check-n needs a value}"; shift 2 ;;
        --out) out_dir="${2:?--out needs a value}"; shift 2 ;;
        --bin) bin="${2:?--bin needs a value}"; skip_build=1; shift 2 ;;
        --cli) cli="${2:?--cli needs a value}"; shift 2 ;;
        --skip-build) skip_build=1; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done

is_uint() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }
is_uint "$threads" || die "--threads must be a positive integer, got '$threads'"
is_uint "$repeat" || die "--repeat must be a positive integer, got '$repeat'"
is_uint "$rounds" || die "--rounds must be a positive integer, got '$rounds'"
is_uint "$check_n" && (( check_n >= 20 )) || die "--check-n must be an integer >= 20, got '$check_n'"
for cfg in $configs; do
    [[ "$cfg" =~ ^[0-9]+:[0-9]+$ ]] || die "bad config '$cfg' (expected N:CHUNK, e.g. 10000:1000)"
    (( ${cfg%%:*} >= 20 && ${cfg##*:} >= 1 )) || die "bad config '$cfg' (N must be at least 20)"
done

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
peer="$repo/benches/peer"
for f in tutorial_dask.py tutorial_check.py tutorial_report.py; do
    [[ -f "$peer/$f" ]] || die "missing $peer/$f"
done

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

# measure OUT_FILE CMD... : runs CMD with stdout to OUT_FILE (stderr passes through); sets
# rss_mb (peak RSS) and wall_s (wall time of the whole process, measured around it).
measure() {
    local out="$1"; shift
    local kb t0=$EPOCHREALTIME
    if (( use_time )); then
        if ! /usr/bin/time -v -o "$work/time.txt" "$@" > "$out"; then
            tail -n 20 "$out" >&2 || true
            cat "$work/time.txt" >&2 || true
            die "command failed: $*"
        fi
        kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.txt")
    else
        kb=$("$py" -c '
import resource, subprocess, sys
with open(sys.argv[1], "w") as f:
    rc = subprocess.run(sys.argv[2:], stdout=f).returncode
if rc != 0:
    sys.exit(rc)
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(kb // 1024 if sys.platform == "darwin" else kb)
' "$out" "$@") || { tail -n 20 "$out" >&2 || true; die "command failed: $*"; }
    fi
    wall_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f", b - a }')
    [[ "$kb" =~ ^[0-9]+$ ]] || die "could not read peak RSS for: $*"
    rss_mb=$(awk -v kb="$kb" 'BEGIN { printf "%.1f", kb / 1024 }')
}

# value KEY LINE: the value of KEY=... in an output line.
value() { awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' <<< "$1"; }

# record ENGINE N CHUNK ROUND KIND OUT_FILE: appends the process to processes.csv and each of
# its runs to raw.csv (KIND: repeat for the K-run process, one-run for the fresh process).
record() {
    local engine=$1 n=$2 chunk=$3 round=$4 kind=$5 file=$6
    local lines count run=0 line in_process=0 compute_only
    lines=$(grep '^scheduler=' "$file" || true)
    count=$(grep -c '^scheduler=' <<< "$lines" || true)
    local want=$repeat
    [[ "$kind" == one-run ]] && want=1
    [[ "$count" -eq "$want" ]] || { cat "$file" >&2; die "$engine printed $count result lines, expected $want"; }
    IFS=, read -r -a compute_only <<< "$(sed -n 's/^compute_only_seconds=//p' "$file")"
    while IFS= read -r line; do
        in_process=$(awk -v a="$in_process" -v b="$(value "$line" seconds)" 'BEGIN { printf "%.4f", a + b }')
        local first
        first=$(value "$line" first); first=${first//,/;}
        printf '%s,%d,%d,%s,%s,%d,%s,%d,%s,%s,%s,%s,%s,%s,%s\n' "$engine" "$n" "$chunk" \
            "$(value "$line" scheduler)" "$(value "$line" threads)" "$round" "$kind" "$((run + 1))" \
            "$(value "$line" seconds)" "${compute_only[$run]:-}" "$(value "$line" len)" "$rss_mb" \
            "$first" "$(value "$line" mean)" "$(value "$line" ref_first_max_rel)" >> "$raw"
        run=$(( run + 1 ))
    done <<< "$lines"
    printf '%s,%d,%d,%d,%s,%d,%s,%s,%s\n' "$engine" "$n" "$chunk" "$round" "$kind" "$count" \
        "$wall_s" "$in_process" "$rss_mb" >> "$processes"
}

raw="$work/raw.csv"
processes="$work/processes.csv"
checks="$work/checks.csv"
echo "engine,n,chunk,scheduler,threads,round,kind,run,seconds,compute_only_seconds,len,peak_rss_mb,first,mean,ref_first_max_rel" > "$raw"
echo "engine,n,chunk,round,kind,runs,wall_seconds,in_process_seconds,peak_rss_mb" > "$processes"
echo "engine,n,chunk,round,kind,run,check,value,tolerance,ok,detail" > "$checks"
mismatch=0

# The two commands, in the array `cmd`.
bw_cmd() {  # N CHUNK REPEAT
    cmd=("$bin" --n "$1" --chunk "$2" --scheduler threads --threads "$threads" --seed 0 --repeat "$3")
}
dask_cmd() {  # N CHUNK REPEAT [EXTRA...]
    local n=$1 chunk=$2 k=$3; shift 3
    cmd=("$py" "$peer/tutorial_dask.py" --n "$n" --chunk "$chunk" --scheduler threads --threads "$threads"
         --repeat "$k" "$@")
}

for cfg in $configs; do
    n=${cfg%%:*}; chunk=${cfg##*:}
    for ((round = 1; round <= rounds; round++)); do
        log "n=$n chunk=$chunk threads=$threads round $round/$rounds: brickwork ($repeat runs in one process)"
        bw_cmd "$n" "$chunk" "$repeat"; measure "$work/bw.out" "${cmd[@]}"
        grep -v '^scheduler=' "$work/bw.out" | sed 's/^/    brickwork: /' >&2 || true
        record brickwork "$n" "$chunk" "$round" repeat "$work/bw.out"

        log "n=$n chunk=$chunk threads=$threads round $round/$rounds: dask ($repeat runs in one process)"
        dask_cmd "$n" "$chunk" "$repeat"; measure "$work/dask.out" "${cmd[@]}"
        record dask "$n" "$chunk" "$round" repeat "$work/dask.out"

        # The fresh-process runs are what the process wall time is about: dask skips its NumPy
        # check there (it runs inside the process, after the timing, but before exit).
        log "n=$n chunk=$chunk round $round/$rounds: one run in a fresh process, brickwork then dask"
        bw_cmd "$n" "$chunk" 1; measure "$work/bw1.out" "${cmd[@]}"
        record brickwork "$n" "$chunk" "$round" one-run "$work/bw1.out"
        dask_cmd "$n" "$chunk" 1 --no-check; measure "$work/dask1.out" "${cmd[@]}"
        record dask "$n" "$chunk" "$round" one-run "$work/dask1.out"
    done

    # brickwork's first values at this size against NumPy, from the elements of brickwork's x
    # they depend on (written by the CLI with the example's seed).
    k=$(( (n + 1) / 2 < 5 ? (n + 1) / 2 : 5 ))
    half=$(( n / 2 ))
    log "n=$n chunk=$chunk: checking brickwork's first $k values against NumPy"
    rm -rf -- "$work/a.zarr" "$work/b.zarr"
    "$cli" eval "x = random(($n, $n), chunks=($chunk, $chunk), seed=0); x[0:$(( 2 * k )):2, $half:]" \
        --output "$work/a.zarr" --codec none --quiet || die "the brickwork CLI could not write x[0:$(( 2 * k )):2, $half:]"
    "$cli" eval "x = random(($n, $n), chunks=($chunk, $chunk), seed=0); x[$half:, 0:$(( 2 * k )):2]" \
        --output "$work/b.zarr" --codec none --quiet || die "the brickwork CLI could not write x[$half:, 0:$(( 2 * k )):2]"
    "$py" "$peer/tutorial_check.py" first --raw "$raw" --n "$n" --chunk "$chunk" \
        --a "$work/a.zarr" --b "$work/b.zarr" --csv "$checks" >&2 || mismatch=1
    rm -rf -- "$work/a.zarr" "$work/b.zarr"

    # All of v at a small n, chunks scaled alike.
    cn=$(( check_n < n ? check_n : n ))
    cc=$(( chunk * cn / n )); (( cc >= 1 )) || cc=1
    log "n=$cn chunk=$cc: checking all of v against NumPy (brickwork: x written by the CLI; dask: in its process)"
    bw_cmd "$cn" "$cc" 1; measure "$work/bwfull.out" "${cmd[@]}"
    "$cli" eval "random(($cn, $cn), chunks=($cc, $cc), seed=0)" --output "$work/x.zarr" --codec none --quiet \
        || die "the brickwork CLI could not write x at n=$cn"
    "$py" "$peer/tutorial_check.py" full --engine brickwork --n "$cn" --chunk "$cc" --x "$work/x.zarr" \
        --line "$work/bwfull.out" --csv "$checks" >&2 || mismatch=1
    rm -rf -- "$work/x.zarr"
    dask_cmd "$cn" "$cc" 1 --check-full; measure "$work/daskfull.out" "${cmd[@]}"
    "$py" "$peer/tutorial_check.py" full --engine dask --n "$cn" --chunk "$cc" \
        --line "$work/daskfull.out" --csv "$checks" >&2 || mismatch=1
done
log "checking every timed run (length, mean, determinism, dask's first values against NumPy)"
"$py" "$peer/tutorial_check.py" runs --raw "$raw" --csv "$checks" >&2 || mismatch=1

# --- output folder --------------------------------------------------------------------------
[[ -n "$out_dir" ]] || out_dir="$repo/benches/peer/runs/$(date +%F)-$(host_label)-tutorial"
requested_out=$out_dir
out_dir=$(new_run_dir "$out_dir") || die "cannot create $requested_out"
[[ "$out_dir" == "$requested_out" ]] || log "$requested_out exists; writing to $out_dir instead"
cp -- "$raw" "$processes" "$checks" "$out_dir/"
{
    machine_info
    echo "brickwork=git $(git_description "$repo"), $(rustc -V 2>/dev/null || echo 'rustc unknown')"
    echo "threads=$threads"
    echo "repeat=$repeat"
    echo "rounds=$rounds"
    echo "check_n=$check_n"
    echo "rss_via=$( ((use_time)) && echo '/usr/bin/time -v' || echo 'getrusage(RUSAGE_CHILDREN)')"
    echo "command=benches/tutorial_vs_dask.sh $script_args"
} > "$out_dir/meta.env"
"$py" "$peer/tutorial_report.py" "$out_dir"
log "wrote $out_dir/{raw.csv,processes.csv,checks.csv,meta.env,summary.md}"
if (( mismatch )); then
    log "FAILED: some results did not pass their checks (MISMATCH lines above, checks.csv)"
    exit 1
fi
log "all $(( $(wc -l < "$checks") - 1 )) checks passed"
