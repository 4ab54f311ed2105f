//! Kubernetes resource quantities (`500m`, `1Gi`, `2.5`, `1e3`), compared by value so that
//! `"1000m"` equals `"1"`, `"1Gi"` equals `"1024Mi"` and `"0.5"` equals `"500m"`.

/// A quantity as an exact decimal: `mantissa × 10^exponent`, normalized so that equal
/// values have equal representations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quantity {
    mantissa: i128,
    exponent: i32,
}

/// Parses a quantity; `None` when the text is not one (or is too large to hold exactly).
pub(crate) fn parse(text: &str) -> Option<Quantity> {
    let text = text.trim();
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let number_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_end);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return None;
    }
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = format!("{whole}{fraction}");
    if digits.len() > 30 {
        return None;
    }
    let mut mantissa: i128 = digits.parse().ok()?;
    let mut exponent = -(fraction.len() as i32);
    let (ten, two) = suffix_scale(suffix)?;
    exponent += ten;
    mantissa = mantissa.checked_mul(1i128.checked_shl(two)?)?;
    if negative {
        mantissa = -mantissa;
    }
    Some(normalized(mantissa, exponent))
}

/// The power of ten and power of two a suffix stands for.
fn suffix_scale(suffix: &str) -> Option<(i32, u32)> {
    Some(match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        _ => {
            let exp = suffix.strip_prefix(['e', 'E'])?;
            let value: i32 = exp.parse().ok()?;
            if value.abs() > 60 {
                return None;
            }
            (value, 0)
        }
    })
}

fn normalized(mut mantissa: i128, mut exponent: i32) -> Quantity {
    if mantissa == 0 {
        return Quantity {
            mantissa: 0,
            exponent: 0,
        };
    }
    while mantissa % 10 == 0 {
        mantissa /= 10;
        exponent += 1;
    }
    Quantity { mantissa, exponent }
}

/// Whether two JSON scalars are the same quantity (numbers count as their decimal text).
pub(crate) fn same_quantity(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match (text(a), text(b)) {
        (Some(a), Some(b)) => matches!((parse(&a), parse(&b)), (Some(x), Some(y)) if x == y),
        _ => false,
    }
}

/// Whether a field holds a quantity, from its name and its parent's name.
pub(crate) fn is_quantity_field(parent: Option<&str>, name: Option<&str>) -> bool {
    parent.is_some_and(|p| QUANTITY_MAPS.contains(&p))
        || matches!(name, Some("sizeLimit" | "storage"))
}

/// Maps whose values are quantities (resource requirements, quotas, limit ranges, node
/// capacity, pod overhead).
const QUANTITY_MAPS: [&str; 11] = [
    "limits",
    "requests",
    "hard",
    "capacity",
    "allocatable",
    "overhead",
    "max",
    "min",
    "default",
    "defaultRequest",
    "maxLimitRequestRatio",
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn equal_spellings() {
        assert_eq!(parse("1000m"), parse("1"));
        assert_eq!(parse("1Gi"), parse("1024Mi"));
        assert_eq!(parse("0.5"), parse("500m"));
        assert_eq!(parse("1e3"), parse("1k"));
        assert_eq!(parse("1E"), parse("1000P"));
        assert_eq!(parse("+2"), parse("2.000"));
        assert_ne!(parse("1Gi"), parse("1G"));
        assert_ne!(parse("100m"), parse("1"));
    }

    #[test]
    fn not_quantities() {
        for s in ["", "abc", "1.2.3", "1Xi", ".", "1e999", "-"] {
            assert_eq!(parse(s), None, "{s}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = parse(&s);
        }

        #[test]
        fn milli_and_whole_agree(n in 0i64..1_000_000) {
            prop_assert_eq!(parse(&format!("{}m", n * 1000)), parse(&n.to_string()));
        }

        #[test]
        fn binary_suffixes_agree(n in 0i64..1_000_000) {
            prop_assert_eq!(parse(&format!("{}Mi", n * 1024)), parse(&format!("{n}Gi")));
        }
    }
}
