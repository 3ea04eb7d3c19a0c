//! MetadataExtraction queries (JsonParsingEngine JQ-1.6), evaluated by jaq, a maintained jq
//! implementation in Rust (`jaq-core`, `jaq-std`, `jaq-json`). A query must turn each record
//! (a JSON document) into an object of partition keys; values that are not strings are written
//! as JSON text.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{data, unwrap_valr, Compiler, Ctx, Vars};
use jaq_json::{read, Val};
use std::collections::BTreeMap;

/// A record's partition keys, or why it has none.
pub type Keys = Result<BTreeMap<String, String>, String>;

/// Checks that `code` compiles; the error says why not.
pub fn check(code: &str) -> Result<(), String> {
    extract(code, std::iter::empty()).map(|_| ())
}

/// Runs `code` over each record: its keys, or why it has none.
pub fn extract<'a>(
    code: &str,
    records: impl Iterator<Item = &'a [u8]>,
) -> Result<Vec<Keys>, String> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let program = File { code, path: () };
    let modules = loader
        .load(&arena, program)
        .map_err(|e| format!("MetadataExtractionQuery {code:?} does not parse: {e:?}"))?;
    let filter = Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|e| format!("MetadataExtractionQuery {code:?} does not compile: {e:?}"))?;
    let mut out = Vec::new();
    for record in records {
        let keys = match read::parse_single(record) {
            Err(e) => Err(format!("The record is not JSON: {e}")),
            Ok(input) => {
                let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
                let first = filter.id.run((ctx, input)).map(unwrap_valr).next();
                match first {
                    Some(Ok(value)) => keys_of(&value.to_string()),
                    Some(Err(e)) => Err(format!("The query failed on the record: {e}")),
                    None => Err("The query gave no value for the record.".into()),
                }
            }
        };
        out.push(keys);
    }
    Ok(out)
}

fn keys_of(json: &str) -> Result<BTreeMap<String, String>, String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("The query's value is not JSON: {e}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err(format!(
            "The query's value {json} is not an object of partition keys."
        ));
    };
    // A key whose value is null has no value (the record cannot be placed by it).
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some((k, s)),
            other => Some((k, other.to_string())),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_give_keys_and_bad_records_say_why() {
        let records: Vec<&[u8]> = vec![
            br#"{"customer_id": "c-1", "device": {"type": "phone"}, "n": 3}"#,
            b"not json",
            br#"[1, 2]"#,
        ];
        let out = extract(
            "{customer_id: .customer_id, type: .device.type, n: .n}",
            records.into_iter(),
        )
        .unwrap();
        let keys = out[0].as_ref().unwrap();
        assert_eq!(keys["customer_id"], "c-1");
        assert_eq!(keys["type"], "phone");
        assert_eq!(keys["n"], "3");
        assert!(out[1].as_ref().unwrap_err().contains("not JSON"));
        assert!(out[2].is_err(), "indexing an array by name fails");
        assert!(check("{a: .b").is_err());
        assert!(check("{year: .ts | strftime(\"%Y\")}").is_ok());
    }
}
