#!/usr/bin/env bash
# Installs Azurite, Microsoft's Azure Blob Storage emulator (npm, pinned), for the Azure
# tests of tests/cloud.rs, which start its blob service on 127.0.0.1 themselves.
#
# Usage: scripts/azurite.sh            # install when missing, print the azurite-blob path
#        AZ=$(bash scripts/azurite.sh | tail -n 1)
#
# Environment:
#   BRICKWORK_NODE_PREFIX  where npm installs it (default: <repo>/.node, git-ignored)
#
# Contract (as scripts/pyenv.sh): the LAST line of stdout is the absolute path of the
# `azurite-blob` launcher; everything else goes to stderr. Exits non-zero with a one-line
# reason when node/npm are missing or the install fails; the Azure tests are then skipped
# with that reason. Idempotent (a stamp of the pinned version) and serialised with flock.
# Cost on a fresh machine: about 40 s of npm install (360 MB of node_modules).
set -euo pipefail

AZURITE_VERSION=3.37.0

log() { printf 'azurite.sh: %s\n' "$*" >&2; }
die() { printf 'azurite.sh: error: %s\n' "$*" >&2; exit 1; }

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
prefix="${BRICKWORK_NODE_PREFIX:-$repo/.node}"
launcher="$prefix/node_modules/.bin/azurite-blob"
stamp="$prefix/.brickwork-azurite-$AZURITE_VERSION"

if [[ -x "$launcher" && -f "$stamp" ]]; then
    echo "$launcher"
    exit 0
fi
command -v node >/dev/null 2>&1 || die "node is not installed (apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || die "npm is not installed (apt-get install npm)"
mkdir -p -- "$prefix"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$prefix/.lock" || die "cannot open lock file $prefix/.lock"
    flock 9
    if [[ -x "$launcher" && -f "$stamp" ]]; then
        echo "$launcher"
        exit 0
    fi
fi
start=$(date +%s)
log "installing azurite@$AZURITE_VERSION into $prefix"
npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error \
    "azurite@$AZURITE_VERSION" >&2 || die "npm install azurite@$AZURITE_VERSION failed (see above)"
[[ -x "$launcher" ]] || die "npm installed azurite but $launcher is missing"
touch -- "$stamp"
log "azurite ready in $(( $(date +%s) - start ))s"
echo "$launcher"
