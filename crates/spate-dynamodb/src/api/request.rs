//! The expression members a request carries (ConditionExpression, UpdateExpression,
//! KeyConditionExpression, FilterExpression, ProjectionExpression and the placeholders they
//! share), and the legacy members KCL still sends (Expected, ConditionalOperator,
//! AttributeUpdates), turned into the same expressions. Checked as DynamoDB checks them: every
//! placeholder used is defined, every one defined is used, old and new forms are not mixed.

use crate::expr::{
    parse_condition, parse_projection, parse_update, Comparator, Condition, Context, Function,
    Operand, Path, SetValue, Step, Update, Value,
};
use crate::tables::invalid;
use crate::value::AttributeValue;
use serde::Deserialize;
use spate_wire::{ApiError, ErrorKind};
use std::collections::{BTreeMap, HashMap};

/// DynamoDB's largest expression, in bytes.
const EXPRESSION_MAX_BYTES: usize = 4096;
/// Parentheses (and function calls) nested at most this deep.
const EXPRESSION_MAX_NESTING: usize = 64;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Expressions {
    condition_expression: Option<String>,
    update_expression: Option<String>,
    key_condition_expression: Option<String>,
    filter_expression: Option<String>,
    projection_expression: Option<String>,
    expression_attribute_names: Option<HashMap<String, String>>,
    expression_attribute_values: Option<HashMap<String, AttributeValue>>,
    expected: Option<BTreeMap<String, Expected>>,
    conditional_operator: Option<String>,
    attribute_updates: Option<BTreeMap<String, AttributeUpdate>>,
}

/// One attribute of the legacy `Expected` map.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Expected {
    value: Option<AttributeValue>,
    exists: Option<bool>,
    comparison_operator: Option<String>,
    attribute_value_list: Option<Vec<AttributeValue>>,
}

/// One attribute of the legacy `AttributeUpdates` map.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeUpdate {
    value: Option<AttributeValue>,
    action: Option<String>,
}

/// A request's expressions, parsed and checked.
#[derive(Default)]
pub struct Prepared {
    pub condition: Option<Condition>,
    pub update: Option<Update>,
    pub key_condition: Option<Condition>,
    pub filter: Option<Condition>,
    pub projection: Option<Vec<Path>>,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Prepared {
    pub fn context(&self, expression: &'static str) -> Context<'_> {
        Context {
            names: &self.names,
            values: &self.values,
            expression,
        }
    }

    /// ConditionalCheckFailedException unless the condition holds for `current`.
    pub fn check(&self, current: Option<&crate::value::Item>) -> Result<(), ApiError> {
        let Some(condition) = &self.condition else {
            return Ok(());
        };
        match self
            .context("ConditionExpression")
            .holds(condition, current)
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(ApiError::new(
                ErrorKind::ConditionalCheckFailed,
                "The conditional request failed",
            )),
            Err(e) => Err(invalid(e.0)),
        }
    }
}

fn parsed<T>(
    what: &str,
    text: &Option<String>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, ApiError> {
    let Some(text) = text else {
        return Ok(None);
    };
    if text.trim().is_empty() {
        return Err(invalid(format!(
            "Invalid {what}: The expression can not be empty;"
        )));
    }
    // DynamoDB's limit on an expression's length; and a bound on nesting, so parsing (which
    // recurses per parenthesis) cannot exhaust a worker thread's stack.
    if text.len() > EXPRESSION_MAX_BYTES {
        return Err(invalid(format!(
            "Invalid {what}: Expression size has exceeded the maximum allowed size; expression size: {}",
            text.len()
        )));
    }
    // NOT recurses too: `NOT NOT … a = :a` nests as deep as its NOTs.
    let nots = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.eq_ignore_ascii_case("not"))
        .count();
    let mut depth = nots;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > EXPRESSION_MAX_NESTING {
            return Err(invalid(format!(
                "Invalid {what}: The expression is nested too deeply: too many nested parentheses or NOTs (at most {EXPRESSION_MAX_NESTING})"
            )));
        }
    }
    parse(text)
        .map(Some)
        .map_err(|e| invalid(format!("Invalid {what}: {e}")))
}

impl Expressions {
    pub fn prepare(self) -> Result<Prepared, ApiError> {
        let modern = [
            ("ConditionExpression", self.condition_expression.is_some()),
            ("UpdateExpression", self.update_expression.is_some()),
            (
                "KeyConditionExpression",
                self.key_condition_expression.is_some(),
            ),
            ("FilterExpression", self.filter_expression.is_some()),
            ("ProjectionExpression", self.projection_expression.is_some()),
        ];
        let legacy = [
            ("Expected", self.expected.is_some()),
            ("ConditionalOperator", self.conditional_operator.is_some()),
            ("AttributeUpdates", self.attribute_updates.is_some()),
        ];
        let used = |list: &[(&str, bool)]| -> Vec<String> {
            list.iter()
                .filter(|(_, on)| *on)
                .map(|(n, _)| n.to_string())
                .collect()
        };
        let (modern_used, legacy_used) = (used(&modern), used(&legacy));
        if !modern_used.is_empty() && !legacy_used.is_empty() {
            return Err(invalid(format!(
                "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
                legacy_used.join(", "),
                modern_used.join(", ")
            )));
        }
        if !legacy_used.is_empty() {
            return self.prepare_legacy();
        }
        let names = self.expression_attribute_names.unwrap_or_default();
        let values = self.expression_attribute_values.unwrap_or_default();
        if modern_used.is_empty() && (!names.is_empty() || !values.is_empty()) {
            let which = if names.is_empty() {
                "ExpressionAttributeValues"
            } else {
                "ExpressionAttributeNames"
            };
            return Err(invalid(format!(
                "{which} can only be specified when using expressions"
            )));
        }
        let prepared = Prepared {
            condition: parsed(
                "ConditionExpression",
                &self.condition_expression,
                parse_condition,
            )?,
            update: parsed("UpdateExpression", &self.update_expression, parse_update)?,
            key_condition: parsed(
                "KeyConditionExpression",
                &self.key_condition_expression,
                parse_condition,
            )?,
            filter: parsed("FilterExpression", &self.filter_expression, parse_condition)?,
            projection: parsed(
                "ProjectionExpression",
                &self.projection_expression,
                parse_projection,
            )?,
            names,
            values,
        };
        check_placeholders(&prepared)?;
        Ok(prepared)
    }

    fn prepare_legacy(self) -> Result<Prepared, ApiError> {
        let mut prepared = Prepared::default();
        let mut legacy = Legacy {
            prepared: &mut prepared,
        };
        if let Some(expected) = self.expected {
            let or = match self.conditional_operator.as_deref() {
                None | Some("AND") => false,
                Some("OR") => true,
                Some(other) => return Err(invalid(format!("1 validation error detected: Value '{other}' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [AND, OR]"))),
            };
            let mut condition: Option<Condition> = None;
            for (name, e) in expected {
                let next = legacy.expected(&name, e)?;
                condition = Some(match condition {
                    None => next,
                    Some(c) if or => Condition::Or(Box::new(c), Box::new(next)),
                    Some(c) => Condition::And(Box::new(c), Box::new(next)),
                });
            }
            legacy.prepared.condition = condition;
        }
        if let Some(updates) = self.attribute_updates {
            let mut update = Update::default();
            for (name, u) in updates {
                legacy.attribute_update(&mut update, &name, u)?;
            }
            legacy.prepared.update = Some(update);
        }
        Ok(prepared)
    }
}

fn check_placeholders(p: &Prepared) -> Result<(), ApiError> {
    let mut per_expression: Vec<(&str, Vec<String>, Vec<String>)> = Vec::new();
    for (what, c) in [
        ("KeyConditionExpression", &p.key_condition),
        ("ConditionExpression", &p.condition),
        ("FilterExpression", &p.filter),
    ] {
        if let Some(c) = c {
            let (mut names, mut values) = (Vec::new(), Vec::new());
            c.placeholders(&mut names, &mut values);
            per_expression.push((what, names, values));
        }
    }
    if let Some(u) = &p.update {
        let (mut names, mut values) = (Vec::new(), Vec::new());
        u.placeholders(&mut names, &mut values);
        per_expression.push(("UpdateExpression", names, values));
    }
    if let Some(paths) = &p.projection {
        let names = paths
            .iter()
            .flat_map(|path| &path.0)
            .filter_map(|step| match step {
                Step::Name(n) if n.starts_with('#') => Some(n.clone()),
                _ => None,
            })
            .collect();
        per_expression.push(("ProjectionExpression", names, Vec::new()));
    }
    for (what, names, values) in &per_expression {
        if let Some(missing) = values.iter().find(|v| !p.values.contains_key(*v)) {
            return Err(invalid(format!("Invalid {what}: An expression attribute value used in expression is not defined; attribute value: {missing}")));
        }
        if let Some(missing) = names.iter().find(|n| !p.names.contains_key(*n)) {
            return Err(invalid(format!("Invalid {what}: An expression attribute name used in the document path is not defined; attribute name: {missing}")));
        }
    }
    let names: Vec<String> = per_expression
        .iter()
        .flat_map(|(_, n, _)| n.clone())
        .collect();
    let values: Vec<String> = per_expression
        .iter()
        .flat_map(|(_, _, v)| v.clone())
        .collect();
    unused("ExpressionAttributeNames", p.names.keys(), &names)?;
    unused("ExpressionAttributeValues", p.values.keys(), &values)
}

fn unused<'a>(
    what: &str,
    defined: impl Iterator<Item = &'a String>,
    used: &[String],
) -> Result<(), ApiError> {
    let mut spare: Vec<&str> = defined
        .filter(|d| !used.contains(d))
        .map(String::as_str)
        .collect();
    if spare.is_empty() {
        return Ok(());
    }
    spare.sort();
    Err(invalid(format!(
        "Value provided in {what} unused in expressions: keys: {{{}}}",
        spare.join(", ")
    )))
}

/// Builds expressions from the legacy members, with generated placeholders (so any attribute
/// name works, reserved words included).
struct Legacy<'p> {
    prepared: &'p mut Prepared,
}

impl Legacy<'_> {
    fn name(&mut self, attribute: &str) -> Path {
        let placeholder = format!("#legacy{}", self.prepared.names.len());
        self.prepared
            .names
            .insert(placeholder.clone(), attribute.to_string());
        Path(vec![Step::Name(placeholder)])
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":legacy{}", self.prepared.values.len());
        self.prepared.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn operand(&mut self, value: AttributeValue) -> Operand {
        Operand::Value(self.value(value))
    }

    fn expected(&mut self, attribute: &str, e: Expected) -> Result<Condition, ApiError> {
        let path = self.name(attribute);
        if let Some(op) = e.comparison_operator {
            let list = e.attribute_value_list.unwrap_or_default();
            return self.comparison(attribute, path, &op, list);
        }
        match (e.exists, e.value) {
            (Some(false), None) => Ok(Condition::NotExists(path)),
            (Some(false), Some(_)) => Err(invalid(format!("One or more parameter values were invalid: Value cannot be used when Exists is false for Attribute: {attribute}"))),
            (_, Some(v)) => Ok(Condition::Compare(Operand::Path(path), Comparator::Eq, self.operand(v))),
            (_, None) => Err(invalid(format!("One or more parameter values were invalid: Value must be provided when Exists is true for Attribute: {attribute}"))),
        }
    }

    fn comparison(
        &mut self,
        attribute: &str,
        path: Path,
        op: &str,
        list: Vec<AttributeValue>,
    ) -> Result<Condition, ApiError> {
        let count = |n: usize| -> Result<(), ApiError> {
            if list.len() == n {
                return Ok(());
            }
            Err(invalid(format!("One or more parameter values were invalid: Invalid number of argument(s) for the {op} ComparisonOperator")))
        };
        let compare = |legacy: &mut Self, c: Comparator, list: Vec<AttributeValue>| -> Condition {
            let value = list.into_iter().next().map(|v| legacy.operand(v));
            Condition::Compare(
                Operand::Path(path.clone()),
                c,
                value.unwrap_or(Operand::Value(String::new())),
            )
        };
        let _ = attribute;
        Ok(match op {
            "EQ" | "NE" | "LE" | "LT" | "GE" | "GT" => {
                count(1)?;
                let c = match op {
                    "EQ" => Comparator::Eq,
                    "NE" => Comparator::Ne,
                    "LE" => Comparator::Le,
                    "LT" => Comparator::Lt,
                    "GE" => Comparator::Ge,
                    _ => Comparator::Gt,
                };
                compare(self, c, list)
            }
            "NOT_NULL" => {
                count(0)?;
                Condition::Exists(path)
            }
            "NULL" => {
                count(0)?;
                Condition::NotExists(path)
            }
            "CONTAINS" | "NOT_CONTAINS" | "BEGINS_WITH" => {
                count(1)?;
                let f = if op == "BEGINS_WITH" { Function::BeginsWith } else { Function::Contains };
                let value = list.into_iter().next().map(|v| self.operand(v)).unwrap_or(Operand::Value(String::new()));
                let call = Condition::Call(f, path, value);
                if op == "NOT_CONTAINS" { Condition::Not(Box::new(call)) } else { call }
            }
            "IN" => {
                if list.is_empty() {
                    count(1)?;
                }
                let values = list.into_iter().map(|v| self.operand(v)).collect();
                Condition::In(Operand::Path(path), values)
            }
            "BETWEEN" => {
                count(2)?;
                let mut values = list.into_iter().map(|v| self.operand(v));
                let (Some(lo), Some(hi)) = (values.next(), values.next()) else {
                    return Err(invalid("BETWEEN needs two values"));
                };
                Condition::Between(Operand::Path(path), lo, hi)
            }
            other => return Err(invalid(format!("1 validation error detected: Value '{other}' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"))),
        })
    }

    fn attribute_update(
        &mut self,
        update: &mut Update,
        attribute: &str,
        u: AttributeUpdate,
    ) -> Result<(), ApiError> {
        let path = self.name(attribute);
        match (u.action.as_deref().unwrap_or("PUT"), u.value) {
            ("PUT", Some(v)) => {
                let value = self.value(v);
                update.set.push((path, SetValue::Just(Value::Ref(value))));
            }
            ("DELETE", None) => update.remove.push(path),
            ("DELETE", Some(v)) => {
                let value = self.value(v);
                update.delete.push((path, value));
            }
            ("ADD", Some(v)) => {
                let value = self.value(v);
                update.add.push((path, value));
            }
            (action @ ("PUT" | "ADD"), None) => {
                return Err(invalid(format!("One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified ({action} on {attribute})")))
            }
            (other, _) => return Err(invalid(format!("1 validation error detected: Value '{other}' at 'attributeUpdates.{attribute}.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"))),
        }
        Ok(())
    }
}
