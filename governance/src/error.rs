//! What can go wrong while applying or reading the state — never a rule
//! violation (those are [`crate::Rejection`]s recorded in the state), only
//! the store failing underneath or holding bytes this crate did not write.

use crate::store::Table;

/// An error from the store, or a stored value that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The store failed (I/O, a closed database…).
    #[error("the state store failed: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// A stored value does not decode: the store was changed by something
    /// other than this crate, or by an incompatible version of it.
    #[error("the state is corrupt: table {table}: {detail}")]
    Corrupt {
        /// The table's name.
        table: &'static str,
        /// What could not be read.
        detail: String,
    },
}

impl StateError {
    /// Wraps a store's own error.
    pub fn store(e: impl std::error::Error + Send + Sync + 'static) -> StateError {
        StateError::Store(Box::new(e))
    }

    pub(crate) fn corrupt(table: Table, detail: impl Into<String>) -> StateError {
        StateError::Corrupt {
            table: table.name(),
            detail: detail.into(),
        }
    }
}
