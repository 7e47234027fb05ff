#!/usr/bin/env bash
# Bootstrap the Python "peer" virtualenv used by brickwork's interop tests and
# benchmarks (zarr-python, numcodecs, numpy, dask[array], distributed, scipy, cubed).
#
# Usage: scripts/pyenv.sh            # create / sync the venv, print its python
#        PY=$(scripts/pyenv.sh)      # typical use from other scripts / tests
#
# Environment:
#   BRICKWORK_VENV    venv location (default: <repo>/.venv, git-ignored)
#   BRICKWORK_PYTHON  interpreter used to create the venv (default: python3; needs >= 3.11)
#   BRICKWORK_PYENV_OFFLINE=1  never touch the network: fail unless the venv is already up to date
#
# Contract: the LAST line of stdout is the absolute path of the venv's python;
# everything else goes to stderr. Idempotent: when the stamp file inside the venv
# matches the hash of scripts/requirements-peer.txt (+ interpreter version), it
# returns immediately without running pip. Concurrent invocations are serialised
# with flock when available.
set -euo pipefail

log() { printf 'pyenv.sh: %s\n' "$*" >&2; }
die() { printf 'pyenv.sh: error: %s\n' "$*" >&2; exit 1; }

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd -- "$script_dir/.." && pwd)
req="$script_dir/requirements-peer.txt"
venv="${BRICKWORK_VENV:-$repo/.venv}"
base_python="${BRICKWORK_PYTHON:-python3}"

[[ -f "$req" ]] || die "requirements file not found: $req"
command -v "$base_python" >/dev/null 2>&1 || die "interpreter '$base_python' not found (set BRICKWORK_PYTHON)"

# Make venv absolute (mkdir first so that cd works).
mkdir -p -- "$venv"
venv=$(cd -- "$venv" && pwd)
vpy="$venv/bin/python"
stamp="$venv/.brickwork-peer-stamp"

hash_of() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -d' ' -f1
    else "$base_python" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
    fi
}

base_version=$("$base_python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])') \
    || die "cannot run $base_python"
"$base_python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || die "$base_python is Python $base_version; zarr 3.1 needs >= 3.11 (set BRICKWORK_PYTHON)"
want=$( { cat -- "$req"; echo "python=$base_version"; uname -m; } | hash_of )

is_current() {
    [[ -x "$vpy" && -f "$stamp" && "$(cat -- "$stamp")" == "$want" ]] && "$vpy" -c 'import sys' 2>/dev/null
}

# Fast path: no lock, no pip.
if is_current; then
    echo "$vpy"
    exit 0
fi

[[ "${BRICKWORK_PYENV_OFFLINE:-0}" == 1 ]] && die "venv at $venv is missing or stale and BRICKWORK_PYENV_OFFLINE=1"

# Serialise concurrent bootstraps (e.g. parallel cargo tests).
if command -v flock >/dev/null 2>&1; then
    # Lock file outside the venv ('venv --clear' would delete it under our feet)
    # and outside the repo (keeps the work tree clean); keyed by the venv path.
    lock="${TMPDIR:-/tmp}/brickwork-pyenv-$(id -u)-$(printf '%s' "$venv" | hash_of | cut -c1-16).lock"
    exec 9>"$lock" || die "cannot open lock file $lock"
    log "waiting for lock..."
    flock 9
    if is_current; then   # someone else finished it while we waited
        echo "$vpy"
        exit 0
    fi
fi

start=$(date +%s)

# Refuse to clobber a non-empty directory that is not a venv.
if [[ ! -f "$venv/pyvenv.cfg" ]] && [[ -n "$(ls -A -- "$venv" 2>/dev/null)" ]]; then
    die "$venv exists, is not empty and is not a virtualenv; remove it or set BRICKWORK_VENV"
fi

# (Re)create when missing, broken, or built from a different interpreter version.
need_create=1
if [[ -x "$vpy" ]]; then
    vver=$("$vpy" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || true)
    [[ "$vver" == "$base_version" ]] && need_create=0
fi
if (( need_create )); then
    log "creating virtualenv at $venv (Python $base_version)"
    rm -f -- "$stamp"
    if ! "$base_python" -m venv --clear "$venv" >&2; then
        log "'python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv); trying virtualenv"
        "$base_python" -m virtualenv --clear "$venv" >&2 \
            || die "could not create a virtualenv (install python3-venv, or: pip install --user virtualenv)"
    fi
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
pip=("$vpy" -m pip)
"$vpy" -m pip --version >/dev/null 2>&1 || "$vpy" -m ensurepip --upgrade >&2 || die "pip missing in venv"

# Split the requirements into required and optional ('# optional' marker) lines.
tmpdir=$(mktemp -d)
trap 'rm -rf -- "$tmpdir"' EXIT
grep -v -E '#[[:space:]]*optional' -- "$req" > "$tmpdir/required.txt" || true
grep -E '^[^#].*#[[:space:]]*optional' -- "$req" | sed -E 's/[[:space:]]*#.*$//' > "$tmpdir/optional.txt" || true
# Constraints may not carry extras: 'dask[array]==X' -> 'dask==X'.
sed -E -e 's/[[:space:]]*#.*$//' -e 's/\[[^]]*\]//' -e '/^[[:space:]]*$/d' -- "$tmpdir/required.txt" > "$tmpdir/constraints.txt"

log "installing pinned requirements from $req"
"${pip[@]}" install --quiet -r "$tmpdir/required.txt" >&2 \
    || die "pip install of required peers failed (see above)"

while IFS= read -r spec; do
    [[ -z "$spec" ]] && continue
    log "installing optional $spec"
    if ! "${pip[@]}" install --quiet "$spec" -c "$tmpdir/constraints.txt" >&2; then
        log "WARNING: optional package '$spec' failed to install; continuing without it"
    fi
done < "$tmpdir/optional.txt"

"$vpy" -c 'import numpy, numcodecs, zarr, dask.array, distributed' >&2 \
    || die "sanity import of numpy/numcodecs/zarr/dask.array/distributed failed"
"$vpy" - >&2 <<'EOF'
import importlib
parts = []
for m in ("numpy", "numcodecs", "zarr", "dask", "distributed", "cubed"):
    try:
        parts.append(f"{m} {importlib.import_module(m).__version__}")
    except Exception:
        parts.append(f"{m} (missing)")
print("pyenv.sh: " + ", ".join(parts))
EOF

echo "$want" > "$stamp"
log "venv ready in $(( $(date +%s) - start ))s"
echo "$vpy"
