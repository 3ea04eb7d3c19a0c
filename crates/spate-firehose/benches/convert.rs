//! Record format conversion throughput: JSON records (a clickstream-like shape of eight
//! columns, strings, numbers, a timestamp and a nested list) read by the table's columns and
//! written as one Parquet file, per Parquet compression. Throughput is in bytes of JSON in.
//!
//! `cargo bench -p spate-firehose --bench convert` (release profile, like everything else).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spate_firehose::convert::model::{
    FormatConversion, OutputFormat, ParquetCompression, ParquetOutput,
};
use spate_firehose::convert::{Converter, TableRef};

/// Records per converted object: about 2 MB of JSON.
const RECORDS: usize = 10_000;

const COLUMNS: [(&str, &str); 8] = [
    ("event_id", "string"),
    ("user_id", "bigint"),
    ("page", "string"),
    ("price", "double"),
    ("quantity", "int"),
    ("ts", "timestamp"),
    ("tags", "array<string>"),
    ("country", "string"),
];

fn records() -> Vec<Vec<u8>> {
    (0..RECORDS)
        .map(|i| {
            format!(
                r#"{{"event_id":"e-{i:012}","user_id":{},"page":"/products/{}","price":{}.99,"quantity":{},"ts":"2026-12-02T10:{:02}:{:02}Z","tags":["promo","{}"],"country":"{}","ignored":"a key without a column"}}"#,
                i * 7919 % 100_000,
                i % 500,
                i % 300,
                i % 5 + 1,
                i / 60 % 60,
                i % 60,
                ["web", "ios", "android"][i % 3],
                ["DE", "US", "JP", "BR"][i % 4],
            )
            .into_bytes()
        })
        .collect()
}

fn converter(compression: ParquetCompression) -> Converter {
    let conversion = FormatConversion {
        schema: None,
        input: None,
        output: Some(OutputFormat::Parquet(ParquetOutput {
            compression: Some(compression),
            ..ParquetOutput::default()
        })),
    };
    let table = TableRef {
        catalog_id: "000000000000".into(),
        database: "bench".into(),
        table: "clicks".into(),
        region: "us-east-1".into(),
        version_id: None,
    };
    let columns = COLUMNS
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    match Converter::new(&conversion, table, columns) {
        Ok(c) => c,
        Err(e) => panic!("converter: {e}"),
    }
}

fn json_to_parquet(c: &mut Criterion) {
    let records = records();
    let bytes: usize = records.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("json_to_parquet");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(20);
    for compression in [
        ParquetCompression::Snappy,
        ParquetCompression::Gzip,
        ParquetCompression::Uncompressed,
    ] {
        let converter = converter(compression);
        group.bench_function(compression.name(), |b| {
            b.iter(|| {
                let (body, failed) = converter
                    .convert(records.iter().map(Vec::as_slice))
                    .unwrap_or_default();
                assert!(failed.is_empty() && body.is_some());
                body
            })
        });
    }
    group.finish();
}

criterion_group!(benches, json_to_parquet);
criterion_main!(benches);
