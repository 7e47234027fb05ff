#!/usr/bin/env bash
# Makes sure what the `openblas` feature needs is here: OpenBLAS's shared library to link
# (libopenblas.so). Installs Debian's libopenblas-dev through apt when it is missing and
# this is possible (root, apt-get; about 5 s).
#
# Exits 0 when it is there (then `cargo build --features openblas` links it); otherwise
# prints a one-line reason ("openblas.sh: ...") and exits 1.
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
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "OpenBLAS is missing and cannot be installed here (needs root and apt-get)"
    exit 1
fi
log "installing libopenblas-dev (apt)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends libopenblas-dev >&2; then
    apt-get update >&2 || true
    apt-get install -y --no-install-recommends libopenblas-dev >&2 \
        || { log "apt-get could not install OpenBLAS"; exit 1; }
fi
have_openblas || { log "OpenBLAS still missing after apt-get"; exit 1; }
