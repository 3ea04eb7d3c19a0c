//! Micro-benchmarks of the write and read hot path, piece by piece:
//! request decode, partition routing, log append with group commit (in memory, so the figure is
//! the log's own cost without fsync), and GetRecords response encoding.
//!
//! `cargo bench -p spate-streams --bench hot_path` (release profile, like everything else).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use spate_log::mem::MemStorage;
use spate_log::{system_clock, AppendRecord, Log, LogOptions, RecordLog};
use spate_streams::hashing::{even_ranges, hash_key};
use spate_wire::codec::{decode, encode, Encoding};
use spate_wire::kinesis::{GetRecordsOutput, PutRecordsInput, Record};
use spate_wire::{BlobRef, Timestamp};
use std::sync::Arc;

const BATCH: usize = 500;

fn put_records_body() -> Vec<u8> {
    let data = base64_of(&[b'x'; 100]);
    let records: Vec<String> = (0..BATCH)
        .map(|i| format!("{{\"Data\":\"{data}\",\"PartitionKey\":\"key-{i:016x}\"}}"))
        .collect();
    format!(
        "{{\"StreamName\":\"bench\",\"Records\":[{}]}}",
        records.join(",")
    )
    .into_bytes()
}

fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn request_decode(c: &mut Criterion) {
    let body = put_records_body();
    let mut group = c.benchmark_group("request_decode");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("PutRecords 500 x 100 B (JSON)", |b| {
        b.iter(|| decode::<PutRecordsInput>(Encoding::Json, &body).unwrap())
    });
    group.finish();
}

fn partition_routing(c: &mut Criterion) {
    let keys: Vec<String> = (0..BATCH).map(|i| format!("key-{i:016x}")).collect();
    let ranges = even_ranges(64);
    let mut group = c.benchmark_group("partition_routing");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("MD5 + range search, 64 shards", |b| {
        b.iter(|| {
            keys.iter()
                .map(|k| {
                    let h = hash_key(k);
                    ranges.partition_point(|&(_, end)| end < h)
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

fn log_append(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let log = Arc::new(
        Log::open(
            Arc::new(MemStorage::new()),
            "/bench/log".into(),
            LogOptions::default(),
            system_clock(),
        )
        .unwrap(),
    );
    for shard in 0..4 {
        runtime.block_on(log.create_shard(shard)).unwrap();
    }
    let mut group = c.benchmark_group("log_append");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("500 x 100 B over 4 shards, group commit (memory)", |b| {
        b.iter_batched(
            || {
                (0..BATCH)
                    .map(|i| AppendRecord {
                        shard: (i % 4) as u64,
                        partition_key: format!("key-{i}"),
                        data: vec![b'x'; 100],
                        sealed: false,
                    })
                    .collect::<Vec<_>>()
            },
            |records| runtime.block_on(log.append(records)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn get_records_encode(c: &mut Criterion) {
    let data = vec![b'x'; 100];
    let keys: Vec<String> = (0..1000).map(|i| format!("key-{i:016x}")).collect();
    let sequence = "49".to_string() + &"0".repeat(54);
    let mut group = c.benchmark_group("get_records_encode");
    group.throughput(Throughput::Elements(1000));
    for (name, encoding) in [("JSON", Encoding::Json), ("CBOR", Encoding::Cbor)] {
        group.bench_function(format!("1000 x 100 B ({name})"), |b| {
            b.iter(|| {
                let output = GetRecordsOutput {
                    records: keys
                        .iter()
                        .map(|k| Record {
                            sequence_number: sequence.as_str(),
                            approximate_arrival_timestamp: Timestamp::from_millis(
                                1_700_000_000_000,
                            ),
                            data: BlobRef(&data),
                            partition_key: k.as_str(),
                            encryption_type: None,
                        })
                        .collect(),
                    next_shard_iterator: Some("iterator".into()),
                    millis_behind_latest: 0,
                    child_shards: None,
                };
                encode(encoding, &output)
            })
        });
    }
    group.finish();
}

criterion_group!(
    hot_path,
    request_decode,
    partition_routing,
    log_append,
    get_records_encode
);
criterion_main!(hot_path);
