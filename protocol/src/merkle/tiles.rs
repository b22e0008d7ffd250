//! C2SP tlog-tiles: the log's tree and leaves as immutable, cacheable files.
//!
//! A tile is up to 256 consecutive stored hashes of one tree level: tile
//! level `L` holds the hashes of the complete subtrees of tree level `8 L`,
//! so tile `(L, N)` at width `W` is the subtrees `(8 L, 256 N + i)` for
//! `i < W`. An entry bundle is the leaves a level-0 tile hashes, each as a
//! big-endian `u16` length followed by the leaf's bytes.
//!
//! This module names tiles ([`TileRef`]: parsing and writing their paths),
//! says which exist in a tree of a given size ([`TileRef::exists_at`]), and
//! writes and reads entry bundles. Nothing here does I/O.

use std::fmt;

use super::Subtree;

/// Hashes in a full tile, and leaves in a full entry bundle.
pub const TILE_WIDTH: u64 = 256;

/// Tree levels a tile spans: tile level `L` holds tree level `8 L`.
pub const TILE_HEIGHT: u32 = 8;

/// The highest tile level a path may name (C2SP tlog-tiles allows 0–63).
pub const MAX_TILE_LEVEL: u8 = 63;

/// The longest leaf an entry bundle can carry: its length is a `u16`.
pub const MAX_BUNDLE_ENTRY: usize = u16::MAX as usize;

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileKind {
    /// Stored hashes of tree level `8 × level`.
    Hashes {
        /// The tile level (0 holds leaf hashes).
        level: u8,
    },
    /// Leaves: the entries a level-0 tile hashes.
    Entries,
}

/// One tile or entry bundle: what it holds, its index within its level,
/// and its width (256 for a full tile, 1–255 for a partial one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileRef {
    kind: TileKind,
    index: u64,
    width: u16,
}

/// Why a tile path was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a tile path: {0}")]
pub struct TilePathError(String);

fn refuse(why: impl Into<String>) -> TilePathError {
    TilePathError(why.into())
}

/// A decimal number written the one way the protocol's texts write one:
/// ASCII digits, no sign, no leading zeros (a tile index, a tree size in a
/// path or a witness request).
pub fn plain_number(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

fn three_digits(s: &str) -> Option<u64> {
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

impl TileRef {
    /// A full tile of hashes.
    pub fn hashes(level: u8, index: u64) -> Option<TileRef> {
        TileRef::new(TileKind::Hashes { level }, index, TILE_WIDTH as u16)
    }

    /// A full entry bundle.
    pub fn entries(index: u64) -> Option<TileRef> {
        TileRef::new(TileKind::Entries, index, TILE_WIDTH as u16)
    }

    /// The tile of `kind` at `index`, `width` wide; `None` if the width is
    /// not 1–256, the level above 63, or the tile would start past any
    /// `u64` tree.
    pub fn new(kind: TileKind, index: u64, width: u16) -> Option<TileRef> {
        let level = match kind {
            TileKind::Hashes { level } => level,
            TileKind::Entries => 0,
        };
        let valid = (1..=TILE_WIDTH as u16).contains(&width)
            && level <= MAX_TILE_LEVEL
            && index.checked_mul(TILE_WIDTH).is_some();
        valid.then_some(TileRef { kind, index, width })
    }

    /// The same tile, `width` wide.
    pub fn with_width(self, width: u16) -> Option<TileRef> {
        TileRef::new(self.kind, self.index, width)
    }

    /// What the tile holds.
    pub fn kind(&self) -> TileKind {
        self.kind
    }

    /// Its index within its level.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// How many hashes or entries it holds.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Whether it is narrower than a full tile.
    pub fn is_partial(&self) -> bool {
        u64::from(self.width) < TILE_WIDTH
    }

    /// The tree level of its hashes (0 for entries, whose level-0 tile
    /// holds their leaf hashes); `None` past the levels a `u64` tree has.
    pub fn tree_level(&self) -> Option<u8> {
        match self.kind {
            TileKind::Hashes { level } => {
                let l = u32::from(level) * TILE_HEIGHT;
                (l <= u32::from(Subtree::MAX_LEVEL)).then_some(l as u8)
            }
            TileKind::Entries => Some(0),
        }
    }

    /// The first hash (of [`TileRef::tree_level`]) or leaf it holds.
    pub fn first(&self) -> u64 {
        // TileRef::new checked that this cannot overflow.
        self.index * TILE_WIDTH
    }

    /// Whether a tree of `size` leaves has every hash or leaf of this tile:
    /// the tiles a log serves for a checkpoint of that size (and of every
    /// larger one).
    pub fn exists_at(&self, size: u64) -> bool {
        let Some(level) = self.tree_level() else {
            return false;
        };
        let available = size >> level;
        self.first()
            .checked_add(u64::from(self.width))
            .is_some_and(|end| end <= available)
    }

    /// The path below a log's prefix, without a leading slash:
    /// `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`, with `N` in
    /// groups of three digits, all but the last prefixed with `x`.
    pub fn path(&self) -> String {
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        let mut out = String::from("tile/");
        match self.kind {
            TileKind::Hashes { level } => out.push_str(&level.to_string()),
            TileKind::Entries => out.push_str("entries"),
        }
        for (i, g) in groups.iter().enumerate().rev() {
            out.push('/');
            if i > 0 {
                out.push('x');
            }
            out.push_str(&format!("{g:03}"));
        }
        if self.is_partial() {
            out.push_str(&format!(".p/{}", self.width));
        }
        out
    }

    /// Parses what follows `tile/` in a tile path. Only the one spelling
    /// [`TileRef::path`] writes is accepted: no leading zeros, no `x000`
    /// group in front, no `.p/256`.
    pub fn parse(rest: &str) -> Result<TileRef, TilePathError> {
        let mut parts = rest.split('/');
        let kind = match parts.next() {
            Some("entries") => TileKind::Entries,
            Some(level) => {
                let level = plain_number(level)
                    .and_then(|l| u8::try_from(l).ok())
                    .filter(|l| *l <= MAX_TILE_LEVEL)
                    .ok_or_else(|| refuse(format!("level {level:?} is not 0–63")))?;
                TileKind::Hashes { level }
            }
            None => return Err(refuse("no level")),
        };
        let parts: Vec<&str> = parts.collect();
        let Some((last, groups)) = parts.split_last() else {
            return Err(refuse("no index"));
        };
        // A partial tile's width is a path element of its own after `.p`.
        let (groups, last, width) = match groups.split_last() {
            Some((marked, before)) if marked.ends_with(".p") => {
                let w = *last;
                let width = plain_number(w)
                    .filter(|w| (1..TILE_WIDTH).contains(w))
                    .ok_or_else(|| refuse(format!("width {w:?} is not 1–255")))?;
                let digits = &marked[..marked.len() - 2];
                (before, digits, width as u16)
            }
            _ => (groups, *last, TILE_WIDTH as u16),
        };
        let mut index: u64 = 0;
        for (i, g) in groups.iter().enumerate() {
            let digits = g
                .strip_prefix('x')
                .and_then(three_digits)
                .ok_or_else(|| refuse(format!("index element {g:?} is not x and three digits")))?;
            if i == 0 && digits == 0 {
                return Err(refuse("the index has a leading x000"));
            }
            index = index
                .checked_mul(1000)
                .and_then(|n| n.checked_add(digits))
                .ok_or_else(|| refuse("the index is too large"))?;
        }
        let digits = three_digits(last)
            .ok_or_else(|| refuse(format!("index element {last:?} is not three digits")))?;
        index = index
            .checked_mul(1000)
            .and_then(|n| n.checked_add(digits))
            .ok_or_else(|| refuse("the index is too large"))?;
        TileRef::new(kind, index, width).ok_or_else(|| refuse("the index is too large"))
    }
}

impl fmt::Display for TileRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// Why entries cannot be bundled, or a bundle read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// An entry is longer than a `u16` length can say.
    #[error("entry {index} is {len} bytes; an entry bundle carries at most 65535")]
    EntryTooLarge {
        /// Its place in the bundle.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// The bundle ends inside an entry.
    #[error("the entry bundle ends inside entry {0}")]
    Truncated(usize),
}

/// An entry bundle: each entry as `u16 BE length ‖ bytes`, in order.
pub fn encode_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, BundleError> {
    let mut out = Vec::new();
    for (index, e) in entries.into_iter().enumerate() {
        let len = u16::try_from(e.len()).map_err(|_| BundleError::EntryTooLarge {
            index,
            len: e.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// The entries of a bundle, in order.
pub fn decode_bundle(mut bytes: &[u8]) -> Result<Vec<&[u8]>, BundleError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let truncated = BundleError::Truncated(out.len());
        let (len, rest) = bytes.split_first_chunk::<2>().ok_or(truncated.clone())?;
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len {
            return Err(truncated);
        }
        let (entry, rest) = rest.split_at(len);
        out.push(entry);
        bytes = rest;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every tile's path reads back as that tile.
        #[test]
        fn every_tile_path_round_trips(
            level in 0u8..=63,
            index in 0u64..=(u64::MAX / TILE_WIDTH),
            width in 1u16..=256,
            entries: bool,
        ) {
            let kind = if entries { TileKind::Entries } else { TileKind::Hashes { level } };
            let tile = TileRef::new(kind, index, width).expect("in range");
            let path = tile.path();
            prop_assert_eq!(TileRef::parse(path.strip_prefix("tile/").expect("prefix")), Ok(tile));
        }

        /// Whatever else a client sends is either refused or the one
        /// spelling of a tile: no two paths name the same tile.
        #[test]
        fn any_accepted_path_is_the_canonical_one(
            rest in "(0|00|[1-9][0-9]?|entries)(/x?[0-9]{1,4}){1,4}(\\.p/[0-9]{1,3})?|[0-9x./a-z]{0,40}"
        ) {
            if let Ok(tile) = TileRef::parse(&rest) {
                prop_assert_eq!(tile.path(), format!("tile/{rest}"));
            }
        }
    }

    fn parse(p: &str) -> Result<TileRef, TilePathError> {
        TileRef::parse(p.strip_prefix("tile/").expect("a tile path"))
    }

    #[test]
    fn paths_are_written_and_read_as_c2sp_spells_them() {
        let cases = [
            (TileRef::hashes(0, 0), "tile/0/000"),
            (TileRef::hashes(0, 1_234_067), "tile/0/x001/x234/067"),
            (TileRef::hashes(3, 999), "tile/3/999"),
            (TileRef::hashes(1, 1000), "tile/1/x001/000"),
            (TileRef::entries(1_234_067), "tile/entries/x001/x234/067"),
            (
                TileRef::entries(1_234_067).and_then(|t| t.with_width(8)),
                "tile/entries/x001/x234/067.p/8",
            ),
            (
                TileRef::hashes(2, 5).and_then(|t| t.with_width(255)),
                "tile/2/005.p/255",
            ),
            (
                TileRef::hashes(63, u64::MAX / 256),
                "tile/63/x072/x057/x594/x037/x927/935",
            ),
        ];
        for (tile, path) in cases {
            let tile = tile.expect("a valid tile");
            assert_eq!(tile.path(), path);
            assert_eq!(parse(path), Ok(tile), "{path}");
        }
    }

    #[test]
    fn only_the_one_spelling_of_a_tile_is_accepted() {
        for bad in [
            "tile/00/000",
            "tile/01/000",
            "tile/64/000",
            "tile/-1/000",
            "tile/0/0",
            "tile/0/0000",
            "tile/0/x000/001",
            "tile/0/001/x002",
            "tile/0/x1/001",
            "tile/0/abc",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/08",
            "tile/0/000.p",
            "tile/0/000.p/",
            "tile/0/000/",
            "tile/0",
            "tile/0/",
            "tile/entries",
            "tile/entries/x999/x999/x999/x999/x999/x999/x999/999",
            "tile/0/x072/x057/x594/x037/x927/936",
            "tile/zero/000",
        ] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn which_tiles_a_tree_has() {
        // C2SP's example: a tree of 70 000 leaves has 273 full level-0
        // tiles and a partial one of 112, one full level-1 tile and a
        // partial one of 17, and a partial level-2 tile of 1.
        let size = 70_000;
        let full0 = |n| TileRef::hashes(0, n).expect("tile");
        assert!(full0(272).exists_at(size));
        assert!(!full0(273).exists_at(size));
        assert!(full0(273).with_width(112).expect("w").exists_at(size));
        assert!(!full0(273).with_width(113).expect("w").exists_at(size));
        let one = TileRef::hashes(1, 0).expect("tile");
        assert!(one.exists_at(size));
        assert!(!TileRef::hashes(1, 1).expect("tile").exists_at(size));
        let l1 = TileRef::hashes(1, 1).expect("tile");
        assert!(l1.with_width(17).expect("w").exists_at(size));
        assert!(!l1.with_width(18).expect("w").exists_at(size));
        let l2 = TileRef::hashes(2, 0)
            .expect("tile")
            .with_width(1)
            .expect("w");
        assert!(l2.exists_at(size));
        assert!(!l2.with_width(2).expect("w").exists_at(size));
        // Entry bundles follow the level-0 tiles.
        assert!(TileRef::entries(272).expect("tile").exists_at(size));
        assert!(!TileRef::entries(273).expect("tile").exists_at(size));
        // Levels past the tree's height never exist.
        let high = TileRef::hashes(8, 0)
            .expect("tile")
            .with_width(1)
            .expect("w");
        assert_eq!(high.tree_level(), None);
        assert!(!high.exists_at(u64::MAX));
        assert!(TileRef::hashes(7, 0).expect("tile").tree_level() == Some(56));
    }

    #[test]
    fn bundles_round_trip_and_refuse_what_a_u16_cannot_say() {
        let entries: [&[u8]; 3] = [b"first", b"", &[7u8; 300]];
        let bundle = encode_bundle(entries).expect("encodes");
        assert_eq!(&bundle[..7], b"\x00\x05first");
        assert_eq!(decode_bundle(&bundle).expect("decodes"), entries.to_vec());
        assert_eq!(
            decode_bundle(&bundle[..bundle.len() - 1]),
            Err(BundleError::Truncated(2))
        );
        assert_eq!(decode_bundle(&[0]), Err(BundleError::Truncated(0)));
        let big = vec![0u8; MAX_BUNDLE_ENTRY + 1];
        assert_eq!(
            encode_bundle([b"ok".as_slice(), &big]),
            Err(BundleError::EntryTooLarge {
                index: 1,
                len: MAX_BUNDLE_ENTRY + 1
            })
        );
        let most = vec![1u8; MAX_BUNDLE_ENTRY];
        let one = encode_bundle([most.as_slice()]).expect("fits");
        assert_eq!(decode_bundle(&one).expect("decodes"), vec![most.as_slice()]);
    }
}
