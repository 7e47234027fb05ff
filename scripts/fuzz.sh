#!/usr/bin/env bash
# The long fuzz run: the harness of tests/hostile/fuzz.rs with 10^6 inputs per target (the
# expression parser, .npy headers, Zarr metadata), in the test profile (opt-level 2 with
# overflow checks, which catch more than release would).
#
#   bash scripts/fuzz.sh [CASES] [SEED]        # defaults: 1000000, 13
#
# Each input is written to target/fuzz/<target> before it runs, so one that kills the
# process (an abort, a stack overflow) is left there. Virtual memory is capped at 16 GiB so
# that an input asking for a huge allocation fails instead of exhausting the machine. The
# per-target counts, times and failures are printed at the end (and go to README, Tests).
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-1000000}"
seed="${2:-13}"
mkdir -p target/fuzz
ulimit -v $((16 << 20))
BRICKWORK_FUZZ_CASES="$cases" BRICKWORK_FUZZ_SEED="$seed" \
    BRICKWORK_FUZZ_CRASH_DIR="$PWD/target/fuzz" \
    cargo test --test integration hostile::fuzz -- --nocapture 2>&1 | tee target/fuzz/log.txt
grep '^fuzz ' target/fuzz/log.txt
