//! The Kaitiaki node: the durable log, its HTTP API, and everything a
//! steward needs to run one.
//!
//! Read in this order:
//! 1. [`config`] and [`identity`] — what a node is told, and the key it
//!    signs with.
//! 2. [`storage`] — segment files (the source of truth), flat files derived
//!    from them (tree hashes, leaf locations), sled (the id index,
//!    checkpoints, governance state), start-up recovery.
//! 3. [`sequencer`] — the single writer: governance checks, group commit,
//!    checkpoints.
//! 4. [`node`] — [`Node::open`] and [`serve`]: the entry points; [`clock`],
//!    the time the node sequences and answers at.
//! 5. [`api`] — the HTTP routes; [`error`] — how failures become responses;
//!    [`events`] — the event stream's messages; [`metrics`].
//!
//! **Architecture invariant:** a client hears 2xx for a write, and a
//! checkpoint is published, only after `fdatasync` has returned for every
//! leaf it covers (DESIGN.md, principle 4). Nothing in this crate keeps the
//! log or the tree in memory; memory stays flat as the log grows.
#![warn(missing_docs)]

pub mod api;
pub mod clock;
pub mod config;
pub mod error;
pub mod events;
pub mod identity;
pub mod memory;
pub mod metrics;
pub mod node;
pub mod pages;
pub mod replication;
pub mod sequencer;
pub mod storage;
pub mod witness;

pub use api::{app, AppState};
pub use clock::Clock;
pub use config::{Config, Limits, StorageConfig};
pub use error::{ApiError, ErrorBody};
pub use node::{serve, Node, NodeError, Published};
pub use storage::recovery::RecoveryReport;
