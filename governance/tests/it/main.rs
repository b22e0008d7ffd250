//! Governance as stories: real signed statements from fixed keys, folded
//! into a store, with the state read back through the public queries.

mod fixture;

mod aftercare;
mod bodies;
mod concerns;
mod federation;
mod identity;
mod properties;
mod rahui;
mod requests;
mod snapshots;
mod version;
