//! Attribute values in DynamoDB's JSON form (`{"S": "x"}`, `{"N": "1.5"}`, `{"B": "<base64>"}`,
//! `{"M": {...}}`, ...), compared and ordered as DynamoDB compares them.

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// An item: attribute names to values.
pub type Item = BTreeMap<String, AttributeValue>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AttributeValue {
    S(String),
    N(String),
    B(#[serde(with = "base64_bytes")] Vec<u8>),
    #[serde(rename = "BOOL")]
    Bool(bool),
    #[serde(rename = "NULL")]
    Null(bool),
    M(BTreeMap<String, AttributeValue>),
    L(Vec<AttributeValue>),
    SS(Vec<String>),
    NS(Vec<String>),
    BS(#[serde(with = "base64_list")] Vec<Vec<u8>>),
}

impl AttributeValue {
    /// The type's name as `attribute_type` and error messages spell it.
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::B(_) => "B",
            AttributeValue::Bool(_) => "BOOL",
            AttributeValue::Null(_) => "NULL",
            AttributeValue::M(_) => "M",
            AttributeValue::L(_) => "L",
            AttributeValue::SS(_) => "SS",
            AttributeValue::NS(_) => "NS",
            AttributeValue::BS(_) => "BS",
        }
    }

    /// DynamoDB's size of the value, in bytes (for `size()` and the 400 KB item limit).
    pub fn size(&self) -> usize {
        match self {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => n.len().div_ceil(2) + 1,
            AttributeValue::B(b) => b.len(),
            AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
            AttributeValue::M(m) => {
                3 + m.iter().map(|(k, v)| k.len() + v.size() + 1).sum::<usize>()
            }
            AttributeValue::L(l) => 3 + l.iter().map(|v| v.size() + 1).sum::<usize>(),
            AttributeValue::SS(s) => s.iter().map(String::len).sum(),
            AttributeValue::NS(n) => n.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
            AttributeValue::BS(b) => b.iter().map(Vec::len).sum(),
        }
    }

    /// The ordering of two scalars of one type (`<`, `BETWEEN`); `None` across types or for
    /// types without an order.
    pub fn compare(&self, other: &AttributeValue) -> Option<Ordering> {
        match (self, other) {
            (AttributeValue::S(a), AttributeValue::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (AttributeValue::B(a), AttributeValue::B(b)) => Some(a.cmp(b)),
            (AttributeValue::N(a), AttributeValue::N(b)) => compare_numbers(a, b),
            _ => None,
        }
    }

    /// Equality as `=` sees it: numbers by value, sets regardless of order.
    pub fn same(&self, other: &AttributeValue) -> bool {
        match (self, other) {
            (AttributeValue::N(a), AttributeValue::N(b)) => {
                compare_numbers(a, b) == Some(Ordering::Equal)
            }
            (AttributeValue::SS(a), AttributeValue::SS(b)) => same_set(a, b, |x, y| x == y),
            (AttributeValue::NS(a), AttributeValue::NS(b)) => {
                same_set(a, b, |x, y| compare_numbers(x, y) == Some(Ordering::Equal))
            }
            (AttributeValue::BS(a), AttributeValue::BS(b)) => same_set(a, b, |x, y| x == y),
            (AttributeValue::M(a), AttributeValue::M(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| v.same(w)))
            }
            (AttributeValue::L(a), AttributeValue::L(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(v, w)| v.same(w))
            }
            _ => self == other,
        }
    }
}

fn same_set<T>(a: &[T], b: &[T], eq: impl Fn(&T, &T) -> bool) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.iter().any(|y| eq(x, y)))
}

/// Compares two DynamoDB numbers (up to 38 digits, exponent -130..126) exactly, as decimals.
pub fn compare_numbers(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (Decimal::parse(a)?, Decimal::parse(b)?);
    Some(a.cmp(&b))
}

/// A decimal as sign, digits without leading or trailing zeros, and the exponent of the first
/// digit: enough to order numbers exactly without floating point.
#[derive(PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    exponent: i64,
}

impl Decimal {
    pub fn parse(text: &str) -> Option<Decimal> {
        let text = text.trim();
        let (negative, rest) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], rest[at + 1..].parse::<i64>().ok()?),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let all: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
        let leading = all.iter().take_while(|d| **d == 0).count();
        let digits: Vec<u8> = all[leading..].to_vec();
        let trailing = digits.iter().rev().take_while(|d| **d == 0).count();
        let digits = digits[..digits.len() - trailing].to_vec();
        // DynamoDB's exponents lie within -130..=126: anything far outside is not a number it
        // keeps (and must not overflow the arithmetic below).
        if !(-1000..=1000).contains(&exp) || int.len() + frac.len() > 10_000 {
            return None;
        }
        let exponent = int.len() as i64 - leading as i64 + exp;
        if digits.is_empty() {
            return Some(Decimal {
                negative: false,
                digits,
                exponent: 0,
            });
        }
        Some(Decimal {
            negative,
            digits,
            exponent,
        })
    }

    /// The value as `mantissa × 10^-scale`, if the mantissa fits (DynamoDB keeps at most 38
    /// significant digits, which always fit an i128).
    fn scaled(&self) -> Option<(i128, i64)> {
        let mut mantissa: i128 = 0;
        for d in &self.digits {
            mantissa = mantissa.checked_mul(10)?.checked_add(i128::from(*d))?;
        }
        let scale = self.digits.len() as i64 - self.exponent;
        Some((if self.negative { -mantissa } else { mantissa }, scale))
    }

    fn magnitude_cmp(&self, other: &Decimal) -> Ordering {
        self.exponent
            .cmp(&other.exponent)
            .then_with(|| self.digits.cmp(&other.digits))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Decimal) -> Ordering {
        let zero = |d: &Decimal| d.digits.is_empty();
        match (zero(self), zero(other)) {
            (true, true) => return Ordering::Equal,
            (true, false) => {
                return if other.negative {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, true) => {
                return if self.negative {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            _ => {}
        }
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.magnitude_cmp(other),
            (true, true) => other.magnitude_cmp(self),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Decimal) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// `a + b` (or `a - b`) exactly, as DynamoDB's ADD and `SET a = a + :n` compute it.
pub fn add_numbers(a: &str, b: &str, subtract: bool) -> Result<String, String> {
    let not_number = || "A value provided cannot be converted into a number".to_string();
    let overflow = || {
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
            .to_string()
    };
    let (a, b) = (
        Decimal::parse(a).ok_or_else(not_number)?,
        Decimal::parse(b).ok_or_else(not_number)?,
    );
    let ((ma, sa), (mb, sb)) = (
        a.scaled().ok_or_else(overflow)?,
        b.scaled().ok_or_else(overflow)?,
    );
    let scale = sa.max(sb);
    let align = |m: i128, s: i64| -> Result<i128, String> {
        let shift = u32::try_from(scale - s).map_err(|_| overflow())?;
        10i128
            .checked_pow(shift)
            .and_then(|p| m.checked_mul(p))
            .ok_or_else(overflow)
    };
    let (ma, mb) = (align(ma, sa)?, align(mb, sb)?);
    let sum = if subtract {
        ma.checked_sub(mb)
    } else {
        ma.checked_add(mb)
    }
    .ok_or_else(overflow)?;
    Ok(format_scaled(sum, scale))
}

/// `mantissa × 10^-scale` as a plain decimal without trailing zeros.
fn format_scaled(mantissa: i128, scale: i64) -> String {
    let negative = mantissa < 0;
    let digits = mantissa.unsigned_abs().to_string();
    let text = if scale <= 0 {
        let zeros = "0".repeat(usize::try_from(-scale).unwrap_or(0));
        if digits == "0" {
            digits
        } else {
            digits + &zeros
        }
    } else {
        let scale = usize::try_from(scale).unwrap_or(0);
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            int.to_string()
        } else {
            format!("{int}.{frac}")
        }
    };
    if negative && text != "0" {
        format!("-{text}")
    } else {
        text
    }
}

mod base64_bytes {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

mod base64_list {
    use super::*;

    pub fn serialize<S: Serializer>(list: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let engine = base64::engine::general_purpose::STANDARD;
        let texts: Vec<String> = list.iter().map(|b| engine.encode(b)).collect();
        texts.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        let engine = base64::engine::general_purpose::STANDARD;
        texts
            .into_iter()
            .map(|t| engine.decode(t).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_exactly() {
        let cmp = |a, b| compare_numbers(a, b).unwrap();
        assert_eq!(cmp("1", "1.0"), Ordering::Equal);
        assert_eq!(cmp("10", "9.99"), Ordering::Greater);
        assert_eq!(cmp("-10", "-9"), Ordering::Less);
        assert_eq!(cmp("0.001", "1e-3"), Ordering::Equal);
        assert_eq!(cmp("-0", "0"), Ordering::Equal);
        assert_eq!(cmp("-1", "0"), Ordering::Less);
        assert_eq!(
            cmp(
                "12345678901234567890123456789012345678",
                "12345678901234567890123456789012345677"
            ),
            Ordering::Greater
        );
        assert!(compare_numbers("abc", "1").is_none());
        assert!(
            compare_numbers("1e9223372036854775807", "1").is_none(),
            "no overflow"
        );
        assert!(compare_numbers("1e-9223372036854775808", "1").is_none());
        assert!(add_numbers("1e999", "1", false).is_err());
    }

    #[test]
    fn numbers_add_exactly() {
        assert_eq!(add_numbers("1", "1", false).unwrap(), "2");
        assert_eq!(add_numbers("0.1", "0.2", false).unwrap(), "0.3");
        assert_eq!(add_numbers("5", "7.25", true).unwrap(), "-2.25");
        assert_eq!(add_numbers("1e3", "1", false).unwrap(), "1001");
        assert_eq!(add_numbers("-1.5", "1.5", false).unwrap(), "0");
        assert_eq!(
            add_numbers("99999999999999999999999999999999999999", "1", false).unwrap(),
            "100000000000000000000000000000000000000"
        );
        assert!(add_numbers("x", "1", false).is_err());
    }

    #[test]
    fn values_use_dynamodb_json() {
        let v: AttributeValue =
            serde_json::from_str(r#"{"M":{"a":{"BOOL":true},"b":{"B":"aGk="},"c":{"NULL":true}}}"#)
                .unwrap();
        let AttributeValue::M(m) = &v else { panic!() };
        assert_eq!(m["b"], AttributeValue::B(b"hi".to_vec()));
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"M":{"a":{"BOOL":true},"b":{"B":"aGk="},"c":{"NULL":true}}}"#
        );
        assert!(AttributeValue::NS(vec!["1".into(), "2".into()])
            .same(&AttributeValue::NS(vec!["2.0".into(), "1".into()])));
    }
}
