//! Commands about files kept off the log: outputs and confidential attachments.
//!
//! The log never holds the file, only its [`ContentHash`]: an output's hash
//! lets anyone check that the paper or table they hold is the one reported;
//! an attachment's hash commits to confidential detail (tapu knowledge, a
//! data management plan) that the node serves only to the body's members
//! and can erase later without breaking verification. Fetching and erasing
//! are signed requests (PROTOCOL.md §8.7) by a member's key, for this node
//! alone and for this method alone.

use std::io::{IsTerminal as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::{Subcommand, ValueEnum};
use kaitiaki_node::api::attachments::sign_request;
use kaitiaki_protocol::statement::{AttachmentCommit, OutputReview, OutputSubmit};
use kaitiaki_protocol::{Body, ContentHash, StatementId};
use serde::Serialize;

use crate::actions::read_file;
use crate::client::{ATTACHMENT_CAP, ERROR_CAP};
use crate::output::Render;
use crate::parse;
use crate::submit::{Session, Submitted};

/// Release or withhold an output.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ReleaseArg {
    /// The output may be published.
    Release,
    /// The output must not be published.
    Withhold,
}

/// `kaitiaki output …`.
#[derive(Debug, Subcommand)]
pub enum OutputCmd {
    /// Submit an output (paper, table, model) by the content hash of its file.
    Submit {
        /// The request it came from.
        #[arg(value_parser = parse::id)]
        request: StatementId,
        /// Its title.
        #[arg(long)]
        title: String,
        /// The file; only its hash goes into the log.
        #[arg(long)]
        file: PathBuf,
        /// Where it can be found, if public.
        #[arg(long)]
        link: Option<String>,
    },
    /// Release or withhold an output, for a governing body.
    Review {
        /// The output.
        #[arg(value_parser = parse::id)]
        output: StatementId,
        /// release or withhold.
        #[arg(value_enum)]
        verdict: ReleaseArg,
        /// The body reviewing it.
        #[arg(long, value_parser = parse::id)]
        body: StatementId,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

/// `kaitiaki attachment …`.
#[derive(Debug, Subcommand)]
pub enum AttachmentCmd {
    /// Commit to a confidential file and upload it, for the readers' members only.
    ///
    /// Only members of the readers body may fetch it (`attachment get`) or
    /// erase it (`attachment erase`).
    Add {
        /// The statement it belongs to (a request, report, output…).
        #[arg(value_parser = parse::id)]
        subject: StatementId,
        /// The body whose members may read it.
        #[arg(long, value_parser = parse::id)]
        readers: StatementId,
        /// The file.
        #[arg(long)]
        file: PathBuf,
        /// Its media type.
        #[arg(long, default_value = "application/octet-stream")]
        media_type: String,
        /// What it is, in words that reveal nothing confidential.
        #[arg(long)]
        description: String,
    },
    /// Fetch a confidential attachment, signed as a member of its readers body.
    Get {
        /// Its content hash, as `attachment add` printed it.
        #[arg(value_parser = parse::content_hash)]
        hash: ContentHash,
        /// Where to save it (a new file, readable by its owner only); without
        /// it the bytes go to standard output, which must not be a terminal.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Erase a confidential attachment from the node, signed as a member of its readers body.
    ///
    /// The commitment stays in the log and still verifies; copies outside
    /// the node (backups) are its operator's to erase.
    Erase {
        /// Its content hash, as `attachment add` printed it.
        #[arg(value_parser = parse::content_hash)]
        hash: ContentHash,
    },
}

/// The result of `attachment add`: the commitment, and whether the bytes went up.
#[derive(Debug, Serialize)]
pub struct AttachmentAdded {
    /// The `attachment.commit` statement.
    pub commit: Submitted,
    /// The file's content hash.
    pub content_hash: ContentHash,
    /// The file's size.
    pub size: u64,
    /// Whether the node took the bytes.
    pub uploaded: bool,
}

impl Render for AttachmentAdded {
    fn human(&self, out: &mut String) {
        self.commit.human(out);
        out.push_str(&format!(
            "content hash: {} ({} bytes)\n",
            self.content_hash, self.size
        ));
        if self.uploaded {
            out.push_str("The file is stored on the node, readable by the body's members only.\n");
        }
    }
}

/// The result of `attachment get --out FILE`.
#[derive(Debug, Serialize)]
pub struct AttachmentSaved {
    /// The content hash, checked against the bytes received.
    pub content_hash: ContentHash,
    /// How many bytes.
    pub size: u64,
    /// Where they were saved.
    pub saved_to: String,
}

impl Render for AttachmentSaved {
    fn human(&self, out: &mut String) {
        out.push_str(&format!(
            "Saved {} bytes to {}; they have the content hash {} the log commits to.\n\
             The file is confidential: keep it where only the board's members can read it.\n",
            self.size, self.saved_to, self.content_hash
        ));
    }
}

/// The result of `attachment erase`.
#[derive(Debug, Serialize)]
pub struct AttachmentErased {
    /// The content hash.
    pub content_hash: ContentHash,
    /// The node it was erased from.
    pub node: String,
    /// Whether it was erased (false for `--dry-run`).
    pub erased: bool,
}

impl Render for AttachmentErased {
    fn human(&self, out: &mut String) {
        if self.erased {
            out.push_str(&format!(
                "Erased the attachment {} from the node at {}. Its commitment stays in the log \
                 and still verifies; copies outside the node (backups) are its operator's to \
                 erase.\n",
                self.content_hash, self.node
            ));
        } else {
            out.push_str(&format!(
                "Would erase the attachment {} from the node at {} (not sent: --dry-run).\n",
                self.content_hash, self.node
            ));
        }
    }
}

/// The content hash of a file, read in pieces so a large output does not
/// have to fit in memory.
pub fn hash_file(path: &PathBuf) -> Result<(ContentHash, u64)> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = ContentHash::hasher();
    let size = std::io::copy(&mut file, &mut hasher)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok((ContentHash::from_hasher(&hasher), size))
}

impl OutputCmd {
    /// Builds, signs, sends and prints.
    pub async fn run(&self, s: &Session) -> Result<()> {
        let body = match self {
            OutputCmd::Submit {
                request,
                title,
                file,
                link,
            } => {
                let (content_hash, _) = hash_file(file)?;
                Body::OutputSubmit(OutputSubmit {
                    request: *request,
                    title: title.clone(),
                    content_hash,
                    link: link.clone(),
                })
            }
            OutputCmd::Review {
                output,
                verdict,
                body,
                reason,
            } => Body::OutputReview(OutputReview {
                output: *output,
                body: *body,
                release: matches!(verdict, ReleaseArg::Release),
                reason: reason.clone(),
            }),
        };
        s.say_and_print(body).await
    }
}

impl AttachmentCmd {
    /// Does what was asked and prints.
    pub async fn run(&self, s: &Session) -> Result<()> {
        match self {
            AttachmentCmd::Add {
                subject,
                readers,
                file,
                media_type,
                description,
            } => {
                add(
                    s,
                    *subject,
                    *readers,
                    file,
                    media_type.clone(),
                    description.clone(),
                )
                .await
            }
            AttachmentCmd::Get { hash, out } => get(s, hash, out.as_ref()).await,
            AttachmentCmd::Erase { hash } => erase(s, hash).await,
        }
    }
}

/// Commits, uploads and prints.
async fn add(
    s: &Session,
    subject: StatementId,
    readers: StatementId,
    file: &PathBuf,
    media_type: String,
    description: String,
) -> Result<()> {
    let bytes = read_file(file)?;
    let content_hash = ContentHash::of(&bytes);
    let size = bytes.len() as u64;
    let commit = s
        .say(Body::AttachmentCommit(AttachmentCommit {
            subject,
            readers,
            content_hash,
            size,
            media_type,
            description,
        }))
        .await?;
    // The commitment must be in the log before the node will take the
    // bytes, so the upload comes second.
    let uploaded = if s.dry_run {
        false
    } else {
        s.client.put_attachment(&content_hash, bytes).await?;
        true
    };
    s.printer.emit(&AttachmentAdded {
        commit,
        content_hash,
        size,
        uploaded,
    })
}

/// The path of an attachment, and the signed-request header for `method`
/// on it by the chosen key, for this node's log.
async fn signed_request(s: &Session, method: &str, hash: &ContentHash) -> Result<(String, String)> {
    let (_, key) = s.signer()?;
    let origin = s.health().await?.origin;
    let path = format!("/v1/attachments/{hash}");
    let header = sign_request(&key, &origin, method, &path, parse::now());
    Ok((path, header))
}

/// Fetches an attachment, checks its hash, and saves or writes it out.
async fn get(s: &Session, hash: &ContentHash, out: Option<&PathBuf>) -> Result<()> {
    // Decide where the bytes go before asking for them.
    if out.is_none() {
        if s.printer.json() {
            bail!("with --json, give --out FILE: standard output carries the JSON");
        }
        if std::io::stdout().is_terminal() {
            bail!(
                "the attachment is a file, not text; give --out FILE to save it (or redirect \
                 standard output)"
            );
        }
    }
    let (path, header) = signed_request(s, "GET", hash).await?;
    let bytes = s
        .client
        .signed_bytes("GET", &path, &header, ATTACHMENT_CAP, "the attachment")
        .await?;
    // The log commits to the hash, so the bytes are checked, not trusted.
    if ContentHash::of(&bytes) != *hash {
        bail!(
            "the node at {} served bytes that do not have the content hash {hash}; nothing was \
             saved",
            s.client.base()
        );
    }
    let Some(out) = out else {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&bytes)?;
        stdout.flush()?;
        return Ok(());
    };
    // Never over another file, and readable by its owner only: the
    // attachment is confidential.
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
            "{} already exists; give --out a new file name",
            out.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", out.display())),
    };
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", out.display()))?;
    s.printer.emit(&AttachmentSaved {
        content_hash: *hash,
        size: bytes.len() as u64,
        saved_to: out.display().to_string(),
    })
}

/// Erases an attachment's bytes from the node.
async fn erase(s: &Session, hash: &ContentHash) -> Result<()> {
    let (path, header) = signed_request(s, "DELETE", hash).await?;
    if !s.dry_run {
        s.client
            .signed_bytes("DELETE", &path, &header, ERROR_CAP, "the erasure")
            .await?;
    }
    s.printer.emit(&AttachmentErased {
        content_hash: *hash,
        node: s.client.base().to_owned(),
        erased: !s.dry_run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_hash_matches_the_protocol_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table.csv");
        std::fs::write(&path, b"iwi,count\nA,3\n").unwrap();
        let (hash, size) = hash_file(&path).unwrap();
        assert_eq!(hash, ContentHash::of(b"iwi,count\nA,3\n"));
        assert_eq!(size, 14);
    }
}
