#!/usr/bin/env bash
# brickwork vs dask.array on the dask tutorial workload:
#
#     x = random((n, n), chunks=(c, c)); v = (x + x.T)[::2, n//2:].mean(axis=1); v.compute()
#
# For each config, runs brickwork's release example (target/release/examples/tutorial) and
# benches/peer/tutorial_dask.py back to back, each with --repeat K in one process, under
# `/usr/bin/time -v` for peak RSS. Prints a markdown table of medians and writes
#   benches/peer/runs/<YYYY-MM-DD>-<host>/raw.csv     one row per timed run
#   benches/peer/runs/<YYYY-MM-DD>-<host>/summary.md  the table + machine/version info
#
# Usage: benches/tutorial_vs_dask.sh [--configs "N:C N:C ..."] [--threads T] [--repeat K]
#                                    [--rounds R] [--out DIR] [--bin PATH] [--skip-build]
# Environment equivalents (flags win): CONFIGS, THREADS, REPEAT, ROUNDS, OUT_DIR,
#   BENCH_NO_TIME=1 (measure RSS with getrusage instead of /usr/bin/time),
#   BRICKWORK_BIN (use this binary, skip the cargo build), BENCH_HOST (host label),
#   BRICKWORK_VENV (see scripts/pyenv.sh).
# Defaults: configs "10000:1000 10000:250", threads = all cores, repeat 7, rounds 1.
# With --rounds R > 1 the brickwork/dask pair is repeated R times (interleaved); medians
# are over all R*K runs and peak RSS is the maximum.
set -Eeuo pipefail
trap 'printf "tutorial_vs_dask.sh: error: command failed (exit %d) at line %d: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

die() { printf 'tutorial_vs_dask.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'tutorial_vs_dask.sh: %s\n' "$*" >&2; }

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd -- "$repo"

ncores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
configs="${CONFIGS:-10000:1000 10000:250}"
threads="${THREADS:-$ncores}"
repeat="${REPEAT:-7}"
rounds="${ROUNDS:-1}"
out_dir="${OUT_DIR:-}"
bin="${BRICKWORK_BIN:-}"
skip_build=0
[[ -n "$bin" ]] && skip_build=1

while [[ $# -gt 0 ]]; do
    case "$1" in
        --configs) configs="${2:?--configs needs a value}"; shift 2 ;;
        --threads) threads="${2:?--threads needs a value}"; shift 2 ;;
        --repeat) repeat="${2:?--repeat needs a value}"; shift 2 ;;
        --rounds) rounds="${2:?--rounds needs a value}"; shift 2 ;;
        --out) out_dir="${2:?--out needs a value}"; shift 2 ;;
        --bin) bin="${2:?--bin needs a value}"; skip_build=1; shift 2 ;;
        --skip-build) skip_build=1; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done

is_uint() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }
is_uint "$threads" || die "--threads must be a positive integer, got '$threads'"
is_uint "$repeat" || die "--repeat must be a positive integer, got '$repeat'"
is_uint "$rounds" || die "--rounds must be a positive integer, got '$rounds'"
for cfg in $configs; do
    [[ "$cfg" =~ ^[0-9]+:[0-9]+$ ]] || die "bad config '$cfg' (expected N:CHUNK, e.g. 10000:1000)"
done

# --- build brickwork's example ------------------------------------------------------------
if [[ -z "$bin" ]]; then
    bin="$repo/target/release/examples/tutorial"
    if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then bin="$CARGO_TARGET_DIR/release/examples/tutorial"; fi
fi
if (( ! skip_build )); then
    command -v cargo >/dev/null 2>&1 || die "cargo not found (or pass --bin PATH)"
    log "building: cargo build --release --example tutorial"
    cargo build --release --example tutorial >&2 || die "cargo build failed"
fi
[[ -x "$bin" ]] || die "brickwork tutorial binary not found or not executable: $bin"

# --- python peer env ----------------------------------------------------------------------
log "bootstrapping the Python peer venv (scripts/pyenv.sh)"
py=$("$repo/scripts/pyenv.sh" | tail -n 1) || die "scripts/pyenv.sh failed"
[[ -x "$py" ]] || die "scripts/pyenv.sh did not yield a python: '$py'"
dask_script="$repo/benches/peer/tutorial_dask.py"
[[ -f "$dask_script" ]] || die "missing $dask_script"

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

# measure OUT_FILE CMD... : runs CMD with stdout to OUT_FILE (stderr passes through);
# echoes the peak RSS in MB on stdout.
measure() {
    local out="$1"; shift
    local kb
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
    [[ "$kb" =~ ^[0-9]+$ ]] || die "could not read peak RSS for: $*"
    awk -v kb="$kb" 'BEGIN { printf "%.1f", kb / 1024 }'
}

# parse_runs ENGINE N CHUNK ROUND RSS_MB OUT_FILE [COMPUTE_ONLY_CSV]: appends CSV rows.
parse_runs() {
    local engine=$1 n=$2 chunk=$3 round=$4 rss=$5 file=$6 compute_only=${7:-}
    local count
    count=$(grep -c '^scheduler=' "$file" || true)
    [[ "$count" -eq "$repeat" ]] || { cat "$file" >&2; die "$engine printed $count result lines, expected $repeat"; }
    awk -v engine="$engine" -v n="$n" -v chunk="$chunk" -v round="$round" -v rss="$rss" \
        -v co="$compute_only" '
        BEGIN { split(co, conly, ",") }
        /^scheduler=/ {
            run++
            delete kv
            for (i = 1; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
            first = kv["first"]; gsub(/,/, ";", first)
            printf "%s,%d,%d,%s,%s,%d,%d,%s,%s,%s,%s,%s\n", engine, n, chunk, kv["scheduler"], kv["threads"],
                round, run, kv["seconds"], (run in conly ? conly[run] : ""), kv["len"], rss, first
        }' "$file" >> "$raw_tmp"
}

raw_tmp="$work/raw.csv"
echo "engine,n,chunk,scheduler,threads,round,run,seconds,compute_only_seconds,len,peak_rss_mb,first" > "$raw_tmp"

for cfg in $configs; do
    n=${cfg%%:*}; chunk=${cfg##*:}
    for ((round = 1; round <= rounds; round++)); do
        log "n=$n chunk=$chunk threads=$threads round $round/$rounds: brickwork ($repeat runs)"
        rss=$(measure "$work/bw.out" "$bin" --n "$n" --chunk "$chunk" --scheduler threads \
            --threads "$threads" --repeat "$repeat")
        grep -v '^scheduler=' "$work/bw.out" | sed 's/^/    brickwork: /' >&2 || true
        parse_runs brickwork "$n" "$chunk" "$round" "$rss" "$work/bw.out"

        log "n=$n chunk=$chunk threads=$threads round $round/$rounds: dask ($repeat runs)"
        rss=$(measure "$work/dask.out" "$py" "$dask_script" --n "$n" --chunk "$chunk" \
            --scheduler threads --threads "$threads" --repeat "$repeat")
        co=$(sed -n 's/^compute_only_seconds=//p' "$work/dask.out")
        parse_runs dask "$n" "$chunk" "$round" "$rss" "$work/dask.out" "$co"
    done
done

# --- output folder --------------------------------------------------------------------------
host="${BENCH_HOST:-$(hostname -s 2>/dev/null || cat /etc/hostname 2>/dev/null || true)}"
host=$(printf '%s' "$host" | tr -c 'A-Za-z0-9._-' '_')
[[ -n "$host" ]] || host=local
if [[ -z "$out_dir" ]]; then
    out_dir="$repo/benches/peer/runs/$(date +%F)-$host"
fi
mkdir -p -- "$out_dir" || die "cannot create $out_dir"
[[ -f "$out_dir/raw.csv" ]] && log "overwriting previous results in $out_dir"
cp -- "$raw_tmp" "$out_dir/raw.csv"

# --- summary ----------------------------------------------------------------------------------
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
rustc_v=$(rustc -V 2>/dev/null || echo unknown)
export GIT_OPTIONAL_LOCKS=0  # read-only: never refresh the index
git_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo none)
if [[ "$git_rev" != none ]] && [[ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    git_rev="$git_rev (dirty)"
fi

"$py" - "$out_dir/raw.csv" "$out_dir/summary.md" <<EOF
import csv, statistics, sys, importlib
rows = list(csv.DictReader(open(sys.argv[1])))
configs = []
for r in rows:
    key = (int(r["n"]), int(r["chunk"]))
    if key not in configs:
        configs.append(key)

def sel(engine, key):
    return [r for r in rows if r["engine"] == engine and (int(r["n"]), int(r["chunk"])) == key]

lines = [
    "| config | brickwork median s | dask median s | ratio (dask/brickwork) | brickwork peak RSS MB | dask peak RSS MB | dask compute-only median s |",
    "|---|---:|---:|---:|---:|---:|---:|",
]
warnings = []
for key in configs:
    bw, dk = sel("brickwork", key), sel("dask", key)
    bw_t = statistics.median(float(r["seconds"]) for r in bw)
    dk_t = statistics.median(float(r["seconds"]) for r in dk)
    dk_c = [float(r["compute_only_seconds"]) for r in dk if r["compute_only_seconds"]]
    bw_rss = max(float(r["peak_rss_mb"]) for r in bw)
    dk_rss = max(float(r["peak_rss_mb"]) for r in dk)
    r = dk_t / bw_t if bw_t > 0 else float("nan")
    ratio = "n/a" if bw_t <= 0 else (f"{r:.2f}x faster" if r >= 1 else f"{r:.2f}x (slower)")
    lines.append(f"| n={key[0]} chunk={key[1]} threads={bw[0]['threads']} | {bw_t:.4f} | {dk_t:.4f} | {ratio} "
                 f"| {bw_rss:.1f} | {dk_rss:.1f} | {statistics.median(dk_c):.4f} |" if dk_c else
                 f"| n={key[0]} chunk={key[1]} threads={bw[0]['threads']} | {bw_t:.4f} | {dk_t:.4f} | {ratio} "
                 f"| {bw_rss:.1f} | {dk_rss:.1f} | n/a |")
    lens = {r["len"] for r in bw} | {r["len"] for r in dk}
    if len(lens) != 1:
        warnings.append(f"WARNING: result lengths differ for n={key[0]} chunk={key[1]}: {sorted(lens)}")

def ver(m):
    try:
        return importlib.import_module(m).__version__
    except Exception:
        return "missing"

table = "\n".join(lines)
print(table)
for w in warnings:
    print(w, file=sys.stderr)
with open(sys.argv[2], "w") as f:
    f.write("# brickwork vs dask.array: tutorial workload\n\n")
    f.write("\`x = random((n, n), chunks=(c, c)); v = (x + x.T)[::2, n//2:].mean(axis=1); v.compute()\`, "
            "threads scheduler. Times are wall-clock per compute including graph construction, "
            "median of $repeat runs per process x $rounds round(s); peak RSS is the whole process "
            "(max over rounds).\n\n")
    f.write(table + "\n\n")
    for w in warnings:
        f.write(w + "\n\n")
    f.write("| | |\n|---|---|\n")
    f.write("| date | $(date '+%F %T %Z') |\n")
    f.write("| host | $host |\n")
    f.write("| cpu | ${cpu:-unknown} ($ncores cores) |\n")
    f.write("| brickwork | git $git_rev, $rustc_v |\n")
    f.write(f"| python peers | python {sys.version.split()[0]}, dask {ver('dask')}, numpy {ver('numpy')} |\n")
    f.write("| peak RSS via | $( ((use_time)) && echo '/usr/bin/time -v' || echo 'getrusage(RUSAGE_CHILDREN)') |\n")
    f.write("\nRaw per-run results: raw.csv\n")
EOF

log "wrote $out_dir/raw.csv and $out_dir/summary.md"
