//! Lambda's event filtering for Kinesis: a record is kept when any filter's pattern matches
//! it. Patterns name the record's `partitionKey`, `sequenceNumber`, ... and `data` (the
//! payload parsed as JSON; a payload that is not JSON matches no pattern on `data`). Leaf
//! values are lists of matchers: literals, `prefix`, `suffix`, `equals-ignore-case`,
//! `anything-but`, `numeric`, `exists`.

use serde_json::{Map, Value};

/// Whether `pattern` (a filter's Pattern, parsed) matches `event` (the record as matched).
pub fn matches(pattern: &Value, event: &Value) -> bool {
    let Value::Object(fields) = pattern else {
        return false;
    };
    fields.iter().all(|(key, rule)| {
        let value = event.get(key);
        match rule {
            Value::Object(inner) => match value {
                Some(v @ Value::Object(_)) => matches(&Value::Object(inner.clone()), v),
                _ => inner_is_absence(inner),
            },
            Value::Array(matchers) => leaf_matches(matchers, value),
            _ => false,
        }
    })
}

/// A nested pattern on a missing field matches only if all it asks is absence.
fn inner_is_absence(inner: &Map<String, Value>) -> bool {
    inner.values().all(|rule| match rule {
        Value::Array(m) => leaf_matches(m, None),
        Value::Object(i) => inner_is_absence(i),
        _ => false,
    })
}

fn leaf_matches(matchers: &[Value], value: Option<&Value>) -> bool {
    let values: Vec<&Value> = match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v) => vec![v],
        None => vec![],
    };
    matchers.iter().any(|m| match m {
        Value::Object(op) => operator_matches(op, value.is_some(), &values),
        literal => values.contains(&literal),
    })
}

fn operator_matches(op: &Map<String, Value>, present: bool, values: &[&Value]) -> bool {
    let Some((name, arg)) = op.iter().next() else {
        return false;
    };
    let strings = || values.iter().filter_map(|v| v.as_str());
    match (name.as_str(), arg) {
        ("exists", Value::Bool(want)) => present == *want,
        ("prefix", Value::String(p)) => strings().any(|s| s.starts_with(p.as_str())),
        ("suffix", Value::String(p)) => strings().any(|s| s.ends_with(p.as_str())),
        ("equals-ignore-case", Value::String(p)) => strings().any(|s| s.eq_ignore_ascii_case(p)),
        ("anything-but", excluded) => {
            present
                && values.iter().all(|v| match excluded {
                    Value::Array(list) => !list.contains(v),
                    Value::Object(inner) => !operator_matches(inner, true, &[v]),
                    single => *v != single,
                })
        }
        ("numeric", Value::Array(conditions)) => values
            .iter()
            .filter_map(|v| v.as_f64())
            .any(|n| numeric_matches(conditions, n)),
        _ => false,
    }
}

fn numeric_matches(conditions: &[Value], n: f64) -> bool {
    conditions.chunks(2).all(|pair| match pair {
        [Value::String(op), bound] => match bound.as_f64() {
            Some(b) => match op.as_str() {
                "=" => n == b,
                "<" => n < b,
                "<=" => n <= b,
                ">" => n > b,
                ">=" => n >= b,
                _ => false,
            },
            None => false,
        },
        _ => false,
    })
}

/// Whether a Kinesis record passes a mapping's filters (no filters: every record passes).
pub fn keep(filters: &[Value], partition_key: &str, sequence_number: &str, data: &[u8]) -> bool {
    if filters.is_empty() {
        return true;
    }
    let mut event = serde_json::json!({
        "partitionKey": partition_key,
        "sequenceNumber": sequence_number,
        "kinesisSchemaVersion": "1.0",
    });
    if let Ok(parsed) = serde_json::from_slice::<Value>(data) {
        event["data"] = parsed;
    }
    filters.iter().any(|pattern| matches(pattern, &event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_match_as_lambda_documents_them() {
        let f = |p: Value| vec![p];
        let data = br#"{"kind":"order","amount":42,"region":"eu-west-1","tags":["a","b"]}"#;
        let keep = |p: Value| keep(&f(p), "pk-1", "49", data);
        assert!(keep(json!({"data": {"kind": ["order"]}})));
        assert!(!keep(json!({"data": {"kind": ["refund"]}})));
        assert!(keep(json!({"data": {"region": [{"prefix": "eu-"}]}})));
        assert!(keep(
            json!({"data": {"amount": [{"numeric": [">", 10, "<=", 42]}]}})
        ));
        assert!(!keep(json!({"data": {"amount": [{"numeric": [">", 42]}]}})));
        assert!(keep(json!({"data": {"missing": [{"exists": false}]}})));
        assert!(!keep(json!({"data": {"kind": [{"exists": false}]}})));
        assert!(keep(
            json!({"data": {"kind": [{"anything-but": ["refund"]}]}})
        ));
        assert!(keep(json!({"data": {"tags": ["b"]}})));
        assert!(keep(json!({"partitionKey": [{"prefix": "pk-"}]})));
        assert!(keep(
            json!({"data": {"kind": [{"equals-ignore-case": "ORDER"}]}})
        ));
        // A payload that is not JSON matches no pattern on data.
        assert!(!super::keep(
            &f(json!({"data": {"kind": ["order"]}})),
            "pk",
            "49",
            b"plain"
        ));
        // No filters: everything passes.
        assert!(super::keep(&[], "pk", "49", b"plain"));
    }
}
