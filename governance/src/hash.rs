//! The state hash: one value two nodes compare to know they hold the same state.
//!
//! It is a multiset hash kept up to date on every write, so reading it is
//! O(1) however large the state: the sum, modulo 2²⁵⁶, of
//! `blake3_derive_key(STATE_HASH_CONTEXT, table ‖ 0 ‖ len(key) ‖ key ‖ value)`
//! over every entry of every table except [`Table::Meta`] (where the sum
//! itself is kept). A put subtracts the old entry's term and adds the new
//! one's; a delete subtracts. Addition commutes, so the sum depends only on
//! the final contents, never on the order of writes.
//!
//! It is a fingerprint for comparing honestly computed states, not a
//! commitment an adversary cannot collide: the log's Merkle tree and
//! checkpoints are what make history tamper-evident.

use crate::codec;
use crate::error::StateError;
use crate::store::{StoreWrite, Table};

/// blake3 derive-key context of one entry's term in the state hash.
pub const STATE_HASH_CONTEXT: &str = "kaitiaki 2026-11 governance state entry v1";

/// The key in [`Table::Meta`] holding the running sum.
pub(crate) const META_STATE_HASH: &[u8] = b"state_hash";

/// A 256-bit number as four little-endian u64 limbs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sum([u64; 4]);

impl Sum {
    pub(crate) fn from_bytes(b: &[u8; 32]) -> Sum {
        let mut limbs = [0u64; 4];
        for (i, limb) in limbs.iter_mut().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i * 8..i * 8 + 8]);
            *limb = u64::from_le_bytes(w);
        }
        Sum(limbs)
    }

    pub(crate) fn to_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, limb) in self.0.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&limb.to_le_bytes());
        }
        out
    }

    fn add(&mut self, o: &Sum) {
        let mut carry = false;
        for (a, b) in self.0.iter_mut().zip(o.0) {
            let (s1, c1) = a.overflowing_add(b);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            *a = s2;
            carry = c1 || c2;
        }
    }

    fn sub(&mut self, o: &Sum) {
        let mut borrow = false;
        for (a, b) in self.0.iter_mut().zip(o.0) {
            let (d1, b1) = a.overflowing_sub(b);
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            *a = d2;
            borrow = b1 || b2;
        }
    }
}

fn term(table: Table, key: &[u8], value: &[u8]) -> Sum {
    let mut h = blake3::Hasher::new_derive_key(STATE_HASH_CONTEXT);
    h.update(table.name().as_bytes());
    h.update(&[0]);
    h.update(&(key.len() as u64).to_be_bytes());
    h.update(key);
    h.update(value);
    Sum::from_bytes(h.finalize().as_bytes())
}

/// The writer every rule writes through: it keeps the state hash in step.
pub(crate) struct Tx<'w, W: StoreWrite + ?Sized> {
    w: &'w mut W,
    sum: Sum,
    touched: bool,
}

impl<'w, W: StoreWrite + ?Sized> Tx<'w, W> {
    pub(crate) fn new(w: &'w mut W) -> Result<Self, StateError> {
        let sum = read_sum(&*w)?;
        Ok(Tx {
            w,
            sum,
            touched: false,
        })
    }

    /// The store as a reader (sees this transaction's own writes).
    pub(crate) fn r(&self) -> &W {
        self.w
    }

    pub(crate) fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.w.get(table, key).map_err(StateError::store)
    }

    /// Writes `value` under `key`; a write of the value already there costs nothing.
    pub(crate) fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StateError> {
        let old = self.get(table, key)?;
        if old.as_deref() == Some(value) {
            return Ok(());
        }
        if table != Table::Meta {
            if let Some(old) = &old {
                self.sum.sub(&term(table, key, old));
            }
            self.sum.add(&term(table, key, value));
            self.touched = true;
        }
        self.w.put(table, key, value).map_err(StateError::store)
    }

    /// Encodes and writes a record.
    pub(crate) fn put_record<T: serde::Serialize>(
        &mut self,
        table: Table,
        key: &[u8],
        value: &T,
    ) -> Result<(), StateError> {
        let bytes = codec::encode(table, value)?;
        self.put(table, key, &bytes)
    }

    pub(crate) fn delete(&mut self, table: Table, key: &[u8]) -> Result<(), StateError> {
        let Some(old) = self.get(table, key)? else {
            return Ok(());
        };
        if table != Table::Meta {
            self.sum.sub(&term(table, key, &old));
            self.touched = true;
        }
        self.w.delete(table, key).map_err(StateError::store)
    }

    /// Stores the running sum; call once at the end of an apply.
    pub(crate) fn finish(self) -> Result<(), StateError> {
        if self.touched {
            self.w
                .put(Table::Meta, META_STATE_HASH, &self.sum.to_bytes())
                .map_err(StateError::store)?;
        }
        Ok(())
    }
}

pub(crate) fn read_sum<S: crate::Store + ?Sized>(s: &S) -> Result<Sum, StateError> {
    match s
        .get(Table::Meta, META_STATE_HASH)
        .map_err(StateError::store)?
    {
        None => Ok(Sum::default()),
        Some(b) => {
            let arr: [u8; 32] = b
                .as_slice()
                .try_into()
                .map_err(|_| StateError::corrupt(Table::Meta, "the state hash is not 32 bytes"))?;
            Ok(Sum::from_bytes(&arr))
        }
    }
}

/// Recomputes the state hash from every entry of a [`crate::MemStore`], to
/// check the running sum (tests and audits; O(size of the state)).
pub fn recompute_state_hash(store: &crate::MemStore) -> [u8; 32] {
    let mut sum = Sum::default();
    for &t in Table::ALL {
        if t == Table::Meta {
            continue;
        }
        for (k, v) in store.entries(t) {
            sum.add(&term(t, k, v));
        }
    }
    sum.to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_sub_undo_each_other_with_carries() {
        let mut s = Sum([u64::MAX, u64::MAX, 0, 7]);
        let o = Sum([1, 0, u64::MAX, 9]);
        let before = s;
        s.add(&o);
        assert_eq!(s, Sum([0, 0, 0, 17]));
        s.sub(&o);
        assert_eq!(s, before);
        assert_eq!(Sum::from_bytes(&before.to_bytes()), before);
    }
}
