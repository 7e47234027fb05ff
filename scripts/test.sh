#!/usr/bin/env bash
# Runs every test of brickwork: the README's test command, and what CI runs.
#
# Sets up the zarr-python peer virtualenv first (scripts/pyenv.sh; about 20 s the first
# time, instant afterwards), so the interop tests always run here: zarr-python reads what
# brickwork writes, and writes the fixtures brickwork reads (tests/python/make_fixtures.py,
# into target/fixtures/ on first use). A plain `cargo test` skips them when the venv is
# missing. Extra arguments go to `cargo test`.
#
# The Python package's tests (python/tests/, pytest through the same venv) are one of them
# (python/tests/pytest.rs).
#
# Then installs what the dashboard's browser tests need (scripts/browser.sh: Debian's
# chromium through apt, about 25 s the first time, and playwright in the same venv); when
# that is impossible (no root, no apt), those tests are skipped with the reason.
#
# And Azurite, Microsoft's Azure Blob Storage emulator (scripts/azurite.sh: npm, about 35 s
# the first time), which the Azure tests of tests/cloud.rs start on loopback; without node
# and npm those tests are skipped with the reason. (The S3 and GCS emulators are Python
# packages of the venv.)
#
# And Open MPI (scripts/mpi.sh: Debian's openmpi and libclang through apt, about 20 s the
# first time): the tests then build with `--features mpi` and run the MPI tests with up to
# 4 ranks on this machine (tests/mpi.rs). Without it, everything else is built and tested
# without the feature.
#
# And OpenBLAS (scripts/openblas.sh: Debian's libopenblas-dev, about 5 s the first time):
# the tests then build with `--features openblas` too, so float products run on OpenBLAS
# (src/kernel/blas.rs checks it against the `gemm` crate's path, which a build without the
# feature runs).
set -euo pipefail
cd "$(dirname "$0")/.."
BRICKWORK_PEER_PYTHON="$(bash scripts/pyenv.sh | tail -n 1)"
export BRICKWORK_PEER_PYTHON
export BRICKWORK_REQUIRE_PEER=1
if browser_python="$(bash scripts/browser.sh | tail -n 1)"; then
    export BRICKWORK_BROWSER_PYTHON="$browser_python"
    export BRICKWORK_REQUIRE_BROWSER=1
else
    echo "test.sh: Chromium or playwright could not be installed (see above): the dashboard's browser tests will be skipped" >&2
fi
if azurite="$(bash scripts/azurite.sh | tail -n 1)"; then
    export BRICKWORK_AZURITE="$azurite"
else
    echo "test.sh: Azurite could not be installed (see above): the Azure tests will be skipped" >&2
fi
features=()
if bash scripts/mpi.sh; then
    features+=(mpi)
else
    echo "test.sh: Open MPI could not be installed (see above): testing without the mpi feature" >&2
fi
if bash scripts/openblas.sh; then
    features+=(openblas)
else
    echo "test.sh: OpenBLAS could not be installed (see above): testing without the openblas feature" >&2
fi
# The workspace: the library and the CLI package (cli/), each feature on both.
spec=()
for f in "${features[@]}"; do spec+=("brickwork/$f" "brickwork-cli/$f"); done
if ((${#spec[@]})); then
    cargo test --workspace --features "$(IFS=,; echo "${spec[*]}")" "$@"
else
    cargo test --workspace "$@"
fi
