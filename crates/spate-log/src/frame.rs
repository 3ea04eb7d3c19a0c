//! The on-disk format of a segment: a header, then CRC-framed records.
//!
//! ```text
//! segment header (24 bytes)
//!   0..8    magic  b"SPATELOG"
//!   8..10   format version, big-endian u16 (FORMAT_VERSION)
//!   10..16  reserved, zero
//!   16..24  base counter: the counter of the first record in the segment, big-endian u64
//! record frame (FRAME_OVERHEAD + partition key + data bytes)
//!   0..4    body length, big-endian u32 (bounded by MAX_BODY_BYTES before anything is allocated)
//!   4..8    CRC32C of the body, big-endian u32
//!   8..     body:
//!             0..8    counter, big-endian u64 (consecutive within a shard)
//!             8..16   arrival time, epoch milliseconds, big-endian i64
//!             16..18  flags and partition key length, big-endian u16:
//!                       bit 15 = sealed (format 2): the record is an encryption envelope,
//!                       its partition key is empty and its data is the envelope;
//!                       bit 14 = commit start (format 3): the first frame one group commit
//!                       wrote to this file;
//!                       bits 0..14 = partition key length (at most 1 KiB, so never a flag bit)
//!             18..    partition key (UTF-8), then the data bytes
//! ```
//! Format 2 added the sealed flag and format 3 the commit-start flag, nothing else, so older
//! segments read unchanged; a segment from a newer format stops recovery instead of being taken
//! for a torn write.
//!
//! Why commit starts are marked: the writer writes a file's next commit only after the previous
//! one was synced. So a valid commit-start frame after a damaged frame proves the damaged bytes
//! were synced (and acknowledged) before: that is corruption, never a torn write, and recovery
//! refuses to cut there (see `recovery`).
//! Everything read from disk is untrusted: lengths are bounded, CRCs checked, and a frame that
//! fails either ends the readable part of the segment (a torn write) instead of panicking.

pub const MAGIC: &[u8; 8] = b"SPATELOG";
pub const FORMAT_VERSION: u16 = 3;
/// The oldest segment format this build reads.
pub const OLDEST_READABLE_VERSION: u16 = 1;
/// Bit of the key-length field that marks a sealed (encrypted) record.
pub const SEALED_FLAG: u16 = 0x8000;
/// Bit of the key-length field that marks the first frame a commit wrote to its file.
pub const COMMIT_START_FLAG: u16 = 0x4000;
const KEY_LENGTH_MASK: u16 = 0x3fff;
pub const HEADER_BYTES: usize = 24;
/// Length + CRC.
pub const FRAME_PREFIX_BYTES: usize = 8;
/// Counter + arrival + key length.
pub const BODY_FIXED_BYTES: usize = 18;
pub const FRAME_OVERHEAD: usize = FRAME_PREFIX_BYTES + BODY_FIXED_BYTES;
/// Largest body accepted from disk: a 10 MiB record with a 256-character (up to 1 KiB UTF-8) key,
/// plus room for an encryption envelope's overhead.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024 + 1024 + 64 + BODY_FIXED_BYTES;

/// One decoded record, borrowing from the buffer it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRef<'a> {
    pub counter: u64,
    pub arrival_ms: i64,
    pub partition_key: &'a [u8],
    pub data: &'a [u8],
    /// The data is an encryption envelope (the key is inside it).
    pub sealed: bool,
    /// The first frame a group commit wrote to this file.
    pub commit_start: bool,
}

/// Flags of one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameFlags {
    pub sealed: bool,
    pub commit_start: bool,
}

impl FrameFlags {
    fn bits(self) -> u16 {
        (if self.sealed { SEALED_FLAG } else { 0 })
            | (if self.commit_start {
                COMMIT_START_FLAG
            } else {
                0
            })
    }
}

/// Why a segment header is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Not a header: a torn segment creation.
    Invalid,
    /// A format this build does not know: written by a newer Spate.
    NewerVersion(u16),
}

/// Why a frame could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer bytes than the frame needs: the end of the written part, or a torn write.
    Incomplete,
    /// Bad length, CRC mismatch or a malformed body: corruption, or a torn write.
    Corrupt,
}

pub fn encode_header(base_counter: u64) -> [u8; HEADER_BYTES] {
    let mut h = [0u8; HEADER_BYTES];
    h[0..8].copy_from_slice(MAGIC);
    h[8..10].copy_from_slice(&FORMAT_VERSION.to_be_bytes());
    h[16..24].copy_from_slice(&base_counter.to_be_bytes());
    h
}

/// A valid segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub base_counter: u64,
    pub version: u16,
}

pub fn decode_header(h: &[u8]) -> Result<Header, HeaderError> {
    if h.len() < HEADER_BYTES || &h[0..8] != MAGIC {
        return Err(HeaderError::Invalid);
    }
    let version = u16::from_be_bytes([h[8], h[9]]);
    if version > FORMAT_VERSION {
        return Err(HeaderError::NewerVersion(version));
    }
    if version < OLDEST_READABLE_VERSION {
        return Err(HeaderError::Invalid);
    }
    let base = h[16..24].try_into().map_err(|_| HeaderError::Invalid)?;
    Ok(Header {
        base_counter: u64::from_be_bytes(base),
        version,
    })
}

pub fn frame_len(partition_key: &[u8], data: &[u8]) -> usize {
    FRAME_OVERHEAD + partition_key.len() + data.len()
}

/// Appends one frame to `out`.
pub fn encode_frame(
    out: &mut Vec<u8>,
    counter: u64,
    arrival_ms: i64,
    partition_key: &[u8],
    data: &[u8],
    flags: FrameFlags,
) {
    let body_len = BODY_FIXED_BYTES + partition_key.len() + data.len();
    let start = out.len();
    let flags = flags.bits();
    out.extend_from_slice(&(body_len as u32).to_be_bytes());
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&counter.to_be_bytes());
    out.extend_from_slice(&arrival_ms.to_be_bytes());
    out.extend_from_slice(&(partition_key.len() as u16 | flags).to_be_bytes());
    out.extend_from_slice(partition_key);
    out.extend_from_slice(data);
    let crc = crc32c::crc32c(&out[start + FRAME_PREFIX_BYTES..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_be_bytes());
}

/// Decodes the frame at the start of `buf`; returns it and its total length.
pub fn decode_frame(buf: &[u8]) -> Result<(FrameRef<'_>, usize), FrameError> {
    if buf.len() < FRAME_PREFIX_BYTES {
        return Err(FrameError::Incomplete);
    }
    let body_len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if !(BODY_FIXED_BYTES..=MAX_BODY_BYTES).contains(&body_len) {
        return Err(FrameError::Corrupt);
    }
    let total = FRAME_PREFIX_BYTES + body_len;
    if buf.len() < total {
        return Err(FrameError::Incomplete);
    }
    let crc = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let body = &buf[FRAME_PREFIX_BYTES..total];
    if crc32c::crc32c(body) != crc {
        return Err(FrameError::Corrupt);
    }
    let counter = u64::from_be_bytes(body[0..8].try_into().map_err(|_| FrameError::Corrupt)?);
    let arrival_ms = i64::from_be_bytes(body[8..16].try_into().map_err(|_| FrameError::Corrupt)?);
    let key_field = u16::from_be_bytes([body[16], body[17]]);
    let sealed = key_field & SEALED_FLAG != 0;
    let commit_start = key_field & COMMIT_START_FLAG != 0;
    let key_len = (key_field & KEY_LENGTH_MASK) as usize;
    if BODY_FIXED_BYTES + key_len > body.len() || (sealed && key_len != 0) {
        return Err(FrameError::Corrupt);
    }
    let partition_key = &body[BODY_FIXED_BYTES..BODY_FIXED_BYTES + key_len];
    let data = &body[BODY_FIXED_BYTES + key_len..];
    Ok((
        FrameRef {
            counter,
            arrival_ms,
            partition_key,
            data,
            sealed,
            commit_start,
        },
        total,
    ))
}

/// Whether a commit-start frame with a counter of at least `min_counter` could begin at the start
/// of `buf`, judged from its fixed fields only (no CRC), so that a scan over damaged bytes
/// computes CRCs only where a later commit could plausibly start.
pub fn could_start_commit_after(buf: &[u8], min_counter: u64) -> bool {
    if buf.len() < FRAME_OVERHEAD {
        return false;
    }
    let body_len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    let b = &buf[FRAME_PREFIX_BYTES..];
    let found = u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    let key_field = u16::from_be_bytes([b[16], b[17]]);
    (BODY_FIXED_BYTES..=MAX_BODY_BYTES).contains(&body_len)
        && key_field & COMMIT_START_FLAG != 0
        && found >= min_counter
        && found - min_counter < 1 << 40
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn frames_round_trip(counter: u64, arrival: i64, key in proptest::collection::vec(any::<u8>(), 0..300),
                             data in proptest::collection::vec(any::<u8>(), 0..2000), sealed: bool, commit_start: bool) {
            let key = if sealed { Vec::new() } else { key };
            let mut buf = Vec::new();
            encode_frame(&mut buf, counter, arrival, &key, &data, FrameFlags { sealed, commit_start });
            prop_assert_eq!(buf.len(), frame_len(&key, &data));
            let (f, len) = decode_frame(&buf).unwrap();
            prop_assert_eq!(len, buf.len());
            prop_assert_eq!(f, FrameRef { counter, arrival_ms: arrival, partition_key: &key, data: &data, sealed, commit_start });
            // Every strict prefix is incomplete, never a panic or a wrong record.
            for cut in 0..buf.len() {
                prop_assert!(decode_frame(&buf[..cut]).is_err());
            }
        }

        #[test]
        fn any_single_bit_flip_is_detected(flip in 0usize..(FRAME_OVERHEAD + 20) * 8) {
            let mut buf = Vec::new();
            encode_frame(&mut buf, 7, 1_700_000_000_000, b"key", b"some data bytes!!", FrameFlags::default());
            let byte = flip / 8 % buf.len();
            buf[byte] ^= 1 << (flip % 8);
            match decode_frame(&buf) {
                Err(_) => {}
                Ok((f, _)) => prop_assert!(false, "corrupted frame decoded: {:?}", f),
            }
        }
    }

    #[test]
    fn header_round_trips_reads_version_1_and_refuses_newer() {
        let h = encode_header(42);
        assert_eq!(decode_header(&h).map(|h| h.base_counter), Ok(42));
        let mut v1 = h;
        v1[9] = 1;
        assert_eq!(decode_header(&v1).map(|h| h.version), Ok(1));
        let mut v2 = h;
        v2[9] = 2;
        assert_eq!(decode_header(&v2).map(|h| h.version), Ok(2));
        let mut newer = h;
        newer[9] = 4;
        assert_eq!(decode_header(&newer), Err(HeaderError::NewerVersion(4)));
        assert_eq!(decode_header(&h[..10]), Err(HeaderError::Invalid));
    }

    #[test]
    fn version_1_frames_decode_unchanged() {
        // A frame exactly as format 1 wrote it (no flag bits), built by hand.
        let mut body = Vec::new();
        body.extend_from_slice(&5u64.to_be_bytes());
        body.extend_from_slice(&1_700_000_000_123i64.to_be_bytes());
        body.extend_from_slice(&3u16.to_be_bytes());
        body.extend_from_slice(b"keyvalue");
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
        frame.extend_from_slice(&body);
        let (f, _) = decode_frame(&frame).unwrap();
        assert_eq!(
            f,
            FrameRef {
                counter: 5,
                arrival_ms: 1_700_000_000_123,
                partition_key: b"key",
                data: b"value",
                sealed: false,
                commit_start: false,
            }
        );
    }
}
