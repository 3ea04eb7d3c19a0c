//! The `application/vnd.amazon.eventstream` framing that SubscribeToShard responses use.
//!
//! ```text
//! 0..4    total length, big-endian u32 (12 + headers + payload + 4)
//! 4..8    headers length, big-endian u32
//! 8..12   CRC32 (IEEE, as zlib) of bytes 0..8
//! 12..    headers: name length u8, name, value type u8, value (type 7 = string: u16 length, UTF-8)
//! ..      payload
//! last 4  CRC32 of everything before it
//! ```
//! Note the CRC is IEEE CRC32, not the CRC32C the record log uses.

pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

const PRELUDE_BYTES: usize = 12;
const STRING_TYPE: u8 = 7;

/// Encodes one message with string headers.
pub fn encode_message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let headers_len: usize = headers
        .iter()
        .map(|(name, value)| 1 + name.len() + 1 + 2 + value.len())
        .sum();
    let total = PRELUDE_BYTES + headers_len + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(headers_len as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out[..8]);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    for (name, value) in headers {
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.push(STRING_TYPE);
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// An event (`:message-type` event) with the given `:event-type`.
pub fn event(event_type: &str, content_type: &str, payload: &[u8]) -> Vec<u8> {
    encode_message(
        &[
            (":message-type", "event"),
            (":event-type", event_type),
            (":content-type", content_type),
        ],
        payload,
    )
}

/// A modelled exception (`:message-type` exception); the payload carries the message.
pub fn exception(exception_type: &str, content_type: &str, payload: &[u8]) -> Vec<u8> {
    encode_message(
        &[
            (":message-type", "exception"),
            (":exception-type", exception_type),
            (":content-type", content_type),
        ],
        payload,
    )
}

/// One decoded message (string headers only), for tests and tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub headers: Vec<(String, String)>,
    pub payload: Vec<u8>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Decodes the message at the start of `buf`: the message and its length, `None` if `buf` holds
/// less than a whole message, `Err` if the bytes are not a valid message.
pub fn decode_message(buf: &[u8]) -> Result<Option<(Message, usize)>, String> {
    if buf.len() < PRELUDE_BYTES {
        return Ok(None);
    }
    let total = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    let headers_len = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
    let prelude_crc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
    if crc32fast::hash(&buf[..8]) != prelude_crc {
        return Err("prelude CRC mismatch".into());
    }
    if total < PRELUDE_BYTES + headers_len + 4 {
        return Err("lengths do not add up".into());
    }
    if buf.len() < total {
        return Ok(None);
    }
    let crc = u32::from_be_bytes([
        buf[total - 4],
        buf[total - 3],
        buf[total - 2],
        buf[total - 1],
    ]);
    if crc32fast::hash(&buf[..total - 4]) != crc {
        return Err("message CRC mismatch".into());
    }
    let mut headers = Vec::new();
    let mut pos = PRELUDE_BYTES;
    let end = PRELUDE_BYTES + headers_len;
    while pos < end {
        let name_len = buf[pos] as usize;
        let name = String::from_utf8_lossy(&buf[pos + 1..pos + 1 + name_len]).into_owned();
        pos += 1 + name_len;
        if buf.get(pos) != Some(&STRING_TYPE) {
            return Err(format!("header {name} is not a string"));
        }
        let len = u16::from_be_bytes([buf[pos + 1], buf[pos + 2]]) as usize;
        let value = String::from_utf8_lossy(&buf[pos + 3..pos + 3 + len]).into_owned();
        pos += 3 + len;
        headers.push((name, value));
    }
    Ok(Some((
        Message {
            headers,
            payload: buf[end..total - 4].to_vec(),
        },
        total,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_known_initial_response_frame() {
        // Checked against botocore's EventStreamBuffer (see docs/architecture.md).
        let frame = event("initial-response", "application/json", b"{}");
        assert_eq!(frame.len(), 104);
        assert_eq!(
            &frame[..12],
            &[0, 0, 0, 0x68, 0, 0, 0, 0x56, 0x4e, 0x68, 0x17, 0x24]
        );
        assert_eq!(&frame[100..], &[0xfe, 0x94, 0x2c, 0x1d]);
    }

    #[test]
    fn empty_message_matches_the_reference_vector() {
        assert_eq!(
            encode_message(&[], b""),
            vec![0, 0, 0, 0x10, 0, 0, 0, 0, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98, 0xc8, 0xff]
        );
    }

    #[test]
    fn round_trips_and_detects_damage() {
        let frame = exception(
            "ResourceInUseException",
            "application/json",
            b"{\"message\":\"x\"}",
        );
        let (message, len) = decode_message(&frame).unwrap().unwrap();
        assert_eq!(len, frame.len());
        assert_eq!(
            message.header(":exception-type"),
            Some("ResourceInUseException")
        );
        assert_eq!(message.payload, b"{\"message\":\"x\"}");
        assert_eq!(decode_message(&frame[..frame.len() - 1]).unwrap(), None);
        let mut bad = frame.clone();
        bad[20] ^= 1;
        assert!(decode_message(&bad).is_err());
    }
}
