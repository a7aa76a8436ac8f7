//! Each party agrees to what it computes: a worker runs a graph only if its
//! operator approved the graph's content hash, listed in the parties file
//! or as a graph file in the party's `approved_dir`. No party can make the
//! others run a graph that would reveal their inputs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use blindfold_ir::Graph;

use crate::NetworkError;
use crate::config::PartyConfig;

/// What the approval check found.
#[derive(Debug, Default)]
pub struct Approval {
    pub approved: bool,
    /// Files in the approved folder that are not graphs (worth a warning).
    pub unreadable: Vec<String>,
}

/// Graph files already read: path → (modified, length, hash), so that a
/// session does not re-parse every approved graph.
#[derive(Default)]
pub struct ApprovalCache {
    files: Mutex<HashMap<PathBuf, (SystemTime, u64, String)>>,
}

impl ApprovalCache {
    /// The hash of the graph file at `path`, read again only if it changed.
    fn hash_of(&self, path: &Path) -> Result<String, String> {
        let metadata = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let stamp = (metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH), metadata.len());
        let mut files = self.files.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((modified, length, hash)) = files.get(path)
            && (*modified, *length) == stamp
        {
            return Ok(hash.clone());
        }
        let hash = read_graph(path).map_err(|e| e.to_string())?.hash();
        files.insert(path.to_path_buf(), (stamp.0, stamp.1, hash.clone()));
        Ok(hash)
    }

    /// Whether `party`'s operator approved `hash` (the folder is listed
    /// afresh each time, so approving needs no restart).
    pub fn check(&self, party: &PartyConfig, hash: &str) -> Approval {
        let mut approval =
            Approval { approved: party.approved.iter().any(|h| h == hash), ..Approval::default() };
        if approval.approved {
            return approval;
        }
        if let Some(folder) = &party.approved_dir {
            let entries = match std::fs::read_dir(folder) {
                Ok(entries) => entries,
                Err(error) => {
                    approval.unreadable.push(format!("{}: {error}", folder.display()));
                    return approval;
                }
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if !path.is_file() {
                    continue;
                }
                match self.hash_of(&path) {
                    Ok(file_hash) if file_hash == hash => {
                        approval.approved = true;
                        return approval;
                    }
                    Ok(_) => {}
                    Err(error) => approval.unreadable.push(error),
                }
            }
        }
        approval
    }
}

/// Reads a graph file (the encoding `blindfold graph build` writes).
pub fn read_graph(path: &Path) -> Result<Graph, NetworkError> {
    let file = |reason: String| NetworkError::GraphFile { path: path.display().to_string(), reason };
    let bytes = std::fs::read(path).map_err(|e| file(e.to_string()))?;
    Graph::from_bytes(&bytes).map_err(|e| file(format!("not a graph file: {e}")))
}
