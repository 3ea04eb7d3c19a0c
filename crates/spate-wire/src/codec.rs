//! Request and response bodies in the two encodings the SDKs use.

use crate::error::{ApiError, ErrorKind};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The body encoding of one exchange; a response uses the encoding of its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-amz-json-1.1` (and plain `application/json`).
    Json,
    /// `application/x-amz-cbor-1.1`, as the Java SDK sends it.
    Cbor,
}

impl Encoding {
    /// Picks the encoding from a `Content-Type` header; JSON unless it names CBOR.
    pub fn from_content_type(content_type: Option<&str>) -> Encoding {
        match content_type {
            Some(ct) if ct.contains("cbor") => Encoding::Cbor,
            _ => Encoding::Json,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/x-amz-json-1.1",
            Encoding::Cbor => "application/x-amz-cbor-1.1",
        }
    }
}

/// Decodes a request body into its typed shape. An empty body reads as an empty structure.
pub fn decode<T: DeserializeOwned>(encoding: Encoding, body: &[u8]) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        match encoding {
            Encoding::Json => b"{}",
            Encoding::Cbor => &[0xa0],
        }
    } else {
        body
    };
    match encoding {
        Encoding::Json => serde_json::from_slice(body).map_err(|e| serialization_error(&e)),
        Encoding::Cbor => ciborium::de::from_reader(body).map_err(|e| serialization_error(&e)),
    }
}

fn serialization_error(e: &dyn std::fmt::Display) -> ApiError {
    ApiError::new(ErrorKind::Serialization, format!("{e}"))
}

/// Encodes a response shape. Serialising our own shapes cannot fail (no maps with non-string keys,
/// no failing `Serialize` impls), so a failure is a bug worth a loud log line, not a panic.
pub fn encode<T: Serialize>(encoding: Encoding, value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let result = match encoding {
        Encoding::Json => serde_json::to_writer(&mut out, value).map_err(|e| e.to_string()),
        Encoding::Cbor => ciborium::ser::into_writer(value, &mut out).map_err(|e| e.to_string()),
    };
    if let Err(e) = result {
        debug_assert!(false, "response encoding failed: {e}");
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Blob;
    use serde::Deserialize;

    #[derive(Deserialize, Serialize, Debug, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Put {
        data: Option<Blob>,
        partition_key: Option<String>,
    }

    #[test]
    fn json_blob_is_base64() {
        let p: Put = decode(Encoding::Json, br#"{"Data":"aGVsbG8=","PartitionKey":"k"}"#).unwrap();
        assert_eq!(p.data.as_ref().unwrap().0, b"hello");
        let out = encode(Encoding::Json, &p);
        assert_eq!(out, br#"{"Data":"aGVsbG8=","PartitionKey":"k"}"#);
    }

    #[test]
    fn cbor_blob_is_a_byte_string_and_round_trips() {
        let p = Put {
            data: Some(Blob(b"hi".to_vec())),
            partition_key: Some("k".into()),
        };
        let bytes = encode(Encoding::Cbor, &p);
        assert!(
            bytes.windows(3).any(|w| w == [0x42, b'h', b'i']),
            "{bytes:x?}"
        );
        assert_eq!(decode::<Put>(Encoding::Cbor, &bytes).unwrap(), p);
    }

    #[test]
    fn cbor_indefinite_length_map_is_accepted() {
        // {_ "PartitionKey": "k"} with an indefinite-length map
        let mut bytes = vec![0xbf, 0x6c];
        bytes.extend_from_slice(b"PartitionKey");
        bytes.extend_from_slice(&[0x61, b'k', 0xff]);
        let p: Put = decode(Encoding::Cbor, &bytes).unwrap();
        assert_eq!(p.partition_key.as_deref(), Some("k"));
    }

    #[test]
    fn garbage_is_a_serialization_error() {
        let e = decode::<Put>(Encoding::Json, b"{nope").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Serialization);
        let e = decode::<Put>(Encoding::Json, br#"{"PartitionKey": 5}"#).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Serialization);
        let e = decode::<Put>(Encoding::Cbor, &[0xff, 0x00]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Serialization);
    }

    #[test]
    fn empty_body_is_an_empty_structure() {
        let p: Put = decode(Encoding::Json, b"").unwrap();
        assert_eq!(
            p,
            Put {
                data: None,
                partition_key: None
            }
        );
    }
}
