//! Helpers shared by the CLI's integration tests.

use std::process::{Command, Output};

/// Runs the `recoup` binary built for these tests.
pub fn recoup(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recoup"))
        .args(args)
        .output()
        .expect("recoup runs")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
