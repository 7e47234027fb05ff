#!/usr/bin/env bash
# Makes sure what the `openblas` feature needs is here: OpenBLAS's shared library to link
# (libopenblas.so). Installs Debian's libopenblas-dev through apt when it is missing and
# this is possible (root, apt-get; about 5 s; scripts/apt-install.sh).
#
# Exits 0 when it is there (then `cargo build --features openblas` links it); otherwise
# prints a one-line reason ("openblas.sh: ..." or "apt-install.sh: ...") and exits 1.
set -euo pipefail

log() { printf 'openblas.sh: %s\n' "$*" >&2; }

have_openblas() {
    compgen -G '/usr/lib/*/libopenblas.so' >/dev/null \
        || compgen -G '/usr/lib/libopenblas.so' >/dev/null \
        || compgen -G '/usr/local/lib/libopenblas.so' >/dev/null
}

if have_openblas; then
    exit 0
fi
bash "$(dirname "$0")/apt-install.sh" OpenBLAS libopenblas-dev || exit 1
have_openblas || { log "OpenBLAS still missing after apt-get"; exit 1; }
