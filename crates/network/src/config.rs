//! `parties.toml`: who takes part, where each party listens, its
//! certificate, where its data lives, and which graphs its operator
//! approved. Every organisation keeps its own copy; only its own party's
//! `key` needs to be in it. Relative paths are relative to the file.
//!
//! ```toml
//! ca = "certs/ca.pem"          # the CA every certificate must chain to
//! timeout_s = 60               # a peer silent and idle this long fails the session
//! # Limits against exhaustion (defaults shown):
//! handshake_timeout_s = 10     # the whole TLS handshake and hello, from accept
//! max_handshakes = 64          # connections not yet authenticated, in all
//! max_handshakes_per_address = 8
//! max_connections = 256        # connections (each a thread) a worker holds
//! worker_budget_mib = 1024     # bytes a worker buffers for all sessions
//!
//! [parties.server0]
//! endpoint = "10.0.0.1:7100"
//! certificate = "certs/server0.pem"
//! key = "certs/server0.key"    # only on server0's own machine
//! data = "data/server0"        # inputs are read from, outputs written to, here
//! approved = ["3f9a…"]         # graph hashes this party's operator approved
//! approved_dir = "approved"    # and/or a folder of approved graph files
//! describe = true              # answer operators' questions about table shapes
//!
//! [operators.alice]            # who may launch sessions
//! certificate = "certs/alice.pem"
//! key = "certs/alice.key"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls::pki_types::ServerName;
use serde::Deserialize;

use crate::error::{NetworkError, Result};

/// One party: where it listens, who it is, where its files are.
#[derive(Clone, Debug, PartialEq)]
pub struct PartyConfig {
    /// `host:port` it listens on and peers dial.
    pub endpoint: String,
    pub certificate: PathBuf,
    /// Its private key (needed only by the party itself).
    pub key: Option<PathBuf>,
    /// The folder its inputs are read from and its outputs written to.
    pub data: PathBuf,
    /// Approved graph hashes (hex BLAKE3 of the graph file).
    pub approved: Vec<String>,
    /// A folder whose graph files are approved (re-read for every session).
    pub approved_dir: Option<PathBuf>,
    /// Whether the worker answers `Describe` (a table's shape) at all.
    pub describe: bool,
}

/// Someone who may launch sessions on the workers.
#[derive(Clone, Debug, PartialEq)]
pub struct OperatorConfig {
    pub certificate: PathBuf,
    pub key: Option<PathBuf>,
}

/// The whole parties file.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file it was read from (for messages).
    pub path: PathBuf,
    pub ca: PathBuf,
    /// How long a party waits on a silent, idle peer.
    pub timeout: Duration,
    /// The largest message a party accepts (before the op's own check).
    pub max_message_bytes: usize,
    /// Bytes a worker queues from one peer before it stops reading.
    pub link_budget_bytes: usize,
    /// Limits on what unauthenticated or idle peers can make a worker hold.
    pub limits: Limits,
    pub parties: BTreeMap<String, PartyConfig>,
    pub operators: BTreeMap<String, OperatorConfig>,
}

/// The largest parties file read (a thousand parties fit in far less).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// What a worker lets connections and sessions hold, so that no peer (and
/// no stranger without a certificate) can exhaust it.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// The whole TLS handshake and hello must finish within this, however
    /// slowly the other side trickles bytes.
    pub handshake_timeout: Duration,
    /// Connections still in their handshake, in all.
    pub max_handshakes: usize,
    /// Connections still in their handshake, from one IP address.
    pub max_handshakes_per_address: usize,
    /// Connections a worker holds at once (one thread each); more are
    /// closed as they arrive.
    pub max_connections: usize,
    /// Bytes a worker buffers for all sessions and peers together; a peer
    /// stream that would pass it waits.
    pub worker_budget_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            handshake_timeout: Duration::from_secs(10),
            max_handshakes: 64,
            max_handshakes_per_address: 8,
            max_connections: 256,
            worker_budget_bytes: 1 << 30,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    ca: PathBuf,
    timeout_s: Option<f64>,
    max_message_mib: Option<u64>,
    link_budget_mib: Option<u64>,
    handshake_timeout_s: Option<f64>,
    max_handshakes: Option<usize>,
    max_handshakes_per_address: Option<usize>,
    max_connections: Option<usize>,
    worker_budget_mib: Option<u64>,
    parties: BTreeMap<String, RawParty>,
    #[serde(default)]
    operators: BTreeMap<String, RawOperator>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParty {
    endpoint: String,
    certificate: PathBuf,
    key: Option<PathBuf>,
    data: Option<PathBuf>,
    #[serde(default)]
    approved: Vec<String>,
    approved_dir: Option<PathBuf>,
    describe: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperator {
    certificate: PathBuf,
    key: Option<PathBuf>,
}

impl Config {
    /// Reads and checks a parties file.
    pub fn load(path: &Path) -> Result<Config> {
        let error = |reason: String| NetworkError::Config { path: path.display().to_string(), reason };
        let size = std::fs::metadata(path).map_err(|e| error(e.to_string()))?.len();
        if size > MAX_FILE_BYTES {
            return Err(error(format!("{size} bytes: a parties file is at most {MAX_FILE_BYTES}")));
        }
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        Config::parse(&text, path)
    }

    /// Parses `text` as the file at `path` (relative paths resolve against
    /// its folder).
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let error = |reason: String| NetworkError::Config { path: path.display().to_string(), reason };
        let raw: RawConfig = toml::from_str(text).map_err(|e| error(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
        let timeout_s = raw.timeout_s.unwrap_or(60.0);
        if !(timeout_s.is_finite() && timeout_s > 0.0 && timeout_s < 1e6) {
            return Err(error(format!("timeout_s must be a positive number of seconds, not {timeout_s}")));
        }
        if raw.parties.is_empty() {
            return Err(error("no [parties.NAME] tables".into()));
        }
        let limits = limits(&raw).map_err(error)?;
        let mut parties = BTreeMap::new();
        for (name, party) in raw.parties {
            check_name(&name).map_err(|reason| error(format!("party '{name}': {reason}")))?;
            if party.endpoint.rsplit_once(':').is_none_or(|(_, port)| port.parse::<u16>().is_err()) {
                return Err(error(format!("party '{name}': endpoint '{}' is not host:port", party.endpoint)));
            }
            for hash in &party.approved {
                if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(error(format!(
                        "party '{name}': approved hash '{hash}' is not 64 hex digits (see `blindfold graph hash`)"
                    )));
                }
            }
            let data = party.data.map_or_else(|| base.join("data").join(&name), |p| resolve(&p));
            parties.insert(
                name,
                PartyConfig {
                    endpoint: party.endpoint,
                    certificate: resolve(&party.certificate),
                    key: party.key.map(|k| resolve(&k)),
                    data,
                    approved: party.approved.iter().map(|h| h.to_ascii_lowercase()).collect(),
                    approved_dir: party.approved_dir.map(|d| resolve(&d)),
                    describe: party.describe.unwrap_or(true),
                },
            );
        }
        let mut operators = BTreeMap::new();
        for (name, operator) in raw.operators {
            check_name(&name).map_err(|reason| error(format!("operator '{name}': {reason}")))?;
            if parties.contains_key(&name) {
                return Err(error(format!("'{name}' is both a party and an operator")));
            }
            operators.insert(
                name,
                OperatorConfig {
                    certificate: resolve(&operator.certificate),
                    key: operator.key.map(|k| resolve(&k)),
                },
            );
        }
        Ok(Config {
            path: path.to_path_buf(),
            ca: resolve(&raw.ca),
            timeout: Duration::from_secs_f64(timeout_s),
            max_message_bytes: (raw.max_message_mib.unwrap_or(2048) as usize).saturating_mul(1 << 20),
            link_budget_bytes: (raw.link_budget_mib.unwrap_or(256) as usize).saturating_mul(1 << 20),
            limits,
            parties,
            operators,
        })
    }

    /// Party `name`'s settings.
    pub fn party(&self, name: &str) -> Result<&PartyConfig> {
        self.parties.get(name).ok_or_else(|| NetworkError::Config {
            path: self.path.display().to_string(),
            reason: format!(
                "no party '{name}' (the file names {})",
                self.parties.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })
    }

    /// The certificate and key of party or operator `name`.
    pub fn credentials(&self, name: &str) -> Result<(PathBuf, PathBuf)> {
        let (certificate, key) = match (self.parties.get(name), self.operators.get(name)) {
            (Some(party), _) => (&party.certificate, &party.key),
            (None, Some(operator)) => (&operator.certificate, &operator.key),
            (None, None) => {
                return Err(NetworkError::Config {
                    path: self.path.display().to_string(),
                    reason: format!("no party or operator '{name}'"),
                });
            }
        };
        let key = key.clone().ok_or_else(|| NetworkError::Config {
            path: self.path.display().to_string(),
            reason: format!("'{name}' has no key (only its own machine's copy of the file needs one)"),
        })?;
        Ok((certificate.clone(), key))
    }
}

/// The file's limits, defaults where it sets none; each must be positive.
fn limits(raw: &RawConfig) -> std::result::Result<Limits, String> {
    let defaults = Limits::default();
    let positive = |name: &str, value: Option<usize>, default: usize| match value {
        Some(0) => Err(format!("{name} must be at least 1")),
        Some(value) => Ok(value),
        None => Ok(default),
    };
    let handshake_timeout = match raw.handshake_timeout_s {
        Some(s) if !(s.is_finite() && s > 0.0 && s < 1e6) => {
            return Err(format!("handshake_timeout_s must be a positive number of seconds, not {s}"));
        }
        Some(s) => Duration::from_secs_f64(s),
        None => defaults.handshake_timeout,
    };
    let budget_mib = positive("worker_budget_mib", raw.worker_budget_mib.map(|m| m as usize), 1024)?;
    Ok(Limits {
        handshake_timeout,
        max_handshakes: positive("max_handshakes", raw.max_handshakes, defaults.max_handshakes)?,
        max_handshakes_per_address: positive(
            "max_handshakes_per_address",
            raw.max_handshakes_per_address,
            defaults.max_handshakes_per_address,
        )?,
        max_connections: positive("max_connections", raw.max_connections, defaults.max_connections)?,
        worker_budget_bytes: budget_mib.saturating_mul(1 << 20),
    })
}

/// Party names are certificate names: DNS-style labels.
fn check_name(name: &str) -> std::result::Result<(), String> {
    match ServerName::try_from(name) {
        Ok(ServerName::DnsName(_)) => Ok(()),
        _ => Err("names must be DNS-style (letters, digits, '-', '.'), as they are certificate names".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
ca = "certs/ca.pem"
timeout_s = 5
[parties.server0]
endpoint = "127.0.0.1:7100"
certificate = "certs/server0.pem"
key = "certs/server0.key"
approved = ["AB00000000000000000000000000000000000000000000000000000000000000"]
[parties.server1]
endpoint = "127.0.0.1:7101"
certificate = "/etc/server1.pem"
[operators.alice]
certificate = "certs/alice.pem"
"#;

    #[test]
    fn paths_resolve_against_the_file_and_defaults_apply() {
        let config = Config::parse(GOOD, Path::new("/deploy/parties.toml")).unwrap();
        assert_eq!(config.ca, PathBuf::from("/deploy/certs/ca.pem"));
        assert_eq!(config.timeout, Duration::from_secs(5));
        let server0 = config.party("server0").unwrap();
        assert_eq!(server0.data, PathBuf::from("/deploy/data/server0"));
        assert_eq!(server0.approved[0].as_bytes()[..2], *b"ab");
        assert_eq!(config.party("server1").unwrap().certificate, PathBuf::from("/etc/server1.pem"));
        assert!(config.credentials("server0").is_ok());
        assert!(config.credentials("server1").unwrap_err().to_string().contains("has no key"));
        assert!(config.party("nobody").unwrap_err().to_string().contains("server0, server1"));
        assert!(server0.describe);
        assert_eq!(config.limits, Limits::default());
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let path = Path::new("p.toml");
        let cases = [
            (GOOD.replace("7100\"", "x\""), "not host:port"),
            (GOOD.replace("AB00", "zz00"), "64 hex digits"),
            (GOOD.replace("timeout_s = 5", "timeout_s = -1"), "positive"),
            (GOOD.replace("[operators.alice]", "[operators.server0]"), "both a party and an operator"),
            (GOOD.replace("[parties.server1]", "[parties.\"server 1\"]"), "DNS-style"),
            (GOOD.replace("ca =", "cert_authority ="), "unknown field"),
            (GOOD.replace("timeout_s = 5", "max_handshakes = 0"), "max_handshakes must be at least 1"),
            (GOOD.replace("timeout_s = 5", "handshake_timeout_s = 0"), "handshake_timeout_s must be"),
        ];
        for (text, expected) in cases {
            let error = Config::parse(&text, path).unwrap_err().to_string();
            assert!(error.starts_with("p.toml: ") && error.contains(expected), "{error}");
        }
    }
}
