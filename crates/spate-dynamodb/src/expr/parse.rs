//! The condition grammar, in winnow:
//!
//! ```text
//! condition  := disjunct ( OR disjunct )*
//! disjunct   := conjunct ( AND conjunct )*
//! conjunct   := NOT conjunct | primary
//! primary    := "(" condition ")" | function | comparison
//! function   := attribute_exists(path) | attribute_not_exists(path)
//!             | attribute_type(path, operand) | begins_with(path, operand) | contains(path, operand)
//! comparison := operand ( comparator operand | BETWEEN operand AND operand
//!                        | IN "(" operand ( "," operand )* ")" )
//! operand    := size(path) | :value | path
//! path       := name ( "." name | "[" digits "]" )*
//! ```
//!
//! Keywords and function names are case-insensitive, as DynamoDB's are.

use super::{Comparator, Condition, Function, Operand, Path, Step};
use winnow::ascii::{digit1, multispace0, Caseless};
use winnow::combinator::{alt, cut_err, delimited, preceded, repeat, separated, terminated};
use winnow::error::{ContextError, ErrMode};
use winnow::prelude::*;
use winnow::token::{one_of, take_while};

type Result<T> = winnow::ModalResult<T, ContextError>;

/// Parses a whole ConditionExpression; the error is DynamoDB's "Syntax error" text, naming
/// the token where the grammar could not go on (commitments are cut, so that is the token
/// that broke the expression, not the start of the last alternative tried).
pub fn parse_condition(text: &str) -> std::result::Result<Condition, String> {
    delimited(multispace0, condition, multispace0)
        .parse(text)
        .map_err(|e| syntax_error(text, e.offset()))
}

/// Parses a ProjectionExpression: document paths separated by commas.
pub fn parse_projection(text: &str) -> std::result::Result<Vec<Path>, String> {
    delimited(multispace0, separated(1.., path, symbol(",")), multispace0)
        .parse(text)
        .map_err(|e| syntax_error(text, e.offset()))
}

/// `Syntax error; token: "<next token>", near: "<previous and next tokens>"`.
pub(super) fn syntax_error(text: &str, at: usize) -> String {
    let at = at.min(text.len());
    let rest = &text[at..];
    let token: String = rest
        .trim_start()
        .chars()
        .take_while(|c| !c.is_whitespace())
        .take(20)
        .collect();
    let start = text[..at]
        .trim_end()
        .rfind(char::is_whitespace)
        .map_or(0, |i| i + 1);
    let near: String = text[start..].chars().take(30).collect();
    if token.is_empty() {
        return "Syntax error; token: \"<EOF>\", near: \"".to_string() + near.trim() + "\"";
    }
    format!(
        "Syntax error; token: \"{token}\", near: \"{}\"",
        near.trim()
    )
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A keyword not followed by more of a name (`AND` but not `ANDROID`).
pub(super) fn keyword<'a>(word: &'static str) -> impl Parser<&'a str, (), ErrMode<ContextError>> {
    move |input: &mut &'a str| {
        (multispace0, Caseless(word)).parse_next(input)?;
        if input.starts_with(is_name_char) {
            return Err(ErrMode::Backtrack(ContextError::new()));
        }
        multispace0.parse_next(input)?;
        Ok(())
    }
}

pub(super) fn symbol<'a>(
    text: &'static str,
) -> impl Parser<&'a str, &'a str, ErrMode<ContextError>> {
    delimited(multispace0, text, multispace0)
}

fn condition(input: &mut &str) -> Result<Condition> {
    let first = disjunct.parse_next(input)?;
    let rest: Vec<Condition> =
        repeat(0.., preceded(keyword("OR"), cut_err(disjunct))).parse_next(input)?;
    Ok(rest
        .into_iter()
        .fold(first, |a, b| Condition::Or(Box::new(a), Box::new(b))))
}

fn disjunct(input: &mut &str) -> Result<Condition> {
    let first = conjunct.parse_next(input)?;
    let rest: Vec<Condition> =
        repeat(0.., preceded(keyword("AND"), cut_err(conjunct))).parse_next(input)?;
    Ok(rest
        .into_iter()
        .fold(first, |a, b| Condition::And(Box::new(a), Box::new(b))))
}

fn conjunct(input: &mut &str) -> Result<Condition> {
    alt((
        preceded(keyword("NOT"), conjunct).map(|c| Condition::Not(Box::new(c))),
        primary,
    ))
    .parse_next(input)
}

fn primary(input: &mut &str) -> Result<Condition> {
    alt((
        delimited(symbol("("), condition, symbol(")")),
        function,
        comparison,
    ))
    .parse_next(input)
}

/// `name(args)`: once the name and `(` are there, the arguments and `)` must follow.
pub(super) fn call_of<'a, O>(
    name: &'static str,
    args: impl Parser<&'a str, O, ErrMode<ContextError>>,
) -> impl Parser<&'a str, O, ErrMode<ContextError>> {
    preceded(
        (keyword(name), symbol("(")),
        cut_err(terminated(args, symbol(")"))),
    )
}

fn function(input: &mut &str) -> Result<Condition> {
    let two = |f: Function| move |(p, o): (Path, Operand)| Condition::Call(f, p, o);
    alt((
        call_of("attribute_exists", path).map(Condition::Exists),
        call_of("attribute_not_exists", path).map(Condition::NotExists),
        call_of("attribute_type", (path, preceded(symbol(","), operand)))
            .map(two(Function::AttributeType)),
        call_of("begins_with", (path, preceded(symbol(","), operand)))
            .map(two(Function::BeginsWith)),
        call_of("contains", (path, preceded(symbol(","), operand))).map(two(Function::Contains)),
    ))
    .parse_next(input)
}

fn comparison(input: &mut &str) -> Result<Condition> {
    let left = operand.parse_next(input)?;
    let left = &left;
    // Bound before returning: the parser borrows `left`, and a tail expression's temporaries
    // would outlive it.
    let compared = alt((
        (comparator, cut_err(operand)).map(|(c, right)| Condition::Compare(left.clone(), c, right)),
        preceded(
            keyword("BETWEEN"),
            cut_err((operand, keyword("AND"), operand)),
        )
        .map(|(low, _, high)| Condition::Between(left.clone(), low, high)),
        preceded(
            keyword("IN"),
            cut_err(delimited(
                symbol("("),
                separated(1..=100, operand, symbol(",")),
                symbol(")"),
            )),
        )
        .map(|list: Vec<Operand>| Condition::In(left.clone(), list)),
    ))
    .parse_next(input);
    compared
}

fn comparator(input: &mut &str) -> Result<Comparator> {
    delimited(
        multispace0,
        alt((
            "<=".value(Comparator::Le),
            ">=".value(Comparator::Ge),
            "<>".value(Comparator::Ne),
            "=".value(Comparator::Eq),
            "<".value(Comparator::Lt),
            ">".value(Comparator::Gt),
        )),
        multispace0,
    )
    .parse_next(input)
}

fn operand(input: &mut &str) -> Result<Operand> {
    delimited(
        multispace0,
        alt((
            call_of("size", path).map(Operand::Size),
            value_ref.map(Operand::Value),
            path.map(Operand::Path),
        )),
        multispace0,
    )
    .parse_next(input)
}

pub(super) fn value_ref(input: &mut &str) -> Result<String> {
    preceded(':', take_while(1.., is_name_char))
        .map(|name: &str| format!(":{name}"))
        .parse_next(input)
}

fn name(input: &mut &str) -> Result<String> {
    alt((
        preceded('#', take_while(1.., is_name_char)).map(|n: &str| format!("#{n}")),
        (
            one_of(|c: char| c.is_ascii_alphabetic() || c == '_'),
            take_while(0.., is_name_char),
        )
            .take()
            .map(str::to_string),
    ))
    .parse_next(input)
}

pub(super) fn path(input: &mut &str) -> Result<Path> {
    let first = delimited(multispace0, name, multispace0).parse_next(input)?;
    let rest: Vec<Step> = repeat(
        0..,
        alt((
            preceded(symbol("."), cut_err(name)).map(Step::Name),
            delimited(
                symbol("["),
                cut_err(digit1.parse_to::<usize>()),
                symbol("]"),
            )
            .map(Step::Index),
        )),
    )
    .parse_next(input)?;
    let mut steps = vec![Step::Name(first)];
    steps.extend(rest);
    Ok(Path(steps))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> Path {
        Path(vec![Step::Name(n.into())])
    }

    #[test]
    fn the_seed_and_kcl_conditions_parse() {
        assert_eq!(
            parse_condition("attribute_not_exists(eventId)"),
            Ok(Condition::NotExists(name("eventId")))
        );
        assert_eq!(
            parse_condition("leaseCounter = :c and #o = :owner").unwrap(),
            Condition::And(
                Box::new(Condition::Compare(
                    Operand::Path(name("leaseCounter")),
                    Comparator::Eq,
                    Operand::Value(":c".into())
                )),
                Box::new(Condition::Compare(
                    Operand::Path(name("#o")),
                    Comparator::Eq,
                    Operand::Value(":owner".into())
                )),
            )
        );
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let c = parse_condition("a = :a OR b = :b AND NOT c = :c").unwrap();
        let Condition::Or(_, right) = c else {
            panic!("{c:?}")
        };
        let Condition::And(_, not) = *right else {
            panic!()
        };
        assert!(matches!(*not, Condition::Not(_)));
        let c = parse_condition("(a = :a OR b = :b) AND c = :c").unwrap();
        assert!(matches!(c, Condition::And(..)));
    }

    #[test]
    fn every_form_parses() {
        for text in [
            "a.b[2].#c <> :v",
            "size(a) >= :n",
            "a BETWEEN :lo AND :hi",
            "a IN (:x, :y, :z)",
            "begins_with(a, :p) AND contains(#l, :x) AND attribute_type(a, :t)",
            "ATTRIBUTE_EXISTS(a) and not attribute_not_exists ( b )",
            "android = :a AND orange = :o",
        ] {
            assert!(parse_condition(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn syntax_errors_name_the_token() {
        assert_eq!(
            parse_condition("a = = :b").unwrap_err(),
            "Syntax error; token: \"=\", near: \"= = :b\""
        );
        assert!(parse_condition("attribute_not_exists(")
            .unwrap_err()
            .contains("<EOF>"));
        assert!(parse_condition("a = :b AND").is_err());
        assert!(parse_condition("").is_err());
        assert!(parse_condition("a[x] = :b").is_err());
    }
}
