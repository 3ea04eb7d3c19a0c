//! Decimal text (`-12.345`, `1.5e3`) to the unscaled integer of a `decimal(p,s)` column,
//! rounded half up to the scale as Hive's HiveDecimal rounds, refused past the precision.

/// The unscaled value of `text` at `scale` digits after the point.
pub fn parse(text: &str, precision: u8, scale: u8) -> Result<i128, String> {
    let bad = || format!("{text:?} is not a decimal number");
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (
            &unsigned[..at],
            unsigned[at + 1..].parse::<i32>().map_err(|_| bad())?,
        ),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    // Leading zeros carry nothing (and would count against the digits kept).
    let whole = whole.trim_start_matches('0');
    // All digits, and where the point falls among them once the exponent moved it.
    let digits: Vec<u8> = whole
        .bytes()
        .chain(fraction.bytes())
        .map(|b| b - b'0')
        .collect();
    let point = i64::try_from(whole.len()).map_err(|_| bad())? + i64::from(exponent);
    // Keep the digits before the point and `scale` digits after it; the next one rounds.
    let kept = point + i64::from(scale);
    let mut value: i128 = 0;
    let mut used = 0usize;
    for position in 0..kept.max(0) {
        let digit = usize::try_from(position)
            .ok()
            .and_then(|p| digits.get(p))
            .copied()
            .unwrap_or(0);
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(digit)))
            .ok_or_else(|| too_large(text, precision, scale))?;
        used += 1;
        if used > 60 {
            return Err(too_large(text, precision, scale));
        }
    }
    let next = usize::try_from(kept)
        .ok()
        .and_then(|k| digits.get(k))
        .copied();
    if kept >= 0 && next.is_some_and(|d| d >= 5) {
        value += 1;
    }
    let limit = 10i128.pow(u32::from(precision));
    if value >= limit {
        return Err(too_large(text, precision, scale));
    }
    Ok(if negative { -value } else { value })
}

fn too_large(text: &str, precision: u8, scale: u8) -> String {
    format!("{text} does not fit decimal({precision},{scale})")
}

/// The bytes of a FIXED_LEN_BYTE_ARRAY decimal: big-endian two's complement in `len` bytes.
pub fn to_fixed(value: i128, len: usize) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    bytes[bytes.len() - len.min(bytes.len())..].to_vec()
}

/// The bytes a decimal of `precision` digits takes in a FIXED_LEN_BYTE_ARRAY, as Hive sizes it.
pub fn fixed_len(precision: u8) -> usize {
    // The smallest n with 2^(8n-1) > 10^precision.
    (1..=16)
        .find(|n| {
            let bits = 8 * n - 1;
            bits >= 127 || (1i128 << bits) > 10i128.pow(u32::from(precision))
        })
        .unwrap_or(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_scales_and_rounds_half_up() {
        assert_eq!(parse("12.34", 5, 2), Ok(1234));
        assert_eq!(parse("-12.345", 5, 2), Ok(-1235));
        assert_eq!(parse("12.344", 5, 2), Ok(1234));
        assert_eq!(parse("7", 5, 2), Ok(700));
        assert_eq!(parse("1.5e2", 5, 0), Ok(150));
        assert_eq!(parse("15e-1", 5, 1), Ok(15));
        assert_eq!(parse(".5", 3, 1), Ok(5));
        assert_eq!(parse("0.004", 3, 2), Ok(0));
        assert_eq!(parse(&format!("{}1.5", "0".repeat(70)), 3, 1), Ok(15));
    }

    #[test]
    fn too_many_digits_and_words_are_refused() {
        assert!(parse("1000", 5, 2).unwrap_err().contains("does not fit"));
        assert!(parse("1e40", 38, 0).is_err());
        assert!(parse("oops", 5, 2).unwrap_err().contains("not a decimal"));
        assert!(parse("", 5, 2).is_err());
        assert!(parse("1.2.3", 5, 2).is_err());
    }

    #[test]
    fn fixed_bytes_are_hive_sized_twos_complement() {
        assert_eq!(fixed_len(1), 1);
        assert_eq!(fixed_len(9), 4);
        assert_eq!(fixed_len(18), 8);
        assert_eq!(fixed_len(38), 16);
        assert_eq!(to_fixed(-1, 2), vec![0xff, 0xff]);
        assert_eq!(to_fixed(1234, 3), vec![0, 0x04, 0xd2]);
    }
}
