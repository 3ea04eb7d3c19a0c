//! Sequence numbers: 56-digit decimal strings in an AWS-like layout.
//!
//! ```text
//! 49 | shard creation, epoch seconds (10) | shard index (8) | counter (20) | arrival, epoch ms (16)
//! ```
//! Fixed-width decimal fields make the string compare as a big integer the way its fields compare,
//! most significant first. Within a shard the first two fields are constant and the counter
//! strictly increases, so sequence numbers strictly increase; the shard index lets Spate tell a
//! sequence number of another shard apart, as AWS does.

use serde::{Serialize, Serializer};
use std::fmt;

pub const DIGITS: usize = 56;
const PREFIX: &[u8; 2] = b"49";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SequenceNumber {
    pub shard_created_secs: u64,
    pub shard_index: u32,
    pub counter: u64,
    pub arrival_ms: i64,
}

/// The decimal text of a sequence number, formatted without allocating.
#[derive(Clone, Copy)]
pub struct SequenceText([u8; DIGITS]);

impl SequenceText {
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever written.
        std::str::from_utf8(&self.0).unwrap_or("0")
    }
}

impl fmt::Debug for SequenceText {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SequenceText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

fn put_digits(out: &mut [u8], mut value: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

fn read_digits(text: &[u8]) -> Option<u64> {
    text.iter().try_fold(0u64, |acc, &c| {
        c.is_ascii_digit()
            .then(|| acc.checked_mul(10)?.checked_add(u64::from(c - b'0')))?
    })
}

impl SequenceNumber {
    pub fn text(&self) -> SequenceText {
        let mut out = [b'0'; DIGITS];
        out[0..2].copy_from_slice(PREFIX);
        put_digits(&mut out[2..12], self.shard_created_secs % 10_000_000_000);
        put_digits(&mut out[12..20], u64::from(self.shard_index) % 100_000_000);
        put_digits(&mut out[20..40], self.counter);
        put_digits(
            &mut out[40..56],
            self.arrival_ms.max(0) as u64 % 10_000_000_000_000_000,
        );
        SequenceText(out)
    }

    /// The number just before the record at `counter` (arrival 0, which no record has): it
    /// sorts below that record and above every earlier one, so AFTER_SEQUENCE_NUMBER with it
    /// starts at `counter`. SubscribeToShard hands it out as the continuation when it has
    /// delivered nothing yet.
    pub fn before(shard_created_secs: u64, shard_index: u32, counter: u64) -> SequenceNumber {
        SequenceNumber {
            shard_created_secs,
            shard_index,
            counter,
            arrival_ms: 0,
        }
    }

    /// Whether this is a [`before`](Self::before) number rather than a record's.
    pub fn is_before(&self) -> bool {
        self.arrival_ms == 0
    }

    /// Parses a sequence number Spate issued; `None` for anything else.
    pub fn parse(text: &str) -> Option<SequenceNumber> {
        let b = text.as_bytes();
        if b.len() != DIGITS || &b[0..2] != PREFIX {
            return None;
        }
        Some(SequenceNumber {
            shard_created_secs: read_digits(&b[2..12])?,
            shard_index: u32::try_from(read_digits(&b[12..20])?).ok()?,
            counter: read_digits(&b[20..40])?,
            arrival_ms: i64::try_from(read_digits(&b[40..56])?).ok()?,
        })
    }
}

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.text().as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seq(counter: u64, arrival_ms: i64) -> SequenceNumber {
        SequenceNumber {
            shard_created_secs: 1_700_000_000,
            shard_index: 3,
            counter,
            arrival_ms,
        }
    }

    #[test]
    fn has_aws_shape() {
        let t = seq(0, 1_700_000_000_123).to_string();
        assert_eq!(t.len(), 56);
        assert!(t.starts_with("49"));
        assert_eq!(SequenceNumber::parse(&t), Some(seq(0, 1_700_000_000_123)));
    }

    proptest! {
        #[test]
        fn round_trips(counter in 0u64..u64::MAX, arrival in 0i64..9_999_999_999_999_999) {
            let s = seq(counter, arrival);
            prop_assert_eq!(SequenceNumber::parse(&s.to_string()), Some(s));
        }

        /// Later counters give bigger numbers even when the clock went backwards.
        #[test]
        fn increase_with_the_counter_as_big_integers(a in 0u64..u64::MAX - 1, ta in 0i64..1i64 << 50, tb in 0i64..1i64 << 50) {
            let x = seq(a, ta).to_string();
            let y = seq(a + 1, tb).to_string();
            prop_assert!(y > x); // same length, so string order is numeric order
        }
    }

    #[test]
    fn rejects_foreign_text() {
        assert_eq!(SequenceNumber::parse("123"), None);
        assert_eq!(SequenceNumber::parse(&"9".repeat(56)), None);
    }
}
