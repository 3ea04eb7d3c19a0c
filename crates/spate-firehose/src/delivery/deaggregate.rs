//! RecordDeAggregation: KPL aggregated records are split into their user records, then each
//! record into its sub-records by SubRecordType: JSON (consecutive JSON objects, on one line or
//! newline-delimited; an array is not valid input) or DELIMITED (a base64-encoded delimiter).
//! At most [`SUB_RECORDS_MAX`] sub-records per record (AWS's cap); past it, or on bad input, the
//! record fails (developer guide, "Apply dynamic partitioning to aggregated data").

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Sub-records one record may split into, in records.
pub const SUB_RECORDS_MAX: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubRecords {
    Json,
    Delimited(Vec<u8>),
}

impl SubRecords {
    /// From the processor's SubRecordType and Delimiter parameters.
    pub fn of(kind: Option<&str>, delimiter: Option<&str>) -> Result<SubRecords, String> {
        match kind.unwrap_or("JSON") {
            "JSON" => Ok(SubRecords::Json),
            "DELIMITED" => {
                let text =
                    delimiter.ok_or("SubRecordType DELIMITED needs a Delimiter parameter.")?;
                let bytes = STANDARD
                    .decode(text)
                    .map_err(|_| format!("Delimiter {text} must be base64-encoded."))?;
                if bytes.is_empty() {
                    return Err("Delimiter must not be empty.".into());
                }
                Ok(SubRecords::Delimited(bytes))
            }
            other => Err(format!(
                "SubRecordType {other} is not valid: JSON or DELIMITED."
            )),
        }
    }

    /// The sub-records of `data` (KPL aggregates opened first).
    pub fn split(&self, data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        let records = if spate_kpl::is_aggregated(data) {
            spate_kpl::deaggregate(data)
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|r| r.data)
                .collect()
        } else {
            vec![data.to_vec()]
        };
        let mut out = Vec::new();
        for record in &records {
            match self {
                SubRecords::Json => json_objects(record, &mut out)?,
                SubRecords::Delimited(d) => delimited(record, d, &mut out),
            }
            if out.len() > SUB_RECORDS_MAX {
                return Err(format!(
                    "The record holds more than {SUB_RECORDS_MAX} sub-records."
                ));
            }
        }
        Ok(out)
    }
}

fn json_objects(data: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), String> {
    let mut stream = serde_json::Deserializer::from_slice(data).into_iter::<serde_json::Value>();
    let mut start = 0;
    while let Some(next) = stream.next() {
        let value =
            next.map_err(|e| format!("The record is not a sequence of JSON objects: {e}"))?;
        if !value.is_object() {
            return Err(
                "The record holds JSON that is not an object (arrays are not valid input).".into(),
            );
        }
        let end = stream.byte_offset();
        out.push(data[start..end].trim_ascii().to_vec());
        start = end;
    }
    Ok(())
}

fn delimited(data: &[u8], delimiter: &[u8], out: &mut Vec<Vec<u8>>) {
    let mut rest = data;
    while let Some(at) = rest.windows(delimiter.len()).position(|w| w == delimiter) {
        out.push(rest[..at].to_vec());
        rest = &rest[at + delimiter.len()..];
    }
    if !rest.is_empty() {
        out.push(rest.to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_objects_split_on_one_line_or_by_lines_and_arrays_fail() {
        let json = SubRecords::of(Some("JSON"), None).unwrap();
        assert_eq!(
            json.split(br#"{"a":1}{"a":2}"#).unwrap(),
            vec![br#"{"a":1}"#.to_vec(), br#"{"a":2}"#.to_vec()]
        );
        assert_eq!(json.split(b"{\"a\":1}\n{\"a\":2}\n").unwrap().len(), 2);
        assert!(json.split(br#"[{"a":1},{"a":2}]"#).is_err());
        let many: Vec<u8> = std::iter::repeat_n(&br#"{"a":1}"#[..], 501)
            .flatten()
            .copied()
            .collect();
        assert!(json.split(&many).is_err(), "more than 500 sub-records");
    }

    #[test]
    fn delimiters_are_base64_and_kpl_aggregates_are_opened() {
        let hashes = SubRecords::of(Some("DELIMITED"), Some("IyMjIw==")).unwrap();
        assert_eq!(
            hashes.split(b"a####b####").unwrap(),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        assert!(SubRecords::of(Some("DELIMITED"), Some("not base64!")).is_err());
        let user = |d: &str| spate_kpl::UserRecord {
            partition_key: "k".into(),
            explicit_hash_key: None,
            data: d.as_bytes().to_vec(),
        };
        let aggregate = spate_kpl::aggregate(&[user(r#"{"a":1}"#), user(r#"{"a":2}{"a":3}"#)]);
        let json = SubRecords::Json;
        assert_eq!(json.split(&aggregate).unwrap().len(), 3);
    }
}
