//! The binary starts and says what it is. The CLI's behaviour is tested end to end by the
//! workspace's integration tests (`tests/cli.rs` and others at the repository root, which
//! run this binary); this test makes `cargo test` build it.

use std::process::Command;

#[test]
fn version_and_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_brickwork"))
        .arg("--version")
        .output()
        .expect("the brickwork binary runs");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("brickwork"));
}
