//! The wire format inside a TLS stream: length-prefixed frames.
//!
//! `[u64 LE: 1 + body length][u8 kind][body]`. A connection opens with
//! `Hello` (version, role) answered by `Ack`; a party's stream then carries
//! `Data` (one protocol message: session, op, sequence, traffic, round
//! clocks, payload), `Beat` (the sender is busy on the session) and `End`
//! (the sender left the session; after the session id, why it failed, if
//! it did); an operator's stream carries `Control`
//! (postcard-encoded requests and replies). A frame longer than the
//! reader's limit is refused before its body is read; a stream that ends
//! inside a frame is reported as truncated.

use std::io::{self, Read, Write};

use blindfold_protocols::Traffic;
use blindfold_runtime::transport::Message;
use thiserror::Error;

/// The frame format's version (a `Hello` with another is refused).
pub const VERSION: u16 = 1;

const HELLO: u8 = 1;
const ACK: u8 = 2;
const DATA: u8 = 3;
const BEAT: u8 = 4;
const END: u8 = 5;
const CONTROL: u8 = 6;

/// The longest failure reason an `End` frame carries.
pub const REASON_BYTES: usize = 1000;

/// A data frame's header after the kind: session, op, sequence, traffic,
/// round, op round.
pub const DATA_HEADER_BYTES: usize = 8 + 4 + 8 + 1 + 8 + 4;

/// What a connection is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A party's stream of protocol messages to a peer.
    Peer,
    /// An operator's requests to a worker.
    Control,
}

/// One frame.
#[derive(Debug)]
pub enum Frame {
    Hello {
        version: u16,
        role: Role,
    },
    Ack,
    Data(Message),
    Beat {
        session: u64,
    },
    /// The sender left `session`; `reason` when it failed (an error
    /// message, at most [`REASON_BYTES`]).
    End {
        session: u64,
        reason: Option<String>,
    },
    Control(Vec<u8>),
}

/// Why a frame could not be read.
#[derive(Debug, Error)]
pub enum FrameError {
    /// The stream ended cleanly between frames.
    #[error("the connection closed")]
    Closed,
    /// The stream ended inside a frame.
    #[error("a truncated message: {got} of {expected} bytes arrived before the connection closed")]
    Truncated { expected: u64, got: u64 },
    /// The frame is longer than the reader accepts.
    #[error("a message of {size} bytes, over the {limit}-byte limit, was refused")]
    Oversized { size: u64, limit: u64 },
    /// The bytes are not a frame.
    #[error("a malformed message: {0}")]
    Malformed(String),
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Writes a data frame: its header, then the payload (not copied here).
pub fn write_data(writer: &mut impl Write, message: &Message) -> io::Result<()> {
    writer.write_all(&data_header(message))?;
    writer.write_all(&message.payload)
}

/// A data frame's bytes before its payload: the length prefix (which
/// counts the payload), the kind and the header.
pub fn data_header(message: &Message) -> [u8; 9 + DATA_HEADER_BYTES] {
    let mut header = [0u8; 9 + DATA_HEADER_BYTES];
    header[..8].copy_from_slice(&((1 + DATA_HEADER_BYTES + message.payload.len()) as u64).to_le_bytes());
    header[8] = DATA;
    let mut at = 9;
    let mut put = |bytes: &[u8]| {
        header[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(&message.session.to_le_bytes());
    put(&message.op.to_le_bytes());
    put(&message.sequence.to_le_bytes());
    put(&[match message.traffic {
        Traffic::Online => 0,
        Traffic::Offline => 1,
    }]);
    put(&message.round.to_le_bytes());
    put(&message.op_round.to_le_bytes());
    header
}

/// Writes any other frame.
pub fn write_frame(writer: &mut impl Write, frame: &Frame) -> io::Result<()> {
    let (kind, body): (u8, Vec<u8>) = match frame {
        Frame::Data(message) => return write_data(writer, message),
        Frame::Hello { version, role } => {
            let mut body = version.to_le_bytes().to_vec();
            body.push(match role {
                Role::Peer => 0,
                Role::Control => 1,
            });
            (HELLO, body)
        }
        Frame::Ack => (ACK, Vec::new()),
        Frame::Beat { session } => (BEAT, session.to_le_bytes().to_vec()),
        Frame::End { session, reason } => {
            let mut body = session.to_le_bytes().to_vec();
            let reason = reason.as_deref().unwrap_or("");
            let mut end = reason.len().min(REASON_BYTES);
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            body.extend(&reason.as_bytes()[..end]);
            (END, body)
        }
        Frame::Control(bytes) => (CONTROL, bytes.clone()),
    };
    let mut bytes = Vec::with_capacity(9 + body.len());
    bytes.extend(((1 + body.len()) as u64).to_le_bytes());
    bytes.push(kind);
    bytes.extend(body);
    writer.write_all(&bytes)
}

/// Reads exactly `buffer.len()` bytes; `done` bytes of the frame came before.
fn read_part(reader: &mut impl Read, buffer: &mut [u8], done: u64, total: u64) -> Result<(), FrameError> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) if done == 0 && filled == 0 => return Err(FrameError::Closed),
            Ok(0) => return Err(FrameError::Truncated { expected: total, got: done + filled as u64 }),
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            // TLS reports a peer that vanished without closing as an EOF.
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof && done == 0 && filled == 0 => {
                return Err(FrameError::Closed);
            }
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(FrameError::Truncated { expected: total, got: done + filled as u64 });
            }
            Err(error) => return Err(FrameError::Io(error)),
        }
    }
    Ok(())
}

/// Reads the next frame; a frame of over `limit` bytes is refused unread.
pub fn read_frame(reader: &mut impl Read, limit: u64) -> Result<Frame, FrameError> {
    let mut prefix = [0u8; 9];
    read_part(reader, &mut prefix[..8], 0, 8)?;
    let length = u64::from_le_bytes(prefix[..8].try_into().expect("8 bytes"));
    if length == 0 {
        return Err(FrameError::Malformed("an empty frame".into()));
    }
    if length > limit.saturating_add(1 + DATA_HEADER_BYTES as u64) {
        return Err(FrameError::Oversized { size: length - 1, limit });
    }
    let total = 8 + length;
    read_part(reader, &mut prefix[8..], 8, total)?;
    let kind = prefix[8];
    let body_length = (length - 1) as usize;
    if kind == DATA {
        if body_length < DATA_HEADER_BYTES {
            return Err(FrameError::Malformed(format!("a data frame of {body_length} bytes")));
        }
        let mut header = [0u8; DATA_HEADER_BYTES];
        read_part(reader, &mut header, 9, total)?;
        let payload_length = body_length - DATA_HEADER_BYTES;
        let mut payload = Vec::with_capacity(payload_length);
        match reader.take(payload_length as u64).read_to_end(&mut payload) {
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {}
            Err(error) => return Err(FrameError::Io(error)),
        }
        if payload.len() < payload_length {
            let got = total - (payload_length - payload.len()) as u64;
            return Err(FrameError::Truncated { expected: total, got });
        }
        let field = |at: usize, n: usize| &header[at..at + n];
        let traffic = match header[20] {
            0 => Traffic::Online,
            1 => Traffic::Offline,
            other => return Err(FrameError::Malformed(format!("traffic kind {other}"))),
        };
        return Ok(Frame::Data(Message {
            session: u64::from_le_bytes(field(0, 8).try_into().expect("8")),
            op: u32::from_le_bytes(field(8, 4).try_into().expect("4")),
            sequence: u64::from_le_bytes(field(12, 8).try_into().expect("8")),
            traffic,
            round: u64::from_le_bytes(field(21, 8).try_into().expect("8")),
            op_round: u32::from_le_bytes(field(29, 4).try_into().expect("4")),
            payload,
        }));
    }
    let mut body = vec![0u8; body_length];
    read_part(reader, &mut body, 9, total)?;
    let session = |body: &[u8]| -> Result<u64, FrameError> {
        Ok(u64::from_le_bytes(
            body.try_into().map_err(|_| FrameError::Malformed(format!("a {body_length}-byte session id")))?,
        ))
    };
    match kind {
        HELLO if body_length == 3 => Ok(Frame::Hello {
            version: u16::from_le_bytes([body[0], body[1]]),
            role: match body[2] {
                0 => Role::Peer,
                1 => Role::Control,
                other => return Err(FrameError::Malformed(format!("role {other}"))),
            },
        }),
        ACK if body_length == 0 => Ok(Frame::Ack),
        BEAT => Ok(Frame::Beat { session: session(&body)? }),
        END if body_length >= 8 => {
            let reason = String::from_utf8_lossy(&body[8..]).into_owned();
            Ok(Frame::End { session: session(&body[..8])?, reason: (!reason.is_empty()).then_some(reason) })
        }
        CONTROL => Ok(Frame::Control(body)),
        other => Err(FrameError::Malformed(format!("frame kind {other} of {body_length} bytes"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(payload: Vec<u8>) -> Message {
        Message {
            session: 0x1234_5678_9abc_def0,
            op: 42,
            sequence: 7,
            traffic: Traffic::Offline,
            round: 99,
            op_round: 3,
            payload,
        }
    }

    #[test]
    fn frames_round_trip() {
        let mut bytes = Vec::new();
        write_data(&mut bytes, &message(vec![1, 2, 3])).unwrap();
        write_frame(&mut bytes, &Frame::Hello { version: VERSION, role: Role::Control }).unwrap();
        write_frame(&mut bytes, &Frame::End { session: 5, reason: None }).unwrap();
        write_frame(&mut bytes, &Frame::End { session: 6, reason: Some("%3 (matmul): failed".into()) })
            .unwrap();
        write_frame(&mut bytes, &Frame::Control(vec![9; 10])).unwrap();
        let mut reader = bytes.as_slice();
        match read_frame(&mut reader, 100).unwrap() {
            Frame::Data(m) => {
                assert_eq!(
                    (m.session, m.op, m.sequence, m.round, m.op_round),
                    (0x1234_5678_9abc_def0, 42, 7, 99, 3)
                );
                assert_eq!((m.traffic, m.payload), (Traffic::Offline, vec![1, 2, 3]));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_frame(&mut reader, 100).unwrap(),
            Frame::Hello { version: VERSION, role: Role::Control }
        ));
        assert!(matches!(read_frame(&mut reader, 100).unwrap(), Frame::End { session: 5, reason: None }));
        assert!(
            matches!(read_frame(&mut reader, 100).unwrap(), Frame::End { session: 6, reason: Some(r) } if r == "%3 (matmul): failed")
        );
        assert!(matches!(read_frame(&mut reader, 100).unwrap(), Frame::Control(b) if b == vec![9; 10]));
        assert!(matches!(read_frame(&mut reader, 100), Err(FrameError::Closed)));
    }

    #[test]
    fn truncated_oversized_and_malformed_frames_are_refused() {
        let mut bytes = Vec::new();
        write_data(&mut bytes, &message(vec![0; 1000])).unwrap();
        let error = read_frame(&mut &bytes[..3], 10_000).unwrap_err();
        assert!(matches!(error, FrameError::Truncated { expected: 8, got: 3 }), "{error}");
        for cut in [8, 20, 500] {
            let error = read_frame(&mut &bytes[..cut], 10_000).unwrap_err();
            assert!(
                matches!(error, FrameError::Truncated { expected: 1042, got } if got == cut as u64),
                "{error}"
            );
        }
        let error = read_frame(&mut bytes.as_slice(), 999).unwrap_err();
        assert!(matches!(error, FrameError::Oversized { size: 1033, limit: 999 }), "{error}");
        let mut odd = Vec::new();
        odd.extend(2u64.to_le_bytes());
        odd.extend([77, 0]);
        assert!(matches!(read_frame(&mut odd.as_slice(), 100), Err(FrameError::Malformed(_))));
        let mut short = Vec::new();
        short.extend(5u64.to_le_bytes());
        short.extend([DATA, 0, 0, 0, 0]);
        assert!(matches!(read_frame(&mut short.as_slice(), 100), Err(FrameError::Malformed(_))));
    }
}
