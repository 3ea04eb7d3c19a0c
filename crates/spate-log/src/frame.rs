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
//!             16..18  partition key length, big-endian u16
//!             18..    partition key (UTF-8), then the data bytes
//! ```
//! Everything read from disk is untrusted: lengths are bounded, CRCs checked, and a frame that
//! fails either ends the readable part of the segment (a torn write) instead of panicking.

pub const MAGIC: &[u8; 8] = b"SPATELOG";
pub const FORMAT_VERSION: u16 = 1;
pub const HEADER_BYTES: usize = 24;
/// Length + CRC.
pub const FRAME_PREFIX_BYTES: usize = 8;
/// Counter + arrival + key length.
pub const BODY_FIXED_BYTES: usize = 18;
pub const FRAME_OVERHEAD: usize = FRAME_PREFIX_BYTES + BODY_FIXED_BYTES;
/// Largest body accepted from disk: a 10 MiB record with a 256-character (up to 1 KiB UTF-8) key.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024 + 1024 + BODY_FIXED_BYTES;

/// One decoded record, borrowing from the buffer it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRef<'a> {
    pub counter: u64,
    pub arrival_ms: i64,
    pub partition_key: &'a [u8],
    pub data: &'a [u8],
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

/// Returns the base counter of a valid header.
pub fn decode_header(h: &[u8]) -> Option<u64> {
    if h.len() < HEADER_BYTES || &h[0..8] != MAGIC {
        return None;
    }
    let version = u16::from_be_bytes([h[8], h[9]]);
    if version != FORMAT_VERSION {
        return None;
    }
    Some(u64::from_be_bytes(h[16..24].try_into().ok()?))
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
) {
    let body_len = BODY_FIXED_BYTES + partition_key.len() + data.len();
    let start = out.len();
    out.extend_from_slice(&(body_len as u32).to_be_bytes());
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&counter.to_be_bytes());
    out.extend_from_slice(&arrival_ms.to_be_bytes());
    out.extend_from_slice(&(partition_key.len() as u16).to_be_bytes());
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
    let key_len = u16::from_be_bytes([body[16], body[17]]) as usize;
    if BODY_FIXED_BYTES + key_len > body.len() {
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
        },
        total,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn frames_round_trip(counter: u64, arrival: i64, key in proptest::collection::vec(any::<u8>(), 0..300),
                             data in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut buf = Vec::new();
            encode_frame(&mut buf, counter, arrival, &key, &data);
            prop_assert_eq!(buf.len(), frame_len(&key, &data));
            let (f, len) = decode_frame(&buf).unwrap();
            prop_assert_eq!(len, buf.len());
            prop_assert_eq!(f, FrameRef { counter, arrival_ms: arrival, partition_key: &key, data: &data });
            // Every strict prefix is incomplete, never a panic or a wrong record.
            for cut in 0..buf.len() {
                prop_assert!(decode_frame(&buf[..cut]).is_err());
            }
        }

        #[test]
        fn any_single_bit_flip_is_detected(flip in 0usize..(FRAME_OVERHEAD + 20) * 8) {
            let mut buf = Vec::new();
            encode_frame(&mut buf, 7, 1_700_000_000_000, b"key", b"some data bytes!!");
            let byte = flip / 8 % buf.len();
            buf[byte] ^= 1 << (flip % 8);
            match decode_frame(&buf) {
                Err(_) => {}
                Ok((f, _)) => prop_assert!(false, "corrupted frame decoded: {:?}", f),
            }
        }
    }

    #[test]
    fn header_round_trips_and_rejects_other_versions() {
        let h = encode_header(42);
        assert_eq!(decode_header(&h), Some(42));
        let mut other = h;
        other[9] = 2;
        assert_eq!(decode_header(&other), None);
        assert_eq!(decode_header(&h[..10]), None);
    }
}
