#!/usr/bin/env bash
# Makes sure what the `mpi` feature and its tests need is here: an MPI (Open MPI: mpirun,
# mpicc and headers) and libclang (rsmpi generates its bindings with bindgen). Installs
# Debian's libopenmpi-dev, openmpi-bin and libclang-dev through apt when they are missing
# and this is possible (root, apt-get; about 20 s).
#
# Exits 0 when everything is there (then `cargo test --features mpi` builds and runs the
# MPI tests); otherwise prints a one-line reason ("mpi.sh: ...") and exits 1.
set -euo pipefail

log() { printf 'mpi.sh: %s\n' "$*" >&2; }

have_mpi() {
    command -v mpirun >/dev/null 2>&1 && command -v mpicc >/dev/null 2>&1 \
        && mpicc --showme:compile >/dev/null 2>&1
}
have_libclang() {
    compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null \
        || compgen -G '/usr/lib/*/libclang*.so*' >/dev/null
}

if have_mpi && have_libclang; then
    exit 0
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "Open MPI or libclang is missing and cannot be installed here (needs root and apt-get)"
    exit 1
fi
log "installing libopenmpi-dev openmpi-bin libclang-dev (apt)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends libopenmpi-dev openmpi-bin libclang-dev >&2; then
    apt-get update >&2 || true
    apt-get install -y --no-install-recommends libopenmpi-dev openmpi-bin libclang-dev >&2 \
        || { log "apt-get could not install Open MPI"; exit 1; }
fi
have_mpi && have_libclang || { log "Open MPI or libclang still missing after apt-get"; exit 1; }
