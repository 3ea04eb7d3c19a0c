//! The JSON side of record format conversion: a record's JSON documents read into rows of
//! typed cells by a Glue table's columns, as the OpenX JSON SerDe or the Hive JSON SerDe
//! reads them. A record may hold several documents (`{"a":1}{"a":2}`): one row each.
//!
//! A record that is not JSON fails with [`RowError::Parse`]; one whose values do not fit
//! their columns (a word where a number belongs, a number out of its type's range) with
//! [`RowError::Malformed`]. Keys the table has no column for are ignored; columns the
//! document has no key for are null.

use super::hive::HiveType;
use super::time::TimeReader;
use serde_json::Value;

/// One value, typed by its column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    /// tinyint, smallint, int and bigint.
    Int(i64),
    Float(f32),
    Double(f64),
    /// The unscaled value: `12.34` in `decimal(5,2)` is 1234.
    Decimal(i128),
    /// string, varchar, char and binary.
    Bytes(Vec<u8>),
    /// Nanoseconds since 1970-01-01T00:00:00 (Hive timestamps have no zone).
    Timestamp(i64),
    /// Days since 1970-01-01.
    Date(i32),
    List(Vec<Cell>),
    Map(Vec<(Cell, Cell)>),
    Struct(Vec<Cell>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowError {
    /// The record is not JSON.
    Parse(String),
    /// The JSON does not fit the table's columns.
    Malformed(String),
}

/// How keys are matched to columns and times read: the deserializer's options.
#[derive(Debug, Clone)]
pub struct JsonReader {
    pub case_insensitive: bool,
    pub dots_to_underscores: bool,
    /// OpenX's ColumnToJsonKeyMappings: (column, JSON key).
    pub key_mappings: Vec<(String, String)>,
    pub times: TimeReader,
}

impl JsonReader {
    /// The rows of one record.
    pub fn rows(
        &self,
        data: &[u8],
        columns: &[(String, HiveType)],
    ) -> Result<Vec<Vec<Cell>>, RowError> {
        let mut rows = Vec::new();
        for document in serde_json::Deserializer::from_slice(data).into_iter::<Value>() {
            let document = document.map_err(|e| RowError::Parse(e.to_string()))?;
            let Value::Object(object) = &document else {
                return Err(RowError::Malformed(format!(
                    "A record must hold JSON objects, found {}.",
                    kind(&document)
                )));
            };
            let keyed = self.keyed(object);
            let mut row = Vec::with_capacity(columns.len());
            for (name, ty) in columns {
                let key = self
                    .key_mappings
                    .iter()
                    .find(|(column, _)| column == name)
                    .map_or(name.as_str(), |(_, key)| key.as_str());
                let value = lookup(&keyed, &self.normalize(key));
                let cell = self
                    .cell(value.unwrap_or(&Value::Null), ty)
                    .map_err(|e| RowError::Malformed(format!("Column {name}: {e}")))?;
                row.push(cell);
            }
            rows.push(row);
        }
        if rows.is_empty() {
            return Err(RowError::Parse("The record holds no JSON document.".into()));
        }
        Ok(rows)
    }

    fn normalize(&self, key: &str) -> String {
        let key = if self.case_insensitive {
            key.to_lowercase()
        } else {
            key.to_string()
        };
        if self.dots_to_underscores {
            key.replace('.', "_")
        } else {
            key
        }
    }

    fn keyed<'v>(&self, object: &'v serde_json::Map<String, Value>) -> Vec<(String, &'v Value)> {
        object.iter().map(|(k, v)| (self.normalize(k), v)).collect()
    }

    /// `value` as a cell of `ty`.
    fn cell(&self, value: &Value, ty: &HiveType) -> Result<Cell, String> {
        if value.is_null() {
            return Ok(Cell::Null);
        }
        match ty {
            HiveType::Boolean => boolean(value),
            HiveType::TinyInt => integer(value, i64::from(i8::MIN), i64::from(i8::MAX)),
            HiveType::SmallInt => integer(value, i64::from(i16::MIN), i64::from(i16::MAX)),
            HiveType::Int => integer(value, i64::from(i32::MIN), i64::from(i32::MAX)),
            HiveType::BigInt => integer(value, i64::MIN, i64::MAX),
            HiveType::Float => float(value).map(|f| Cell::Float(f as f32)),
            HiveType::Double => float(value).map(Cell::Double),
            HiveType::Decimal { precision, scale } => {
                super::decimal::parse(&scalar_text(value)?, *precision, *scale).map(Cell::Decimal)
            }
            HiveType::String => Ok(Cell::Bytes(text(value).into_bytes())),
            HiveType::Binary => Ok(Cell::Bytes(scalar_text(value)?.into_bytes())),
            HiveType::Timestamp => self.times.timestamp(value).map(Cell::Timestamp),
            HiveType::Date => self.times.date(value).map(Cell::Date),
            HiveType::Array(element) => match value {
                Value::Array(items) => items
                    .iter()
                    .map(|v| self.cell(v, element))
                    .collect::<Result<_, _>>()
                    .map(Cell::List),
                other => Err(format!("expected an array, found {}", kind(other))),
            },
            HiveType::Map(key_type, value_type) => self.map(value, key_type, value_type),
            HiveType::Struct(fields) => self.structure(value, fields),
        }
    }

    fn map(
        &self,
        value: &Value,
        key_type: &HiveType,
        value_type: &HiveType,
    ) -> Result<Cell, String> {
        let Value::Object(object) = value else {
            return Err(format!("expected an object, found {}", kind(value)));
        };
        let mut entries = Vec::with_capacity(object.len());
        for (k, v) in object {
            let key = self.cell(&Value::String(k.clone()), key_type)?;
            entries.push((key, self.cell(v, value_type)?));
        }
        Ok(Cell::Map(entries))
    }

    fn structure(&self, value: &Value, fields: &[(String, HiveType)]) -> Result<Cell, String> {
        let Value::Object(object) = value else {
            return Err(format!("expected an object, found {}", kind(value)));
        };
        let keyed = self.keyed(object);
        fields
            .iter()
            .map(|(name, ty)| {
                let v = lookup(&keyed, &self.normalize(name)).unwrap_or(&Value::Null);
                self.cell(v, ty).map_err(|e| format!("{name}: {e}"))
            })
            .collect::<Result<_, _>>()
            .map(Cell::Struct)
    }
}

fn lookup<'v>(keyed: &[(String, &'v Value)], key: &str) -> Option<&'v Value> {
    keyed.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn boolean(value: &Value) -> Result<Cell, String> {
    match value {
        Value::Bool(b) => Ok(Cell::Bool(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Cell::Bool(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Cell::Bool(false)),
        other => Err(format!("expected a boolean, found {}", shown(other))),
    }
}

fn integer(value: &Value, min: i64, max: i64) -> Result<Cell, String> {
    let n = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(Cell::Int(n)),
        Some(n) => Err(format!(
            "{n} is out of the column type's range {min} to {max}"
        )),
        None => Err(format!("expected an integer, found {}", shown(value))),
    }
}

fn float(value: &Value) -> Result<f64, String> {
    let n = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| format!("expected a number, found {}", shown(value)))
}

/// A string column's text: strings as they are, other values as their JSON text (as the
/// OpenX SerDe reads a number or an object into a string column).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The text of a number or string (decimals and binaries take no arrays or objects).
fn scalar_text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.trim().to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!(
            "expected a number or a string, found {}",
            kind(other)
        )),
    }
}

/// A value for an error message: short values in full, others by their kind.
pub(super) fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.len() <= 64 {
        text
    } else {
        kind(value).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::time::TimeReader;

    fn reader() -> JsonReader {
        JsonReader {
            case_insensitive: true,
            dots_to_underscores: false,
            key_mappings: Vec::new(),
            times: TimeReader::OpenX,
        }
    }

    fn columns(spec: &[(&str, &str)]) -> Vec<(String, HiveType)> {
        spec.iter()
            .map(|(n, t)| (n.to_string(), HiveType::parse(t).unwrap()))
            .collect()
    }

    #[test]
    fn documents_become_rows_with_nulls_for_missing_keys() {
        let cols = columns(&[("ticker", "string"), ("price", "double"), ("qty", "int")]);
        let rows = reader()
            .rows(
                br#"{"TICKER":"AAA","price":1.5,"qty":"10","x":1} {"ticker":7}"#,
                &cols,
            )
            .unwrap();
        assert_eq!(
            rows,
            vec![
                vec![
                    Cell::Bytes(b"AAA".to_vec()),
                    Cell::Double(1.5),
                    Cell::Int(10)
                ],
                vec![Cell::Bytes(b"7".to_vec()), Cell::Null, Cell::Null],
            ]
        );
    }

    #[test]
    fn values_that_do_not_fit_are_malformed_and_text_is_a_parse_error() {
        let cols = columns(&[("price", "double"), ("n", "tinyint")]);
        let r = reader();
        assert!(
            matches!(r.rows(br#"{"price":"oops"}"#, &cols), Err(RowError::Malformed(e)) if e.contains("price"))
        );
        assert!(
            matches!(r.rows(br#"{"n":300}"#, &cols), Err(RowError::Malformed(e)) if e.contains("range"))
        );
        assert!(matches!(
            r.rows(br#"[{"n":1}]"#, &cols),
            Err(RowError::Malformed(_))
        ));
        assert!(matches!(
            r.rows(b"this is not json", &cols),
            Err(RowError::Parse(_))
        ));
        assert!(matches!(r.rows(b"  \n", &cols), Err(RowError::Parse(_))));
    }

    #[test]
    fn options_map_keys_to_columns() {
        let cols = columns(&[("ts_key", "string"), ("a_b", "int"), ("Exact", "int")]);
        let r = JsonReader {
            case_insensitive: false,
            dots_to_underscores: true,
            key_mappings: vec![("ts_key".into(), "timestamp".into())],
            times: TimeReader::OpenX,
        };
        let rows = r
            .rows(br#"{"timestamp":"t","a.b":2,"exact":3,"Exact":4}"#, &cols)
            .unwrap();
        assert_eq!(
            rows[0],
            vec![Cell::Bytes(b"t".to_vec()), Cell::Int(2), Cell::Int(4)]
        );
    }

    #[test]
    fn nested_values_follow_their_types() {
        let cols = columns(&[(
            "s",
            "struct<tags:array<string>,m:map<int,boolean>,d:decimal(5,2)>",
        )]);
        let rows = reader()
            .rows(
                br#"{"s":{"Tags":["x",null],"m":{"1":true,"2":"false"},"d":"12.345"}}"#,
                &cols,
            )
            .unwrap();
        assert_eq!(
            rows[0][0],
            Cell::Struct(vec![
                Cell::List(vec![Cell::Bytes(b"x".to_vec()), Cell::Null]),
                Cell::Map(vec![
                    (Cell::Int(1), Cell::Bool(true)),
                    (Cell::Int(2), Cell::Bool(false))
                ]),
                Cell::Decimal(1235),
            ])
        );
        let bad = reader().rows(br#"{"s":{"m":{"k":true}}}"#, &cols);
        assert!(matches!(bad, Err(RowError::Malformed(e)) if e.contains("Column s: m")));
    }
}
