//! TransactWriteItems: up to 100 puts, updates, deletes and condition checks, all or nothing.
//! Every condition is checked before anything is written; the writes go to the catalog in one
//! transaction, so a crash leaves all of them or none.

use super::items::{check_item, table};
use super::request::Expressions;
use super::update::updated;
use crate::service::DynamoDb;
use crate::tables::invalid;
use crate::value::Item;
use serde::{Deserialize, Serialize};
use spate_wire::{ApiError, CancellationReason, ErrorKind};

/// The most actions one transaction takes.
const TRANSACTION_MAX_ITEMS: usize = 100;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct TransactInput {
    #[serde(default)]
    transact_items: Vec<Action>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Action {
    put: Option<Part>,
    update: Option<Part>,
    delete: Option<Part>,
    condition_check: Option<Part>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Part {
    table_name: Option<String>,
    key: Option<Item>,
    item: Option<Item>,
    #[serde(flatten)]
    expressions: Expressions,
}

#[derive(Serialize, Default)]
pub struct Done {}

enum Kind {
    Put,
    Update,
    Delete,
    Check,
}

/// One action, checked against the current items: its cancellation reason, and the write it
/// would make (`Some(None)` deletes; `None` for a condition check).
struct Planned {
    table: String,
    key: String,
    reason: CancellationReason,
    after: Option<Option<Item>>,
}

fn plan(tables: &mut Tables, action: Action, planned: &[Planned]) -> Result<Planned, ApiError> {
    let (kind, part) = match action {
        Action { put: Some(p), .. } => (Kind::Put, p),
        Action {
            update: Some(p), ..
        } => (Kind::Update, p),
        Action {
            delete: Some(p), ..
        } => (Kind::Delete, p),
        Action {
            condition_check: Some(p),
            ..
        } => (Kind::Check, p),
        _ => {
            return Err(invalid(
                "TransactItems can only contain one of Check, Put, Update or Delete",
            ))
        }
    };
    let prepared = part.expressions.prepare()?;
    let table = table(tables, &part.table_name)?;
    let keyed = match (&kind, &part.item, &part.key) {
        (Kind::Put, Some(item), _) => item,
        (Kind::Put, None, _) => return Err(invalid("1 validation error detected: Value null at 'transactItems.member.put.item' failed to satisfy constraint: Member must not be null")),
        (_, _, Some(key)) => key,
        (_, _, None) => return Err(invalid("1 validation error detected: Value null at 'transactItems.member.key' failed to satisfy constraint: Member must not be null")),
    };
    let key = table.def.key_of(keyed, !matches!(kind, Kind::Put))?;
    if planned
        .iter()
        .any(|p| p.table == table.def.name && p.key == key)
    {
        return Err(invalid(
            "Transaction request cannot include multiple operations on one item",
        ));
    }
    let current = table.items.get(&key);
    let reason = match prepared.check(current) {
        Ok(()) => CancellationReason {
            code: "None".into(),
            message: None,
        },
        Err(e) if e.kind == ErrorKind::ConditionalCheckFailed => CancellationReason {
            code: "ConditionalCheckFailed".into(),
            message: Some("The conditional request failed".into()),
        },
        Err(e) => return Err(e),
    };
    let after = match kind {
        Kind::Put => {
            let item = part.item.unwrap_or_default();
            check_item(&item)?;
            Some(Some(item))
        }
        Kind::Update => {
            let base = current.cloned().unwrap_or_else(|| keyed.clone());
            let (item, _) = updated(&table.def, &prepared, &base)?;
            check_item(&item)?;
            Some(Some(item))
        }
        Kind::Delete => Some(None),
        Kind::Check => None,
    };
    Ok(Planned {
        table: table.def.name.clone(),
        key,
        reason,
        after,
    })
}

type Tables = std::collections::BTreeMap<String, crate::service::Table>;

pub async fn write(db: &DynamoDb, input: TransactInput) -> Result<Done, ApiError> {
    let count = input.transact_items.len();
    if !(1..=TRANSACTION_MAX_ITEMS).contains(&count) {
        return Err(invalid(format!("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to {TRANSACTION_MAX_ITEMS} and greater than or equal to 1")));
    }
    let mut tables = db.tables.lock().await;
    let mut planned: Vec<Planned> = Vec::with_capacity(count);
    for action in input.transact_items {
        let next = plan(&mut tables, action, &planned)?;
        planned.push(next);
    }
    if planned.iter().any(|p| p.reason.code != "None") {
        let codes: Vec<&str> = planned.iter().map(|p| p.reason.code.as_str()).collect();
        let mut e = ApiError::new(
            ErrorKind::TransactionCanceled,
            format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
        );
        e.cancellation_reasons = planned.into_iter().map(|p| p.reason).collect();
        return Err(e);
    }
    let writes: Vec<(String, String, Option<Item>)> = planned
        .into_iter()
        .filter_map(|p| p.after.map(|a| (p.table, p.key, a)))
        .collect();
    db.save_items(&writes).await?;
    for (t, k, after) in writes {
        if let Some(table) = tables.get_mut(&t) {
            match after {
                Some(item) => table.items.insert(k, item),
                None => table.items.remove(&k),
            };
        }
    }
    Ok(Done {})
}
