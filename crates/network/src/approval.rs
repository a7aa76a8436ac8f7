//! Each party agrees to what it computes: a worker runs a graph only if its
//! operator approved the graph's content hash, listed in the parties file
//! or as a graph file in the party's `approved_dir`. No party can make the
//! others run a graph that would reveal their inputs.

use std::path::Path;

use blindfold_ir::Graph;

use crate::config::PartyConfig;

/// The hash a party approves: BLAKE3 of the graph's encoding, hex.
pub fn graph_hash(graph: &Graph) -> String {
    graph.hash()
}

/// What the approval check found.
#[derive(Debug, Default)]
pub struct Approval {
    pub approved: bool,
    /// Files in the approved folder that are not graphs (worth a warning).
    pub unreadable: Vec<String>,
}

/// Whether `party`'s operator approved `hash` (the folder is read afresh
/// each time, so approving needs no restart).
pub fn check(party: &PartyConfig, hash: &str) -> Approval {
    let mut approval = Approval { approved: party.approved.iter().any(|h| h == hash), ..Approval::default() };
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
            match read_graph(&path) {
                Ok(graph) if graph.hash() == hash => {
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

/// Reads a graph file (the encoding `blindfold graph build` writes).
pub fn read_graph(path: &Path) -> Result<Graph, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Graph::from_bytes(&bytes).map_err(|e| format!("{}: not a graph file: {e}", path.display()))
}
