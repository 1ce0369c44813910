//! bqcheck: check BigQuery tables in CI and on a laptop with the same commands.
//!
//! Data flows one way: [`cli`] → [`input`] → [`runner`] → [`warehouse`] → [`checks`] →
//! [`report`]; [`commands`] wires them together per utility. See `docs/ARCHITECTURE.md`.

pub mod app;
pub mod cancel;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod config;
pub mod github;
pub mod input;
pub mod model;
pub mod report;
pub mod runner;
pub mod warehouse;
