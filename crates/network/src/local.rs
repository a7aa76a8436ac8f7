//! A deployment on this machine, for tests, benchmarks and trying things
//! out: a test CA and certificates, a parties file with loopback endpoints
//! on free ports, and each party's data and approved-graph folders.

use std::path::{Path, PathBuf};

use crate::certificates;
use crate::config::Config;
use crate::error::{NetworkError, Result};

/// A local deployment's files.
#[derive(Debug)]
pub struct LocalDeployment {
    pub dir: PathBuf,
    pub config_path: PathBuf,
    pub config: Config,
}

impl LocalDeployment {
    /// Party `name`'s data folder.
    pub fn data(&self, name: &str) -> PathBuf {
        self.dir.join("data").join(name)
    }

    /// Party `name`'s approved-graphs folder.
    pub fn approved(&self, name: &str) -> PathBuf {
        self.dir.join("approved").join(name)
    }

    /// Approves `graph` at each of `parties` (writes it to their folders).
    pub fn approve(&self, graph: &blindfold_ir::Graph, parties: &[String]) -> Result<()> {
        for party in parties {
            let path = self.approved(party).join(format!("{}.graph", &graph.hash()[..16]));
            std::fs::write(&path, graph.to_bytes())
                .map_err(|e| NetworkError::Io(format!("{}: {e}", path.display())))?;
        }
        Ok(())
    }
}

/// A free loopback port (bound, then released for the worker).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| NetworkError::Io(e.to_string()))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| NetworkError::Io(e.to_string()))
}

/// Writes certificates and `parties.toml` for `parties` and `operators`
/// into `dir`.
pub fn prepare(
    dir: &Path,
    parties: &[String],
    operators: &[String],
    timeout_s: f64,
) -> Result<LocalDeployment> {
    let io = |e: std::io::Error| NetworkError::Io(format!("{}: {e}", dir.display()));
    let names: Vec<String> = parties.iter().chain(operators).cloned().collect();
    certificates::generate(&names, "blindfold local test CA", &dir.join("certs"))?;
    let mut text = format!("ca = \"certs/ca.pem\"\ntimeout_s = {timeout_s}\n");
    for party in parties {
        std::fs::create_dir_all(dir.join("data").join(party)).map_err(io)?;
        std::fs::create_dir_all(dir.join("approved").join(party)).map_err(io)?;
        text += &format!(
            "\n[parties.{party}]\nendpoint = \"127.0.0.1:{}\"\ncertificate = \"certs/{party}.pem\"\n\
             key = \"certs/{party}.key\"\ndata = \"data/{party}\"\napproved_dir = \"approved/{party}\"\n",
            free_port()?
        );
    }
    for operator in operators {
        text += &format!(
            "\n[operators.{operator}]\ncertificate = \"certs/{operator}.pem\"\nkey = \"certs/{operator}.key\"\n"
        );
    }
    let config_path = dir.join("parties.toml");
    std::fs::write(&config_path, text).map_err(io)?;
    let config = Config::load(&config_path)?;
    Ok(LocalDeployment { dir: dir.to_path_buf(), config_path, config })
}
