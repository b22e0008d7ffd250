//! Commands about files kept off the log: outputs and confidential attachments.
//!
//! The log never holds the file, only its [`ContentHash`]: an output's hash
//! lets anyone check that the paper or table they hold is the one reported;
//! an attachment's hash commits to confidential detail (tapu knowledge, a
//! data management plan) that the node serves only to the body's members
//! and can erase later without breaking verification.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Subcommand, ValueEnum};
use kaitiaki_protocol::statement::{AttachmentCommit, OutputReview, OutputSubmit};
use kaitiaki_protocol::{Body, ContentHash, StatementId};
use serde::Serialize;

use crate::actions::read_file;
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
    /// Commit to a confidential file and upload it; only the readers' members may fetch it.
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
    /// Commits, uploads and prints.
    pub async fn run(&self, s: &Session) -> Result<()> {
        let AttachmentCmd::Add {
            subject,
            readers,
            file,
            media_type,
            description,
        } = self;
        let bytes = read_file(file)?;
        let content_hash = ContentHash::of(&bytes);
        let size = bytes.len() as u64;
        let commit = s
            .say(Body::AttachmentCommit(AttachmentCommit {
                subject: *subject,
                readers: *readers,
                content_hash,
                size,
                media_type: media_type.clone(),
                description: description.clone(),
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
