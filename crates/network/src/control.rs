//! What an operator and a worker say to each other, over a control stream:
//! `Prepare` (the graph and this party's part) → `Prepared` or `Refused`;
//! (or `Describe` a table → its shape, before a session); then `Start` or
//! `Cancel`; then `Working` beats while the session runs, and `Finished`
//! (the party's profile, where it wrote its outputs) or `Failed`. Requests
//! name files by paths inside the worker's data folder; values never travel
//! on this stream, and neither do facts about them (positions, lines).

use std::io::{Read, Write};

use blindfold_runtime::profile::PartyProfile;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::error::{NetworkError, Result};
use crate::frame::{self, Frame};

/// The largest control frame accepted (a graph with its constants).
pub const CONTROL_LIMIT: u64 = 256 << 20;

/// One input a worker reads from its own disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum InputSource {
    /// Graph input `input` from an array file (`.npy`, IDX, CSV), times
    /// `scale`, rows `[first, first + count)` of its first axis.
    Array { input: String, path: String, scale: Option<f64>, rows: Option<(usize, usize)> },
    /// Every graph input of this party that is a weight of the ONNX model.
    ModelWeights { path: String },
    /// A table (CSV): every column but `label_column` as graph input
    /// `features` ([rows, columns − 1]); the label column as `labels`,
    /// one-hot over `classes` when given, else [rows, 1]. The label column
    /// is named by its header cell, or by its number (from 0) in a table
    /// without a header.
    Table { path: String, label_column: String, features: String, labels: String, classes: Option<usize> },
}

impl InputSource {
    /// The file it reads (inside the worker's data folder).
    pub fn path(&self) -> &str {
        match self {
            InputSource::Array { path, .. }
            | InputSource::ModelWeights { path }
            | InputSource::Table { path, .. } => path,
        }
    }
}

/// One party's part of a session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PartyRequest {
    pub inputs: Vec<InputSource>,
    /// The folder (inside the data folder) its outputs are written to.
    pub outputs: Option<String>,
}

/// A session as one worker is asked to run it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionRequest {
    pub session: u64,
    /// The graph's encoding ([`blindfold_ir::Graph::to_bytes`]).
    pub graph: Vec<u8>,
    /// Every party of the session.
    pub parties: Vec<String>,
    pub timeout_ms: u64,
    pub part: PartyRequest,
    /// What the session assumes of the inputs, and whether a possible
    /// overflow refuses it ([`OverflowCheck`]); the same at every party.
    pub overflow: OverflowCheck,
    /// The secret-sharing protocol the servers run.
    pub protocol: SecretSharing,
}

/// Which secret-sharing protocol a networked session runs, and so which
/// servers it needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecretSharing {
    /// server0, server1 and the producer.
    #[default]
    Pond,
    /// server0, server1 and server2, no producer.
    Replicated,
}

impl SecretSharing {
    /// The protocol the runtime runs.
    pub fn protocol(self) -> blindfold_runtime::Protocol {
        match self {
            SecretSharing::Pond => blindfold_runtime::Protocol::Pond,
            SecretSharing::Replicated => blindfold_runtime::Protocol::Replicated,
        }
    }

    /// The protocol's servers (and Pond's producer): parties every session
    /// of this protocol has.
    pub fn servers(self) -> &'static [&'static str] {
        match self {
            SecretSharing::Pond => &[
                blindfold_ir::parties::SERVER0,
                blindfold_ir::parties::SERVER1,
                blindfold_ir::parties::PRODUCER,
            ],
            SecretSharing::Replicated => &blindfold_protocols::replicated::SERVERS,
        }
    }

    /// `Pond` or `Replicated` from the runtime's protocol, if it is one of
    /// them.
    pub fn of(protocol: blindfold_runtime::Protocol) -> Option<SecretSharing> {
        match protocol {
            blindfold_runtime::Protocol::Pond => Some(SecretSharing::Pond),
            blindfold_runtime::Protocol::Replicated => Some(SecretSharing::Replicated),
            _ => None,
        }
    }
}

/// The overflow check of a networked session (`protocols::headroom`).
/// Each party checks that its own inputs lie in their declared ranges;
/// a party that knows every input (its own exactly, the others by a
/// declared range) bounds every value of the graph and refuses the
/// session if fixed point could overflow. The ranges are public: part of
/// what the operator launched.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum OverflowCheck {
    /// Run without the check (the launching operator accepted the risk).
    #[default]
    Accepted,
    /// Check, with these declared input ranges.
    Ranges(Vec<InputRange>),
}

/// Every element of one graph input lies in `[low, high]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputRange {
    pub party: String,
    pub input: String,
    pub low: f64,
    pub high: f64,
}

/// Operator → worker. (New variants go last: postcard numbers them.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    Prepare(SessionRequest),
    Start,
    Cancel,
    /// The shape of a table on the worker's disk (what a training graph's
    /// shapes need; revealed to the operator): its column names only when
    /// the file declares them as a header.
    Describe {
        path: String,
    },
    /// What the worker holds right now ([`Holdings`]), for monitoring.
    Status,
}

/// What a worker holds: connections (one thread each), sessions' buffers,
/// its threads. No values, no names of sessions' parties.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holdings {
    /// Open connections, and those still in their handshake.
    pub connections: usize,
    pub handshaking: usize,
    /// Sessions running here.
    pub sessions: usize,
    /// Session mailboxes (per session and peer), and the bytes they queue.
    pub mailboxes: usize,
    pub buffered_bytes: usize,
    /// The process's threads (where the system says: Linux).
    pub threads: Option<usize>,
}

/// What a worker tells an operator about one of its tables: the counts,
/// and the column names only where the file's first line is a header
/// (every cell a name, none a number). A headerless table's first row is
/// data, and stays on the worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableShape {
    pub header: Option<Vec<String>>,
    pub columns: usize,
    pub rows: usize,
}

/// Worker → operator.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Reply {
    Prepared {
        hash: String,
    },
    Refused {
        reason: String,
    },
    Finished {
        profile: PartyProfile,
        outputs: Vec<String>,
    },
    /// The session failed here; `waiting_on` names the peer whose silence,
    /// stall or failure ended it (the launcher follows these to the party
    /// that stopped).
    Failed {
        error: String,
        waiting_on: Option<String>,
    },
    Described(TableShape),
    /// The session still runs here (sent every quarter timeout, so that a
    /// worker that stops is told from one that computes).
    Working,
    Status(Holdings),
}

/// Sends a control message.
pub fn send<T: Serialize>(stream: &mut impl Write, message: &T) -> Result<()> {
    let bytes = postcard::to_allocvec(message).map_err(|e| NetworkError::Frame(e.to_string()))?;
    frame::write_frame(stream, &Frame::Control(bytes))
        .and_then(|_| stream.flush())
        .map_err(|e| NetworkError::Frame(format!("sending a control message: {e}")))
}

/// Receives a control message.
pub fn receive<T: DeserializeOwned>(stream: &mut impl Read) -> Result<T> {
    match frame::read_frame(stream, CONTROL_LIMIT) {
        Ok(Frame::Control(bytes)) => postcard::from_bytes(&bytes)
            .map_err(|e| NetworkError::Frame(format!("a control message that does not parse: {e}"))),
        Ok(other) => Err(NetworkError::Frame(format!("{other:?} where a control message was due"))),
        Err(error) => Err(NetworkError::Frame(error.to_string())),
    }
}
