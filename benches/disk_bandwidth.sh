#!/usr/bin/env bash
# Disk bandwidth of the benchmark machine, the yardstick for the out-of-core figures:
#
#   direct write    dd if=/dev/zero bs=8M oflag=direct, with 1, 2 and 4 parallel streams
#                   (each writes SIZE/streams to its own file): the disk itself
#   buffered write  dd bs=8M through the page cache, one stream, timed until dd returns
#                   (the copy into the page cache), and with conv=fsync (until on disk)
#   warm read       cat of the files just written (page cache), one stream
#   direct read     dd iflag=direct bs=8M, one stream: the disk, without root (no need to drop
#                   the page cache)
#
# Each measurement runs --repeat times, interleaved (every kind once, then again); medians.
# The data is zeros: a disk or hypervisor that treats zero blocks specially would look
# faster than with real data (QEMU's detect-zeroes is off by default). Files are written in
# DIR and deleted at exit.
#
# How brickwork's own writes compare (O_DIRECT vs the page cache) is measured by the
# out-of-core benchmark, with a brickwork run with BRICKWORK_NO_DIRECT_IO=1 next to the
# normal one:
#   bash benches/out_of_core.sh --tools brickwork,brickwork-buffered --workloads demean,xpxt,rechunk --repeat 3
#
# Writes a new directory benches/peer/runs/<YYYY-MM-DD>-<host>-disk (or -disk-2, ... when it
# exists: earlier results are never overwritten) with raw.csv, meta.env and summary.md.
#
# Usage: benches/disk_bandwidth.sh [--dir DIR] [--size MIB] [--repeat K] [--out DIR]
# Defaults: --dir /work/bench-data (the out-of-core benchmark's data directory), --size 3056
#   (MiB per measurement, 3.2 GB: the size of one out-of-core store), --repeat 3.
# Example (a small run, seconds): benches/disk_bandwidth.sh --dir /tmp/bw-disk --size 256 --repeat 1
set -Eeuo pipefail
trap 'printf "disk_bandwidth.sh: error: command failed (exit %d) at line %d: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

die() { printf 'disk_bandwidth.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'disk_bandwidth.sh: %s\n' "$*" >&2; }

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
source "$repo/benches/common.sh"
script_args="$*"

dir=/work/bench-data
size_mb=3056
repeat=3
out_dir=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dir) dir="${2:?--dir needs a value}"; shift 2 ;;
        --size) size_mb="${2:?--size needs a value}"; shift 2 ;;
        --repeat) repeat="${2:?--repeat needs a value}"; shift 2 ;;
        --out) out_dir="${2:?--out needs a value}"; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done
[[ "$size_mb" =~ ^[1-9][0-9]*$ ]] && (( size_mb >= 32 )) || die "--size must be an integer >= 32 (MiB), got '$size_mb'"
[[ "$repeat" =~ ^[1-9][0-9]*$ ]] || die "--repeat must be a positive integer, got '$repeat'"
command -v dd >/dev/null 2>&1 || die "dd not found"

mkdir -p -- "$dir" || die "cannot create $dir"
dir=$(cd -- "$dir" && pwd)
work=$(mktemp -d -p "$dir" disk-bandwidth.XXXXXX) || die "cannot create a directory in $dir"
trap 'rm -rf -- "$work"' EXIT
free_mb=$(df -Pm -- "$dir" | awk 'NR == 2 { print $4 }')
(( free_mb > 2 * size_mb + 2000 )) || die "$free_mb MB free in $dir; need $(( 2 * size_mb + 2000 )) MB (2 x --size + 2 GB)"

block_mb=8
raw="$work/raw.csv"
echo "test,streams,run,bytes,seconds,gb_per_s" > "$raw"

# timed TEST STREAMS RUN SNIPPET: runs the bash snippet, which moves SIZE in STREAMS
# streams, and appends a row.
timed() {
    local test=$1 streams=$2 run=$3 snippet=$4 t0 s
    local bytes=$(( (size_mb / block_mb / streams) * streams * block_mb * 1048576 ))
    t0=$EPOCHREALTIME
    bash -c "$snippet" || die "$test failed: $snippet"
    s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f", b - a }')
    echo "$test,$streams,$run,$bytes,$s,$(awk -v b="$bytes" -v s="$s" 'BEGIN { printf "%.3f", b / s / 1e9 }')" >> "$raw"
    log "  $test, $streams stream(s): $(awk -v b="$bytes" -v s="$s" 'BEGIN { printf "%.2f GB/s (%.2f s)", b / s / 1e9, s }')"
}

# dd_streams STREAMS EXTRA_FLAGS: a snippet writing SIZE in STREAMS parallel files f0, f1, ...
dd_streams() {
    local streams=$1 flags=$2 count=$(( size_mb / block_mb / $1 )) i snippet=""
    for ((i = 0; i < streams; i++)); do
        snippet+="dd if=/dev/zero of='$work/f$i' bs=${block_mb}M count=$count $flags status=none & "
    done
    printf '%s wait' "$snippet"
}

for ((run = 1; run <= repeat; run++)); do
    log "round $run/$repeat ($size_mb MiB per measurement in $dir)"
    for streams in 4 2 1; do
        rm -f -- "$work"/f*
        timed direct-write "$streams" "$run" "$(dd_streams "$streams" oflag=direct)"
    done
    # f0 now holds all of SIZE, written with O_DIRECT: not in the page cache.
    timed direct-read 1 "$run" "dd if='$work/f0' of=/dev/null bs=${block_mb}M iflag=direct status=none"
    rm -f -- "$work"/f*
    timed buffered-write 1 "$run" "$(dd_streams 1 '')"
    timed warm-read 1 "$run" "cat '$work'/f* > /dev/null"
    rm -f -- "$work"/f*
    timed buffered-write-fsync 1 "$run" "$(dd_streams 1 conv=fsync)"
    rm -f -- "$work"/f*
done

[[ -n "$out_dir" ]] || out_dir="$repo/benches/peer/runs/$(date +%F)-$(host_label)-disk"
requested_out=$out_dir
out_dir=$(new_run_dir "$out_dir") || die "cannot create $requested_out"
[[ "$out_dir" == "$requested_out" ]] || log "$requested_out exists; writing to $out_dir instead"
cp -- "$raw" "$out_dir/raw.csv"
{
    machine_info "$dir"
    echo "size_mib=$size_mb"
    echo "block_mb=$block_mb"
    echo "repeat=$repeat"
    echo "command=benches/disk_bandwidth.sh $script_args"
} > "$out_dir/meta.env"

awk -F, -v meta="$out_dir/meta.env" '
    BEGIN {
        while ((getline line < meta) > 0) { split(line, kv, "="); m[kv[1]] = substr(line, length(kv[1]) + 2) }
        what["direct-write"] = "dd oflag=direct, bs 8 MiB"
        what["direct-read"] = "dd iflag=direct, bs 8 MiB"
        what["buffered-write"] = "dd through the page cache, until dd returns"
        what["buffered-write-fsync"] = "dd through the page cache, conv=fsync"
        what["warm-read"] = "cat from the page cache"
    }
    NR > 1 { key = $1 "," $2; if (!(key in n)) order[++k] = key; v[key, ++n[key]] = $6 }
    END {
        print "# Disk bandwidth\n"
        printf "%s MiB per measurement, in %s (%s), zeros; median of %s run(s), interleaved.\n\n", m["size_mib"], m["filesystem"], m["kernel"], m["repeat"]
        print "| test | streams | GB/s (median) | min – max | how |"
        print "|---|---:|---:|---|---|"
        for (i = 1; i <= k; i++) {
            key = order[i]; split(key, p, ",")
            c = n[key]
            for (a = 1; a <= c; a++) s[a] = v[key, a]
            for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++) if (s[b] + 0 < s[a] + 0) { t = s[a]; s[a] = s[b]; s[b] = t }
            med = (c % 2) ? s[(c + 1) / 2] : (s[c / 2] + s[c / 2 + 1]) / 2
            printf "| %s | %s | %.2f | %.2f – %.2f | %s |\n", p[1], p[2], med, s[1], s[c], what[p[1]]
        }
        printf "\n| | |\n|---|---|\n| date | %s |\n| cpu | %s (family/model %s), %s vCPUs, hypervisor %s |\n", m["date"], m["cpu"], m["cpu_family_model"], m["cores"], m["hypervisor"]
        printf "| memory | %.1f GB |\n| command | `%s` |\n\nRaw: raw.csv (test, streams, run, bytes, seconds, gb_per_s).\n", m["mem_total"] / 1e9, m["command"]
    }' "$raw" > "$out_dir/summary.md"
cat -- "$out_dir/summary.md"
log "wrote $out_dir/{raw.csv,meta.env,summary.md}"
