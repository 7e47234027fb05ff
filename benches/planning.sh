#!/usr/bin/env bash
# Planning benchmark, recorded: runs `cargo bench --bench plan` (benches/plan.rs: building and
# planning (x + x.T)[::2, n/2:].mean(axis 1) for n = 100 000 with chunks of 100, 10^6 source
# blocks, nothing computed) and keeps its output with the machine's description.
#
# Writes a new directory benches/peer/runs/<YYYY-MM-DD>-<host>-plan (or -plan-2, ... when it
# exists: earlier results are never overwritten) with output.txt (what the bench printed:
# median of 5 per step, task count, peak RSS) and meta.env.
#
# Usage: benches/planning.sh [--out DIR] [-- BENCH_ARGS...]
#   BENCH_ARGS go to the bench, e.g. `benches/planning.sh -- --n 10000 --chunk 10`.
# Example (seconds once built): benches/planning.sh
set -Eeuo pipefail
trap 'printf "planning.sh: error: command failed (exit %d) at line %d: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

die() { printf 'planning.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'planning.sh: %s\n' "$*" >&2; }

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd -- "$repo"
source "$repo/benches/common.sh"
script_args="$*"

out_dir=""
bench_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) out_dir="${2:?--out needs a value}"; shift 2 ;;
        --) shift; bench_args=("$@"); break ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done
command -v cargo >/dev/null 2>&1 || die "cargo not found"

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
log "running: cargo bench --bench plan -- ${bench_args[*]}"
cargo bench --bench plan -- "${bench_args[@]}" > "$work/output.txt" || die "cargo bench --bench plan failed"
cat -- "$work/output.txt"

[[ -n "$out_dir" ]] || out_dir="$repo/benches/peer/runs/$(date +%F)-$(host_label)-plan"
requested_out=$out_dir
out_dir=$(new_run_dir "$out_dir") || die "cannot create $requested_out"
[[ "$out_dir" == "$requested_out" ]] || log "$requested_out exists; writing to $out_dir instead"
cp -- "$work/output.txt" "$out_dir/output.txt"
{
    machine_info
    echo "brickwork=git $(git_description "$repo"), $(rustc -V 2>/dev/null || echo 'rustc unknown')"
    echo "command=benches/planning.sh $script_args"
} > "$out_dir/meta.env"
log "wrote $out_dir/{output.txt,meta.env}"
