//! Applying an update to an item as DynamoDB does: every SET value is computed from the item as
//! it was before the update, then the actions are applied; paths into maps and lists must lead
//! through existing containers.

use super::eval::{Context, ExprError};
use super::update::{SetValue, Update, Value};
use super::{Path, Step};
use crate::value::{add_numbers, AttributeValue, Item};

fn invalid(message: impl Into<String>) -> ExprError {
    ExprError(message.into())
}

fn wrong_operand(operator: &str, v: &AttributeValue) -> ExprError {
    invalid(format!(
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: {operator}, operand type: {}",
        v.type_name()
    ))
}

/// `base` updated by `update` (names and values through `ctx`).
pub fn apply(ctx: &Context, update: &Update, base: &Item) -> Result<Item, ExprError> {
    check_overlaps(ctx, update)?;
    let mut computed = Vec::with_capacity(update.set.len());
    for (path, value) in &update.set {
        computed.push((path, set_value(ctx, value, base)?));
    }
    let mut item = base.clone();
    for (path, value) in computed {
        assign(ctx, &mut item, path, value)?;
    }
    for path in &update.remove {
        remove(ctx, &mut item, path)?;
    }
    for (path, name) in &update.add {
        add(ctx, &mut item, path, name)?;
    }
    for (path, name) in &update.delete {
        delete(ctx, &mut item, path, name)?;
    }
    Ok(item)
}

/// `ADD path :value`: numbers add, sets unite, a missing attribute takes the value.
fn add(ctx: &Context, item: &mut Item, path: &Path, name: &str) -> Result<(), ExprError> {
    let value = reference(ctx, name)?;
    let current = ctx.lookup(path, Some(item))?.cloned();
    let next = match (current, value) {
        (
            None,
            v @ (AttributeValue::N(_)
            | AttributeValue::SS(_)
            | AttributeValue::NS(_)
            | AttributeValue::BS(_)),
        ) => v,
        (Some(AttributeValue::N(a)), AttributeValue::N(b)) => {
            AttributeValue::N(add_numbers(&a, &b, false).map_err(invalid)?)
        }
        (Some(AttributeValue::SS(a)), AttributeValue::SS(b)) => {
            AttributeValue::SS(union(a, b, |x, y| x == y))
        }
        (Some(AttributeValue::NS(a)), AttributeValue::NS(b)) => {
            AttributeValue::NS(union(a, b, |x, y| {
                crate::value::compare_numbers(x, y) == Some(std::cmp::Ordering::Equal)
            }))
        }
        (Some(AttributeValue::BS(a)), AttributeValue::BS(b)) => {
            AttributeValue::BS(union(a, b, |x, y| x == y))
        }
        (Some(current), v)
            if current.type_name() != v.type_name()
                && matches!(
                    v,
                    AttributeValue::N(_)
                        | AttributeValue::SS(_)
                        | AttributeValue::NS(_)
                        | AttributeValue::BS(_)
                ) =>
        {
            return Err(invalid(
                "An operand in the update expression has an incorrect data type",
            ));
        }
        (_, v) => return Err(wrong_operand("ADD", &v)),
    };
    assign(ctx, item, path, next)?;
    Ok(())
}

/// `DELETE path :value`: set difference; a set left empty is removed.
fn delete(ctx: &Context, item: &mut Item, path: &Path, name: &str) -> Result<(), ExprError> {
    let value = reference(ctx, name)?;
    let Some(current) = ctx.lookup(path, Some(item))?.cloned() else {
        return Ok(());
    };
    let next = match (current, &value) {
        (AttributeValue::SS(a), AttributeValue::SS(b)) => {
            AttributeValue::SS(a.into_iter().filter(|x| !b.contains(x)).collect())
        }
        (AttributeValue::NS(a), AttributeValue::NS(b)) => AttributeValue::NS(
            a.into_iter()
                .filter(|x| {
                    !b.iter().any(|y| {
                        crate::value::compare_numbers(x, y) == Some(std::cmp::Ordering::Equal)
                    })
                })
                .collect(),
        ),
        (AttributeValue::BS(a), AttributeValue::BS(b)) => {
            AttributeValue::BS(a.into_iter().filter(|x| !b.contains(x)).collect())
        }
        (AttributeValue::SS(_) | AttributeValue::NS(_) | AttributeValue::BS(_), _) => {
            return Err(invalid(
                "An operand in the update expression has an incorrect data type",
            ))
        }
        (_, v) => return Err(wrong_operand("DELETE", v)),
    };
    let empty = matches!(&next, AttributeValue::SS(s) | AttributeValue::NS(s) if s.is_empty())
        || matches!(&next, AttributeValue::BS(s) if s.is_empty());
    if empty {
        remove(ctx, item, path)?;
    } else {
        assign(ctx, item, path, next)?;
    }
    Ok(())
}

fn union<T: Clone>(mut a: Vec<T>, b: Vec<T>, eq: impl Fn(&T, &T) -> bool) -> Vec<T> {
    for x in b {
        if !a.iter().any(|y| eq(y, &x)) {
            a.push(x);
        }
    }
    a
}

fn reference(ctx: &Context, name: &str) -> Result<AttributeValue, ExprError> {
    ctx.values.get(name).cloned().ok_or_else(|| {
        invalid(format!(
            "Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: {name}"
        ))
    })
}

fn value(ctx: &Context, v: &Value, base: &Item) -> Result<AttributeValue, ExprError> {
    match v {
        Value::Ref(name) => reference(ctx, name),
        Value::Path(p) => ctx.lookup(p, Some(base))?.cloned().ok_or_else(|| {
            invalid(
                "The provided expression refers to an attribute that does not exist in the item",
            )
        }),
        Value::IfNotExists(p, default) => match ctx.lookup(p, Some(base))? {
            Some(v) => Ok(v.clone()),
            None => value(ctx, default, base),
        },
        Value::ListAppend(a, b) => match (value(ctx, a, base)?, value(ctx, b, base)?) {
            (AttributeValue::L(mut a), AttributeValue::L(b)) => {
                a.extend(b);
                Ok(AttributeValue::L(a))
            }
            (AttributeValue::L(_), other) | (other, _) => Err(wrong_operand("list_append", &other)),
        },
    }
}

fn set_value(ctx: &Context, v: &SetValue, base: &Item) -> Result<AttributeValue, ExprError> {
    let arithmetic = |a: &Value, b: &Value, subtract: bool| -> Result<AttributeValue, ExprError> {
        let operator = if subtract { "-" } else { "+" };
        match (value(ctx, a, base)?, value(ctx, b, base)?) {
            (AttributeValue::N(a), AttributeValue::N(b)) => Ok(AttributeValue::N(
                add_numbers(&a, &b, subtract).map_err(invalid)?,
            )),
            (AttributeValue::N(_), other) | (other, _) => Err(wrong_operand(operator, &other)),
        }
    };
    match v {
        SetValue::Just(v) => value(ctx, v, base),
        SetValue::Plus(a, b) => arithmetic(a, b, false),
        SetValue::Minus(a, b) => arithmetic(a, b, true),
    }
}

fn path_invalid() -> ExprError {
    invalid("The document path provided in the update expression is invalid for update")
}

/// Sets the value at `path`, through existing maps and lists.
fn assign(ctx: &Context, item: &mut Item, path: &Path, v: AttributeValue) -> Result<(), ExprError> {
    let (first, rest) = split(ctx, path)?;
    if rest.is_empty() {
        item.insert(first, v);
        return Ok(());
    }
    let mut current = item.get_mut(&first).ok_or_else(path_invalid)?;
    for (i, step) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        current = match (step, current) {
            (Step::Name(n), AttributeValue::M(map)) => {
                let n = ctx.name(n)?;
                if last {
                    map.insert(n, v);
                    return Ok(());
                }
                map.get_mut(&n).ok_or_else(path_invalid)?
            }
            (Step::Index(at), AttributeValue::L(list)) => {
                if last {
                    // Past the end: DynamoDB appends.
                    match list.get_mut(*at) {
                        Some(slot) => *slot = v,
                        None => list.push(v),
                    }
                    return Ok(());
                }
                list.get_mut(*at).ok_or_else(path_invalid)?
            }
            _ => return Err(path_invalid()),
        };
    }
    Ok(())
}

/// Removes the value at `path`; a path that leads nowhere is left alone.
fn remove(ctx: &Context, item: &mut Item, path: &Path) -> Result<(), ExprError> {
    let (first, rest) = split(ctx, path)?;
    if rest.is_empty() {
        item.remove(&first);
        return Ok(());
    }
    let Some(mut current) = item.get_mut(&first) else {
        return Ok(());
    };
    for (i, step) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        let next = match (step, current) {
            (Step::Name(n), AttributeValue::M(map)) => {
                let n = ctx.name(n)?;
                if last {
                    map.remove(&n);
                    return Ok(());
                }
                map.get_mut(&n)
            }
            (Step::Index(at), AttributeValue::L(list)) => {
                if last {
                    if *at < list.len() {
                        list.remove(*at);
                    }
                    return Ok(());
                }
                list.get_mut(*at)
            }
            _ => None,
        };
        match next {
            Some(n) => current = n,
            None => return Ok(()),
        }
    }
    Ok(())
}

fn split<'p>(ctx: &Context, path: &'p Path) -> Result<(String, &'p [Step]), ExprError> {
    match path.0.split_first() {
        Some((Step::Name(n), rest)) => Ok((ctx.name(n)?, rest)),
        _ => Err(path_invalid()),
    }
}

/// The top-level attribute names an update touches (to refuse changes to key attributes).
pub fn touched(ctx: &Context, update: &Update) -> Result<Vec<String>, ExprError> {
    let paths = update
        .set
        .iter()
        .map(|(p, _)| p)
        .chain(&update.remove)
        .chain(update.add.iter().map(|(p, _)| p))
        .chain(update.delete.iter().map(|(p, _)| p));
    paths
        .map(|p| split(ctx, p).map(|(first, _)| first))
        .collect()
}

/// Two actions on the same path, or one inside the other, are refused as DynamoDB refuses them.
fn check_overlaps(ctx: &Context, update: &Update) -> Result<(), ExprError> {
    let paths: Vec<&Path> = update
        .set
        .iter()
        .map(|(p, _)| p)
        .chain(&update.remove)
        .chain(update.add.iter().map(|(p, _)| p))
        .chain(update.delete.iter().map(|(p, _)| p))
        .collect();
    let mut resolved = Vec::with_capacity(paths.len());
    for p in paths {
        let mut steps = Vec::new();
        for s in &p.0 {
            steps.push(match s {
                Step::Name(n) => ctx.name(n)?,
                Step::Index(i) => format!("[{i}]"),
            });
        }
        resolved.push(steps);
    }
    for (i, a) in resolved.iter().enumerate() {
        for b in &resolved[i + 1..] {
            let n = a.len().min(b.len());
            if a[..n] == b[..n] {
                return Err(invalid(format!(
                    "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [{}], path two: [{}]",
                    a.join(", "),
                    b.join(", ")
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse_update;
    use std::collections::HashMap;

    fn run(expr: &str, base: &str) -> Result<Item, ExprError> {
        let names = HashMap::from([("#c".to_string(), "leaseCounter".to_string())]);
        let values: HashMap<String, AttributeValue> = serde_json::from_str(
            r#"{":one":{"N":"1"},":w":{"S":"w2"},":l":{"L":[{"S":"z"}]},":s":{"SS":["b","c"]},":e":{"L":[]}}"#,
        )
        .unwrap();
        let ctx = Context {
            names: &names,
            values: &values,
            expression: "UpdateExpression",
        };
        let base: Item = serde_json::from_str(base).unwrap();
        apply(&ctx, &parse_update(expr).unwrap(), &base)
    }

    const LEASE: &str = r#"{"leaseKey":{"S":"s-0"},"leaseCounter":{"N":"41"},"m":{"M":{"l":{"L":[{"S":"x"}]}}},"tags":{"SS":["a","b"]}}"#;

    #[test]
    fn set_remove_add_delete() {
        let out = run("SET #c = #c + :one, owner = :w, m.l[5] = :w, fresh = list_append(if_not_exists(fresh, :e), :l) REMOVE nothing ADD n :one, tags :s DELETE gone :s", LEASE).unwrap();
        assert_eq!(out["leaseCounter"], AttributeValue::N("42".into()));
        assert_eq!(out["owner"], AttributeValue::S("w2".into()));
        assert_eq!(
            serde_json::to_string(&out["m"]).unwrap(),
            r#"{"M":{"l":{"L":[{"S":"x"},{"S":"w2"}]}}}"#
        );
        assert_eq!(
            out["fresh"],
            AttributeValue::L(vec![AttributeValue::S("z".into())])
        );
        assert_eq!(out["n"], AttributeValue::N("1".into()));
        assert_eq!(
            out["tags"],
            AttributeValue::SS(vec!["a".into(), "b".into(), "c".into()])
        );
        let out = run("DELETE tags :s REMOVE m.l[0]", LEASE).unwrap();
        assert_eq!(out["tags"], AttributeValue::SS(vec!["a".into()]));
        assert_eq!(
            serde_json::to_string(&out["m"]).unwrap(),
            r#"{"M":{"l":{"L":[]}}}"#
        );
    }

    #[test]
    fn errors_are_dynamodbs() {
        assert_eq!(
            run("SET a = missing", LEASE).unwrap_err().0,
            "The provided expression refers to an attribute that does not exist in the item"
        );
        assert!(run("SET a = leaseKey + :one", LEASE)
            .unwrap_err()
            .0
            .ends_with("operator or function: +, operand type: S"));
        assert!(run("SET x.y = :one", LEASE)
            .unwrap_err()
            .0
            .contains("document path provided in the update expression is invalid"));
        assert!(run("SET a = :one REMOVE a", LEASE)
            .unwrap_err()
            .0
            .contains("Two document paths overlap"));
        assert!(run("ADD leaseKey :one", LEASE).is_err());
    }
}
