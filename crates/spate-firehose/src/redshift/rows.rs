//! An intermediate object's bytes as the rows Redshift's COPY would load from it, by the
//! CopyOptions' format: delimited text, CSV, or JSON objects back to back (matched to columns
//! by key, or by a JSONPaths file). Rows that cannot be parsed count against MAXERROR.

use super::options::{CopyOptions, DataFormat, TimeFormat};
use super::LoadError;
use serde_json::Value;

/// A target column: its name and PostgreSQL data type (`information_schema.columns`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub data_type: String,
}

impl Column {
    fn is_text(&self) -> bool {
        let t = self.data_type.as_str();
        t.contains("char") || t == "text"
    }

    fn is_timestamp(&self) -> bool {
        self.data_type.starts_with("timestamp")
    }
}

pub type Row = Vec<Option<String>>;

/// The rows of one object, and how many rows could not be parsed (with the first reason).
pub struct Parsed {
    pub rows: Vec<Row>,
    pub errors: usize,
    pub first_error: Option<String>,
}

/// One JSONPaths expression: the keys and indexes it walks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A JSONPaths file (`{"jsonpaths": ["$.a", "$['b']", "$.c[0]"]}`): one path per column.
pub fn json_paths(file: &[u8]) -> Result<Vec<Vec<Step>>, LoadError> {
    let bad = |why: &str| {
        LoadError::new(
            "Redshift.IncorrectJsonPathsFile",
            format!("The provided jsonpaths file is not in a supported JSON format: {why}."),
        )
    };
    let doc: Value = serde_json::from_slice(file).map_err(|e| bad(&e.to_string()))?;
    let paths = doc
        .get("jsonpaths")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no \"jsonpaths\" array"))?;
    paths
        .iter()
        .map(|p| {
            parse_path(p.as_str().unwrap_or_default())
                .ok_or_else(|| bad(&format!("{p} is not a JSONPath expression")))
        })
        .collect()
}

fn parse_path(path: &str) -> Option<Vec<Step>> {
    let mut rest = path.strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']")?;
            steps.push(Step::Key(r[..end].to_string()));
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            steps.push(Step::Index(r[..end].parse().ok()?));
            rest = &r[end + 1..];
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            steps.push(Step::Key(r[..end].to_string()));
            rest = &r[end..];
        } else {
            return None;
        }
    }
    Some(steps)
}

/// A JSON value as column text: strings as they are, objects and arrays as JSON.
fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A value for `column` after the options' null and time rules.
fn field(text: Option<String>, column: &Column, o: &CopyOptions, json: bool) -> Option<String> {
    let text = text?;
    if !json && o.null_as.as_deref().unwrap_or("\\N") == text {
        return None;
    }
    if text.is_empty() && (!column.is_text() || o.empty_as_null) {
        return None;
    }
    if column.is_text() && o.blanks_as_null && text.trim().is_empty() {
        return None;
    }
    if column.is_timestamp() {
        let scale = match o.time_format {
            TimeFormat::EpochSecs => Some(1_000),
            TimeFormat::EpochMillis => Some(1),
            TimeFormat::Auto => None,
        };
        if let Some(ms) =
            scale.and_then(|s| text.trim().parse::<i64>().ok().map(|n| n.saturating_mul(s)))
        {
            let t = jiff::Timestamp::from_millisecond(ms).ok()?;
            return Some(t.to_string());
        }
    }
    Some(text)
}

fn json_rows(
    data: &[u8],
    o: &CopyOptions,
    columns: &[Column],
    paths: Option<&[Vec<Step>]>,
    out: &mut Parsed,
) {
    let ignore_case = matches!(o.format, DataFormat::JsonAuto { ignore_case: true });
    let mut values = serde_json::Deserializer::from_slice(data).into_iter::<Value>();
    loop {
        let value = match values.next() {
            None => break,
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                out.errors += 1;
                out.first_error
                    .get_or_insert_with(|| format!("Invalid JSON: {e}"));
                break;
            }
        };
        let row: Row = match paths {
            Some(paths) => paths
                .iter()
                .zip(columns)
                .map(|(path, c)| {
                    let found = path.iter().try_fold(&value, |v, step| match step {
                        Step::Key(k) => v.get(k),
                        Step::Index(i) => v.get(*i),
                    });
                    field(found.and_then(json_text), c, o, true)
                })
                .collect(),
            None => {
                let Some(object) = value.as_object() else {
                    out.errors += 1;
                    out.first_error.get_or_insert_with(|| "Invalid JSONPath format: a value is not an object (arrays need a JSONPaths file)".into());
                    continue;
                };
                columns
                    .iter()
                    .map(|c| {
                        let found = match ignore_case {
                            false => object.get(&c.name),
                            true => object
                                .iter()
                                .find(|(k, _)| k.eq_ignore_ascii_case(&c.name))
                                .map(|(_, v)| v),
                        };
                        field(found.and_then(json_text), c, o, true)
                    })
                    .collect()
            }
        };
        out.rows.push(row);
    }
}

/// CSV records: fields split at the delimiter outside quotes, `""` inside quotes is a quote.
fn csv_records(text: &str, delimiter: char, quote: char) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match c {
            c if c == quote && quoted && chars.peek() == Some(&quote) => {
                chars.next();
                field.push(quote);
            }
            c if c == quote => quoted = !quoted,
            c if c == delimiter && !quoted => record.push(std::mem::take(&mut field)),
            '\n' if !quoted => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            '\r' if !quoted && chars.peek() == Some(&'\n') => {}
            c => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

fn delimited_rows(text: &str, o: &CopyOptions, columns: &[Column], out: &mut Parsed) {
    let records: Vec<Vec<String>> = match o.format {
        DataFormat::Csv { delimiter, quote } => csv_records(text, delimiter, quote),
        DataFormat::Text { delimiter } => text
            .split('\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                l.strip_suffix('\r')
                    .unwrap_or(l)
                    .split(delimiter)
                    .map(str::to_string)
                    .collect()
            })
            .collect(),
        _ => Vec::new(),
    };
    for record in records.into_iter().skip(o.ignore_header) {
        if record.len() != columns.len() {
            out.errors += 1;
            out.first_error.get_or_insert_with(|| {
                format!(
                    "{} fields where the table has {} columns",
                    record.len(),
                    columns.len()
                )
            });
            continue;
        }
        let row = record
            .into_iter()
            .zip(columns)
            .map(|(f, c)| field(Some(f), c, o, false))
            .collect();
        out.rows.push(row);
    }
}

/// The rows of one object's (decompressed) bytes.
pub fn parse(
    data: &[u8],
    o: &CopyOptions,
    columns: &[Column],
    paths: Option<&[Vec<Step>]>,
) -> Result<Parsed, LoadError> {
    let mut out = Parsed {
        rows: Vec::new(),
        errors: 0,
        first_error: None,
    };
    match &o.format {
        DataFormat::JsonAuto { .. } | DataFormat::JsonPaths { .. } => {
            if let Some(paths) = paths.filter(|p| p.len() != columns.len()) {
                return Err(LoadError::new("Redshift.ColumnMismatch", format!("The number of jsonpaths in the COPY command ({}) and the number of columns in the destination table ({}) should match.", paths.len(), columns.len())));
            }
            json_rows(data, o, columns, paths, &mut out);
        }
        _ => {
            let text = std::str::from_utf8(data).map_err(|e| {
                LoadError::new(
                    "Redshift.DataLoadFailed",
                    format!("Invalid UTF-8 in the data: {e}"),
                )
            })?;
            delimited_rows(text, o, columns, &mut out);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redshift::options;

    fn columns() -> Vec<Column> {
        [
            ("id", "integer"),
            ("name", "character varying"),
            ("at", "timestamp with time zone"),
        ]
        .into_iter()
        .map(|(n, t)| Column {
            name: n.into(),
            data_type: t.into(),
        })
        .collect()
    }

    #[test]
    fn json_auto_matches_lowercase_keys_and_fills_nulls() {
        let o = options::parse("JSON 'auto' TIMEFORMAT 'epochmillisecs'").unwrap();
        let data = br#"{"id": 1, "name": "a", "at": 1700000000000, "extra": true}{"id":2,"NAME":"b"} {"id": 3, "name": {"x": 1}}"#;
        let p = parse(data, &o, &columns(), None).unwrap();
        assert_eq!(p.errors, 0);
        assert_eq!(
            p.rows[0],
            vec![
                Some("1".into()),
                Some("a".into()),
                Some("2023-11-14T22:13:20Z".into())
            ]
        );
        assert_eq!(
            p.rows[1],
            vec![Some("2".into()), None, None],
            "case-sensitive"
        );
        assert_eq!(p.rows[2][1].as_deref(), Some(r#"{"x":1}"#));
        let o = options::parse("JSON 'auto ignorecase'").unwrap();
        assert_eq!(
            parse(br#"{"NAME":"b"}"#, &o, &columns(), None)
                .unwrap()
                .rows[0][1]
                .as_deref(),
            Some("b")
        );
    }

    #[test]
    fn jsonpaths_pick_columns_in_order() {
        let paths =
            json_paths(br#"{"jsonpaths": ["$.user.id", "$['label']", "$.times[1]"]}"#).unwrap();
        let o = options::parse("JSON 's3://b/p.json'").unwrap();
        let p = parse(
            br#"{"user": {"id": 7}, "label": "x", "times": ["a", "2024-01-01 00:00:00"]}"#,
            &o,
            &columns(),
            Some(&paths),
        )
        .unwrap();
        assert_eq!(
            p.rows[0],
            vec![
                Some("7".into()),
                Some("x".into()),
                Some("2024-01-01 00:00:00".into())
            ]
        );
        assert_eq!(
            json_paths(br#"{"paths": []}"#).unwrap_err().code,
            "Redshift.IncorrectJsonPathsFile"
        );
        let short = json_paths(br#"{"jsonpaths": ["$.a"]}"#).unwrap();
        assert_eq!(
            parse(b"{}", &o, &columns(), Some(&short))
                .err()
                .map(|e| e.code),
            Some("Redshift.ColumnMismatch")
        );
    }

    #[test]
    fn text_and_csv_follow_redshifts_null_and_empty_rules() {
        let o = options::parse("").unwrap();
        let p = parse(b"1|a\\b|\\N\n|  |\nbad\n", &o, &columns(), None).unwrap();
        assert_eq!(
            p.rows[0],
            vec![Some("1".into()), Some("a\\b".into()), None],
            "backslashes are data"
        );
        assert_eq!(
            p.rows[1],
            vec![None, Some("  ".into()), None],
            "an empty INT is NULL"
        );
        assert_eq!(p.errors, 1);
        let o = options::parse("CSV IGNOREHEADER 1 BLANKSASNULL").unwrap();
        let p = parse(
            b"id,name,at\n1,\"x, \"\"y\"\"\n z\",2024-01-01\n2,  ,\n",
            &o,
            &columns(),
            None,
        )
        .unwrap();
        assert_eq!(p.rows[0][1].as_deref(), Some("x, \"y\"\n z"));
        assert_eq!(p.rows[1], vec![Some("2".into()), None, None]);
    }
}
