//! Scan and Query: pages of at most `Limit` items (and about 1 MB), `LastEvaluatedKey` to go
//! on, FilterExpression after the page is read (so Count may be below ScannedCount), parallel
//! scan segments, Query on the table's or a secondary index's key.

use super::items::table;
use super::request::{Expressions, Prepared};
use crate::expr::{Comparator, Condition, Context, Function, Operand, Path, Step};
use crate::service::Table;
use crate::tables::{invalid, IndexDef, KeySchemaElement};
use crate::value::{AttributeValue, Item};
use crate::DynamoDb;
use serde::{Deserialize, Serialize};
use spate_wire::ApiError;
use std::cmp::Ordering;

/// A page holds about this many bytes of items at most, as DynamoDB's 1 MB.
const PAGE_MAX_BYTES: usize = 1 << 20;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ReadInput {
    table_name: Option<String>,
    index_name: Option<String>,
    limit: Option<usize>,
    exclusive_start_key: Option<Item>,
    segment: Option<u32>,
    total_segments: Option<u32>,
    select: Option<String>,
    scan_index_forward: Option<bool>,
    #[serde(flatten)]
    expressions: Expressions,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Page {
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<Vec<Item>>,
    count: usize,
    scanned_count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_evaluated_key: Option<Item>,
}

/// The key schema a read goes by: the table's, or an index's with its projection.
struct Source<'t> {
    table: &'t Table,
    index: Option<&'t IndexDef>,
}

impl<'t> Source<'t> {
    fn new(table: &'t Table, index_name: &Option<String>) -> Result<Source<'t>, ApiError> {
        let index = match index_name {
            None => None,
            Some(name) => Some(
                table
                    .def
                    .indexes
                    .iter()
                    .find(|i| &i.index_name == name)
                    .ok_or_else(|| {
                        invalid(format!(
                            "The table does not have the specified index: {name}"
                        ))
                    })?,
            ),
        };
        Ok(Source { table, index })
    }

    fn schema(&self) -> &'t [KeySchemaElement] {
        match self.index {
            Some(i) => &i.key_schema,
            None => &self.table.def.key_schema,
        }
    }

    /// The items the source holds (an index holds only items with its key attributes), in the
    /// order pages go through them.
    fn items(&self) -> Vec<(&'t String, &'t Item)> {
        let keys: Vec<&str> = self
            .schema()
            .iter()
            .map(|k| k.attribute_name.as_str())
            .collect();
        self.table
            .items
            .iter()
            .filter(|(_, item)| keys.iter().all(|k| item.contains_key(*k)))
            .collect()
    }

    /// LastEvaluatedKey: the table's key attributes, and the index's for an index.
    fn page_key(&self, item: &Item) -> Item {
        let mut names: Vec<&str> = self
            .table
            .def
            .key_schema
            .iter()
            .map(|k| k.attribute_name.as_str())
            .collect();
        names.extend(self.schema().iter().map(|k| k.attribute_name.as_str()));
        item.iter()
            .filter(|(k, _)| names.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// What an index projects of an item (all of it for the table and ALL indexes).
    fn projected(&self, item: &Item) -> Item {
        let Some(index) = self.index else {
            return item.clone();
        };
        let kind = index.projection.projection_type.as_deref().unwrap_or("ALL");
        if kind == "ALL" {
            return item.clone();
        }
        let mut keep = self.page_key(item);
        if kind == "INCLUDE" {
            for name in index.projection.non_key_attributes.iter().flatten() {
                if let Some(v) = item.get(name) {
                    keep.insert(name.clone(), v.clone());
                }
            }
        }
        keep
    }
}

/// The projection of `item` onto `paths`, nested as the paths are.
pub(super) fn project(ctx: &Context, item: &Item, paths: &[Path]) -> Result<Item, ApiError> {
    let mut out = Item::new();
    for path in paths {
        let Some(value) = ctx.lookup(path, Some(item)).map_err(|e| invalid(e.0))? else {
            continue;
        };
        let mut steps = path.0.iter().rev();
        let mut built = value.clone();
        let mut first = None;
        for (i, step) in steps.by_ref().enumerate() {
            let is_first = i + 1 == path.0.len();
            match step {
                Step::Name(n) if is_first => first = Some(ctx.name(n).map_err(|e| invalid(e.0))?),
                Step::Name(n) => {
                    let n = ctx.name(n).map_err(|e| invalid(e.0))?;
                    built = AttributeValue::M([(n, built)].into_iter().collect());
                }
                Step::Index(_) => built = AttributeValue::L(vec![built]),
            }
        }
        if let Some(name) = first {
            merge(out.entry(name).or_insert(AttributeValue::Null(true)), built);
        }
    }
    Ok(out)
}

fn merge(into: &mut AttributeValue, value: AttributeValue) {
    match (into, value) {
        (AttributeValue::M(a), AttributeValue::M(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (AttributeValue::L(a), AttributeValue::L(b)) => a.extend(b),
        (slot, value) => *slot = value,
    }
}

/// Pages through `candidates` (already in order, after ExclusiveStartKey), filtering and
/// projecting.
fn page<'t>(
    source: &Source<'t>,
    prepared: &Prepared,
    candidates: impl Iterator<Item = &'t Item>,
    limit: Option<usize>,
    count_only: bool,
) -> Result<Page, ApiError> {
    let ctx = prepared.context("FilterExpression");
    let (mut items, mut scanned, mut count, mut bytes) = (Vec::new(), 0usize, 0usize, 0usize);
    let mut last = None;
    let mut candidates = candidates.peekable();
    while let Some(item) = candidates.next() {
        scanned += 1;
        let item = source.projected(item);
        let keep = match &prepared.filter {
            Some(filter) => ctx.holds(filter, Some(&item)).map_err(|e| invalid(e.0))?,
            None => true,
        };
        if keep {
            count += 1;
            bytes += item.iter().map(|(k, v)| k.len() + v.size()).sum::<usize>();
            if !count_only {
                items.push(match &prepared.projection {
                    Some(paths) => {
                        project(&prepared.context("ProjectionExpression"), &item, paths)?
                    }
                    None => item.clone(),
                });
            }
        }
        let full = limit.is_some_and(|l| scanned >= l) || bytes >= PAGE_MAX_BYTES;
        if full && candidates.peek().is_some() {
            last = Some(source.page_key(&item));
            break;
        }
    }
    Ok(Page {
        items: (!count_only).then_some(items),
        count,
        scanned_count: scanned,
        last_evaluated_key: last,
    })
}

fn check_limit(limit: Option<usize>) -> Result<(), ApiError> {
    if limit == Some(0) {
        return Err(invalid("1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"));
    }
    Ok(())
}

fn count_only(select: &Option<String>) -> Result<bool, ApiError> {
    match select.as_deref() {
        None | Some("ALL_ATTRIBUTES" | "ALL_PROJECTED_ATTRIBUTES" | "SPECIFIC_ATTRIBUTES") => Ok(false),
        Some("COUNT") => Ok(true),
        Some(other) => Err(invalid(format!("1 validation error detected: Value '{other}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"))),
    }
}

/// A stable segment for an item key (parallel scans see each item in exactly one segment).
fn segment_of(key: &str, total: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h % total.max(1)
}

pub async fn scan(db: &DynamoDb, input: ReadInput) -> Result<Page, ApiError> {
    check_limit(input.limit)?;
    let count_only = count_only(&input.select)?;
    let segments = match (input.segment, input.total_segments) {
        (None, None) => None,
        (Some(s), Some(t)) if (1..=1_000_000).contains(&t) && s < t => Some((s, t)),
        (Some(s), Some(t)) if s >= t => return Err(invalid(format!("The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {s} is not less than TotalSegments: {t}"))),
        _ => return Err(invalid("The TotalSegments parameter is required but was not present in the request when Segment parameter is present")),
    };
    let prepared = input.expressions.prepare()?;
    if prepared.key_condition.is_some() || prepared.update.is_some() || prepared.condition.is_some()
    {
        return Err(invalid(
            "Scan takes FilterExpression and ProjectionExpression only",
        ));
    }
    let mut tables = db.tables.lock().await;
    let table = table(&mut tables, &input.table_name)?;
    let source = Source::new(table, &input.index_name)?;
    let start = match &input.exclusive_start_key {
        Some(k) => Some(table.def.key_of(k, false)?),
        None => None,
    };
    let candidates = source
        .items()
        .into_iter()
        .filter(|(k, _)| start.as_ref().is_none_or(|s| *k > s))
        .filter(|(k, _)| segments.is_none_or(|(s, t)| segment_of(k, t) == s))
        .map(|(_, item)| item);
    page(&source, &prepared, candidates, input.limit, count_only)
}

/// A KeyConditionExpression, taken apart: the partition key's value and the sort key's
/// condition.
struct KeyCondition {
    hash: AttributeValue,
    range: Option<Condition>,
}

fn key_condition(source: &Source, prepared: &Prepared) -> Result<KeyCondition, ApiError> {
    let Some(condition) = &prepared.key_condition else {
        return Err(invalid("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."));
    };
    let ctx = prepared.context("KeyConditionExpression");
    let schema = source.schema();
    let hash_name = schema
        .first()
        .map(|k| k.attribute_name.as_str())
        .unwrap_or_default();
    let range_name = schema.get(1).map(|k| k.attribute_name.as_str());
    let parts: Vec<&Condition> = match condition {
        Condition::And(a, b) => vec![a, b],
        other => vec![other],
    };
    let names_of = |c: &Condition| -> Result<Option<String>, ApiError> {
        let path = match c {
            Condition::Compare(Operand::Path(p), _, Operand::Value(_))
            | Condition::Between(Operand::Path(p), Operand::Value(_), Operand::Value(_))
            | Condition::Call(Function::BeginsWith, p, Operand::Value(_)) => p,
            _ => return Ok(None),
        };
        match path.0.as_slice() {
            [Step::Name(n)] => ctx.name(n).map(Some).map_err(|e| invalid(e.0)),
            _ => Ok(None),
        }
    };
    let (mut hash, mut range) = (None, None);
    for part in parts {
        let name = names_of(part)?.ok_or_else(|| {
            invalid("Invalid KeyConditionExpression: Query key condition not supported")
        })?;
        if name == hash_name {
            let Condition::Compare(_, Comparator::Eq, Operand::Value(v)) = part else {
                return Err(invalid("Query key condition not supported"));
            };
            hash = ctx.values.get(v).cloned();
        } else if Some(name.as_str()) == range_name {
            if matches!(part, Condition::Compare(_, Comparator::Ne, _)) {
                return Err(invalid(
                    "Unsupported operator on KeyConditionExpression: operator: <>",
                ));
            }
            range = Some(part.clone());
        } else {
            return Err(invalid(format!(
                "Query condition missed key schema element: {hash_name}"
            )));
        }
    }
    let hash = hash.ok_or_else(|| {
        invalid(format!(
            "Query condition missed key schema element: {hash_name}"
        ))
    })?;
    Ok(KeyCondition { hash, range })
}

fn order(a: Option<&AttributeValue>, b: Option<&AttributeValue>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.compare(b).unwrap_or(Ordering::Equal),
        _ => Ordering::Equal,
    }
}

pub async fn query(db: &DynamoDb, input: ReadInput) -> Result<Page, ApiError> {
    check_limit(input.limit)?;
    let count_only = count_only(&input.select)?;
    let prepared = input.expressions.prepare()?;
    let mut tables = db.tables.lock().await;
    let table = table(&mut tables, &input.table_name)?;
    let source = Source::new(table, &input.index_name)?;
    let keys = key_condition(&source, &prepared)?;
    let schema = source.schema();
    let hash_name = schema.first().map_or("", |k| k.attribute_name.as_str());
    let range_name = schema.get(1).map(|k| k.attribute_name.as_str());
    let ctx = prepared.context("KeyConditionExpression");
    let mut matching: Vec<(&String, &Item)> = Vec::new();
    for (key, item) in source.items() {
        if !item.get(hash_name).is_some_and(|h| h.same(&keys.hash)) {
            continue;
        }
        if let Some(range) = &keys.range {
            if !ctx.holds(range, Some(item)).map_err(|e| invalid(e.0))? {
                continue;
            }
        }
        matching.push((key, item));
    }
    // By sort key, then by the table key (an index's sort key need not be unique).
    matching.sort_by(|(ka, a), (kb, b)| {
        order(
            range_name.and_then(|r| a.get(r)),
            range_name.and_then(|r| b.get(r)),
        )
        .then_with(|| ka.cmp(kb))
    });
    if input.scan_index_forward == Some(false) {
        matching.reverse();
    }
    let start = match &input.exclusive_start_key {
        Some(k) => Some(table.def.key_of(k, false)?),
        None => None,
    };
    let skip = match &start {
        Some(s) => matching
            .iter()
            .position(|(k, _)| *k == s)
            .map_or(0, |p| p + 1),
        None => 0,
    };
    let candidates = matching.into_iter().skip(skip).map(|(_, item)| item);
    page(&source, &prepared, candidates, input.limit, count_only)
}
