//! The integration tests, in one test binary: one link instead of one per file, and one
//! `cargo test` run for all of them. Each file is a module; the shared helpers are in
//! `support/` (the built binaries, the emulator client, fake BigQuery and GitHub servers,
//! the realistic fixtures).
//!
//! A test that needs the local BigQuery emulator carries
//! `#[cfg_attr(not(feature = "emulator-tests"), ignore = "needs the BigQuery emulator: …")]`:
//! a plain `cargo test` lists it as ignored, with the reason, and passes on a machine without
//! the emulator; `scripts/test` starts the emulator and runs everything with
//! `--features emulator-tests`.

mod support;

mod action;
mod cache;
mod cli;
mod config;
mod datasets;
mod emulator;
mod faults;
mod history;
mod hostile;
mod partitions;
mod profile;
mod realistic;
mod rules;
mod snapshots;
mod table_compare;
