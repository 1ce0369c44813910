//! The integration tests, in one test binary: one link instead of one per file, and one
//! `cargo test` run for all of them. Each file is a module; the shared helpers are in
//! `support/` (the built binaries, the emulator client, fake BigQuery and GitHub servers,
//! the realistic fixtures).

mod support;

mod action;
mod cache;
mod cli;
mod config;
mod emulator;
mod faults;
mod hostile;
mod profile;
mod realistic;
mod snapshots;
mod table_compare;
