//! Identifiers Firehose hands out: UUIDs for object names and request ids, and record ids.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;

/// A random (version 4) UUID, lower-case and hyphenated.
pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // Uniqueness matters, secrecy does not: fall back to the clock and a counter.
        b = fallback_entropy();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn fallback_entropy() -> [u8; 16] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&splitmix(nanos).to_be_bytes());
    out[8..].copy_from_slice(&splitmix(n ^ nanos.rotate_left(17)).to_be_bytes());
    out
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Bytes of a record id before encoding: AWS's ids are 224 base64 characters (168 bytes).
const RECORD_ID_BYTES: usize = 168;

/// A record id in AWS's form (224 characters of unpadded base64). It names where the record
/// is in Spate's log: the delivery stream's log id and the record's position, followed by
/// bytes derived from both, so every record gets its own id without drawing randomness per
/// record on the ingest path.
pub fn record_id(log_id: u64, counter: u64, arrival_ms: i64) -> String {
    let mut bytes = [0u8; RECORD_ID_BYTES];
    // The position, masked by a fixed stream so ids look as random as AWS's (the mask is a
    // bijection, so distinct positions keep distinct ids).
    let identity = [log_id, counter, arrival_ms as u64];
    for (i, (chunk, value)) in bytes[..24].chunks_mut(8).zip(identity).enumerate() {
        let mask = splitmix(0x5350_4154_4546_4952 ^ i as u64);
        chunk.copy_from_slice(&(value ^ mask).to_be_bytes());
    }
    let mut state = splitmix(log_id ^ counter.rotate_left(32) ^ arrival_ms as u64);
    for chunk in bytes[24..].chunks_mut(8) {
        state = splitmix(state);
        chunk.copy_from_slice(&state.to_be_bytes()[..chunk.len()]);
    }
    STANDARD_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_look_like_version_4() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        assert_ne!(u, uuid_v4());
    }

    #[test]
    fn record_ids_have_aws_length_and_differ_per_record() {
        let a = record_id(1, 0, 5);
        assert_eq!(a.len(), 224);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/'));
        assert_ne!(a, record_id(1, 1, 5));
        assert_ne!(a, record_id(2, 0, 5));
    }
}
