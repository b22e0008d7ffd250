//! The state hash: one value two nodes compare to know they hold the same state.
//!
//! It is a multiset hash kept up to date on every write, so reading it is
//! O(1) however large the state: the sum, modulo 2²⁵⁶, of
//! `blake3_derive_key(STATE_HASH_CONTEXT, table ‖ len(key) ‖ key ‖ value)`
//! over every entry of every table except [`Table::Meta`] (where the sum
//! itself is kept), where `table` is one byte (the table's place in
//! [`Table::ALL`]) and `len(key)` a LEB128 varint — short, because every
//! byte hashed is paid for on every write. A put subtracts the old entry's term and adds the new
//! one's; a delete subtracts. Addition commutes, so the sum depends only on
//! the final contents, never on the order of writes.
//!
//! It is a fingerprint for comparing honestly computed states, not a
//! commitment an adversary cannot collide: the log's Merkle tree and
//! checkpoints are what make history tamper-evident.

use crate::codec;
use crate::error::StateError;
use crate::store::{Change, Overlay, Store, StoreWrite, Table};

/// blake3 derive-key context of one entry's term in the state hash.
pub const STATE_HASH_CONTEXT: &str = "kaitiaki 2026-11 governance state entry v2";

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
    // Deriving the context key costs a compression of its own: do it once.
    static BASE: std::sync::OnceLock<blake3::Hasher> = std::sync::OnceLock::new();
    let mut h = BASE
        .get_or_init(|| blake3::Hasher::new_derive_key(STATE_HASH_CONTEXT))
        .clone();
    // One update of the whole input costs far less than several small ones.
    let len = 1 + 10 + key.len() + value.len();
    let mut small = [0u8; 512];
    let mut large = Vec::new();
    let buf: &mut [u8] = if len <= small.len() {
        &mut small[..len]
    } else {
        large.resize(len, 0);
        &mut large
    };
    buf[0] = table.position() as u8;
    let mut at = 1;
    let mut n = key.len() as u64;
    loop {
        let more = n >= 0x80;
        buf[at] = (n as u8 & 0x7f) | if more { 0x80 } else { 0 };
        at += 1;
        n >>= 7;
        if !more {
            break;
        }
    }
    buf[at..at + key.len()].copy_from_slice(key);
    at += key.len();
    buf[at..at + value.len()].copy_from_slice(value);
    at += value.len();
    let buf = &buf[..at];
    h.update(buf);
    Sum::from_bytes(h.finalize().as_bytes())
}

/// The writer every rule writes through: it buffers one apply's writes in
/// an [`Overlay`], so rules read what they wrote and a rejected statement
/// writes nothing. [`commit`] then writes the changes and keeps the state
/// hash in step.
pub(crate) struct Tx<'a, S: Store + ?Sized> {
    o: Overlay<'a, S>,
}

impl<'a, S: Store + ?Sized> Tx<'a, S> {
    pub(crate) fn new(s: &'a S) -> Self {
        Tx { o: Overlay::new(s) }
    }

    /// The store as a reader (sees this transaction's own writes).
    pub(crate) fn r(&self) -> &Overlay<'a, S> {
        &self.o
    }

    pub(crate) fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.o.get(table, key).map_err(StateError::store)
    }

    /// Writes `value` under `key`.
    pub(crate) fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StateError> {
        self.o.put(table, key, value).map_err(StateError::store)
    }

    /// Encodes and writes a record.
    pub(crate) fn put_record<T: crate::binary::Bin>(
        &mut self,
        table: Table,
        key: &[u8],
        value: &T,
    ) -> Result<(), StateError> {
        let bytes = codec::encode(table, value)?;
        self.put(table, key, &bytes)
    }

    pub(crate) fn delete(&mut self, table: Table, key: &[u8]) -> Result<(), StateError> {
        self.o.delete(table, key).map_err(StateError::store)
    }

    /// The buffered writes.
    pub(crate) fn into_changes(self) -> Vec<Change> {
        self.o.into_changes()
    }
}

/// Writes one apply's changes to `w`, skipping those that change nothing,
/// and stores the new running sum.
pub(crate) fn commit<W: StoreWrite + ?Sized>(
    w: &mut W,
    changes: Vec<Change>,
) -> Result<(), StateError> {
    let mut sum = read_sum(&*w)?;
    let mut touched = false;
    for c in changes {
        if c.table == Table::Meta {
            continue;
        }
        // The value moves into the store, so it is hashed first; equal
        // terms mean an unchanged entry (and would cancel out anyway).
        let new = c.value.as_ref().map(|v| term(c.table, &c.key, v));
        let old = w
            .replace_owned(c.table, &c.key, c.value)
            .map_err(StateError::store)?
            .map(|o| term(c.table, &c.key, &o));
        if old == new {
            continue;
        }
        if let Some(o) = &old {
            sum.sub(o);
        }
        if let Some(n) = &new {
            sum.add(n);
        }
        touched = true;
    }
    if touched {
        w.put(Table::Meta, META_STATE_HASH, &sum.to_bytes())
            .map_err(StateError::store)?;
    }
    Ok(())
}

pub(crate) fn read_sum<S: Store + ?Sized>(s: &S) -> Result<Sum, StateError> {
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

    fn lower_hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The known answers of PROTOCOL.md §9.5: two terms, one with a key
    /// whose length takes two LEB128 bytes, and the state hash of a store
    /// holding just those two entries (their sum, little-endian).
    #[test]
    fn terms_and_their_sum_match_the_protocol() {
        use crate::store::StoreWrite;
        let a = term(Table::Statements, b"abc", b"xyz").to_bytes();
        assert_eq!(
            lower_hex(&a),
            "08ef060d9b3ae9db0a289c06c471c40350b71e0ed56ef2e52ec7716b5d8ca382"
        );
        let long = [b'k'; 300];
        let b = term(Table::Requests, &long, b"").to_bytes();
        assert_eq!(
            lower_hex(&b),
            "3f648a30b7d64ba9b85ec1b20cfcb6fb5ea045ae1d94f47143b7b0af1ca60eb7"
        );
        let mut store = crate::MemStore::default();
        store
            .put(Table::Statements, b"abc", b"xyz")
            .expect("in memory");
        store.put(Table::Requests, &long, b"").expect("in memory");
        assert_eq!(
            lower_hex(&recompute_state_hash(&store)),
            "4753913d52113585c3865db9d06d7bffae5764bcf202e757727e221b7a32b239"
        );
    }
}
