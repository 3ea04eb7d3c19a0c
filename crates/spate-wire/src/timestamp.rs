//! Timestamps: epoch seconds (fractional allowed) in JSON; CBOR tag 1 around epoch milliseconds, as
//! the Java SDK writes them. Spate keeps every time as integer epoch milliseconds.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// CBOR tag 1: "epoch-based date/time".
const EPOCH_TAG: u64 = 1;

/// Below this a CBOR number is taken as seconds rather than milliseconds (year 5138 in seconds,
/// 1973 in milliseconds), so RPCv2-style CBOR clients that send seconds are read correctly too.
const MILLIS_THRESHOLD: f64 = 100_000_000_000.0;

/// A point in time with millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub epoch_millis: i64,
}

impl Timestamp {
    pub fn from_millis(epoch_millis: i64) -> Self {
        Timestamp { epoch_millis }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_f64(self.epoch_millis as f64 / 1000.0)
        } else {
            ciborium::tag::Required::<i64, EPOCH_TAG>(self.epoch_millis).serialize(serializer)
        }
    }
}

/// Any number, integer or float.
struct Number(f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Number, D::Error> {
        struct NumberVisitor;
        impl<'v> Visitor<'v> for NumberVisitor {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a timestamp number")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Number, E> {
                Err(crate::types::timestamp_errors::boolean())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Number, E> {
                Err(crate::types::timestamp_errors::string())
            }
            fn visit_seq<A: de::SeqAccess<'v>>(self, _: A) -> Result<Number, A::Error> {
                Err(de::Error::custom(crate::types::LIST_FOUND))
            }
            fn visit_map<A: de::MapAccess<'v>>(self, _: A) -> Result<Number, A::Error> {
                Err(de::Error::custom(crate::types::MAP_FOUND))
            }
        }
        deserializer.deserialize_any(NumberVisitor)
    }
}

fn millis_from_seconds<E: de::Error>(seconds: f64) -> Result<Timestamp, E> {
    if !seconds.is_finite() || seconds.abs() > 1e13 {
        return Err(E::custom("timestamp out of range"));
    }
    Ok(Timestamp::from_millis((seconds * 1000.0).round() as i64))
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        if deserializer.is_human_readable() {
            let Number(seconds) = Number::deserialize(deserializer)?;
            millis_from_seconds(seconds)
        } else {
            let ciborium::tag::Captured(_, Number(value)) =
                ciborium::tag::Captured::<Number>::deserialize(deserializer)?;
            if value.abs() < MILLIS_THRESHOLD {
                millis_from_seconds(value)
            } else {
                millis_from_seconds(value / 1000.0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode, encode, Encoding};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Holder {
        t: Timestamp,
    }

    #[test]
    fn json_uses_fractional_seconds() {
        let h: Holder = decode(Encoding::Json, br#"{"t": 1700000000.123}"#).unwrap();
        assert_eq!(h.t.epoch_millis, 1_700_000_000_123);
        let out = encode(Encoding::Json, &h);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"t":1700000000.123}"#
        );
    }

    #[test]
    fn cbor_uses_tag_one_and_millis() {
        let h = Holder {
            t: Timestamp::from_millis(1_700_000_000_123),
        };
        let bytes = encode(Encoding::Cbor, &h);
        // map(1) "t" tag(1) uint64
        assert_eq!(&bytes[..4], &[0xa1, 0x61, b't', 0xc1]);
        let back: Holder = decode(Encoding::Cbor, &bytes).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn cbor_seconds_are_recognised() {
        let mut bytes = vec![0xa1, 0x61, b't', 0xc1, 0xfb];
        bytes.extend_from_slice(&1_700_000_000.5f64.to_be_bytes());
        let h: Holder = decode(Encoding::Cbor, &bytes).unwrap();
        assert_eq!(h.t.epoch_millis, 1_700_000_000_500);
    }
}
