//! The Python package's tests, run by `cargo test`: pytest over python/tests/ through the
//! project's venv (scripts/pyenv.sh), with the extension module cargo just built for this
//! test (the package's cdylib, `lib_brickwork.so`) copied into python/brickwork/ as
//! `_brickwork.abi3.so` (what `maturin develop` does).
//!
//! Building it here, inside `cargo test --workspace`, reuses the library the other tests
//! built (same profile, same features); a separate `cargo build` of the extension resolves
//! the library's dependencies without the dev-dependencies and builds it a second time.
//! Skipped (with a note) when the venv is missing, unless `BRICKWORK_REQUIRE_PEER` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's python, as the library's interop tests find it.
fn peer_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let p = std::env::var_os("BRICKWORK_PEER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("BRICKWORK_REQUIRE_PEER").is_none(),
        "the venv is required but {} does not exist (run scripts/pyenv.sh)",
        p.display()
    );
    eprintln!(
        "note: skipping the Python package's tests ({} missing; run scripts/test.sh)",
        p.display()
    );
    None
}

/// The extension module cargo built beside this test binary.
fn extension() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("target/<profile>/deps");
    [
        deps.join("lib_brickwork.so"),
        deps.join("../lib_brickwork.so"),
    ]
    .into_iter()
    .find(|p| p.exists())
    .unwrap_or_else(|| panic!("lib_brickwork.so not found beside {}", exe.display()))
}

#[test]
fn pytest() {
    let Some(python) = peer_python() else {
        return;
    };
    let package = Path::new(env!("CARGO_MANIFEST_DIR"));
    let module = package.join("brickwork/_brickwork.abi3.so");
    // A new file, renamed into place: a running Python keeps the old one mapped.
    let tmp = module.with_extension("so.tmp");
    std::fs::copy(extension(), &tmp).expect("copy the extension into python/brickwork/");
    std::fs::rename(&tmp, &module).expect("rename the extension into place");
    let status = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(package)
        .env("PYTHONPATH", package)
        .status()
        .expect("run pytest");
    assert!(
        status.success(),
        "pytest failed ({status}): see its output above"
    );
}
