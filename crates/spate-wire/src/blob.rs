//! Binary members: base64 strings in JSON, byte strings in CBOR.

use crate::types::blob_errors;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// An owned binary member of a request (`Data`), decoded once from the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

/// A borrowed binary member of a response, encoded straight from the stored bytes.
#[derive(Debug, Clone, Copy)]
pub struct BlobRef<'a>(pub &'a [u8]);

impl Serialize for BlobRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&STANDARD.encode(self.0))
        } else {
            serializer.serialize_bytes(self.0)
        }
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        BlobRef(&self.0).serialize(serializer)
    }
}

struct BlobVisitor;

impl<'de> Visitor<'de> for BlobVisitor {
    type Value = Blob;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a base64 string or a byte string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Blob, E> {
        crate::types::decode_base64(v).map(Blob)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Blob, E> {
        Ok(Blob(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Blob, E> {
        Ok(Blob(v))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Blob, E> {
        Err(blob_errors::boolean())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Blob, E> {
        Err(blob_errors::number())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Blob, E> {
        Err(blob_errors::number())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Blob, E> {
        Err(blob_errors::number())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Blob, A::Error> {
        Err(de::Error::custom(crate::types::LIST_FOUND))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Blob, A::Error> {
        Err(de::Error::custom(crate::types::MAP_FOUND))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Blob, D::Error> {
        deserializer.deserialize_any(BlobVisitor)
    }
}
