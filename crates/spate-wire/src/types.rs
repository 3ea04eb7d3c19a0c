//! Member types of request shapes, decoded with the texts AWS's JSON and CBOR front ends give
//! when a member has the wrong type (`SerializationException`, checked against AWS by
//! kinesalite's tests): `{"StreamName": true}` is "class java.lang.Boolean can not be converted
//! to an String", a list where a map belongs is "Start of list found where not expected", and so
//! on. Request shapes use these instead of plain Rust types so a wrong type gets AWS's answer.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;

const BOOLEAN: &str = "class java.lang.Boolean";
const NUMBER: &str = "class com.amazon.coral.value.json.numbers.TruncatingBigNumber";
const STRING: &str = "class java.lang.String";
pub const LIST_FOUND: &str = "Start of list found where not expected";
pub const MAP_FOUND: &str = "Start of structure or map found where not expected.";

fn converted<E: de::Error>(class: &str, target: &str) -> E {
    E::custom(format!("{class} can not be converted to {target}"))
}

/// The longest value echoed in a message; longer ones are cut (a 10 MiB blob is not echoed).
const ECHO_MAX_CHARS: usize = 1024;

fn echo(value: &str) -> String {
    match value.char_indices().nth(ECHO_MAX_CHARS) {
        Some((cut, _)) => format!("{}...", &value[..cut]),
        None => value.to_string(),
    }
}

/// Visitor methods that answer a number with AWS's text for `target` ("an String", …).
macro_rules! reject_numbers {
    ($target:expr) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(converted(NUMBER, $target))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(converted(NUMBER, $target))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(converted(NUMBER, $target))
        }
    };
}

/// Visitor methods that answer a list or a map where a scalar belongs.
macro_rules! reject_containers {
    () => {
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(de::Error::custom(LIST_FOUND))
        }
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(de::Error::custom(MAP_FOUND))
        }
    };
}

/// A string member.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Str(pub String);

impl Str {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Str {
        Str(s.to_string())
    }
}

impl From<String> for Str {
    fn from(s: String) -> Str {
        Str(s)
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Str;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Str, E> {
        Ok(Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Str, E> {
        Ok(Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Str, E> {
        String::from_utf8(v.to_vec())
            .map(Str)
            .map_err(|_| E::custom("Invalid UTF-8 in a string member"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Str, E> {
        Err(converted(BOOLEAN, "an String"))
    }
    reject_numbers!("an String");
    reject_containers!();
}

impl<'de> Deserialize<'de> for Str {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Str, D::Error> {
        d.deserialize_any(StrVisitor)
    }
}

/// An integer member; `Int` is AWS's Integer, [`Long`] its Long (only the messages differ).
/// A fractional number is rounded down, as AWS does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Int(pub i64);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Long(pub i64);

struct NumberVisitor(&'static str);

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        Ok(i64::try_from(v).unwrap_or(i64::MAX))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        if v.is_nan() {
            return Err(converted(NUMBER, self.0));
        }
        // `as` saturates at the bounds, which is what an out-of-range number should become.
        Ok(v.floor() as i64)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<i64, E> {
        Err(converted(BOOLEAN, self.0))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<i64, E> {
        Err(converted(STRING, self.0))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<i64, A::Error> {
        Err(de::Error::custom(LIST_FOUND))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<i64, A::Error> {
        Err(de::Error::custom(MAP_FOUND))
    }
}

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Int, D::Error> {
        d.deserialize_any(NumberVisitor("an Integer")).map(Int)
    }
}

impl<'de> Deserialize<'de> for Long {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Long, D::Error> {
        d.deserialize_any(NumberVisitor("an Long")).map(Long)
    }
}

/// A boolean member. The strings "true" and "false" convert, as they do on AWS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bool(pub bool);

struct BoolVisitor;

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = Bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a boolean")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Bool, E> {
        Ok(Bool(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Bool, E> {
        match v.to_ascii_lowercase().as_str() {
            "true" => Ok(Bool(true)),
            "false" => Ok(Bool(false)),
            _ => Err(E::custom(format!(
                "'{}' can not be converted to an Boolean",
                echo(&v.to_uppercase())
            ))),
        }
    }
    reject_numbers!("an Boolean");
    reject_containers!();
}

impl<'de> Deserialize<'de> for Bool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bool, D::Error> {
        d.deserialize_any(BoolVisitor)
    }
}

/// A list member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = List<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            out.push(item);
        }
        Ok(List(out))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<List<T>, E> {
        Err(E::custom("Expected list or null"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<List<T>, E> {
        Err(E::custom("Expected list or null"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<List<T>, E> {
        Err(E::custom("Expected list or null"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<List<T>, E> {
        Err(E::custom("Expected list or null"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<List<T>, E> {
        Err(E::custom("Expected list or null"))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<List<T>, A::Error> {
        Err(de::Error::custom(MAP_FOUND))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<List<T>, D::Error> {
        d.deserialize_any(ListVisitor(PhantomData))
    }
}

/// A map member with string keys, in the order the request gave them (AWS shows maps in
/// messages in that order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Map<V>(pub Vec<(String, V)>);

impl<V> Default for Map<V> {
    fn default() -> Self {
        Map(Vec::new())
    }
}

struct MapVisitor<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
    type Value = Map<V>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Map<V>, A::Error> {
        let mut out: Vec<(String, V)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<Str, V>()? {
            match out.iter_mut().find(|(k, _)| *k == key.0) {
                Some(slot) => slot.1 = value,
                None => out.push((key.0, value)),
            }
        }
        Ok(Map(out))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Map<V>, E> {
        Err(E::custom("Expected map or null"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Map<V>, E> {
        Err(E::custom("Expected map or null"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Map<V>, E> {
        Err(E::custom("Expected map or null"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Map<V>, E> {
        Err(E::custom("Expected map or null"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Map<V>, E> {
        Err(E::custom("Expected map or null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Map<V>, A::Error> {
        Err(de::Error::custom(LIST_FOUND))
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Map<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Map<V>, D::Error> {
        d.deserialize_any(MapVisitor(PhantomData))
    }
}

/// A nested structure member: a map decodes into `T`, anything else gets AWS's texts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Struct<T>(pub T);

impl<T> std::ops::Deref for Struct<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

struct StructVisitor<T>(PhantomData<T>);

impl<'de, T: DeserializeOwned> Visitor<'de> for StructVisitor<T> {
    type Value = Struct<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a structure")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Struct<T>, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Struct)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Struct<T>, E> {
        Err(E::custom("Expected null"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Struct<T>, E> {
        Err(E::custom("Expected null"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Struct<T>, E> {
        Err(E::custom("Expected null"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Struct<T>, E> {
        Err(E::custom("Expected null"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Struct<T>, E> {
        Err(E::custom("Expected null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Struct<T>, A::Error> {
        Err(de::Error::custom(LIST_FOUND))
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Struct<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Struct<T>, D::Error> {
        d.deserialize_any(StructVisitor(PhantomData))
    }
}

/// Decodes a base64 blob member with AWS's texts for malformed base64.
pub(crate) fn decode_base64<E: de::Error>(v: &str) -> Result<Vec<u8>, E> {
    let blob = |why: String| {
        E::custom(format!(
            "'{}' can not be converted to a Blob: {why}",
            echo(v)
        ))
    };
    if !v.len().is_multiple_of(4) {
        return Err(blob(format!(
            "Base64 encoded length is expected a multiple of 4 bytes but found: {}",
            v.len()
        )));
    }
    STANDARD.decode(v.as_bytes()).map_err(|e| match e {
        base64::DecodeError::InvalidByte(_, b) => {
            blob(format!("Invalid Base64 character: '{}'", char::from(b)))
        }
        base64::DecodeError::InvalidLastSymbol(_, _) => {
            blob("Invalid last non-pad Base64 character dectected".to_string())
        }
        base64::DecodeError::InvalidPadding => blob("Invalid Base64 character: '='".to_string()),
        base64::DecodeError::InvalidLength(n) => blob(format!(
            "Base64 encoded length is expected a multiple of 4 bytes but found: {n}"
        )),
    })
}

pub(crate) mod blob_errors {
    use super::*;
    pub fn boolean<E: de::Error>() -> E {
        converted(BOOLEAN, "a Blob")
    }
    pub fn number<E: de::Error>() -> E {
        converted(NUMBER, "a Blob")
    }
}

pub(crate) mod timestamp_errors {
    use super::*;
    pub fn boolean<E: de::Error>() -> E {
        converted(BOOLEAN, "a Timestamp")
    }
    pub fn string<E: de::Error>() -> E {
        converted(STRING, "a Timestamp")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode, Encoding};
    use crate::ErrorKind;

    #[derive(Deserialize, Debug, Default)]
    #[serde(rename_all = "PascalCase")]
    struct Inner {
        stream_mode: Option<Str>,
    }

    #[derive(Deserialize, Debug, Default)]
    #[serde(rename_all = "PascalCase")]
    struct Shape {
        name: Option<Str>,
        count: Option<Int>,
        flag: Option<Bool>,
        data: Option<crate::Blob>,
        keys: Option<List<Str>>,
        tags: Option<Map<Str>>,
        details: Option<Struct<Inner>>,
    }

    fn error(body: &str) -> String {
        let e = decode::<Shape>(Encoding::Json, body.as_bytes()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Serialization);
        e.message
    }

    #[test]
    fn wrong_types_get_aws_texts() {
        for (body, text) in [
            (r#"{"Name": true}"#, "class java.lang.Boolean can not be converted to an String"),
            (r#"{"Name": 23}"#, "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"),
            (r#"{"Name": []}"#, LIST_FOUND),
            (r#"{"Name": {}}"#, MAP_FOUND),
            (r#"{"Count": "23"}"#, "class java.lang.String can not be converted to an Integer"),
            (r#"{"Count": true}"#, "class java.lang.Boolean can not be converted to an Integer"),
            (r#"{"Flag": "23"}"#, "'23' can not be converted to an Boolean"),
            (r#"{"Flag": 23}"#, "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean"),
            (r#"{"Data": true}"#, "class java.lang.Boolean can not be converted to a Blob"),
            (r#"{"Data": "23456"}"#, "'23456' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 5"),
            (r#"{"Data": "=+/="}"#, "'=+/=' can not be converted to a Blob: Invalid Base64 character: '='"),
            (r#"{"Data": "+/+="}"#, "'+/+=' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"),
            (r#"{"Keys": "23"}"#, "Expected list or null"),
            (r#"{"Keys": {}}"#, MAP_FOUND),
            (r#"{"Tags": 23}"#, "Expected map or null"),
            (r#"{"Tags": []}"#, LIST_FOUND),
            (r#"{"Details": "23"}"#, "Expected null"),
            (r#"{"Details": []}"#, LIST_FOUND),
            (r#"{"Details": {"StreamMode": false}}"#, "class java.lang.Boolean can not be converted to an String"),
        ] {
            assert_eq!(error(body), text, "{body}");
        }
    }

    #[test]
    fn right_types_decode() {
        let s: Shape = decode(
            Encoding::Json,
            br#"{"Name":"a","Count":3.7,"Flag":"TRUE","Data":"aGk=","Keys":["x"],"Tags":{"b":"1","a":"2"},"Details":{"StreamMode":"ON_DEMAND"},"Unknown":5}"#,
        )
        .unwrap();
        assert_eq!(s.name.unwrap().0, "a");
        assert_eq!(s.count, Some(Int(3)));
        assert_eq!(s.flag, Some(Bool(true)));
        assert_eq!(s.data.unwrap().0, b"hi");
        assert_eq!(s.keys.unwrap().0, vec![Str::from("x")]);
        let tags = s.tags.unwrap().0;
        assert_eq!(tags[0].0, "b", "request order is kept");
        assert_eq!(s.details.unwrap().0.stream_mode.unwrap().0, "ON_DEMAND");
    }

    #[test]
    fn nulls_are_absent() {
        let s: Shape = decode(Encoding::Json, br#"{"Name":null,"Tags":null}"#).unwrap();
        assert!(s.name.is_none() && s.tags.is_none());
    }
}
