//! The Kinesis Producer Library's aggregated record format, shared by Firehose's
//! RecordDeAggregation and the producer library: the magic `F3 89 9A C2`, a protobuf
//! `AggregatedRecord` (partition key table, explicit hash key table, records with key indexes,
//! data and tags) and the MD5 of that protobuf. The protobuf is read and written by hand: three
//! small messages do not need a code generator.
//!
//! ```text
//! message AggregatedRecord { repeated string partition_key_table = 1;
//!                            repeated string explicit_hash_key_table = 2;
//!                            repeated Record records = 3; }
//! message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
//!                  required bytes data = 3; repeated Tag tags = 4; }
//! message Tag { required string key = 1; optional string value = 2; }
//! ```

use md5::{Digest, Md5};

pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

/// A user record inside an aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub partition_key: String,
    pub explicit_hash_key: Option<String>,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KplError {
    #[error("the aggregated record's MD5 does not match its contents")]
    Digest,
    #[error("the aggregated record is malformed: {0}")]
    Malformed(&'static str),
}

/// The hash key Kinesis gives a partition key: the MD5 of its UTF-8 bytes as a 128-bit number
/// (shard prediction by producers, shard filtering by consumers).
pub fn hash_key(partition_key: &str) -> u128 {
    let mut bytes = [0u8; DIGEST_LEN];
    bytes.copy_from_slice(&Md5::digest(partition_key.as_bytes()));
    u128::from_be_bytes(bytes)
}

/// Whether `data` is an aggregated record (magic, room for a digest, digest matching).
pub fn is_aggregated(data: &[u8]) -> bool {
    data.len() >= MAGIC.len() + DIGEST_LEN && data.starts_with(&MAGIC) && digest_ok(data)
}

fn digest_ok(data: &[u8]) -> bool {
    let body = &data[MAGIC.len()..data.len() - DIGEST_LEN];
    Md5::digest(body).as_slice() == &data[data.len() - DIGEST_LEN..]
}

/// A key table: keys in order of first use, found by hash (an aggregate may hold thousands).
#[derive(Default)]
struct KeyTable<'a> {
    keys: Vec<&'a str>,
    positions: std::collections::HashMap<&'a str, u64>,
}

impl<'a> KeyTable<'a> {
    /// The index of `v`, added if it is not there yet.
    fn index(&mut self, v: &'a str) -> u64 {
        if let Some(i) = self.positions.get(v) {
            return *i;
        }
        let i = self.keys.len() as u64;
        self.keys.push(v);
        self.positions.insert(v, i);
        i
    }
}

/// Aggregates records: (partition key, explicit hash key, data) for each.
pub fn aggregate(records: &[UserRecord]) -> Vec<u8> {
    aggregate_parts(records.iter().map(|r| {
        (
            r.partition_key.as_str(),
            r.explicit_hash_key.as_deref(),
            r.data.as_slice(),
        )
    }))
}

/// Aggregates borrowed (partition key, explicit hash key, data) triples without copying them
/// first (the producer's hot path).
pub fn aggregate_parts<'a>(
    records: impl Iterator<Item = (&'a str, Option<&'a str>, &'a [u8])>,
) -> Vec<u8> {
    let mut keys = KeyTable::default();
    let mut hashes = KeyTable::default();
    let mut encoded_records = Vec::new();
    let mut record = Vec::new();
    for (key, hash, data) in records {
        let k = keys.index(key);
        let h = hash.map(|h| hashes.index(h));
        record.clear();
        put_varint_field(&mut record, 1, k);
        if let Some(h) = h {
            put_varint_field(&mut record, 2, h);
        }
        put_bytes_field(&mut record, 3, data);
        put_bytes_field(&mut encoded_records, 3, &record);
    }
    let mut body = Vec::new();
    for k in &keys.keys {
        put_bytes_field(&mut body, 1, k.as_bytes());
    }
    for h in &hashes.keys {
        put_bytes_field(&mut body, 2, h.as_bytes());
    }
    body.extend_from_slice(&encoded_records);
    let mut out = Vec::with_capacity(MAGIC.len() + body.len() + DIGEST_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&body);
    out.extend_from_slice(&Md5::digest(&body));
    out
}

/// The user records of an aggregated record.
pub fn deaggregate(data: &[u8]) -> Result<Vec<UserRecord>, KplError> {
    if data.len() < MAGIC.len() + DIGEST_LEN || !data.starts_with(&MAGIC) {
        return Err(KplError::Malformed("no KPL magic"));
    }
    if !digest_ok(data) {
        return Err(KplError::Digest);
    }
    let mut body = Reader(&data[MAGIC.len()..data.len() - DIGEST_LEN]);
    let (mut keys, mut hashes, mut raw_records) = (Vec::new(), Vec::new(), Vec::new());
    while let Some((field, value)) = body.field()? {
        match (field, value) {
            (1, Value::Bytes(b)) => keys.push(text(b)?),
            (2, Value::Bytes(b)) => hashes.push(text(b)?),
            (3, Value::Bytes(b)) => raw_records.push(b),
            _ => {} // unknown fields are skipped, as protobuf readers do
        }
    }
    raw_records
        .into_iter()
        .map(|raw| {
            let mut r = Reader(raw);
            let (mut key, mut hash, mut payload) = (None, None, None);
            while let Some((field, value)) = r.field()? {
                match (field, value) {
                    (1, Value::Varint(v)) => key = Some(v),
                    (2, Value::Varint(v)) => hash = Some(v),
                    (3, Value::Bytes(b)) => payload = Some(b),
                    _ => {}
                }
            }
            let key = key.ok_or(KplError::Malformed("a record without partition_key_index"))?;
            let partition_key = keys.get(key as usize).cloned().ok_or(KplError::Malformed(
                "a partition key index out of the table",
            ))?;
            let explicit_hash_key = match hash {
                Some(h) => Some(hashes.get(h as usize).cloned().ok_or(KplError::Malformed(
                    "an explicit hash key index out of the table",
                ))?),
                None => None,
            };
            let data = payload.ok_or(KplError::Malformed("a record without data"))?;
            Ok(UserRecord {
                partition_key,
                explicit_hash_key,
                data: data.to_vec(),
            })
        })
        .collect()
}

fn text(b: &[u8]) -> Result<String, KplError> {
    String::from_utf8(b.to_vec()).map_err(|_| KplError::Malformed("a key that is not UTF-8"))
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_varint_field(out: &mut Vec<u8>, field: u64, v: u64) {
    put_varint(out, field << 3);
    put_varint(out, v);
}

fn put_bytes_field(out: &mut Vec<u8>, field: u64, b: &[u8]) {
    put_varint(out, (field << 3) | 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Other,
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, KplError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self
                .0
                .split_first()
                .ok_or(KplError::Malformed("a truncated varint"))?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(KplError::Malformed("a varint longer than 64 bits"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], KplError> {
        if n > self.0.len() {
            return Err(KplError::Malformed("a length past the end"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    /// The next (field number, value), `None` at the end.
    fn field(&mut self) -> Result<Option<(u64, Value<'a>)>, KplError> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let value = match tag & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Other
            }
            2 => {
                let n = usize::try_from(self.varint()?)
                    .map_err(|_| KplError::Malformed("a length too large"))?;
                Value::Bytes(self.take(n)?)
            }
            5 => {
                self.take(4)?;
                Value::Other
            }
            _ => return Err(KplError::Malformed("an unknown wire type")),
        };
        Ok(Some((tag >> 3, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, hash: Option<&str>, data: &[u8]) -> UserRecord {
        UserRecord {
            partition_key: key.into(),
            explicit_hash_key: hash.map(String::from),
            data: data.to_vec(),
        }
    }

    #[test]
    fn aggregates_round_trip_and_share_key_tables() {
        let records = vec![
            record("a", None, b"one"),
            record("b", Some("170141183460469231731687303715884105728"), b"two"),
            record("a", None, &[0u8; 300]),
        ];
        let blob = aggregate(&records);
        assert!(blob.starts_with(&MAGIC));
        assert!(is_aggregated(&blob));
        assert_eq!(deaggregate(&blob).unwrap(), records);
        // "a" is stored once in the key table.
        assert_eq!(
            blob.windows(3).filter(|w| *w == [0x0a, 0x01, b'a']).count(),
            1
        );
    }

    #[test]
    fn damage_is_detected() {
        let mut blob = aggregate(&[record("k", None, b"data")]);
        let n = blob.len();
        blob[n - 20] ^= 1;
        assert_eq!(deaggregate(&blob), Err(KplError::Digest));
        assert!(!is_aggregated(&blob));
        assert!(!is_aggregated(b"plain record"));
        assert!(deaggregate(b"plain record").is_err());
    }
}
