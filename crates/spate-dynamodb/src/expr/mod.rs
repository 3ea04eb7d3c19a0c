//! Condition expressions (`attribute_not_exists(eventId)`, `leaseCounter = :c AND ...`): the
//! grammar of DynamoDB's developer guide ("Condition and filter expressions, operators, and
//! functions"), parsed with winnow into [`Condition`] and evaluated against an item.

mod apply;
mod eval;
mod parse;
mod update;

pub use apply::{apply, touched};
pub use eval::{Context, ExprError};
pub use parse::{parse_condition, parse_projection};
pub use update::{parse_update, SetValue, Update, Value};

/// One step of a document path: `a`, `#a` (resolved through ExpressionAttributeNames), `[3]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Name(String),
    Index(usize),
}

/// `a.b[2].#c`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path(pub Vec<Step>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Path(Path),
    /// `:name`, from ExpressionAttributeValues.
    Value(String),
    /// `size(path)`
    Size(Path),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    AttributeType,
    BeginsWith,
    Contains,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Compare(Operand, Comparator, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Exists(Path),
    NotExists(Path),
    Call(Function, Path, Operand),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// Every `#name` and `:value` the expression uses (to report undefined and unused ones).
    pub fn placeholders(&self, names: &mut Vec<String>, values: &mut Vec<String>) {
        let path = |p: &Path, names: &mut Vec<String>| {
            for step in &p.0 {
                if let Step::Name(n) = step {
                    if n.starts_with('#') {
                        names.push(n.clone());
                    }
                }
            }
        };
        let operand = |o: &Operand, names: &mut Vec<String>, values: &mut Vec<String>| match o {
            Operand::Path(p) | Operand::Size(p) => path(p, names),
            Operand::Value(v) => values.push(v.clone()),
        };
        match self {
            Condition::Compare(a, _, b) => {
                operand(a, names, values);
                operand(b, names, values);
            }
            Condition::Between(a, b, c) => {
                for o in [a, b, c] {
                    operand(o, names, values);
                }
            }
            Condition::In(a, list) => {
                operand(a, names, values);
                for o in list {
                    operand(o, names, values);
                }
            }
            Condition::Exists(p) | Condition::NotExists(p) => path(p, names),
            Condition::Call(_, p, o) => {
                path(p, names);
                operand(o, names, values);
            }
            Condition::And(a, b) | Condition::Or(a, b) => {
                a.placeholders(names, values);
                b.placeholders(names, values);
            }
            Condition::Not(a) => a.placeholders(names, values),
        }
    }
}
