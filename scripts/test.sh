#!/usr/bin/env bash
# Runs every test of brickwork: the README's test command, and what CI runs.
#
# Sets up the zarr-python peer virtualenv first (scripts/pyenv.sh; about 20 s the first
# time, instant afterwards), so the interop tests always run here: zarr-python reads what
# brickwork writes, and writes the fixtures brickwork reads (tests/python/make_fixtures.py,
# into target/fixtures/ on first use). A plain `cargo test` skips them when the venv is
# missing. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
BRICKWORK_PEER_PYTHON="$(bash scripts/pyenv.sh | tail -n 1)"
export BRICKWORK_PEER_PYTHON
export BRICKWORK_REQUIRE_PEER=1
cargo test "$@"
