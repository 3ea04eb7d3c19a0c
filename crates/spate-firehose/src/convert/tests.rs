//! Conversion read back with the parquet crate's own reader (pyarrow reads the same files in
//! the end-to-end tests).

use super::model::{FormatConversion, OutputFormat, ParquetCompression, ParquetOutput};
use super::*;
use ::parquet::file::reader::{FileReader, SerializedFileReader};
use ::parquet::record::Field;

fn table() -> TableRef {
    TableRef {
        catalog_id: "000000000000".into(),
        database: "db".into(),
        table: "events".into(),
        region: "us-east-1".into(),
        version_id: None,
    }
}

fn converter(columns: &[(&str, &str)], compression: ParquetCompression) -> Converter {
    let conversion = FormatConversion {
        schema: None,
        input: None,
        output: Some(OutputFormat::Parquet(ParquetOutput {
            compression: Some(compression),
            ..ParquetOutput::default()
        })),
    };
    let columns = columns
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    Converter::new(&conversion, table(), columns).unwrap()
}

/// Each row of the file as `name=value` strings, in the parquet crate's rendering.
fn read(body: Vec<u8>) -> Vec<String> {
    let reader = SerializedFileReader::new(bytes::Bytes::from(body)).unwrap();
    reader
        .get_row_iter(None)
        .unwrap()
        .map(|row| {
            row.unwrap()
                .get_column_iter()
                .map(|(name, field)| format!("{name}={}", render(field)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn render(field: &Field) -> String {
    match field {
        Field::Null => "null".into(),
        other => other.to_string(),
    }
}

#[test]
fn records_become_typed_rows_and_misfits_are_reported() {
    let c = converter(
        &[
            ("ticker", "string"),
            ("price", "double"),
            ("qty", "int"),
            ("active", "boolean"),
        ],
        ParquetCompression::Snappy,
    );
    let records: [&[u8]; 4] = [
        br#"{"ticker": "AAA", "price": 1.5, "qty": 10, "active": true}"#,
        br#"{"ticker": "MISSING_FIELDS"}"#,
        br#"{"ticker": "BAD", "price": "oops"}"#,
        b"this is not json at all\n",
    ];
    let (body, failed) = c.convert(records.into_iter()).unwrap();
    let body = body.unwrap();
    assert_eq!(&body[..4], b"PAR1");
    assert_eq!(
        read(body),
        vec![
            r#"ticker="AAA" price=1.5 qty=10 active=true"#,
            r#"ticker="MISSING_FIELDS" price=null qty=null active=null"#,
        ]
    );
    let codes: Vec<_> = failed.iter().map(|(n, code, _)| (*n, *code)).collect();
    assert_eq!(codes, vec![(2, MALFORMED_DATA), (3, PARSE_ERROR)]);
}

#[test]
fn nested_decimal_and_time_columns_round_trip() {
    let c = converter(
        &[
            ("tags", "array<string>"),
            ("attrs", "map<string,int>"),
            ("point", "struct<x:bigint,y:array<int>>"),
            ("amount", "decimal(10,2)"),
            ("day", "date"),
        ],
        ParquetCompression::Gzip,
    );
    let records: [&[u8]; 2] = [
        br#"{"tags": ["a", "b"], "attrs": {"k": 1}, "point": {"x": 5, "y": [1, 2]}, "amount": "12.5", "day": "1970-01-11"}"#,
        br#"{"tags": [], "point": {"y": null}, "amount": -3}"#,
    ];
    let (body, failed) = c.convert(records.into_iter()).unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    let rows = read(body.unwrap());
    assert_eq!(rows.len(), 2);
    assert!(rows[0].contains(r#"tags=["a", "b"]"#), "{}", rows[0]);
    assert!(rows[0].contains(r#"attrs={"k" -> 1}"#), "{}", rows[0]);
    assert!(rows[0].contains("point={x: 5, y: [1, 2]}"), "{}", rows[0]);
    assert!(rows[0].contains("amount=12.50"), "{}", rows[0]);
    assert!(rows[0].contains("day=1970-01-11"), "{}", rows[0]);
    assert!(rows[1].contains("tags=[]"), "{}", rows[1]);
    assert!(rows[1].contains("attrs=null"), "{}", rows[1]);
    assert!(rows[1].contains("point={x: null, y: null}"), "{}", rows[1]);
    assert!(rows[1].contains("amount=-3.00"), "{}", rows[1]);
}

#[test]
fn nothing_convertible_writes_no_file_and_bad_types_are_refused() {
    let c = converter(&[("n", "int")], ParquetCompression::Uncompressed);
    let (body, failed) = c.convert([&b"[]"[..]].into_iter()).unwrap();
    assert!(body.is_none());
    assert_eq!(failed.len(), 1);
    let conversion = FormatConversion {
        output: Some(OutputFormat::Parquet(ParquetOutput::default())),
        ..FormatConversion::default()
    };
    let e = Converter::new(
        &conversion,
        table(),
        vec![("u".into(), "uniontype<int>".into())],
    )
    .err()
    .unwrap();
    assert!(e.contains("column u of table events"), "{e}");
}
