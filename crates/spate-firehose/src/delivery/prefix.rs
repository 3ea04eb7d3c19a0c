//! S3 prefixes with Firehose's expressions: `!{timestamp:<pattern>}`, `!{firehose:random-string}`,
//! `!{firehose:error-output-type}`, `!{partitionKeyFromQuery:k}`, `!{partitionKeyFromLambda:k}`.
//!
//! Evaluation follows AWS's rules (developer guide, "Custom Prefixes for Amazon S3 Objects"):
//! a prefix without a `timestamp` expression gets `yyyy/MM/dd/HH/` appended by plain
//! concatenation; every timestamp in a prefix is the arrival time of the oldest record in the
//! object; each `random-string` is a new 11-character string.

use super::javatime::Pattern;
use jiff::Zoned;

/// AWS's wording for a prefix rule violation (its typo included).
pub const RULE_MESSAGE: &str = "Ths supplied prefix(es) do not satisfy the following constraint: ";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Timestamp(Pattern),
    RandomString,
    ErrorOutputType,
    /// `!{partitionKeyFromQuery:k}` (lambda false) or `!{partitionKeyFromLambda:k}`.
    PartitionKey {
        lambda: bool,
        key: String,
    },
}

/// A record's dynamic partitioning keys, from MetadataExtraction and from a Lambda processor.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionKeys {
    pub query: std::collections::BTreeMap<String, String>,
    pub lambda: std::collections::BTreeMap<String, String>,
}

/// A parsed prefix.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prefix {
    parts: Vec<Part>,
}

/// The default time layout appended to a prefix without a timestamp expression.
fn default_time() -> Pattern {
    Pattern::hourly()
}

impl Prefix {
    /// Parses a prefix; the error is the constraint AWS names (after [`RULE_MESSAGE`]).
    pub fn parse(text: &str) -> Result<Prefix, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("!{") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| {
                format!("'!{{' must be followed by a namespace expression and '}}' in {text}")
            })?;
            parts.push(expression(&after[..end])?);
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Prefix { parts })
    }

    pub fn has_expressions(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Literal(_)))
    }

    fn has(&self, wanted: fn(&Part) -> bool) -> bool {
        self.parts.iter().any(wanted)
    }

    pub fn has_error_output_type(&self) -> bool {
        self.has(|p| matches!(p, Part::ErrorOutputType))
    }

    fn has_timestamp(&self) -> bool {
        self.has(|p| matches!(p, Part::Timestamp(_)))
    }

    pub fn has_partition_key(&self) -> bool {
        self.has(|p| matches!(p, Part::PartitionKey { .. }))
    }

    /// Whether it names a key from MetadataExtraction (`lambda` false) or from a Lambda
    /// processor (`lambda` true).
    pub fn uses_keys_from(&self, lambda: bool) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::PartitionKey { lambda: l, .. } if *l == lambda))
    }

    /// The prefix of an object of a dynamic partition: the keys must name every key the prefix
    /// uses (the error names the one missing), and a value may not be empty.
    pub fn evaluate_partition(&self, time: &Zoned, keys: &PartitionKeys) -> Result<String, String> {
        for part in &self.parts {
            if let Part::PartitionKey { lambda, key } = part {
                let from = if *lambda { &keys.lambda } else { &keys.query };
                if from.get(key).is_none_or(String::is_empty) {
                    let source = if *lambda {
                        "partitionKeyFromLambda"
                    } else {
                        "partitionKeyFromQuery"
                    };
                    return Err(format!("The record has no value for !{{{source}:{key}}}."));
                }
            }
        }
        // The prefix as written: with dynamic partitioning no default time layout is appended
        // (the keys are the layout, as in AWS's examples).
        Ok(self.render_with(time, "", keys))
    }

    /// The prefix of a delivered object whose oldest record arrived at `time`.
    pub fn evaluate(&self, time: &Zoned) -> String {
        let mut out = self.render(time, "");
        if !self.has_timestamp() {
            out.push_str(&default_time().format(time));
        }
        out
    }

    fn render(&self, time: &Zoned, error_type: &str) -> String {
        self.render_with(time, error_type, &PartitionKeys::default())
    }

    fn render_with(&self, time: &Zoned, error_type: &str, keys: &PartitionKeys) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Timestamp(pattern) => out.push_str(&pattern.format(time)),
                Part::RandomString => out.push_str(&random_string()),
                Part::ErrorOutputType => out.push_str(error_type),
                Part::PartitionKey { lambda, key } => {
                    let from = if *lambda { &keys.lambda } else { &keys.query };
                    out.push_str(from.get(key).map_or("", String::as_str));
                }
            }
        }
        out
    }
}

fn expression(inner: &str) -> Result<Part, String> {
    let (namespace, value) = inner
        .split_once(':')
        .ok_or_else(|| format!("'!{{{inner}}}' is not a namespace:value expression"))?;
    match (namespace, value) {
        ("timestamp", pattern) => Pattern::parse(pattern).map(Part::Timestamp),
        ("firehose", "random-string") => Ok(Part::RandomString),
        ("firehose", "error-output-type") => Ok(Part::ErrorOutputType),
        ("firehose", other) => Err(format!("'{other}' is not a firehose namespace value")),
        ("partitionKeyFromQuery", key) => Ok(Part::PartitionKey {
            lambda: false,
            key: key.to_string(),
        }),
        ("partitionKeyFromLambda", key) => Ok(Part::PartitionKey {
            lambda: true,
            key: key.to_string(),
        }),
        (other, _) => Err(format!("'{other}' is not a valid namespace")),
    }
}

/// The two prefixes of a destination, checked against AWS's semantic rules.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prefixes {
    pub prefix: Prefix,
    /// `None` when ErrorOutputPrefix is absent or empty.
    pub error_prefix: Option<Prefix>,
}

impl Prefixes {
    /// Parses and checks both; the error is the full InvalidArgumentException message.
    pub fn new(
        prefix: Option<&str>,
        error_prefix: Option<&str>,
        dynamic: bool,
    ) -> Result<Prefixes, String> {
        let rule = |why: String| format!("{RULE_MESSAGE}{why}");
        let prefix = Prefix::parse(prefix.unwrap_or_default()).map_err(rule)?;
        let error_prefix = match error_prefix.filter(|p| !p.is_empty()) {
            Some(text) => Some(Prefix::parse(text).map_err(rule)?),
            None => None,
        };
        if prefix.has_error_output_type() {
            return Err(rule(
                "Prefix cannot contain !{firehose:error-output-type}".into(),
            ));
        }
        if prefix.has_expressions() && error_prefix.is_none() {
            return Err(rule(
                "ErrorOutputPrefix cannot be null or empty when Prefix contains expressions".into(),
            ));
        }
        if let Some(e) = &error_prefix {
            if e.has_expressions() && !e.has_error_output_type() {
                return Err(rule(
                    "ErrorOutputPrefix must contain !{firehose:error-output-type} when it contains expressions".into(),
                ));
            }
        }
        if error_prefix.as_ref().is_some_and(Prefix::has_partition_key) {
            return Err(rule(
                "ErrorOutputPrefix cannot contain partitionKeyFromQuery or partitionKeyFromLambda"
                    .into(),
            ));
        }
        if prefix.has_partition_key() && !dynamic {
            return Err(rule(
                "partitionKeyFromQuery and partitionKeyFromLambda can be used only when dynamic partitioning is enabled".into(),
            ));
        }
        if dynamic && error_prefix.is_none() {
            return Err(rule(
                "ErrorOutputPrefix cannot be null or empty when dynamic partitioning is enabled"
                    .into(),
            ));
        }
        Ok(Prefixes {
            prefix,
            error_prefix,
        })
    }

    /// Where failed records of `error_type` (e.g. `http-endpoint-failed`) go. Without an
    /// ErrorOutputPrefix: `<Prefix><error-output-type>/yyyy/MM/dd/HH/`; a static one gets the
    /// type and the time appended the same way.
    pub fn evaluate_error(&self, time: &Zoned, error_type: &str) -> String {
        match &self.error_prefix {
            Some(e) if e.has_expressions() => e.render(time, error_type),
            Some(e) => format!(
                "{}{error_type}/{}",
                e.render(time, ""),
                default_time().format(time)
            ),
            None => format!(
                "{}{error_type}/{}",
                self.prefix.render(time, ""),
                default_time().format(time)
            ),
        }
    }
}

/// 11 characters as AWS's examples show them: the start of a random UUID.
pub fn random_string() -> String {
    let mut uuid = crate::ids::uuid_v4();
    uuid.truncate(11);
    uuid
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;

    /// 2018-08-27T10:30:00Z.
    fn time() -> Zoned {
        jiff::Timestamp::from_millisecond(1_535_365_800_000)
            .unwrap()
            .to_zoned(TimeZone::UTC)
    }

    fn prefixes(p: Option<&str>, e: Option<&str>) -> Result<Prefixes, String> {
        Prefixes::new(p, e, false)
    }

    #[test]
    fn static_prefixes_get_the_hour_appended_without_a_slash() {
        let p = prefixes(None, None).unwrap();
        assert_eq!(p.prefix.evaluate(&time()), "2018/08/27/10/");
        let p = prefixes(Some("legacy"), None).unwrap();
        assert_eq!(p.prefix.evaluate(&time()), "legacy2018/08/27/10/");
        let p = prefixes(Some("logs/"), None).unwrap();
        assert_eq!(p.prefix.evaluate(&time()), "logs/2018/08/27/10/");
    }

    #[test]
    fn expressions_are_evaluated() {
        let p = prefixes(
            Some("myPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"),
            Some("myErrors/!{firehose:error-output-type}/"),
        )
        .unwrap();
        assert_eq!(
            p.prefix.evaluate(&time()),
            "myPrefix/year=2018/month=08/day=27/hour=10/"
        );
        assert_eq!(
            p.evaluate_error(&time(), "processing-failed"),
            "myErrors/processing-failed/"
        );
        let p = prefixes(
            Some("r/!{firehose:random-string}/"),
            Some("e/!{firehose:error-output-type}"),
        )
        .unwrap();
        let evaluated = p.prefix.evaluate(&time());
        assert_eq!(
            evaluated.len(),
            "r/".len() + 11 + "/".len() + "2018/08/27/10/".len()
        );
        assert!(evaluated.ends_with("/2018/08/27/10/"), "{evaluated}");
    }

    #[test]
    fn the_default_error_prefix_is_the_prefix_and_the_error_type() {
        let p = prefixes(Some("logs/"), None).unwrap();
        assert_eq!(
            p.evaluate_error(&time(), "http-endpoint-failed"),
            "logs/http-endpoint-failed/2018/08/27/10/"
        );
    }

    #[test]
    fn the_rules_are_enforced_with_aws_wording() {
        let e = prefixes(Some("a/!{timestamp:yyyy}/"), None).unwrap_err();
        assert_eq!(e, "Ths supplied prefix(es) do not satisfy the following constraint: ErrorOutputPrefix cannot be null or empty when Prefix contains expressions");
        assert!(prefixes(Some("a/!{timestamp:yyyy}/"), Some("")).is_err());
        assert!(prefixes(
            Some("!{firehose:error-output-type}"),
            Some("e/!{firehose:error-output-type}")
        )
        .is_err());
        assert!(prefixes(None, Some("e/!{timestamp:yyyy}/")).is_err());
        assert!(prefixes(
            Some("a/!{nope:x}/"),
            Some("e/!{firehose:error-output-type}")
        )
        .is_err());
        assert!(prefixes(
            Some("a/!{timestamp:yyyy"),
            Some("e/!{firehose:error-output-type}")
        )
        .is_err());
        assert!(prefixes(
            Some("a/!{partitionKeyFromQuery:k}/"),
            Some("e/!{firehose:error-output-type}")
        )
        .is_err());
        assert!(prefixes(None, Some("static-errors/")).is_ok());
    }
}
