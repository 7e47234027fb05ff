#!/usr/bin/env bash
# Runs the array API conformance suite (data-apis/array-api-tests) against brickwork.array.
#
# The suite is not on PyPI and is not part of the repository: check it out yourself, with
# its array-api spec submodule, and give its path:
#
#   git clone --recurse-submodules https://github.com/data-apis/array-api-tests
#   ARRAY_API_TESTS_DIR=$PWD/array-api-tests scripts/array_api_tests.sh [pytest args...]
#
# What it does: builds the extension module (cargo, the test profile CI uses; set
# BRICKWORK_EXTENSION to a built lib_brickwork.so to skip that), puts it into
# python/brickwork/ as `maturin develop` would, makes a virtualenv for the suite
# (numpy, pytest, hypothesis, ndindex, pinned below; BRICKWORK_ARRAY_API_VENV, default
# target/array-api-tests-venv) and runs
#   pytest $ARRAY_API_TESTS_DIR/array_api_tests --xfails-file scripts/array-api-xfails.txt
# with ARRAY_API_TESTS_MODULE=brickwork.array and --max-examples ${MAX_EXAMPLES:-20}, every
# dtype (complex ones included) and both extensions (linalg, fft). The xfails file lists what fails, each
# entry under a comment line giving the reason. Exit status is pytest's. Not part of CI
# (its run time); see README.
#
# It runs from a temporary copy of the suite, in which one line is made to allow an empty
# list of complex dtypes (dtype_helpers takes its max(); ARRAY_API_TESTS_SKIP_DTYPES=
# complex64,complex128 needs it). The checkout itself is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

suite="${ARRAY_API_TESTS_DIR:-}"
[[ -n "$suite" ]] || { echo "array_api_tests.sh: set ARRAY_API_TESTS_DIR to a checkout of data-apis/array-api-tests (see this script's header)" >&2; exit 2; }
[[ -d "$suite/array_api_tests" ]] || { echo "array_api_tests.sh: $suite has no array_api_tests/ (not a checkout of data-apis/array-api-tests?)" >&2; exit 2; }
[[ -d "$suite/array-api/spec" ]] || { echo "array_api_tests.sh: $suite/array-api is empty: check out the submodule (git submodule update --init)" >&2; exit 2; }

# The suite's dependencies, pinned (the suite's requirements.txt: hypothesis>=6.151, ndindex>=1.8).
requirements=(numpy==2.4.6 pytest==9.2.0 pytest-json-report==1.5.0 hypothesis==6.151.14 ndindex==1.10.1)
venv="${BRICKWORK_ARRAY_API_VENV:-$repo/target/array-api-tests-venv}"
stamp="$venv/.brickwork-stamp"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "${requirements[*]}" ]]; then
    python3 -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}" >&2
    echo "${requirements[*]}" > "$stamp"
fi

extension="${BRICKWORK_EXTENSION:-}"
if [[ -z "$extension" ]]; then
    target="${CARGO_TARGET_DIR:-$repo/target}"
    cargo build -p brickwork-py --lib >&2
    extension="$target/debug/lib_brickwork.so"
fi
cp "$extension" python/brickwork/_brickwork.abi3.so.tmp
mv python/brickwork/_brickwork.abi3.so.tmp python/brickwork/_brickwork.abi3.so

# Outside the repository: under it, pytest would name the tests from the repository's root
# (its pyproject.toml) and no id of the xfails file would match.
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
copy="$tmp/array-api-tests"
mkdir -p "$copy"
(cd "$suite" && tar --exclude=.git -cf - .) | (cd "$copy" && tar -xf -)
"$venv/bin/python" - "$copy/array_api_tests/dtype_helpers.py" <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
old = "widest_complex_dtype = max("
if old not in text:
    sys.exit(f"array_api_tests.sh: {path} has no '{old}': the suite changed, update this patch")
text = text.replace(old, "widest_complex_dtype = None if not complex_dtypes else max(", 1)
open(path, "w").write(text)
EOF

cd "$copy"
export ARRAY_API_TESTS_MODULE=brickwork.array
export PYTHONPATH="$repo/python${PYTHONPATH:+:$PYTHONPATH}"
"$venv/bin/python" -m pytest array_api_tests -q -p no:cacheprovider \
    --xfails-file "$repo/scripts/array-api-xfails.txt" \
    --max-examples "${MAX_EXAMPLES:-20}" --disable-deadline \
    --hypothesis-seed "${HYPOTHESIS_SEED:-0}" "$@"
