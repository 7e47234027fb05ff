#!/usr/bin/env bash
# Installs Debian packages that an optional part of brickwork needs (scripts/mpi.sh,
# scripts/openblas.sh): `bash scripts/apt-install.sh NAME PKG...`, NAME saying what they
# provide in messages ("Open MPI"). Needs root and apt-get; when the install fails, runs
# `apt-get update` and tries once more. Waits up to 10 minutes for another apt-get or dpkg
# holding the package manager's lock (a fresh machine often runs unattended upgrades)
# instead of failing at once.
#
# Exits 0 when apt-get installed them; otherwise prints a one-line reason
# ("apt-install.sh: ...") and exits 1.
set -euo pipefail

log() { printf 'apt-install.sh: %s\n' "$*" >&2; }

name="$1"
shift
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "$name is missing and cannot be installed here (needs root and apt-get)"
    exit 1
fi
log "installing $* for $name (apt)"
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -o DPkg::Lock::Timeout=600)
if ! "${apt[@]}" install -y --no-install-recommends "$@" >&2; then
    "${apt[@]}" update >&2 || true
    "${apt[@]}" install -y --no-install-recommends "$@" >&2 \
        || { log "apt-get could not install $name"; exit 1; }
fi
