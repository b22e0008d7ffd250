//! Node configuration: a TOML file, then `KAITIAKI_*` environment overrides.
//!
//! Every field has a default, so an empty file (or none) gives a working
//! node that keeps its data in `./kaitiaki-data` and listens on loopback.
//! A relative `data_dir` that a file names is taken from the file's
//! directory (the default, an environment override or a flag, from the
//! working directory).
//!
//! ```toml
//! data_dir = "./kaitiaki-data"
//! listen = "127.0.0.1:7878"
//! origin = "iwi-board.example"      # the log's name; charters name it as home_log
//! network = "kaitiaki-local"        # statements for other networks are refused
//!
//! [[peers]]                         # nodes whose logs this node mirrors and witnesses
//! url = "http://127.0.0.1:7879"
//! key = "agency.example+1a2b3c4d+AU…" # the peer's log key (note verifier key text)
//!
//! [replication]
//! poll_ms = 1000                    # how often each peer is asked for news
//! max_future_skew_secs = 600        # peers' leaves sequenced further ahead wait
//!
//! [limits]
//! max_body_bytes = 1048576
//! rate_per_second = 100             # per client address; 0 turns it off
//! tile_rate_per_second = 1000       # the same for /tlog/ tiles, counted apart
//!
//! [pages]
//! contact = "data@iwi-board.example" # how people reach the node's operators; "" for none
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use kaitiaki_protocol::statement::limits::check_network;
use serde::{Deserialize, Serialize};

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration.
    #[error("configuration file {path} is invalid: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What TOML found.
        #[source]
        source: toml::de::Error,
    },
    /// The file names its data directory relative to itself, where there
    /// is none, while the same path from the working directory holds a
    /// log: a node configured before relative paths were read so.
    #[error(
        "configuration file {path} names data_dir {stated:?}, which is read from the file's own \
         directory, {resolved:?}, where there is no data directory, while {stated:?} from the \
         working directory holds a node's log: set data_dir to its full path, {cwd:?}, so that \
         the node does not start a new log with a new key"
    )]
    DataDirMoved {
        /// The file.
        path: PathBuf,
        /// What it says.
        stated: PathBuf,
        /// Where that is from the file.
        resolved: PathBuf,
        /// Where it is from the working directory.
        cwd: PathBuf,
    },
    /// An environment variable has a value of the wrong form.
    #[error("environment variable {name} is invalid: {problem}")]
    Env {
        /// The variable.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// A value is out of range or of the wrong form.
    #[error("configuration field {field} is invalid: {problem}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
}

/// The longest `[pages] contact` a node accepts, in characters.
pub const MAX_CONTACT: usize = 200;

/// Everything a node needs to start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the segments, the database and the node key live.
    pub data_dir: PathBuf,
    /// The address `kaitiaki node serve` binds.
    pub listen: SocketAddr,
    /// The log's origin: the first line of its checkpoints, the name of its
    /// note key, and what body charters name as their `home_log`.
    pub origin: String,
    /// The network (deployment) this node serves; other networks'
    /// statements are refused with `wrong_network`.
    pub network: String,
    /// Peer nodes to follow: each one's log is mirrored here, folded into
    /// the governance state, witnessed, and asked to witness this log
    /// (see [`crate::replication`]). Left out of a written file while
    /// empty, so that `[[peers]]` tables can be added to it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<PeerConfig>,
    /// Replication tuning.
    pub replication: ReplicationConfig,
    /// Request and resource limits.
    pub limits: Limits,
    /// Storage tuning.
    pub storage: StorageConfig,
    /// Witnessing: logs this node witnesses, witnesses it asks to cosign
    /// its own checkpoints, and the publish policy (see [`crate::witness`]).
    pub witness: WitnessConfig,
    /// The community pages.
    pub pages: PagesConfig,
}

/// The community pages, `[pages]` in the TOML file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagesConfig {
    /// How a community member can reach the people who run this node for
    /// help (an email address, a phone number, a web address or a few
    /// words): shown where a concern can be raised and in every page's
    /// footer. Empty (the default) shows none.
    pub contact: String,
}

impl PagesConfig {
    /// The contact to show, if one is set (blank counts as none).
    pub fn contact(&self) -> Option<&str> {
        Some(self.contact.trim()).filter(|c| !c.is_empty())
    }
}

/// A peer node, `[[peers]]` in the TOML file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The peer's base URL, e.g. `http://127.0.0.1:7879`.
    pub url: String,
    /// The peer's log key: its note verifier key text
    /// (`<origin>+<key id>+<base64 0x01 ‖ key>`), which also names its
    /// origin. Replication trusts checkpoints signed by this key only.
    pub key: String,
    /// Whether this node and the peer witness each other's checkpoints
    /// (default true).
    #[serde(default = "yes")]
    pub witness: bool,
}

fn yes() -> bool {
    true
}

impl PeerConfig {
    /// A peer at `url` with log key `key`, witnessing both ways.
    pub fn new(url: impl Into<String>, key: impl Into<String>) -> PeerConfig {
        PeerConfig {
            url: url.into(),
            key: key.into(),
            witness: true,
        }
    }

    /// Parses `<key>@<url>`, the form `KAITIAKI_PEERS` uses.
    pub fn parse(text: &str) -> Option<PeerConfig> {
        let is_url = |s: &str| s.starts_with("http://") || s.starts_with("https://");
        let text = text.trim();
        // A key never starts with a scheme, so `<url>@<key>`, the two
        // parts the other way round, is read as meant.
        let (key, url) = match text.split_once('@')? {
            (url, _) if is_url(url) => {
                let (url, key) = text.rsplit_once('@')?;
                (key, url)
            }
            parts => parts,
        };
        (!key.is_empty() && !url.is_empty()).then(|| PeerConfig::new(url.trim(), key.trim()))
    }
}

/// Replication tuning, `[replication]` in the TOML file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplicationConfig {
    /// How often each peer is asked for a new checkpoint, in milliseconds.
    pub poll_ms: u64,
    /// Leaves fetched per request while catching up.
    pub batch_leaves: u64,
    /// How far ahead of this node's clock a peer's leaf may be sequenced,
    /// in seconds, before it is refused and fetched again later. Clocks
    /// differ a little; a leaf dated far ahead could pass, say, a notice
    /// period that has not yet run.
    pub max_future_skew_secs: u64,
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        ReplicationConfig {
            poll_ms: 1000,
            batch_leaves: 1000,
            max_future_skew_secs: 600,
        }
    }
}

/// Witnessing (C2SP tlog-witness), `[witness]` in the TOML file.
///
/// ```toml
/// [witness]
/// require = 1                        # serve checkpoints cosigned by >= 1 witness
/// [[witness.logs]]                   # logs this node witnesses
/// key = "agency.example+1a2b3c4d+AU…" # their note verifier key (type 0x01)
/// [[witness.witnesses]]              # witnesses asked to cosign this log
/// url = "http://agency.example:7878" # submission prefix: POST <url>/add-checkpoint
/// key = "agency.example+5e6f7a8b+BO…" # their cosignature verifier key (type 0x04)
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WitnessConfig {
    /// Logs this node witnesses: it answers `POST /add-checkpoint` for them.
    /// Left out of a written file while empty, as are `witnesses`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<WitnessedLog>,
    /// Witnesses this node asks to cosign each of its checkpoints.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<WitnessPeer>,
    /// k of the k-of-n publish policy: when above 0, `/v1/checkpoint` and
    /// `/v1/checkpoint/note` serve the newest checkpoint that at least this
    /// many distinct configured witnesses cosigned. 0 turns the policy off.
    pub require: usize,
}

/// A log this node witnesses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessedLog {
    /// The log's origin; defaults to the key's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The log's note verifier key text (`<name>+<key id>+<base64 0x01 ‖ key>`).
    pub key: String,
}

/// A witness asked to cosign this node's checkpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessPeer {
    /// The witness's submission prefix; requests go to `<url>/add-checkpoint`.
    pub url: String,
    /// Its cosignature verifier key text (`<name>+<key id>+<base64 0x04 ‖ key>`).
    pub key: String,
}

/// The largest `limits.max_batch_leaves` a node accepts.
pub const MAX_BATCH_LEAVES: usize = 1 << 20;

/// The smallest size at which a segment file is closed and the next begun
/// (`storage.segment_bytes`).
pub const MIN_SEGMENT_BYTES: u64 = 4096;

/// Request and resource limits. They protect the node from any one client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// The largest request body, in bytes.
    pub max_body_bytes: usize,
    /// The most envelopes one `POST /v1/statements` may carry.
    pub max_statements_per_request: usize,
    /// The most items one page of a listing returns.
    pub max_page: u64,
    /// Requests per second allowed to one client address; 0 disables the limit.
    pub rate_per_second: u32,
    /// How many requests a client may make at once before the rate applies.
    pub rate_burst: u32,
    /// Requests per second to the log's tiles (`/tlog/…`) allowed to one
    /// client address, counted apart from [`Limits::rate_per_second`]: a
    /// monitor reads thousands of immutable tiles, each one positioned
    /// read. 0 disables the limit.
    pub tile_rate_per_second: u32,
    /// How many tile requests a client may make at once before their rate applies.
    pub tile_rate_burst: u32,
    /// How long a request may take before it is answered with `timeout`.
    pub request_timeout_ms: u64,
    /// The most leaves the sequencer commits with one `fdatasync` (1 to
    /// [`MAX_BATCH_LEAVES`]).
    pub max_batch_leaves: usize,
    /// The largest confidential attachment, in bytes.
    pub max_attachment_bytes: usize,
    /// How far a signed read request's time may be from the node's clock.
    pub read_request_max_skew_secs: u64,
}

/// Storage tuning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// A new segment file starts once the current one reaches this size.
    pub segment_bytes: u64,
    /// sled's page cache, in bytes. Bounded so memory stays flat as the log
    /// grows (sled's own default is 1 GiB).
    pub cache_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./kaitiaki-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 7878)),
            origin: "kaitiaki.localhost".into(),
            network: "kaitiaki-local".into(),
            peers: Vec::new(),
            replication: ReplicationConfig::default(),
            limits: Limits::default(),
            storage: StorageConfig::default(),
            witness: WitnessConfig::default(),
            pages: PagesConfig::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1 << 20,
            max_statements_per_request: 1000,
            max_page: 1000,
            rate_per_second: 100,
            rate_burst: 200,
            tile_rate_per_second: 1000,
            tile_rate_burst: 2000,
            request_timeout_ms: 30_000,
            max_batch_leaves: 4096,
            max_attachment_bytes: 16 << 20,
            read_request_max_skew_secs: 300,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            segment_bytes: 64 << 20,
            cache_bytes: 16 << 20,
        }
    }
}

impl Config {
    /// A configuration for a node keeping its data in `data_dir`, with every
    /// other field at its default. Handy for tests and the demo.
    pub fn in_dir(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            ..Config::default()
        }
    }

    /// Reads the TOML file at `path` (if given), then applies overrides from
    /// the process environment, then checks the result.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                let mut config = Config::from_toml(&text).map_err(|source| ConfigError::Parse {
                    path: path.to_owned(),
                    source,
                })?;
                // A relative data directory the file names is the file's
                // neighbour, wherever the node is started from: taken from
                // the working directory, a node started elsewhere would make
                // a new, empty log under the same name, with a new key. (A
                // file that names none keeps the default, as before.)
                let stated = toml::from_str::<toml::Table>(&text)
                    .map(|t| t.contains_key("data_dir"))
                    .unwrap_or(false);
                // Left empty, it would be the file's own directory.
                if stated && config.data_dir.as_os_str().is_empty() {
                    return Err(ConfigError::Invalid {
                        field: "data_dir",
                        problem: format!(
                            "must name a directory (it is empty in {})",
                            path.display()
                        ),
                    });
                }
                if stated {
                    let cwd = std::env::current_dir().unwrap_or_default();
                    config.data_dir = data_dir_of(path, &config.data_dir, &cwd)?;
                }
                config
            }
            None => Config::default(),
        };
        config.apply_env(std::env::vars())?;
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text (without environment overrides or checks).
    pub fn from_toml(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    /// Applies `KAITIAKI_*` overrides from `vars`:
    /// `KAITIAKI_DATA_DIR`, `KAITIAKI_LISTEN`, `KAITIAKI_ORIGIN`,
    /// `KAITIAKI_NETWORK`, `KAITIAKI_PEERS` (comma-separated `<key>@<url>`),
    /// `KAITIAKI_MAX_BODY_BYTES`, `KAITIAKI_RATE_PER_SECOND`,
    /// `KAITIAKI_RATE_BURST`, `KAITIAKI_REQUEST_TIMEOUT_MS`,
    /// `KAITIAKI_CACHE_BYTES`, `KAITIAKI_SEGMENT_BYTES`,
    /// `KAITIAKI_REPLICATION_POLL_MS`, `KAITIAKI_CONTACT` (the pages'
    /// contact; empty for none). Other variables are ignored.
    pub fn apply_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        fn num<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError> {
            value.trim().parse().map_err(|_| ConfigError::Env {
                name: name.to_owned(),
                problem: format!("{value:?} is not a number"),
            })
        }
        for (name, value) in vars {
            match name.as_str() {
                "KAITIAKI_DATA_DIR" => self.data_dir = PathBuf::from(value),
                "KAITIAKI_LISTEN" => {
                    self.listen = value.trim().parse().map_err(|_| ConfigError::Env {
                        name: name.clone(),
                        problem: format!("{value:?} is not an address such as 127.0.0.1:7878"),
                    })?
                }
                "KAITIAKI_ORIGIN" => self.origin = value,
                "KAITIAKI_NETWORK" => self.network = value,
                "KAITIAKI_PEERS" => {
                    self.peers = value
                        .split(',')
                        .filter(|p| !p.trim().is_empty())
                        .map(|p| {
                            PeerConfig::parse(p).ok_or_else(|| ConfigError::Env {
                                name: name.clone(),
                                problem: format!("{p:?} is not <log key>@<url>"),
                            })
                        })
                        .collect::<Result<_, _>>()?
                }
                "KAITIAKI_MAX_BODY_BYTES" => self.limits.max_body_bytes = num(&name, &value)?,
                "KAITIAKI_RATE_PER_SECOND" => self.limits.rate_per_second = num(&name, &value)?,
                "KAITIAKI_RATE_BURST" => self.limits.rate_burst = num(&name, &value)?,
                "KAITIAKI_TILE_RATE_PER_SECOND" => {
                    self.limits.tile_rate_per_second = num(&name, &value)?
                }
                "KAITIAKI_TILE_RATE_BURST" => self.limits.tile_rate_burst = num(&name, &value)?,
                "KAITIAKI_REQUEST_TIMEOUT_MS" => {
                    self.limits.request_timeout_ms = num(&name, &value)?
                }
                "KAITIAKI_CACHE_BYTES" => self.storage.cache_bytes = num(&name, &value)?,
                "KAITIAKI_SEGMENT_BYTES" => self.storage.segment_bytes = num(&name, &value)?,
                "KAITIAKI_REPLICATION_POLL_MS" => self.replication.poll_ms = num(&name, &value)?,
                "KAITIAKI_CONTACT" => self.pages.contact = value,
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks values that would otherwise fail later, or silently misbehave.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, problem: &str| ConfigError::Invalid {
            field,
            problem: problem.to_owned(),
        };
        // Charters name their home log by origin under the network-name
        // rule, so an origin outside it could never be anyone's home.
        check_network(&self.origin).map_err(|e| invalid("origin", &e.problem))?;
        check_network(&self.network).map_err(|e| invalid("network", &e.problem))?;
        if self.limits.max_body_bytes < 1024 {
            return Err(invalid("limits.max_body_bytes", "must be at least 1024"));
        }
        if self.limits.max_statements_per_request == 0 {
            return Err(invalid(
                "limits.max_statements_per_request",
                "must be at least 1",
            ));
        }
        if self.limits.max_page == 0 {
            return Err(invalid("limits.max_page", "must be at least 1"));
        }
        // The sequencer's queue holds four batches: a larger figure would
        // ask for a queue no system can give, and stop the node at start.
        if !(1..=MAX_BATCH_LEAVES).contains(&self.limits.max_batch_leaves) {
            return Err(invalid(
                "limits.max_batch_leaves",
                &format!("must be from 1 to {MAX_BATCH_LEAVES}"),
            ));
        }
        if self.limits.request_timeout_ms == 0 {
            return Err(invalid("limits.request_timeout_ms", "must be at least 1"));
        }
        if self.storage.cache_bytes < 1 << 20 {
            return Err(invalid("storage.cache_bytes", "must be at least 1 MiB"));
        }
        if self.storage.segment_bytes < MIN_SEGMENT_BYTES {
            return Err(invalid(
                "storage.segment_bytes",
                &format!("must be at least {MIN_SEGMENT_BYTES}"),
            ));
        }
        // An empty path would scatter the node's files into the working
        // directory.
        if self.data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "must name a directory (it is empty)"));
        }
        // Peers witness each other unless told not to, so they count
        // towards `witness.require` as the node will run.
        crate::witness::check_config(&crate::node::with_peers_as_witnesses(self))?;
        for peer in &self.peers {
            crate::replication::check_peer(peer, &self.origin)
                .map_err(|problem| invalid("peers", &problem))?;
        }
        if self.replication.poll_ms == 0 {
            return Err(invalid("replication.poll_ms", "must be at least 1"));
        }
        if self.replication.batch_leaves == 0 {
            return Err(invalid("replication.batch_leaves", "must be at least 1"));
        }
        // Shown on every page: a line of text, not a document.
        let contact = &self.pages.contact;
        if contact.chars().count() > MAX_CONTACT || contact.chars().any(char::is_control) {
            return Err(invalid(
                "pages.contact",
                &format!("must be one line of at most {MAX_CONTACT} characters"),
            ));
        }
        Ok(())
    }
}

/// Where the data directory `stated` in the configuration file `path` is:
/// a relative one is taken from the file's directory. A file named from
/// the working directory `cwd` reads as before. So that a node configured
/// before this rule opens its own log rather than a new one, a relative
/// path that is nothing from the file but a node's data directory from
/// `cwd` is refused, with what to write.
fn data_dir_of(path: &Path, stated: &Path, cwd: &Path) -> Result<PathBuf, ConfigError> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(stated.to_owned());
    };
    if stated.is_absolute() {
        return Ok(stated.to_owned());
    }
    let resolved = dir.join(stated);
    let from_cwd = cwd.join(stated);
    if !resolved.exists() && from_cwd.join("log").is_dir() {
        return Err(ConfigError::DataDirMoved {
            path: path.to_owned(),
            stated: stated.to_owned(),
            resolved,
            cwd: from_cwd,
        });
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_data_dir_or_a_tiny_segment_size_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("node.toml");
        std::fs::write(&file, "data_dir = \"\"\n").expect("written");
        let err = Config::load(Some(&file)).unwrap_err().to_string();
        assert!(
            err.contains("data_dir") && err.contains("it is empty"),
            "{err}"
        );
        let c = Config {
            data_dir: PathBuf::new(),
            ..Config::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("data_dir") && err.contains("it is empty"),
            "{err}"
        );
        let mut c = Config::default();
        c.storage.segment_bytes = 10;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("storage.segment_bytes"), "{err}");
    }

    #[test]
    fn a_relative_data_dir_in_a_file_is_the_files_neighbour() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("node.toml");
        std::fs::write(&file, "data_dir = \"./data\"\n").expect("written");
        let c = Config::load(Some(&file)).expect("loads");
        assert_eq!(c.data_dir, dir.path().join("./data"));
        // An absolute one stays as it is.
        std::fs::write(&file, "data_dir = \"/srv/kaitiaki\"\n").expect("written");
        let c = Config::load(Some(&file)).expect("loads");
        assert_eq!(c.data_dir, Path::new("/srv/kaitiaki"));
        // A file that names none keeps the default, from the working
        // directory, as before.
        std::fs::write(&file, "origin = \"iwi.example\"\n").expect("written");
        let c = Config::load(Some(&file)).expect("loads");
        assert_eq!(c.data_dir, Path::new("./kaitiaki-data"));
        // A file named from the working directory reads it as written.
        let here = data_dir_of(Path::new("kaitiaki.toml"), Path::new("./d"), dir.path());
        let here = here.expect("ok");
        assert_eq!(here, Path::new("./d"));
    }

    #[test]
    fn a_data_dir_that_moved_with_the_rule_is_refused_not_made_anew() {
        // From the working directory, ./data holds a log; beside the file,
        // in etc/, there is nothing.
        let (cwd, etc) = (
            tempfile::tempdir().expect("cwd"),
            tempfile::tempdir().expect("etc"),
        );
        std::fs::create_dir_all(cwd.path().join("data/log")).expect("made");
        let file = etc.path().join("node.toml");
        let err = data_dir_of(&file, Path::new("./data"), cwd.path()).unwrap_err();
        assert!(
            matches!(&err, ConfigError::DataDirMoved { resolved, cwd: was, .. }
                if *resolved == etc.path().join("./data") && *was == cwd.path().join("./data")),
            "{err}"
        );
        assert!(
            err.to_string().contains("set data_dir to its full path"),
            "{err}"
        );
        // Once a data directory is beside the file, that one is used.
        std::fs::create_dir_all(etc.path().join("data")).expect("made");
        assert_eq!(
            data_dir_of(&file, Path::new("./data"), cwd.path()).expect("beside"),
            etc.path().join("./data")
        );
    }

    #[test]
    fn empty_file_gives_defaults_and_env_overrides() {
        let mut c = Config::from_toml("").unwrap();
        assert_eq!(c, Config::default());
        c.apply_env([
            ("KAITIAKI_NETWORK".to_owned(), "aotearoa-test".to_owned()),
            (
                "KAITIAKI_PEERS".to_owned(),
                "a.example+01020304+AQ@http://a, b@http://b".to_owned(),
            ),
            ("KAITIAKI_RATE_PER_SECOND".to_owned(), "0".to_owned()),
            ("KAITIAKI_TILE_RATE_BURST".to_owned(), "50".to_owned()),
            (
                "KAITIAKI_CONTACT".to_owned(),
                "data@iwi.example or 0800 000 000".to_owned(),
            ),
            ("HOME".to_owned(), "/ignored".to_owned()),
        ])
        .unwrap();
        assert_eq!(c.network, "aotearoa-test");
        assert_eq!(
            c.peers[0],
            PeerConfig::new("http://a", "a.example+01020304+AQ")
        );
        assert_eq!(c.peers[1].url, "http://b");
        // The two parts the other way round are read as meant (a URL with
        // a user part keeps it).
        assert_eq!(
            PeerConfig::parse("http://a.example:7878@a.example+01020304+AQ"),
            Some(PeerConfig::new(
                "http://a.example:7878",
                "a.example+01020304+AQ"
            ))
        );
        assert_eq!(
            PeerConfig::parse("http://u@a.example@a.example+01020304+AQ"),
            Some(PeerConfig::new(
                "http://u@a.example",
                "a.example+01020304+AQ"
            ))
        );
        // Those keys are not real keys: validation refuses them.
        assert!(c.validate().is_err());
        c.peers.clear();
        assert_eq!(c.limits.rate_per_second, 0);
        assert_eq!(c.limits.tile_rate_burst, 50);
        assert_eq!(c.limits.tile_rate_per_second, 1000);
        assert_eq!(c.pages.contact(), Some("data@iwi.example or 0800 000 000"));
        c.validate().unwrap();
    }

    #[test]
    fn the_pages_contact_is_optional_and_one_line() {
        assert_eq!(Config::default().pages.contact(), None);
        // `node init` writes every setting, this one among them, and the
        // file reads back as it was.
        let written = toml::to_string_pretty(&Config::default()).unwrap();
        assert!(written.contains("[pages]\ncontact = \"\""), "{written}");
        assert_eq!(Config::from_toml(&written).unwrap(), Config::default());
        let c = Config::from_toml("[pages]\ncontact = \"  \"").unwrap();
        assert_eq!(c.pages.contact(), None, "blank is none");
        let c = Config::from_toml("[pages]\ncontact = \"help@iwi.example\"").unwrap();
        assert_eq!(c.pages.contact(), Some("help@iwi.example"));
        c.validate().unwrap();
        for bad in ["two\nlines".to_owned(), "x".repeat(MAX_CONTACT + 1)] {
            let mut c = Config::default();
            c.pages.contact = bad;
            assert!(matches!(
                c.validate(),
                Err(ConfigError::Invalid {
                    field: "pages.contact",
                    ..
                })
            ));
        }
    }

    #[test]
    fn rejects_unknown_fields_and_bad_values() {
        assert!(Config::from_toml("colour = \"blue\"").is_err());
        let c = Config::from_toml("origin = \"Has Spaces\"").unwrap();
        assert!(c.validate().is_err());
        let mut c = Config::default();
        let bad = c.apply_env([("KAITIAKI_RATE_BURST".to_owned(), "many".to_owned())]);
        assert!(matches!(bad, Err(ConfigError::Env { .. })));
    }

    #[test]
    fn peers_count_as_witnesses_for_the_publish_policy() {
        use kaitiaki_protocol::note::{KeyName, NoteSigner};
        let peer = NoteSigner::from_seed(KeyName::new("pacific.example").unwrap(), &[7; 32]);
        let mut c = Config::default();
        c.witness.require = 1;
        match c.validate() {
            Err(ConfigError::Invalid {
                field: "witness.require",
                problem,
            }) => assert!(
                problem.contains("[[witness.witnesses]]") && problem.contains("kaitiaki peer add"),
                "says where witnesses are named, and why run-time peers do not count: {problem}"
            ),
            other => panic!("{other:?}"),
        }
        c.peers = vec![PeerConfig::new(
            "http://127.0.0.1:9",
            peer.verifier().to_string(),
        )];
        c.validate().expect("the peer witnesses this node");
        c.peers[0].witness = false;
        assert!(
            c.validate().is_err(),
            "a peer that does not witness does not count"
        );
    }

    #[test]
    fn a_value_out_of_range_is_refused_by_its_full_name() {
        for (toml, field) in [
            ("[replication]\npoll_ms = 0", "replication.poll_ms"),
            (
                "[replication]\nbatch_leaves = 0",
                "replication.batch_leaves",
            ),
            ("[limits]\nmax_page = 0", "limits.max_page"),
            (
                "[limits]\nmax_batch_leaves = 2305843009213693952",
                "limits.max_batch_leaves",
            ),
            (
                "[limits]\nmax_statements_per_request = 0",
                "limits.max_statements_per_request",
            ),
        ] {
            let err = Config::from_toml(toml).unwrap().validate().unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { field: f, .. } if *f == field),
                "{toml}: {err}"
            );
        }
    }
}
