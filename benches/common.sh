# Helpers shared by the benchmark scripts (sourced, not run):
#
#   new_run_dir BASE       creates and prints a run directory that did not exist before:
#                          BASE, or BASE-2, BASE-3, ... when BASE exists. Results of earlier
#                          runs are never overwritten, and nothing here deletes them.
#   machine_info [DIR]     prints key=value lines describing the machine (CPU as the kernel
#                          reports it, vCPUs, hypervisor, memory, kernel) and, with DIR, the
#                          filesystem that holds DIR.
#   host_label             the host part of run directory names: $BENCH_HOST or hostname -s.
#   git_description REPO   short commit, "(dirty)" when tracked files differ from it.
#
# Usage: source "$repo/benches/common.sh" (from a script with `set -euo pipefail`).

new_run_dir() {
    local base=$1 dir i=1
    mkdir -p -- "$(dirname -- "$base")"
    dir=$base
    # mkdir (without -p) fails when the directory exists: that is the reservation.
    until mkdir -- "$dir" 2>/dev/null; do
        [[ -e "$dir" ]] || { printf 'cannot create %s\n' "$dir" >&2; return 1; }
        i=$(( i + 1 ))
        dir="$base-$i"
    done
    printf '%s\n' "$dir"
}

host_label() {
    local host="${BENCH_HOST:-$(hostname -s 2>/dev/null || cat /etc/hostname 2>/dev/null || true)}"
    host=$(printf '%s' "$host" | tr -c 'A-Za-z0-9._-' '_')
    printf '%s\n' "${host:-local}"
}

git_description() {
    local repo=$1 rev
    export GIT_OPTIONAL_LOCKS=0  # read-only: never refresh the index
    rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo none)
    if [[ "$rev" != none ]] && [[ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
        rev="$rev (dirty)"
    fi
    printf '%s\n' "$rev"
}

machine_info() {
    local cpuinfo=/proc/cpuinfo field
    field() { awk -F': ' -v k="$1" '$1 ~ "^"k"[[:space:]]*$" { print $2; exit }' "$cpuinfo" 2>/dev/null; }
    echo "date=$(date '+%F %T %Z')"
    echo "host=$(host_label)"
    echo "cpu=$(field 'model name' || true)"
    echo "cpu_family_model=$(field 'cpu family' || true)/$(field 'model' || true)"
    echo "cores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)"
    echo "hypervisor=$(lscpu 2>/dev/null | awk -F': *' '/^Hypervisor vendor/ { print $2; exit }')"
    echo "mem_total=$(awk '/^MemTotal/ { printf "%.0f", $2 * 1024 }' /proc/meminfo 2>/dev/null || echo 0)"
    echo "kernel=$(uname -sr)"
    if [[ $# -gt 0 ]]; then
        echo "filesystem=$(df -PT -- "$1" | awk 'NR == 2 { print $2 " on " $1 }')"
    fi
}
