//! Spate's own operations (`SpateAdmin_20261126.*`, no part of any AWS API), on the same
//! endpoint, signed like Kinesis calls. `spate stream hot-shards` uses DescribeShardTraffic.

use super::check;
use super::run;
use crate::service::Kinesis;
use spate_wire::admin::ShardTrafficOutput;
use spate_wire::kinesis::StreamOnlyInput;
use spate_wire::service::{BoxFuture, Call, Operation, Reply, TargetService};
use spate_wire::validate::Validator;
use spate_wire::ApiError;
use std::sync::Arc;

pub struct AdminApi {
    kinesis: Arc<Kinesis>,
}

impl AdminApi {
    pub fn new(kinesis: Arc<Kinesis>) -> Arc<AdminApi> {
        Arc::new(AdminApi { kinesis })
    }
}

impl TargetService for AdminApi {
    fn target_prefix(&self) -> &'static str {
        "SpateAdmin_20261126"
    }

    fn operation(&self, name: &str) -> Option<Operation> {
        (name == "DescribeShardTraffic").then(|| Operation::new("DescribeShardTraffic"))
    }

    fn call(self: Arc<Self>, call: Call) -> BoxFuture<Reply> {
        Box::pin(async move {
            let k = &self.kinesis;
            run(&call, |i| describe_shard_traffic(k, i)).await
        })
    }
}

async fn describe_shard_traffic(
    k: &Arc<Kinesis>,
    i: StreamOnlyInput,
) -> Result<ShardTrafficOutput, ApiError> {
    let mut v = Validator::new();
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.finish()?;
    k.resharding
        .describe_shard_traffic(&check::stream_ref(&i.stream_name, &i.stream_arn)?)
}
