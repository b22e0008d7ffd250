//! C2SP tlog-checkpoints: a log's signed statement of its size and root.
//!
//! A checkpoint is the text of a signed note ([`crate::note`]):
//!
//! ```text
//! <origin>\n
//! <tree size, decimal, no leading zeros>\n
//! <root hash, standard base64 of 32 bytes>\n
//! [<extension line>\n ...]
//! ```
//!
//! Parsing is strict so that one checkpoint has exactly one spelling:
//! `parse(text).to_text() == text` for every accepted text. Kaitiaki adds one
//! rule of its own, [`check_origin`]; see there for why.

use std::fmt;

use base64::{engine::general_purpose::STANDARD, Engine as _};

use crate::note::{Note, NoteError, NoteSigner, Verifier, VerifyError};
use crate::Hash;

/// The first bytes of every DSSE pre-authentication encoding, which is what
/// Kaitiaki statement signatures sign (see [`crate::envelope`]).
pub const DSSE_ORIGIN_PREFIX: &str = "DSSEv1";
/// The first bytes of every tlog-cosignature signed message
/// (`cosignature/v1\n…`), and of any later version of it.
pub const COSIGNATURE_ORIGIN_PREFIX: &str = "cosignature/";
/// Origins may not begin with any of these; see [`check_origin`].
pub const FORBIDDEN_ORIGIN_PREFIXES: [&str; 2] = [DSSE_ORIGIN_PREFIX, COSIGNATURE_ORIGIN_PREFIX];
/// Lines before the extension lines: origin, size, root.
pub const CHECKPOINT_HEADER_LINES: usize = 3;

/// A log's tree head: origin, size and root, plus any extension lines.
// INVARIANT: `check_origin(origin)` holds; every extension line is non-empty
// and free of control characters. So `to_text` is a valid note text and
// `parse(to_text())` gives back the same checkpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

/// Why a checkpoint body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The body does not end in a newline.
    #[error("a checkpoint body must end in a newline")]
    MissingFinalNewline,
    /// Fewer than the three lines origin, size, root.
    #[error("a checkpoint has at least 3 lines (origin, size, root); found {found}")]
    TooFewLines {
        /// How many lines there were.
        found: usize,
    },
    /// The origin line is empty.
    #[error("the origin must not be empty")]
    EmptyOrigin,
    /// The origin starts with a prefix reserved for other signed messages.
    #[error("the origin must not begin with {prefix:?}")]
    ForbiddenOrigin {
        /// The reserved prefix it begins with.
        prefix: &'static str,
    },
    /// A line holds a control character (or, when built from parts, a newline).
    #[error("line {line} holds a control character")]
    ControlCharacter {
        /// 1-based line number.
        line: usize,
    },
    /// The size line is not ASCII decimal digits.
    #[error("the tree size must be ASCII decimal digits")]
    SizeNotDecimal,
    /// The size has a leading zero (only `0` itself may start with one).
    #[error("the tree size must not have leading zeros")]
    SizeLeadingZero,
    /// The size does not fit in 64 bits.
    #[error("the tree size does not fit in 64 bits")]
    SizeOutOfRange,
    /// The root line is not standard padded base64.
    #[error("the root hash must be standard padded base64")]
    RootNotBase64,
    /// The root decodes to the wrong number of bytes.
    #[error("the root hash is {len} bytes; it must be 32")]
    RootLength {
        /// How many bytes it decoded to.
        len: usize,
    },
    /// An extension line is empty.
    #[error("extension line {line} is empty")]
    EmptyExtension {
        /// 1-based line number within the checkpoint.
        line: usize,
    },
}

impl CheckpointError {
    /// A stable machine-readable code for this rejection.
    pub fn code(&self) -> &'static str {
        match self {
            CheckpointError::MissingFinalNewline => "checkpoint_missing_final_newline",
            CheckpointError::TooFewLines { .. } => "checkpoint_too_few_lines",
            CheckpointError::EmptyOrigin => "checkpoint_empty_origin",
            CheckpointError::ForbiddenOrigin { .. } => "checkpoint_forbidden_origin",
            CheckpointError::ControlCharacter { .. } => "checkpoint_control_character",
            CheckpointError::SizeNotDecimal => "checkpoint_size_not_decimal",
            CheckpointError::SizeLeadingZero => "checkpoint_size_leading_zero",
            CheckpointError::SizeOutOfRange => "checkpoint_size_out_of_range",
            CheckpointError::RootNotBase64 => "checkpoint_root_not_base64",
            CheckpointError::RootLength { .. } => "checkpoint_root_length",
            CheckpointError::EmptyExtension { .. } => "checkpoint_empty_extension",
        }
    }
}

/// The Kaitiaki origin rule: an origin is non-empty, has no control
/// characters, and does not begin with `DSSEv1` or `cosignature/`.
///
/// Why: one Ed25519 key may end up signing more than one kind of message —
/// a node's key signs checkpoints and may also sign statements (DSSE) or
/// cosign other logs' checkpoints. The key id separates who signed, but a
/// signature is over bytes, and bytes carry no label. A checkpoint's signed
/// bytes start with its origin, a statement signature's bytes start with
/// `DSSEv1 ` and a cosignature's with `cosignature/v1\n`. Forbidding those
/// prefixes makes the three sets of messages disjoint by their first bytes,
/// so a signature made for one can never be presented as the other,
/// whatever the rest of the message looks like and whatever later versions
/// of those formats add.
pub fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    if origin.is_empty() {
        return Err(CheckpointError::EmptyOrigin);
    }
    if origin.bytes().any(|b| b < 0x20) {
        return Err(CheckpointError::ControlCharacter { line: 1 });
    }
    match FORBIDDEN_ORIGIN_PREFIXES
        .iter()
        .find(|p| origin.starts_with(**p))
    {
        Some(prefix) => Err(CheckpointError::ForbiddenOrigin { prefix }),
        None => Ok(()),
    }
}

fn parse_size(line: &str) -> Result<u64, CheckpointError> {
    if line.is_empty() || !line.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CheckpointError::SizeNotDecimal);
    }
    if line.len() > 1 && line.starts_with('0') {
        return Err(CheckpointError::SizeLeadingZero);
    }
    line.parse().map_err(|_| CheckpointError::SizeOutOfRange)
}

fn parse_root(line: &str) -> Result<Hash, CheckpointError> {
    let raw = STANDARD
        .decode(line)
        .map_err(|_| CheckpointError::RootNotBase64)?;
    Hash::from_slice(&raw).ok_or(CheckpointError::RootLength { len: raw.len() })
}

fn check_extension(line: &str, number: usize) -> Result<(), CheckpointError> {
    if line.is_empty() {
        return Err(CheckpointError::EmptyExtension { line: number });
    }
    if line.bytes().any(|b| b < 0x20) {
        return Err(CheckpointError::ControlCharacter { line: number });
    }
    Ok(())
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        Self::with_extensions(origin, size, root, Vec::new())
    }

    /// A checkpoint with extension lines (the spec discourages them, since
    /// monitors cannot audit them; they are carried, never interpreted).
    pub fn with_extensions(
        origin: impl Into<String>,
        size: u64,
        root: Hash,
        extensions: Vec<String>,
    ) -> Result<Self, CheckpointError> {
        let origin = origin.into();
        check_origin(&origin)?;
        for (i, line) in extensions.iter().enumerate() {
            check_extension(line, CHECKPOINT_HEADER_LINES + 1 + i)?;
        }
        Ok(Checkpoint {
            origin,
            size,
            root,
            extensions,
        })
    }

    /// Parses a checkpoint body (a note's text, final newline included).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooFewLines { found: lines.len() });
        };
        check_origin(origin)?;
        let size = parse_size(size)?;
        let root = parse_root(root)?;
        for (i, line) in extensions.iter().enumerate() {
            check_extension(line, CHECKPOINT_HEADER_LINES + 1 + i)?;
        }
        Ok(Checkpoint {
            origin: (*origin).to_owned(),
            size,
            root,
            extensions: extensions.iter().map(|l| (*l).to_owned()).collect(),
        })
    }

    /// Parses the text of a note as a checkpoint. The note's signatures are
    /// not looked at; see [`VerifiedCheckpoint::open`].
    pub fn from_note(note: &Note) -> Result<Self, CheckpointError> {
        Self::parse(note.text())
    }

    /// The log's identity.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 6962 root hash of the tree at [`Checkpoint::size`].
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// The extension lines, without their newlines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The body: the exact note text that is signed and cosigned.
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    /// Signs the body as a note. Fails only if the note would exceed
    /// [`crate::note::MAX_NOTE_BYTES`].
    pub fn sign(&self, signer: &NoteSigner) -> Result<Note, NoteError> {
        Note::sign(self.to_text(), signer)
    }
}

impl fmt::Display for Checkpoint {
    /// The body, as [`Checkpoint::to_text`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.origin)?;
        writeln!(f, "{}", self.size)?;
        writeln!(f, "{}", self.root.to_base64())?;
        for line in &self.extensions {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checkpoint")
            .field("origin", &self.origin)
            .field("size", &self.size)
            .field("root", &self.root)
            .field("extensions", &self.extensions)
            .finish()
    }
}

impl std::str::FromStr for Checkpoint {
    type Err = CheckpointError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A checkpoint whose note verified under a trusted log key and whose origin
/// is the expected one. Only [`VerifiedCheckpoint::open`] and
/// [`VerifiedCheckpoint::from_note`] make one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    note: Note,
}

/// Why a signed checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenCheckpointError {
    /// The note is malformed.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The note's signatures are not accepted.
    #[error(transparent)]
    Signature(#[from] VerifyError),
    /// The note text is not a valid checkpoint.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoint is for another log.
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    OriginMismatch {
        /// The origin the caller asked for.
        expected: String,
        /// The origin in the checkpoint.
        found: String,
    },
}

impl OpenCheckpointError {
    /// A stable machine-readable code for this rejection.
    pub fn code(&self) -> &'static str {
        match self {
            OpenCheckpointError::Note(e) => e.code(),
            OpenCheckpointError::Signature(e) => e.code(),
            OpenCheckpointError::Checkpoint(e) => e.code(),
            OpenCheckpointError::OriginMismatch { .. } => "checkpoint_origin_mismatch",
        }
    }
}

impl VerifiedCheckpoint {
    /// Parses an encoded signed checkpoint, verifies it under `log_verifiers`
    /// (lines from other keys, such as witnesses, are kept and ignored), and
    /// checks that it is for the log `origin`.
    pub fn open<V: Verifier>(
        bytes: &[u8],
        origin: &str,
        log_verifiers: &[V],
    ) -> Result<Self, OpenCheckpointError> {
        Self::from_note(Note::parse(bytes)?, origin, log_verifiers)
    }

    /// As [`VerifiedCheckpoint::open`], for a note already parsed.
    pub fn from_note<V: Verifier>(
        note: Note,
        origin: &str,
        log_verifiers: &[V],
    ) -> Result<Self, OpenCheckpointError> {
        // Signatures first: the spec says to ignore a note's text until a
        // trusted key has vouched for it.
        note.verify(log_verifiers)?;
        let checkpoint = Checkpoint::from_note(&note)?;
        if checkpoint.origin != origin {
            return Err(OpenCheckpointError::OriginMismatch {
                expected: origin.to_owned(),
                found: checkpoint.origin,
            });
        }
        Ok(VerifiedCheckpoint { checkpoint, note })
    }

    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The whole note, every signature line included.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// Gives back the note, for example to add cosignatures to it.
    pub fn into_note(self) -> Note {
        self.note
    }
}
