//! Request and response bodies in the two encodings the SDKs use.

use crate::error::{ApiError, ErrorKind};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The body encoding of one exchange; a response uses the encoding of its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-amz-json-1.1` (and plain `application/json`).
    Json,
    /// `application/x-amz-json-1.0` (DynamoDB): the same JSON, its own content type.
    Json10,
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
            Encoding::Json10 => "application/x-amz-json-1.0",
            Encoding::Cbor => "application/x-amz-cbor-1.1",
        }
    }
}

/// Decodes a request body into its typed shape, answering as AWS's front end does: a body that
/// is not a map (or does not parse) is a `SerializationException` with no message, a member of
/// the wrong type one with AWS's text in `Message`. Unknown members are ignored.
pub fn decode<T: DeserializeOwned>(encoding: Encoding, body: &[u8]) -> Result<T, ApiError> {
    if !starts_with_map(encoding, body) {
        return Err(ApiError::bare(ErrorKind::Serialization));
    }
    match encoding {
        Encoding::Json | Encoding::Json10 => {
            serde_json::from_slice(body).map_err(|e| json_error(&e))
        }
        Encoding::Cbor => ciborium::de::from_reader(body).map_err(|e| cbor_error(&e)),
    }
}

/// Checks that a body parses as one map, without building anything (for requests that are
/// answered before their shape is decoded, so the answer matches AWS's order of checks).
pub fn check_syntax(encoding: Encoding, body: &[u8]) -> Result<(), ApiError> {
    decode::<serde::de::IgnoredAny>(encoding, body).map(|_| ())
}

fn starts_with_map(encoding: Encoding, body: &[u8]) -> bool {
    match encoding {
        Encoding::Json | Encoding::Json10 => {
            body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
        }
        // Major type 5 (a map), definite or indefinite length.
        Encoding::Cbor => body.first().is_some_and(|b| b >> 5 == 5),
    }
}

fn json_error(e: &serde_json::Error) -> ApiError {
    match e.classify() {
        serde_json::error::Category::Data => {
            let text = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            ApiError::member_type(text.strip_suffix(&suffix).unwrap_or(&text))
        }
        _ => ApiError::bare(ErrorKind::Serialization),
    }
}

fn cbor_error<T: std::fmt::Debug>(e: &ciborium::de::Error<T>) -> ApiError {
    match e {
        ciborium::de::Error::Semantic(_, message) => ApiError::member_type(message.clone()),
        _ => ApiError::bare(ErrorKind::Serialization),
    }
}

/// Encodes a response shape. Serialising our own shapes cannot fail (no maps with non-string keys,
/// no failing `Serialize` impls), so a failure is a bug worth a loud log line, not a panic.
pub fn encode<T: Serialize>(encoding: Encoding, value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let result = match encoding {
        Encoding::Json | Encoding::Json10 => {
            serde_json::to_writer(&mut out, value).map_err(|e| e.to_string())
        }
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
        for body in [&b"{nope"[..], b"hello", b"[]", b"5", b"null", b""] {
            let e = decode::<Put>(Encoding::Json, body).unwrap_err();
            assert_eq!(e, ApiError::bare(ErrorKind::Serialization), "{body:?}");
        }
        let e = decode::<Put>(Encoding::Cbor, &[0xff, 0x00]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Serialization);
        assert!(check_syntax(Encoding::Json, b"{\"a\": [1, {}]}").is_ok());
        assert!(check_syntax(Encoding::Json, b"{\"a\": ").is_err());
    }

    #[test]
    fn member_type_errors_carry_a_capital_message_without_position() {
        let e = decode::<Put>(Encoding::Json, br#"{"PartitionKey": 5}"#).unwrap_err();
        assert_eq!(e.style, crate::error::MessageStyle::Capital);
        assert!(!e.message.contains("line"), "{}", e.message);
        let body = String::from_utf8(encode(Encoding::Json, &e.body())).unwrap();
        assert!(
            body.starts_with(r#"{"__type":"SerializationException","Message":"#),
            "{body}"
        );
    }
}
