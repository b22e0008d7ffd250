//! Where the CLI keeps its files: keys, and the checkpoints it has seen.
//!
//! By default these follow the platform's conventions (the `directories`
//! crate: `~/.config/kaitiaki` and `~/.local/share/kaitiaki` on Linux).
//! `KAITIAKI_HOME` puts everything under one directory instead, which is what
//! tests, the demo and people with several identities want.
//!
//! ```text
//! <home>/keys/<name>.key            one Ed25519 seed per file, owner-only
//! <home>/state/checkpoints/<log>    the latest checkpoint verified per log origin
//! ```

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The environment variable that puts every CLI file under one directory.
pub const HOME_ENV: &str = "KAITIAKI_HOME";

/// The CLI's directories.
#[derive(Clone, Debug)]
pub struct Home {
    keys: PathBuf,
    state: PathBuf,
}

impl Home {
    /// Everything under `root` (what `KAITIAKI_HOME` selects).
    pub fn at(root: &Path) -> Home {
        Home {
            keys: root.join("keys"),
            state: root.join("state"),
        }
    }

    /// `KAITIAKI_HOME` if set, otherwise the platform's directories.
    pub fn from_env() -> Result<Home> {
        if let Some(root) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            return Ok(Home::at(Path::new(&root)));
        }
        let dirs = directories::ProjectDirs::from("", "", "kaitiaki").context(
            "cannot find a home directory for the CLI's files; set KAITIAKI_HOME to choose one",
        )?;
        Ok(Home {
            keys: dirs.config_dir().join("keys"),
            state: dirs.data_local_dir().join("state"),
        })
    }

    /// The directory of the key files.
    pub fn keys_dir(&self) -> &Path {
        &self.keys
    }

    /// The directory of what the CLI remembers between runs.
    pub fn state_dir(&self) -> &Path {
        &self.state
    }
}

/// Creates `dir` (and its parents) readable by the owner only, because it
/// holds secrets or the trust anchors the CLI checks logs against.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    // A directory made earlier by something else may be wider; narrow it.
    let mut perms = fs::metadata(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
        .permissions();
    if perms.mode() & 0o077 != 0 {
        perms.set_mode(0o700);
        fs::set_permissions(dir, perms)
            .with_context(|| format!("cannot restrict directory {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_dirs_are_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::at(tmp.path());
        ensure_private_dir(home.keys_dir()).unwrap();
        let mode = fs::metadata(home.keys_dir()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
