//! Worker processes on this machine: a [`LocalDeployment`] (test CA,
//! loopback endpoints, data folders) with one `blindfold worker` process
//! per party, stopped when dropped. For `blindfold bench --transport tls`
//! and the tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use blindfold_network::local::{LocalDeployment, prepare};

use crate::error::{JobError, Result};

/// Running workers.
pub struct LocalWorkers {
    pub deployment: LocalDeployment,
    binary: PathBuf,
    children: BTreeMap<String, Child>,
}

impl LocalWorkers {
    /// Prepares `dir` for `parties` and an operator named `operator`, and
    /// starts a worker of `binary` for each party (logs in `dir/PARTY.log`);
    /// returns once every worker listens.
    pub fn start(dir: &Path, binary: &Path, parties: &[String], timeout_s: f64) -> Result<LocalWorkers> {
        let _ = std::fs::remove_dir_all(dir);
        let deployment = prepare(dir, parties, &["operator".to_string()], timeout_s)?;
        let mut workers =
            LocalWorkers { deployment, binary: binary.to_path_buf(), children: BTreeMap::new() };
        for party in parties {
            workers.start_party(party)?;
        }
        Ok(workers)
    }

    /// (Re)starts `party`'s worker and waits until it listens.
    pub fn start_party(&mut self, party: &str) -> Result<()> {
        let log_path = self.deployment.dir.join(format!("{party}.log"));
        let log = std::fs::File::create(&log_path).map_err(|e| JobError::file(&log_path, e))?;
        let child = Command::new(&self.binary)
            .args(["worker", "--config"])
            .arg(&self.deployment.config_path)
            .args(["--party", party])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| JobError::file(&self.binary, e))?;
        self.children.insert(party.to_string(), child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.log(party).contains("listening on") {
            if Instant::now() > deadline {
                return Err(JobError::WorkerStart { party: party.to_string(), log: self.log(party) });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Kills `party`'s worker (as a crash would).
    pub fn kill(&mut self, party: &str) {
        if let Some(mut child) = self.children.remove(party) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The process id of `party`'s worker, if it runs.
    pub fn pid(&self, party: &str) -> Option<u32> {
        self.children.get(party).map(|child| child.id())
    }

    /// What `party`'s worker logged so far.
    pub fn log(&self, party: &str) -> String {
        std::fs::read_to_string(self.deployment.dir.join(format!("{party}.log"))).unwrap_or_default()
    }
}

impl Drop for LocalWorkers {
    fn drop(&mut self) {
        for child in self.children.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
