//! Leases in a DynamoDB table with the KCL's schema, so the table can be shared with KCL 2.x/3.x
//! workers: `leaseKey` (the shard id, HASH), `leaseOwner`, `leaseCounter` (bumped by every
//! renewal), `checkpoint` and `checkpointSubSequenceNumber`, `ownerSwitchesSinceCheckpoint`,
//! `parentShardId` and `childShardIds` (string sets), `startingHashKey`/`endingHashKey`, and the
//! `LeaseOwnerToLeaseKeyIndex` KCL 3.x queries. Every change is a conditional write on the
//! owner and counter last seen, so two workers never both believe they hold a lease.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use std::collections::HashMap;

/// Checkpoint values that are not sequence numbers.
pub const TRIM_HORIZON: &str = "TRIM_HORIZON";
pub const LATEST: &str = "LATEST";
pub const SHARD_END: &str = "SHARD_END";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub shard_id: String,
    pub owner: Option<String>,
    pub counter: u64,
    pub checkpoint: String,
    pub checkpoint_sub_sequence: u64,
    pub owner_switches: u64,
    pub parents: Vec<String>,
    pub children: Vec<String>,
    pub starting_hash_key: u128,
    pub ending_hash_key: u128,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Another worker changed the lease first (its conditional write failed).
    #[error("the lease changed under us")]
    Lost,
    #[error("lease table: {0}")]
    Table(String),
}

fn table_error<E: ProvideErrorMetadata + std::fmt::Display>(e: E) -> LeaseError {
    match e.code() {
        Some("ConditionalCheckFailedException") => LeaseError::Lost,
        _ => LeaseError::Table(format!(
            "{}: {}",
            e.code().unwrap_or("error"),
            e.message().unwrap_or(&e.to_string())
        )),
    }
}

fn built(e: aws_sdk_dynamodb::error::BuildError) -> LeaseError {
    LeaseError::Table(e.to_string())
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl Lease {
    pub fn new(
        shard_id: &str,
        parents: Vec<String>,
        range: (u128, u128),
        checkpoint: &str,
    ) -> Lease {
        Lease {
            shard_id: shard_id.to_string(),
            owner: None,
            counter: 0,
            checkpoint: checkpoint.to_string(),
            checkpoint_sub_sequence: 0,
            owner_switches: 0,
            parents,
            children: Vec::new(),
            starting_hash_key: range.0,
            ending_hash_key: range.1,
        }
    }

    fn item(&self) -> HashMap<String, AttributeValue> {
        let mut item = HashMap::from([
            ("leaseKey".to_string(), s(&self.shard_id)),
            ("leaseCounter".to_string(), n(self.counter)),
            ("checkpoint".to_string(), s(&self.checkpoint)),
            (
                "checkpointSubSequenceNumber".to_string(),
                n(self.checkpoint_sub_sequence),
            ),
            (
                "ownerSwitchesSinceCheckpoint".to_string(),
                n(self.owner_switches),
            ),
            (
                "startingHashKey".to_string(),
                s(self.starting_hash_key.to_string()),
            ),
            (
                "endingHashKey".to_string(),
                s(self.ending_hash_key.to_string()),
            ),
        ]);
        if let Some(owner) = &self.owner {
            item.insert("leaseOwner".into(), s(owner));
        }
        if !self.parents.is_empty() {
            item.insert(
                "parentShardId".into(),
                AttributeValue::Ss(self.parents.clone()),
            );
        }
        if !self.children.is_empty() {
            item.insert(
                "childShardIds".into(),
                AttributeValue::Ss(self.children.clone()),
            );
        }
        item
    }

    fn from_item(item: &HashMap<String, AttributeValue>) -> Option<Lease> {
        let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
        let number = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let set = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_ss().ok())
                .cloned()
                .unwrap_or_default()
        };
        let hash = |k: &str| text(k).and_then(|t| t.parse::<u128>().ok());
        Some(Lease {
            shard_id: text("leaseKey")?,
            owner: text("leaseOwner"),
            counter: number("leaseCounter"),
            checkpoint: text("checkpoint").unwrap_or_else(|| TRIM_HORIZON.into()),
            checkpoint_sub_sequence: number("checkpointSubSequenceNumber"),
            owner_switches: number("ownerSwitchesSinceCheckpoint"),
            parents: set("parentShardId"),
            children: set("childShardIds"),
            starting_hash_key: hash("startingHashKey").unwrap_or(0),
            ending_hash_key: hash("endingHashKey").unwrap_or(u128::MAX),
        })
    }
}

/// The lease table of one application.
#[derive(Clone)]
pub struct LeaseTable {
    client: aws_sdk_dynamodb::Client,
    name: String,
}

impl LeaseTable {
    pub fn new(client: aws_sdk_dynamodb::Client, name: impl Into<String>) -> LeaseTable {
        LeaseTable {
            client,
            name: name.into(),
        }
    }

    /// Creates the table (PAY_PER_REQUEST, with KCL 3.x's owner index) unless it exists, and
    /// waits until it is ACTIVE.
    pub async fn ensure(&self) -> Result<(), LeaseError> {
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let index = GlobalSecondaryIndex::builder()
            .index_name("LeaseOwnerToLeaseKeyIndex")
            .key_schema(key("leaseOwner", KeyType::Hash).map_err(built)?)
            .key_schema(key("leaseKey", KeyType::Range).map_err(built)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::KeysOnly)
                    .build(),
            )
            .build()
            .map_err(built)?;
        let created = self
            .client
            .create_table()
            .table_name(&self.name)
            .key_schema(key("leaseKey", KeyType::Hash).map_err(built)?)
            .attribute_definitions(attribute("leaseKey").map_err(built)?)
            .attribute_definitions(attribute("leaseOwner").map_err(built)?)
            .global_secondary_indexes(index)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceInUseException") => {}
            Err(e) => return Err(table_error(e)),
        }
        for _ in 0..600 {
            let described = self
                .client
                .describe_table()
                .table_name(&self.name)
                .send()
                .await
                .map_err(table_error)?;
            let active = described
                .table()
                .and_then(|t| t.table_status())
                .map(|s| s.as_str())
                == Some("ACTIVE");
            if active {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(LeaseError::Table(format!(
            "table {} did not become ACTIVE",
            self.name
        )))
    }

    /// Every lease (a consistent scan, page by page).
    pub async fn list(&self) -> Result<Vec<Lease>, LeaseError> {
        let mut leases = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.name)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(table_error)?;
            leases.extend(page.items().iter().filter_map(Lease::from_item));
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(leases);
            }
        }
    }

    /// Creates a lease unless one exists for the shard.
    pub async fn create(&self, lease: &Lease) -> Result<bool, LeaseError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(lease.item()))
            .condition_expression("attribute_not_exists(leaseKey)")
            .send()
            .await;
        match put.map_err(table_error) {
            Ok(_) => Ok(true),
            Err(LeaseError::Lost) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Takes `lease` (as last seen) for `owner`: counter bumped, owner switched; the
    /// checkpoint is left as it is (the previous owner may have moved it since the scan) and
    /// read back with the lease.
    pub async fn take(&self, lease: &Lease, owner: &str) -> Result<Lease, LeaseError> {
        let switch = u64::from(lease.owner.as_deref() != Some(owner));
        let mut update = self
            .client
            .update_item()
            .table_name(&self.name)
            .key("leaseKey", s(&lease.shard_id))
            .update_expression("SET leaseOwner = :me, leaseCounter = leaseCounter + :one, ownerSwitchesSinceCheckpoint = if_not_exists(ownerSwitchesSinceCheckpoint, :zero) + :switch")
            .expression_attribute_values(":me", s(owner))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":switch", n(switch))
            .expression_attribute_values(":c", n(lease.counter))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        update = match &lease.owner {
            Some(previous) => update
                .condition_expression("leaseCounter = :c AND leaseOwner = :o")
                .expression_attribute_values(":o", s(previous)),
            None => update
                .condition_expression("leaseCounter = :c AND attribute_not_exists(leaseOwner)"),
        };
        let out = update.send().await.map_err(table_error)?;
        out.attributes()
            .and_then(Lease::from_item)
            .ok_or_else(|| LeaseError::Table("the taken lease came back empty".into()))
    }

    /// Renews a held lease: its counter goes up by one if nobody took it meanwhile.
    pub async fn renew(&self, lease: &Lease, owner: &str) -> Result<u64, LeaseError> {
        self.client
            .update_item()
            .table_name(&self.name)
            .key("leaseKey", s(&lease.shard_id))
            .update_expression("SET leaseCounter = leaseCounter + :one")
            .condition_expression("leaseCounter = :c AND leaseOwner = :o")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":c", n(lease.counter))
            .expression_attribute_values(":o", s(owner))
            .send()
            .await
            .map_err(table_error)?;
        Ok(lease.counter + 1)
    }

    /// Records progress on a lease `owner` holds.
    pub async fn checkpoint(
        &self,
        shard_id: &str,
        owner: &str,
        sequence: &str,
        sub: u64,
    ) -> Result<(), LeaseError> {
        self.client
            .update_item()
            .table_name(&self.name)
            .key("leaseKey", s(shard_id))
            .update_expression("SET checkpoint = :s, checkpointSubSequenceNumber = :n, ownerSwitchesSinceCheckpoint = :zero")
            .condition_expression("leaseOwner = :o")
            .expression_attribute_values(":s", s(sequence))
            .expression_attribute_values(":n", n(sub))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":o", s(owner))
            .send()
            .await
            .map_err(table_error)?;
        Ok(())
    }

    /// Records a finished shard's children on its lease.
    pub async fn set_children(
        &self,
        shard_id: &str,
        children: &[String],
    ) -> Result<(), LeaseError> {
        if children.is_empty() {
            return Ok(());
        }
        self.client
            .update_item()
            .table_name(&self.name)
            .key("leaseKey", s(shard_id))
            .update_expression("SET childShardIds = :c")
            .expression_attribute_values(":c", AttributeValue::Ss(children.to_vec()))
            .send()
            .await
            .map_err(table_error)?;
        Ok(())
    }

    /// Gives a lease up (graceful hand-off): the owner is removed if it is still `owner`.
    pub async fn release(&self, shard_id: &str, owner: &str) -> Result<(), LeaseError> {
        self.client
            .update_item()
            .table_name(&self.name)
            .key("leaseKey", s(shard_id))
            .update_expression("REMOVE leaseOwner")
            .condition_expression("leaseOwner = :o")
            .expression_attribute_values(":o", s(owner))
            .send()
            .await
            .map_err(table_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_round_trip_through_the_kcl_schema() {
        let mut lease = Lease::new(
            "shardId-000000000004",
            vec!["shardId-000000000001".into()],
            (5, u128::MAX),
            TRIM_HORIZON,
        );
        lease.owner = Some("worker-1".into());
        lease.counter = 7;
        lease.children = vec!["shardId-000000000009".into()];
        let item = lease.item();
        assert_eq!(item["leaseKey"], s("shardId-000000000004"));
        assert_eq!(item["leaseCounter"], n(7));
        assert_eq!(
            item["parentShardId"],
            AttributeValue::Ss(vec!["shardId-000000000001".into()])
        );
        assert_eq!(item["endingHashKey"], s(u128::MAX.to_string()));
        assert_eq!(Lease::from_item(&item), Some(lease));
    }
}
