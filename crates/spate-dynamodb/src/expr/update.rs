//! Update expressions, in winnow:
//!
//! ```text
//! update  := clause+                       (each of SET, REMOVE, ADD, DELETE at most once)
//! clause  := SET action ("," action)* | REMOVE path ("," path)*
//!          | ADD path :value ("," path :value)* | DELETE path :value ("," path :value)*
//! action  := path "=" value ( ("+" | "-") value )?
//! value   := if_not_exists(path, value) | list_append(value, value) | :value | path
//! ```

use super::parse::{call_of, keyword, path, symbol, syntax_error, value_ref};
use super::Path;
use winnow::ascii::multispace0;
use winnow::combinator::{alt, cut_err, delimited, preceded, repeat, separated};
use winnow::error::ContextError;
use winnow::prelude::*;

type Result<T> = winnow::ModalResult<T, ContextError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Path(Path),
    /// `:name`
    Ref(String),
    IfNotExists(Path, Box<Value>),
    ListAppend(Box<Value>, Box<Value>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetValue {
    Just(Value),
    Plus(Value, Value),
    Minus(Value, Value),
}

/// The actions of one UpdateExpression, by clause.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    pub set: Vec<(Path, SetValue)>,
    pub remove: Vec<Path>,
    /// `ADD path :value` (numbers add, sets unite).
    pub add: Vec<(Path, String)>,
    /// `DELETE path :value` (set difference).
    pub delete: Vec<(Path, String)>,
}

enum Clause {
    Set(Vec<(Path, SetValue)>),
    Remove(Vec<Path>),
    Add(Vec<(Path, String)>),
    Delete(Vec<(Path, String)>),
}

/// Parses a whole UpdateExpression; a clause given twice is DynamoDB's "The "SET" section
/// can only be used once in an update expression".
pub fn parse_update(text: &str) -> std::result::Result<Update, String> {
    let clauses: Vec<Clause> = delimited(multispace0, repeat(1.., clause), multispace0)
        .parse(text)
        .map_err(|e| syntax_error(text, e.offset()))?;
    let mut update = Update::default();
    let mut seen = Vec::new();
    for c in clauses {
        let name = match &c {
            Clause::Set(_) => "SET",
            Clause::Remove(_) => "REMOVE",
            Clause::Add(_) => "ADD",
            Clause::Delete(_) => "DELETE",
        };
        if seen.contains(&name) {
            return Err(format!(
                "The \"{name}\" section can only be used once in an update expression;"
            ));
        }
        seen.push(name);
        match c {
            Clause::Set(a) => update.set = a,
            Clause::Remove(a) => update.remove = a,
            Clause::Add(a) => update.add = a,
            Clause::Delete(a) => update.delete = a,
        }
    }
    Ok(update)
}

fn clause(input: &mut &str) -> Result<Clause> {
    let pair = || (path, delimited(multispace0, value_ref, multispace0));
    alt((
        preceded(keyword("SET"), cut_err(separated(1.., action, symbol(",")))).map(Clause::Set),
        preceded(
            keyword("REMOVE"),
            cut_err(separated(1.., path, symbol(","))),
        )
        .map(Clause::Remove),
        preceded(keyword("ADD"), cut_err(separated(1.., pair(), symbol(",")))).map(Clause::Add),
        preceded(
            keyword("DELETE"),
            cut_err(separated(1.., pair(), symbol(","))),
        )
        .map(Clause::Delete),
    ))
    .parse_next(input)
}

fn action(input: &mut &str) -> Result<(Path, SetValue)> {
    let target = path.parse_next(input)?;
    symbol("=").parse_next(input)?;
    let first = cut_err(value).parse_next(input)?;
    let op = winnow::combinator::opt(alt((symbol("+"), symbol("-")))).parse_next(input)?;
    let set = match op {
        None => SetValue::Just(first),
        Some(sign) => {
            let second = cut_err(value).parse_next(input)?;
            if sign.trim() == "+" {
                SetValue::Plus(first, second)
            } else {
                SetValue::Minus(first, second)
            }
        }
    };
    Ok((target, set))
}

fn value(input: &mut &str) -> Result<Value> {
    delimited(
        multispace0,
        alt((
            call_of("if_not_exists", (path, preceded(symbol(","), value)))
                .map(|(p, v)| Value::IfNotExists(p, Box::new(v))),
            call_of("list_append", (value, preceded(symbol(","), value)))
                .map(|(a, b)| Value::ListAppend(Box::new(a), Box::new(b))),
            value_ref.map(Value::Ref),
            path.map(Value::Path),
        )),
        multispace0,
    )
    .parse_next(input)
}

/// Every `#name` and `:value` an update uses.
impl Update {
    pub fn placeholders(&self, names: &mut Vec<String>, values: &mut Vec<String>) {
        fn path(p: &Path, names: &mut Vec<String>) {
            for step in &p.0 {
                if let super::Step::Name(n) = step {
                    if n.starts_with('#') {
                        names.push(n.clone());
                    }
                }
            }
        }
        fn value(v: &Value, names: &mut Vec<String>, values: &mut Vec<String>) {
            match v {
                Value::Path(p) => path(p, names),
                Value::Ref(r) => values.push(r.clone()),
                Value::IfNotExists(p, v) => {
                    path(p, names);
                    value(v, names, values);
                }
                Value::ListAppend(a, b) => {
                    value(a, names, values);
                    value(b, names, values);
                }
            }
        }
        for (p, s) in &self.set {
            path(p, names);
            match s {
                SetValue::Just(a) => value(a, names, values),
                SetValue::Plus(a, b) | SetValue::Minus(a, b) => {
                    value(a, names, values);
                    value(b, names, values);
                }
            }
        }
        for p in &self.remove {
            path(p, names);
        }
        for (p, v) in self.add.iter().chain(&self.delete) {
            path(p, names);
            values.push(v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Step;

    #[test]
    fn kcl_and_common_updates_parse() {
        let u = parse_update("SET leaseCounter = leaseCounter + :one, #o = :owner REMOVE pendingCheckpoint ADD n :one DELETE tags :t").unwrap();
        assert_eq!(u.set.len(), 2);
        assert_eq!(
            u.remove,
            vec![Path(vec![Step::Name("pendingCheckpoint".into())])]
        );
        assert_eq!(u.add[0].1, ":one");
        assert_eq!(u.delete[0].1, ":t");
        let u = parse_update("set l = list_append(if_not_exists(l, :empty), :new), a.b[1] = :v")
            .unwrap();
        assert!(matches!(u.set[0].1, SetValue::Just(Value::ListAppend(..))));
    }

    #[test]
    fn malformed_updates_are_refused() {
        assert!(parse_update("SET a = :a SET b = :b")
            .unwrap_err()
            .contains("\"SET\" section can only be used once"));
        assert!(parse_update("SET a :a")
            .unwrap_err()
            .starts_with("Syntax error"));
        assert!(parse_update("REMOVE").unwrap_err().contains("<EOF>"));
        assert!(parse_update("").is_err());
        assert!(parse_update("ADD a").is_err());
    }
}
