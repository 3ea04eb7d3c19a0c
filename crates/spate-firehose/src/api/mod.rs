//! The wire edge of Firehose: each operation decodes its request shape, validates it (AWS's
//! messages), makes one service call and encodes the answer. [`FirehoseApi`] serves
//! `Firehose_20150804.*`; [`FirehoseAdminApi`] adds Spate's own `SpateAdmin_20261126.
//! FlushDeliveryStream`.

mod check;
mod control;
mod conversion;
mod describe;
mod destination;
mod endpoint;
mod opensearch;
mod records;
mod redshift;
mod splunk;
mod update;

use crate::service::Firehose;
use spate_wire::admin::DeliveryProgressOutput;
use spate_wire::firehose::{DeliveryStreamNameInput, EmptyOutput};
use spate_wire::service::{run, BoxFuture, Call, Operation, Reply, TargetService};
use spate_wire::validate::Validator;
use spate_wire::{ApiError, ErrorKind};
use std::sync::Arc;

pub struct FirehoseApi {
    firehose: Arc<Firehose>,
}

impl FirehoseApi {
    pub fn new(firehose: Arc<Firehose>) -> Arc<FirehoseApi> {
        Arc::new(FirehoseApi { firehose })
    }
}

/// A PutRecordBatch request holds at most 4 MiB of data, a third more in base64.
const PUT_BATCH_RESPONSE_MAX_BYTES: usize = 512 << 10;

const OPERATIONS: &[Operation] = &[
    Operation::new("CreateDeliveryStream"),
    Operation::new("DeleteDeliveryStream"),
    Operation::new("DescribeDeliveryStream"),
    Operation::new("ListDeliveryStreams").with_response_max_bytes(4 << 20),
    Operation::new("ListTagsForDeliveryStream"),
    Operation::new("PutRecord"),
    Operation::new("PutRecordBatch").with_response_max_bytes(PUT_BATCH_RESPONSE_MAX_BYTES),
    Operation::new("StartDeliveryStreamEncryption"),
    Operation::new("StopDeliveryStreamEncryption"),
    Operation::new("TagDeliveryStream"),
    Operation::new("UntagDeliveryStream"),
    Operation::new("UpdateDestination"),
];

impl TargetService for FirehoseApi {
    fn target_prefix(&self) -> &'static str {
        spate_wire::firehose::TARGET_PREFIX
    }

    fn operation(&self, name: &str) -> Option<Operation> {
        OPERATIONS.iter().find(|o| o.name == name).copied()
    }

    fn call(self: Arc<Self>, call: Call) -> BoxFuture<Reply> {
        Box::pin(async move { dispatch(&self.firehose, call).await })
    }
}

async fn dispatch(f: &Arc<Firehose>, call: Call) -> Reply {
    let c = &call;
    match call.operation {
        "CreateDeliveryStream" => run(c, |i| control::create(f, i)).await,
        "DeleteDeliveryStream" => run(c, |i| control::delete(f, i)).await,
        "DescribeDeliveryStream" => run(c, |i| control::describe(f, i)).await,
        "ListDeliveryStreams" => run(c, |i| control::list(f, i)).await,
        "UpdateDestination" => run(c, |i| update::update_destination(f, i)).await,
        "TagDeliveryStream" => run(c, |i| control::tag(f, i)).await,
        "UntagDeliveryStream" => run(c, |i| control::untag(f, i)).await,
        "ListTagsForDeliveryStream" => run(c, |i| control::list_tags(f, i)).await,
        "StartDeliveryStreamEncryption" => run(c, |i| control::start_encryption(f, i)).await,
        "StopDeliveryStreamEncryption" => run(c, |i| control::stop_encryption(f, i)).await,
        "PutRecord" => run(c, |i| records::put_record(f, i)).await,
        "PutRecordBatch" => run(c, |i| records::put_record_batch(f, i)).await,
        _ => Reply::Error(ApiError::bare(ErrorKind::UnknownOperation)),
    }
}

/// Spate's own Firehose operations (no part of the AWS API), on the same endpoint:
/// `SpateAdmin_20261126.FlushDeliveryStream {"DeliveryStreamName": …}` delivers what the stream
/// has buffered now, whatever its buffering hints, and answers once it has landed (or with the
/// delivery error), so tests and tools need not wait out a buffer interval;
/// `SpateAdmin_20261126.FlushChannel {"ChannelARN": …}` does the same for a Kinesis channel;
/// `SpateAdmin_20261126.DescribeDeliveryProgress` reports what the stream has buffered and
/// delivered since the server started (`spate bench firehose` watches it).
pub struct FirehoseAdminApi {
    firehose: Arc<Firehose>,
}

impl FirehoseAdminApi {
    pub fn new(firehose: Arc<Firehose>) -> Arc<FirehoseAdminApi> {
        Arc::new(FirehoseAdminApi { firehose })
    }
}

impl TargetService for FirehoseAdminApi {
    fn target_prefix(&self) -> &'static str {
        "SpateAdmin_20261126"
    }

    fn operation(&self, name: &str) -> Option<Operation> {
        ADMIN_OPERATIONS.iter().find(|o| o.name == name).copied()
    }

    fn call(self: Arc<Self>, call: Call) -> BoxFuture<Reply> {
        Box::pin(async move {
            let f = &self.firehose;
            match call.operation {
                "FlushDeliveryStream" => run(&call, |i| flush(f, i)).await,
                "FlushChannel" => run(&call, |i| crate::channels::api::flush(f, i)).await,
                _ => run(&call, |i| progress(f, i)).await,
            }
        })
    }
}

const ADMIN_OPERATIONS: &[Operation] = &[
    Operation::new("FlushDeliveryStream"),
    Operation::new("FlushChannel"),
    Operation::new("DescribeDeliveryProgress"),
];

fn admin_name(i: &DeliveryStreamNameInput) -> Result<crate::model::DeliveryStreamName, ApiError> {
    let mut v = Validator::new();
    let name = check::text(&i.delivery_stream_name);
    v.required(&i.delivery_stream_name, "deliveryStreamName");
    check::stream_name(&mut v, name, "deliveryStreamName");
    v.finish()?;
    check::name_of(&i.delivery_stream_name)
}

async fn flush(f: &Arc<Firehose>, i: DeliveryStreamNameInput) -> Result<EmptyOutput, ApiError> {
    f.flush(admin_name(&i)?.as_str()).await?;
    Ok(EmptyOutput {})
}

async fn progress(
    f: &Arc<Firehose>,
    i: DeliveryStreamNameInput,
) -> Result<DeliveryProgressOutput, ApiError> {
    let name = admin_name(&i)?;
    f.describe(&name)?;
    let s = f.delivery_status(name.as_str());
    Ok(DeliveryProgressOutput {
        buffered_records: s.buffered_records as u64,
        buffered_bytes: s.buffered_bytes as u64,
        delivered_objects: s.delivered_objects,
        delivered_records: s.delivered_records,
        delivered_bytes: s.delivered_bytes,
        failure: s.failure.or(s.source_failure),
    })
}
