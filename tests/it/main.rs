//! End-to-end tests: real nodes on loopback, real HTTP, the real `kaitiaki` binary.
//!
//! The CLI binary under test is the cli crate's own `main.rs`, built as a
//! binary of this package (see `tests/Cargo.toml`), so Cargo builds it
//! before these tests and `env!("CARGO_BIN_EXE_kaitiaki-under-test")` always
//! names the current build. Nodes run as `kaitiaki node serve` processes.
//!
//! - [`attachments`] — confidential attachments: members fetch and erase
//!   them, others are refused.
//! - [`backup`] — a node whose disk is lost starts again from its key and
//!   a peer's copy of its log.
//! - [`story`] — two boards, a request, votes, approval, a report; `show`,
//!   proofs and `log verify`, and tampered copies that must fail.
//! - [`demo`] — the demo seeds once, reuses, resets, and covers every state.
//! - [`rejections`] — every kind of bad input, refused with its code, the
//!   log unchanged.
//! - [`restart`] — stop or kill the node; everything acknowledged survives,
//!   and a clean start does not replay the log.
//! - [`memory`] — the node's memory stays flat while its log grows.
//! - [`cli_output`] — snapshots of the CLI's output and help.
//! - [`verify_federation`] — `log verify` of a federated node folds its own
//!   log and every mirror, checks each against its peer's checkpoint, and
//!   finds a tampered mirror.
//! - [`verify_lies`] — `log verify`, `log proof` and `show` against a node
//!   that lies (a [`liar`] proxy signing with the node's key) and data
//!   directories altered while the node was stopped: faults, never OK.
//! - [`verify_speed`] — the audit's rate against the signature rate
//!   (ignored by default; a release-build measurement).

mod attachments;
mod backup;
mod cli_output;
mod demo;
mod federation;
mod liar;
mod memory;
mod node_setup;
mod rejections;
mod restart;
mod story;
mod support;
mod verify_federation;
mod verify_lies;
mod verify_speed;
