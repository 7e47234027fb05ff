#!/usr/bin/env bash
# Makes sure what the `mpi` feature and its tests need is here: an MPI (Open MPI: mpirun,
# mpicc and headers) and libclang (rsmpi generates its bindings with bindgen). Installs
# Debian's libopenmpi-dev, openmpi-bin and libclang-dev through apt when they are missing
# and this is possible (root, apt-get; about 20 s; scripts/apt-install.sh).
#
# Exits 0 when everything is there (then `cargo test --features mpi` builds and runs the
# MPI tests); otherwise prints a one-line reason ("mpi.sh: ..." or "apt-install.sh: ...")
# and exits 1.
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
bash "$(dirname "$0")/apt-install.sh" "Open MPI" libopenmpi-dev openmpi-bin libclang-dev || exit 1
have_mpi && have_libclang || { log "Open MPI or libclang still missing after apt-get"; exit 1; }
