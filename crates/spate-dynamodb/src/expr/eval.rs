//! Evaluating a condition against an item (or against no item, as a PutItem on a new key
//! does): DynamoDB's semantics, where a comparison with a missing attribute or of different
//! types is false, not an error.

use super::{Comparator, Condition, Function, Operand, Path, Step};
use crate::value::{AttributeValue, Item};
use std::cmp::Ordering;
use std::collections::HashMap;

/// What placeholders resolve to, and which expression they came from (for error texts).
pub struct Context<'a> {
    pub names: &'a HashMap<String, String>,
    pub values: &'a HashMap<String, AttributeValue>,
    /// `ConditionExpression`, `KeyConditionExpression`, ...
    pub expression: &'static str,
}

/// An expression that names something the request did not define: ValidationException.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError(pub String);

impl Context<'_> {
    pub fn holds(&self, condition: &Condition, item: Option<&Item>) -> Result<bool, ExprError> {
        Ok(match condition {
            Condition::And(a, b) => self.holds(a, item)? && self.holds(b, item)?,
            Condition::Or(a, b) => self.holds(a, item)? || self.holds(b, item)?,
            Condition::Not(a) => !self.holds(a, item)?,
            Condition::Exists(p) => self.lookup(p, item)?.is_some(),
            Condition::NotExists(p) => self.lookup(p, item)?.is_none(),
            Condition::Compare(a, op, b) => {
                let (a, b) = (self.operand(a, item)?, self.operand(b, item)?);
                match (a, b) {
                    (Some(a), Some(b)) => compare(&a, *op, &b),
                    _ => false,
                }
            }
            Condition::Between(x, lo, hi) => {
                let (x, lo, hi) = (
                    self.operand(x, item)?,
                    self.operand(lo, item)?,
                    self.operand(hi, item)?,
                );
                match (x, lo, hi) {
                    (Some(x), Some(lo), Some(hi)) => {
                        compare(&x, Comparator::Ge, &lo) && compare(&x, Comparator::Le, &hi)
                    }
                    _ => false,
                }
            }
            Condition::In(x, list) => {
                let Some(x) = self.operand(x, item)? else {
                    return Ok(false);
                };
                let mut found = false;
                for candidate in list {
                    if let Some(c) = self.operand(candidate, item)? {
                        found |= x.same(&c);
                    }
                }
                found
            }
            Condition::Call(f, p, o) => {
                let (target, arg) = (self.lookup(p, item)?, self.operand(o, item)?);
                match (target, arg) {
                    (Some(target), Some(arg)) => call(*f, target, &arg),
                    _ => false,
                }
            }
        })
    }

    fn operand(
        &self,
        operand: &Operand,
        item: Option<&Item>,
    ) -> Result<Option<AttributeValue>, ExprError> {
        match operand {
            Operand::Value(name) => self.values.get(name).cloned().map(Some).ok_or_else(|| {
                ExprError(format!(
                    "Invalid {}: An expression attribute value used in expression is not defined; attribute value: {name}",
                    self.expression
                ))
            }),
            Operand::Path(p) => Ok(self.lookup(p, item)?.cloned()),
            Operand::Size(p) => Ok(self.lookup(p, item)?.and_then(size_of)),
        }
    }

    /// The value at `path` in `item`.
    pub fn lookup<'i>(
        &self,
        path: &Path,
        item: Option<&'i Item>,
    ) -> Result<Option<&'i AttributeValue>, ExprError> {
        let mut steps = path.0.iter();
        let Some(Step::Name(first)) = steps.next() else {
            return Ok(None);
        };
        let first = self.name(first)?;
        let Some(mut current) = item.and_then(|i| i.get(first.as_str())) else {
            // Resolve the remaining names anyway: an undefined placeholder is an error even
            // when the item lacks the attribute.
            for step in steps {
                if let Step::Name(n) = step {
                    self.name(n)?;
                }
            }
            return Ok(None);
        };
        for step in steps {
            let next = match (step, current) {
                (Step::Name(n), AttributeValue::M(map)) => map.get(self.name(n)?.as_str()),
                (Step::Index(i), AttributeValue::L(list)) => list.get(*i),
                _ => None,
            };
            match next {
                Some(v) => current = v,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// A plain name, or what a `#name` placeholder stands for.
    pub fn name(&self, name: &str) -> Result<String, ExprError> {
        if !name.starts_with('#') {
            return Ok(name.to_string());
        }
        self.names.get(name).cloned().ok_or_else(|| {
            ExprError(format!(
                "Invalid {}: An expression attribute name used in the document path is not defined; attribute name: {name}",
                self.expression
            ))
        })
    }
}

fn size_of(value: &AttributeValue) -> Option<AttributeValue> {
    let n = match value {
        AttributeValue::S(s) => s.chars().count(),
        AttributeValue::B(b) => b.len(),
        AttributeValue::SS(s) => s.len(),
        AttributeValue::NS(s) => s.len(),
        AttributeValue::BS(s) => s.len(),
        AttributeValue::M(m) => m.len(),
        AttributeValue::L(l) => l.len(),
        _ => return None,
    };
    Some(AttributeValue::N(n.to_string()))
}

fn compare(a: &AttributeValue, op: Comparator, b: &AttributeValue) -> bool {
    match op {
        Comparator::Eq => a.same(b),
        Comparator::Ne => !a.same(b),
        _ => match a.compare(b) {
            Some(order) => match op {
                Comparator::Lt => order == Ordering::Less,
                Comparator::Le => order != Ordering::Greater,
                Comparator::Gt => order == Ordering::Greater,
                _ => order != Ordering::Less,
            },
            None => false,
        },
    }
}

fn call(f: Function, target: &AttributeValue, arg: &AttributeValue) -> bool {
    match (f, target, arg) {
        (Function::AttributeType, t, AttributeValue::S(name)) => t.type_name() == name,
        (Function::BeginsWith, AttributeValue::S(s), AttributeValue::S(p)) => {
            s.starts_with(p.as_str())
        }
        (Function::BeginsWith, AttributeValue::B(s), AttributeValue::B(p)) => s.starts_with(p),
        (Function::Contains, AttributeValue::S(s), AttributeValue::S(p)) => s.contains(p.as_str()),
        (Function::Contains, AttributeValue::SS(set), AttributeValue::S(x)) => set.contains(x),
        (Function::Contains, AttributeValue::NS(_), AttributeValue::N(_))
        | (Function::Contains, AttributeValue::BS(_), AttributeValue::B(_)) => {
            members(target).iter().any(|m| m.same(arg))
        }
        (Function::Contains, AttributeValue::L(list), x) => list.iter().any(|m| m.same(x)),
        _ => false,
    }
}

fn members(set: &AttributeValue) -> Vec<AttributeValue> {
    match set {
        AttributeValue::NS(n) => n.iter().cloned().map(AttributeValue::N).collect(),
        AttributeValue::BS(b) => b.iter().cloned().map(AttributeValue::B).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse_condition;

    fn check(expr: &str, item: Option<&Item>) -> Result<bool, ExprError> {
        let names = HashMap::from([("#o".to_string(), "leaseOwner".to_string())]);
        let values = HashMap::from([
            (":c".to_string(), AttributeValue::N("7".into())),
            (":w".to_string(), AttributeValue::S("worker-1".into())),
            (":p".to_string(), AttributeValue::S("work".into())),
            (":t".to_string(), AttributeValue::S("N".into())),
        ]);
        let context = Context {
            names: &names,
            values: &values,
            expression: "ConditionExpression",
        };
        context.holds(&parse_condition(expr).unwrap(), item)
    }

    #[test]
    fn conditions_hold_as_dynamodb_decides() {
        let lease: Item = serde_json::from_str(
            r#"{"leaseKey":{"S":"shardId-0"},"leaseCounter":{"N":"7.0"},"leaseOwner":{"S":"worker-1"},"parents":{"L":[{"S":"a"}]}}"#,
        )
        .unwrap();
        assert_eq!(check("attribute_not_exists(eventId)", None), Ok(true));
        assert_eq!(
            check("attribute_not_exists(leaseKey)", Some(&lease)),
            Ok(false)
        );
        assert_eq!(
            check("leaseCounter = :c AND #o = :w", Some(&lease)),
            Ok(true)
        );
        assert_eq!(check("leaseCounter < :c", Some(&lease)), Ok(false));
        assert_eq!(
            check("leaseCounter BETWEEN :c AND :c", Some(&lease)),
            Ok(true)
        );
        assert_eq!(
            check(
                "begins_with(#o, :p) AND attribute_type(leaseCounter, :t)",
                Some(&lease)
            ),
            Ok(true)
        );
        assert_eq!(
            check("size(parents) = :c OR parents[0] IN (:w, :p)", Some(&lease)),
            Ok(false)
        );
        assert_eq!(
            check("missing = :c", Some(&lease)),
            Ok(false),
            "a missing attribute compares false"
        );
        assert_eq!(check("NOT missing = :c", Some(&lease)), Ok(true));
        assert_eq!(
            check("leaseKey < :c", Some(&lease)),
            Ok(false),
            "different types compare false"
        );
    }

    #[test]
    fn undefined_placeholders_are_errors_even_without_an_item() {
        assert_eq!(
            check("attribute_not_exists(#nope)", None),
            Err(ExprError("Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #nope".into()))
        );
        assert!(check("a = :nope", None)
            .unwrap_err()
            .0
            .ends_with("attribute value: :nope"));
    }
}
