#!/usr/bin/env bash
# Bootstrap what the dashboard's browser tests need: Debian's Chromium and the
# Python `playwright` package inside the peer virtualenv (scripts/pyenv.sh).
# We never download Playwright's own browser builds: tests/python/browser_check.py
# drives the system Chromium through `executable_path`.
#
# Usage: scripts/browser.sh            # install what is missing, print the venv's python
#        PY=$(bash scripts/browser.sh | tail -n 1)
#
# Environment:
#   BRICKWORK_CHROMIUM         Chromium binary (default: /usr/bin/chromium)
#   BRICKWORK_PYENV_OFFLINE=1  never touch the network: fail unless everything is already there
#   (plus everything scripts/pyenv.sh reads: BRICKWORK_VENV, BRICKWORK_PYTHON)
#
# Contract (same as scripts/pyenv.sh): the LAST line of stdout is the absolute path
# of the venv's python; everything else goes to stderr. Exits non-zero with a
# one-line reason ("browser.sh: error: ...") when Chromium or playwright cannot be
# had; the Rust tests then skip with that message. Idempotent and fast when
# everything is already installed. Concurrent invocations are serialised with flock.
set -euo pipefail

# Pinned: a release whose wheels support Python 3.11 and whose CDP client drives
# current Chromium (Debian bookworm-security ships 14x).
PLAYWRIGHT_VERSION=1.65.2

log() { printf 'browser.sh: %s\n' "$*" >&2; }
die() { printf 'browser.sh: error: %s\n' "$*" >&2; exit 1; }

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
chromium="${BRICKWORK_CHROMIUM:-/usr/bin/chromium}"
offline="${BRICKWORK_PYENV_OFFLINE:-0}"

have_chromium() { [[ -x "$chromium" ]] && "$chromium" --version >/dev/null 2>&1; }

# 1. The peer virtualenv (its own lock, fast path, and error messages).
py=$(bash "$script_dir/pyenv.sh" | tail -n 1) || die "scripts/pyenv.sh failed (see above)"
[[ -x "$py" ]] || die "scripts/pyenv.sh printed '$py', which is not an executable python"

have_playwright() { "$py" -c 'import playwright.sync_api' >/dev/null 2>&1; }

# Fast path: nothing to install.
if have_chromium && have_playwright; then
    echo "$py"
    exit 0
fi

[[ "$offline" == 1 ]] && {
    have_chromium || die "Chromium not found at $chromium and BRICKWORK_PYENV_OFFLINE=1"
    die "playwright is not installed in $py and BRICKWORK_PYENV_OFFLINE=1"
}

# Serialise concurrent bootstraps (parallel cargo tests); apt and pip both dislike races.
if command -v flock >/dev/null 2>&1; then
    lock="${TMPDIR:-/tmp}/brickwork-browser-$(id -u).lock"
    exec 8>"$lock" || die "cannot open lock file $lock"
    log "waiting for lock..."
    flock 8
fi

start=$(date +%s)

# 2. Chromium, from Debian's packages.
if ! have_chromium; then
    [[ "$chromium" == /usr/bin/chromium ]] \
        || die "Chromium not found at BRICKWORK_CHROMIUM=$chromium (unset it to install Debian's chromium)"
    command -v apt-get >/dev/null 2>&1 \
        || die "Chromium not found at $chromium and apt-get is not available; install chromium or set BRICKWORK_CHROMIUM"
    if [[ $(id -u) -eq 0 ]]; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        die "Chromium not found at $chromium; not root and no passwordless sudo to run 'apt-get install chromium'"
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Waits for another apt-get or dpkg holding the lock (up to 10 minutes).
    apt_install() { "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends chromium >&2; }
    log "installing Debian's chromium (apt-get install chromium)"
    if ! apt_install; then
        log "apt-get install failed; running apt-get update and retrying"
        "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q >&2 || die "apt-get update failed"
        apt_install || die "apt-get install chromium failed (see above)"
    fi
    have_chromium || die "chromium was installed but '$chromium --version' does not run"
fi
log "$("$chromium" --version 2>/dev/null | head -n 1)"

# 3. playwright (Python package only; its bundled node driver ships inside the wheel).
if ! have_playwright; then
    log "installing playwright==$PLAYWRIGHT_VERSION into $py"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        "$py" -m pip install --quiet "playwright==$PLAYWRIGHT_VERSION" >&2 \
        || die "pip install playwright==$PLAYWRIGHT_VERSION failed (see above)"
    have_playwright || die "playwright installed but 'import playwright.sync_api' fails"
fi
log "playwright $("$py" -c 'from importlib.metadata import version; print(version("playwright"))' 2>/dev/null)"

log "browser tooling ready in $(( $(date +%s) - start ))s"
echo "$py"
