//! Record transformation (ProcessingConfiguration), in AWS's processor order:
//! RecordDeAggregation, Decompression, CloudWatchLogProcessing, Lambda, MetadataExtraction,
//! AppendDelimiterToRecord. Records a processor cannot handle
//! leave the batch as failed records for the `processing-failed` error output, in the error
//! format of Firehose's guide ("Handle failure in data transformation").
//!
//! The Lambda processor sends the transformation event (`invocationId`, `deliveryStreamArn`,
//! `region`, `records[{recordId, approximateArrivalTimestamp, data}]`) in chunks of at most
//! BufferSizeInMBs, retrying each NumberOfRetries times; the answer must name every recordId
//! exactly once, with `result` Ok (its `data` replaces the record), Dropped or
//! ProcessingFailed.

use super::prefix::PartitionKeys;
use crate::model::Processing;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use spate_wire::service::BoxFuture;
use std::collections::{BTreeMap, HashMap};

/// A record's answer from a transformation function: result, decoded data, partition keys.
type LambdaResult = (String, Option<Vec<u8>>, BTreeMap<String, String>);
use std::io::Read;

/// Runs a function for the Lambda processor: its JSON result, or why there is none (a function
/// error, an unknown function).
pub trait Invoke: Send + Sync {
    fn invoke(&self, function_arn: &str, event: Vec<u8>) -> BoxFuture<Result<Value, String>>;
}

/// A record in processing: its position in the log, arrival time and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub counter: u64,
    pub arrival_ms: i64,
    pub data: Vec<u8>,
    /// Dynamic partitioning keys found so far.
    pub keys: PartitionKeys,
    /// KinesisStreamAsSource: where the record came from.
    pub kinesis: Option<KinesisMetadata>,
}

/// What the transformation event says of where records come from.
#[derive(Debug, Clone, Default)]
pub struct EventContext {
    pub region: String,
    /// KinesisStreamAsSource: the Kinesis stream's ARN.
    pub source_arn: Option<String>,
}

/// A KinesisStreamAsSource record's origin (`kinesisRecordMetadata` of the transformation
/// event), kept in the key of the record's copy in Firehose's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KinesisMetadata {
    pub shard_id: String,
    pub sequence_number: String,
    pub arrival_ms: i64,
    pub partition_key: String,
}

impl KinesisMetadata {
    pub fn of(
        shard: &spate_streams::reader::SourceShard,
        record: &spate_streams::reader::SourceRecord,
    ) -> KinesisMetadata {
        KinesisMetadata {
            shard_id: shard.shard_id(),
            sequence_number: shard.sequence_number(record),
            arrival_ms: record.arrival_ms,
            partition_key: record.partition_key.clone(),
        }
    }

    /// `shardId|sequenceNumber|arrival|partitionKey` (the key last: it may hold `|`).
    pub fn encode(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.shard_id, self.sequence_number, self.arrival_ms, self.partition_key
        )
    }

    /// The metadata in a log record's key; `None` for Direct PUT records (no key).
    pub fn decode(key: &str) -> Option<KinesisMetadata> {
        let mut parts = key.splitn(4, '|');
        Some(KinesisMetadata {
            shard_id: parts.next()?.to_string(),
            sequence_number: parts.next()?.to_string(),
            arrival_ms: parts.next()?.parse().ok()?,
            partition_key: parts.next()?.to_string(),
        })
    }

    fn json(&self) -> Value {
        json!({
            "shardId": self.shard_id,
            "partitionKey": self.partition_key,
            "approximateArrivalTimestamp": self.arrival_ms,
            "sequenceNumber": self.sequence_number,
            "subsequenceNumber": 0,
        })
    }
}

/// A record that failed processing, with its original data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedItem {
    pub item: Item,
    pub code: String,
    pub message: String,
    pub attempts: u32,
    pub lambda_arn: Option<String>,
}

#[derive(Debug, Default)]
pub struct Processed {
    pub ok: Vec<Item>,
    pub failed: Vec<FailedItem>,
}

/// The processors of an enabled ProcessingConfiguration (none: records pass as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Processors {
    deaggregate: Option<super::deaggregate::SubRecords>,
    gunzip: bool,
    cloudwatch_logs: bool,
    lambda: Option<LambdaProcessor>,
    /// MetadataExtractionQuery (jq).
    metadata_query: Option<String>,
    delimiter: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct LambdaProcessor {
    arn: String,
    retries: u32,
    buffer_bytes: usize,
}

/// Lambda processor defaults (AWS): 3 retries, 1 MB payloads.
const DEFAULT_RETRIES: u32 = 3;
const DEFAULT_BUFFER_MB: f64 = 1.0;

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

impl Processors {
    /// The processors of `p` if it is enabled; what Spate does not run is an error.
    pub fn of(p: &Processing) -> Result<Option<Processors>, String> {
        if !p.enabled {
            return Ok(None);
        }
        let mut out = Processors {
            deaggregate: None,
            gunzip: false,
            cloudwatch_logs: false,
            lambda: None,
            metadata_query: None,
            delimiter: None,
        };
        for (kind, params) in &p.processors {
            match kind.as_str() {
                "Lambda" => {
                    let arn = param(params, "LambdaArn").ok_or("The Lambda processor needs a LambdaArn parameter.")?;
                    let retries = match param(params, "NumberOfRetries") {
                        Some(n) => n.parse().map_err(|_| format!("NumberOfRetries {n} is not a number."))?,
                        None => DEFAULT_RETRIES,
                    };
                    let mb = match param(params, "BufferSizeInMBs") {
                        Some(n) => n.parse::<f64>().map_err(|_| format!("BufferSizeInMBs {n} is not a number."))?,
                        None => DEFAULT_BUFFER_MB,
                    };
                    let buffer_bytes = (mb.clamp(0.2, 3.0) * 1_048_576.0) as usize;
                    out.lambda = Some(LambdaProcessor { arn: arn.to_string(), retries, buffer_bytes });
                }
                "AppendDelimiterToRecord" => {
                    let delimiter = param(params, "Delimiter").unwrap_or("\\n");
                    out.delimiter = Some(unescape(delimiter).into_bytes());
                }
                "Decompression" => match param(params, "CompressionFormat").unwrap_or("GZIP") {
                    "GZIP" => out.gunzip = true,
                    other => return Err(format!("Decompression CompressionFormat {other} is not supported: GZIP is.")),
                },
                "RecordDeAggregation" => {
                    let kind = param(params, "SubRecordType");
                    let delimiter = param(params, "Delimiter");
                    out.deaggregate = Some(super::deaggregate::SubRecords::of(kind, delimiter)?);
                }
                "MetadataExtraction" => {
                    let engine = param(params, "JsonParsingEngine").unwrap_or("JQ-1.6");
                    if engine != "JQ-1.6" {
                        return Err(format!(
                            "JsonParsingEngine {engine} is not supported: JQ-1.6 is."
                        ));
                    }
                    let query = param(params, "MetadataExtractionQuery").ok_or(
                        "The MetadataExtraction processor needs a MetadataExtractionQuery parameter.",
                    )?;
                    super::jq::check(query)?;
                    out.metadata_query = Some(query.to_string());
                }
                "CloudWatchLogProcessing" => {
                    out.cloudwatch_logs = param(params, "DataMessageExtraction") == Some("true");
                }
                other => return Err(format!("The {other} processor is not supported by Spate yet; see docs/compatibility.md.")),
            }
        }
        Ok(Some(out))
    }

    /// Whether a MetadataExtraction processor gives partitionKeyFromQuery keys.
    pub fn extracts_metadata(&self) -> bool {
        self.metadata_query.is_some()
    }

    /// Runs the processors over `items` (oldest first).
    pub async fn run(
        &self,
        items: Vec<Item>,
        invoker: Option<&dyn Invoke>,
        stream_arn: &str,
        ctx: &EventContext,
    ) -> Processed {
        let mut done = Processed {
            ok: items,
            failed: Vec::new(),
        };
        if let Some(sub) = &self.deaggregate {
            done = expand_each(done, "RecordDeAggregation.Failed", |d| sub.split(d));
        }
        if self.gunzip {
            done = map_each(done, "Decompression.Failed", gunzip);
        }
        if self.cloudwatch_logs {
            done = expand_each(done, "CloudWatchLogProcessing.Failed", log_messages);
        }
        if let Some(lambda) = &self.lambda {
            let (ok, mut failed) = (std::mem::take(&mut done.ok), done.failed);
            let mut result = lambda.run(ok, invoker, stream_arn, ctx).await;
            failed.append(&mut result.failed);
            done = Processed {
                ok: result.ok,
                failed,
            };
        }
        if let Some(query) = &self.metadata_query {
            done = extract_keys(done, query);
        }
        if let Some(delimiter) = &self.delimiter {
            for item in &mut done.ok {
                item.data.extend_from_slice(delimiter);
            }
        }
        done
    }
}

/// `\n`, `\t` and `\\` as the console and CLI write them.
fn unescape(text: &str) -> String {
    text.replace("\\n", "\n")
        .replace("\\t", "\t")
        .replace("\\\\", "\\")
}

fn gunzip(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .map_err(|e| format!("The record is not GZIP data: {e}"))?;
    Ok(out)
}

/// CloudWatch Logs subscription envelopes: DATA_MESSAGE records become one record per log
/// event message (newline-terminated); CONTROL_MESSAGE records are dropped.
fn log_messages(data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let envelope: Value = serde_json::from_slice(data)
        .map_err(|e| format!("The record is not a CloudWatch Logs envelope: {e}"))?;
    match envelope["messageType"].as_str() {
        Some("CONTROL_MESSAGE") => Ok(Vec::new()),
        Some("DATA_MESSAGE") => Ok(envelope["logEvents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["message"].as_str())
            .map(|m| format!("{m}\n").into_bytes())
            .collect()),
        _ => Err("The record is not a CloudWatch Logs DATA_MESSAGE or CONTROL_MESSAGE.".into()),
    }
}

/// The error code (and error-output-type) of records whose partition keys cannot be found.
pub const METADATA_EXTRACTION_FAILED: &str = "DynamicPartitioning.MetadataExtractionFailed";

/// MetadataExtraction: each record's keys from the query; a record it cannot evaluate fails.
fn extract_keys(p: Processed, query: &str) -> Processed {
    let found = match super::jq::extract(query, p.ok.iter().map(|i| i.data.as_slice())) {
        Ok(found) => found,
        Err(message) => vec![Err(message); p.ok.len()],
    };
    let mut out = Processed {
        ok: Vec::new(),
        failed: p.failed,
    };
    for (mut item, keys) in p.ok.into_iter().zip(found) {
        match keys {
            Ok(keys) => {
                item.keys.query = keys;
                out.ok.push(item);
            }
            Err(message) => out.failed.push(FailedItem {
                item,
                code: METADATA_EXTRACTION_FAILED.into(),
                message,
                attempts: 1,
                lambda_arn: None,
            }),
        }
    }
    out
}

fn map_each(p: Processed, code: &str, f: impl Fn(&[u8]) -> Result<Vec<u8>, String>) -> Processed {
    expand_each(p, code, |d| f(d).map(|d| vec![d]))
}

fn expand_each(
    p: Processed,
    code: &str,
    f: impl Fn(&[u8]) -> Result<Vec<Vec<u8>>, String>,
) -> Processed {
    let mut out = Processed {
        ok: Vec::new(),
        failed: p.failed,
    };
    for item in p.ok {
        match f(&item.data) {
            Ok(datas) => out.ok.extend(datas.into_iter().map(|data| Item {
                data,
                ..item.clone()
            })),
            Err(message) => out.failed.push(FailedItem {
                item,
                code: code.into(),
                message,
                attempts: 1,
                lambda_arn: None,
            }),
        }
    }
    out
}

impl LambdaProcessor {
    async fn run(
        &self,
        items: Vec<Item>,
        invoker: Option<&dyn Invoke>,
        stream_arn: &str,
        ctx: &EventContext,
    ) -> Processed {
        let mut out = Processed::default();
        let mut chunk: Vec<Item> = Vec::new();
        let mut bytes = 0;
        for item in items {
            let size = item.data.len() * 4 / 3 + 128;
            if !chunk.is_empty() && bytes + size > self.buffer_bytes {
                self.invoke_chunk(
                    std::mem::take(&mut chunk),
                    invoker,
                    stream_arn,
                    ctx,
                    &mut out,
                )
                .await;
                bytes = 0;
            }
            bytes += size;
            chunk.push(item);
        }
        if !chunk.is_empty() {
            self.invoke_chunk(chunk, invoker, stream_arn, ctx, &mut out)
                .await;
        }
        out
    }

    async fn invoke_chunk(
        &self,
        chunk: Vec<Item>,
        invoker: Option<&dyn Invoke>,
        stream_arn: &str,
        ctx: &EventContext,
        out: &mut Processed,
    ) {
        let ids: Vec<String> = chunk.iter().map(|i| i.counter.to_string()).collect();
        let records: Vec<Value> = chunk
            .iter()
            .zip(&ids)
            .map(|(i, id)| {
                let mut r = json!({"recordId": id, "approximateArrivalTimestamp": i.arrival_ms, "data": STANDARD.encode(&i.data)});
                if let Some(k) = &i.kinesis {
                    r["kinesisRecordMetadata"] = k.json();
                }
                r
            })
            .collect();
        let mut event = json!({
            "invocationId": crate::ids::uuid_v4(),
            "deliveryStreamArn": stream_arn,
            "region": ctx.region,
            "records": records,
        });
        if let Some(source) = &ctx.source_arn {
            event["sourceKinesisStreamArn"] = json!(source);
        }
        let event = event.to_string().into_bytes();
        let mut last = ("Lambda.FunctionError".to_string(), String::new());
        for attempt in 1..=self.retries + 1 {
            let answer = match invoker {
                Some(f) => f.invoke(&self.arn, event.clone()).await,
                None => Err("Spate runs no functions in this process.".into()),
            };
            let verdict = answer
                .map_err(|e| ("Lambda.FunctionError".to_string(), e))
                .and_then(|v| results(&v, &ids));
            match verdict {
                Ok(results) => return self.apply(chunk, results, attempt, out),
                Err(e) => last = e,
            }
        }
        let attempts = self.retries + 1;
        for item in chunk {
            out.failed.push(FailedItem {
                item,
                code: last.0.clone(),
                message: last.1.clone(),
                attempts,
                lambda_arn: Some(self.arn.clone()),
            });
        }
    }

    fn apply(
        &self,
        chunk: Vec<Item>,
        mut results: HashMap<String, LambdaResult>,
        attempts: u32,
        out: &mut Processed,
    ) {
        for item in chunk {
            let (status, data, keys) = results
                .remove(&item.counter.to_string())
                .unwrap_or_default();
            match (status.as_str(), data) {
                ("Ok", Some(data)) => {
                    let mut item = Item { data, ..item };
                    item.keys.lambda = keys;
                    out.ok.push(item);
                }
                ("Dropped", _) => {}
                ("Ok", None) => out.failed.push(self.failed(
                    item,
                    "Lambda.InvalidData",
                    "The record's data is missing or not base64.",
                    attempts,
                )),
                _ => out.failed.push(self.failed(
                    item,
                    "Lambda.ProcessingFailedStatus",
                    "ProcessingFailed status set for record",
                    attempts,
                )),
            }
        }
    }

    fn failed(&self, item: Item, code: &str, message: &str, attempts: u32) -> FailedItem {
        FailedItem {
            item,
            code: code.into(),
            message: message.into(),
            attempts,
            lambda_arn: Some(self.arn.clone()),
        }
    }
}

/// Each recordId's result; every id exactly once, or the invocation failed.
fn results(
    answer: &Value,
    ids: &[String],
) -> Result<HashMap<String, LambdaResult>, (String, String)> {
    let fail = |code: &str, message: String| Err((code.to_string(), message));
    let Some(records) = answer["records"].as_array() else {
        return fail(
            "Lambda.FunctionError",
            "The function's answer has no records list.".into(),
        );
    };
    let mut out = HashMap::new();
    for r in records {
        let id = r["recordId"].as_str().unwrap_or_default().to_string();
        if !ids.contains(&id) {
            return fail(
                "Lambda.MissingRecordId",
                format!("The function answered with a recordId it was not given: {id:?}."),
            );
        }
        let data = r["data"].as_str().and_then(|d| STANDARD.decode(d).ok());
        let status = r["result"].as_str().unwrap_or_default().to_string();
        let keys: BTreeMap<String, String> = r["metadata"]["partitionKeys"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                )
            })
            .collect();
        if out.insert(id.clone(), (status, data, keys)).is_some() {
            return fail(
                "Lambda.DuplicatedRecordId",
                format!("The function answered recordId {id} twice."),
            );
        }
    }
    if let Some(missing) = ids.iter().find(|id| !out.contains_key(*id)) {
        return fail(
            "Lambda.MissingRecordId",
            format!("The function's answer lacks recordId {missing}."),
        );
    }
    Ok(out)
}
