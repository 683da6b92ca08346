//! Rebuilds the crate when a migration changes: `sqlx::migrate!` embeds the
//! SQL files at compile time, and cargo does not otherwise watch them.
#![allow(clippy::print_stdout)] // build scripts talk to cargo through stdout

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
