//! Sprig's text-shaping functions: case conversion, wrapping, abbreviation,
//! splitting, extra regex helpers and the random string generators.

use ferrocd_gotmpl::{FuncError, FuncMap, Value};

use super::args::{int, string, strslice, strval, to_i64};

type R = Result<Value, FuncError>;

/// Splits a string into words at separators (`_`, `-`, spaces) and at case
/// changes (`mlflowTrackingURI` → `mlflow`, `Tracking`, `URI`).
fn words(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn join_lower(s: &str, sep: &str) -> String {
    words(s)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(sep)
}

/// Sprig's `camelcase`: words split on `_`, `-` and spaces, each capitalised;
/// inside a word an upper-case letter that follows an upper-case letter is
/// lowered (`GPT` → `Gpt`, `HTTPServer` → `Httpserver`, `SmartLarge` kept);
/// a leading underscore and doubled underscores leave one `_`.
fn camelcase(s: &str) -> String {
    let body = s.trim_start_matches('_');
    let mut out = String::new();
    if body.len() < s.len() {
        out.push('_');
    }
    let parts: Vec<&str> = body.split(['_', '-', ' ']).collect();
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            if i > 0 && i + 1 < parts.len() {
                out.push('_');
            }
            continue;
        }
        let mut prev: Option<char> = None;
        for c in part.chars() {
            match prev {
                None => out.extend(c.to_uppercase()),
                Some(p) if p.is_uppercase() && c.is_uppercase() => out.extend(c.to_lowercase()),
                Some(_) => out.push(c),
            }
            prev = Some(c);
        }
    }
    out
}

fn swapcase(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_uppercase() {
                c.to_lowercase().collect::<Vec<_>>()
            } else {
                c.to_uppercase().collect::<Vec<_>>()
            }
        })
        .collect()
}

fn initials(s: &str) -> String {
    s.split_whitespace()
        .filter_map(|w| w.chars().next())
        .collect()
}

/// Word wrapping at `width` columns with `sep` as the line break; words
/// longer than the width stay whole.
fn wrap_with(width: i64, sep: &str, s: &str) -> String {
    let width = width.max(1) as usize;
    let mut out = String::new();
    for (li, line) in s.split('\n').enumerate() {
        if li > 0 {
            out.push('\n');
        }
        let mut col = 0usize;
        for (wi, word) in line.split(' ').filter(|w| !w.is_empty()).enumerate() {
            let len = word.chars().count();
            if wi > 0 {
                if col + 1 + len > width {
                    out.push_str(sep);
                    col = 0;
                } else {
                    out.push(' ');
                    col += 1;
                }
            }
            out.push_str(word);
            col += len;
        }
    }
    out
}

fn abbrev(width: i64, s: &str) -> String {
    let n = s.chars().count() as i64;
    if width < 4 || n <= width {
        return s.to_string();
    }
    let keep: String = s.chars().take((width - 3) as usize).collect();
    format!("{keep}...")
}

fn abbrevboth(left: i64, width: i64, s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    if width < 4 || n <= width {
        return s.to_string();
    }
    if left <= 4 {
        return abbrev(width, s);
    }
    if width < 7 {
        return s.to_string();
    }
    let left = if n - left < width - 3 {
        n - (width - 3)
    } else {
        left
    };
    let rest: String = chars[left as usize..].iter().collect();
    if left + width - 3 < n {
        format!("...{}", abbrev(width - 3, &rest))
    } else {
        format!("...{rest}")
    }
}

const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";

fn random_string(a: &[Value], alphabet: impl Fn() -> Vec<u8>) -> R {
    FuncError::check_arity(a, 1)?;
    let n = int(&a[0])?.max(0) as usize;
    let set = alphabet();
    let out: String = (0..n)
        .map(|_| set[rand::random_range(0..set.len())] as char)
        .collect();
    Ok(Value::from(out))
}

fn regex(pattern: &str) -> Result<regex::Regex, FuncError> {
    regex::Regex::new(pattern).map_err(|e| FuncError::msg(format!("error parsing regexp: {e}")))
}

fn regex_find_all(a: &[Value]) -> R {
    FuncError::check_arity(a, 3)?;
    let re = regex(string(&a[0])?)?;
    let n = int(&a[2])?;
    let all = re
        .find_iter(string(&a[1])?)
        .map(|m| Value::from(m.as_str()));
    Ok(if n < 0 {
        Value::list(all)
    } else {
        Value::list(all.take(n as usize))
    })
}

fn regex_split(a: &[Value]) -> R {
    FuncError::check_arity(a, 3)?;
    let re = regex(string(&a[0])?)?;
    let n = int(&a[2])?;
    let s = string(&a[1])?;
    Ok(if n < 0 {
        Value::list(re.split(s).map(Value::from))
    } else {
        Value::list(re.splitn(s, n as usize).map(Value::from))
    })
}

fn regex_replace_literal(a: &[Value]) -> R {
    FuncError::check_arity(a, 3)?;
    let re = regex(string(&a[0])?)?;
    Ok(Value::from(
        re.replace_all(string(&a[1])?, regex::NoExpand(string(&a[2])?))
            .into_owned(),
    ))
}

/// Registers the text functions.
pub(crate) fn register(f: &mut FuncMap) {
    f.insert("camelcase", |a| one(a, camelcase));
    f.insert("snakecase", |a| one(a, |s| join_lower(s, "_")));
    f.insert("kebabcase", |a| one(a, |s| join_lower(s, "-")));
    f.insert("swapcase", |a| one(a, swapcase));
    f.insert("initials", |a| one(a, initials));
    f.insert("shuffle", |a| {
        one(a, |s| {
            let mut cs: Vec<char> = s.chars().collect();
            for i in (1..cs.len()).rev() {
                cs.swap(i, rand::random_range(0..=i));
            }
            cs.into_iter().collect()
        })
    });
    f.insert("wrap", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(Value::from(wrap_with(int(&a[0])?, "\n", string(&a[1])?)))
    });
    f.insert("wrapWith", |a| {
        FuncError::check_arity(a, 3)?;
        Ok(Value::from(wrap_with(
            int(&a[0])?,
            string(&a[1])?,
            string(&a[2])?,
        )))
    });
    f.insert("abbrev", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(Value::from(abbrev(int(&a[0])?, string(&a[1])?)))
    });
    f.insert("abbrevboth", |a| {
        FuncError::check_arity(a, 3)?;
        Ok(Value::from(abbrevboth(
            int(&a[0])?,
            int(&a[1])?,
            string(&a[2])?,
        )))
    });
    f.insert("splitn", |a| {
        FuncError::check_arity(a, 3)?;
        let (sep, n, s) = (string(&a[0])?, int(&a[1])?, string(&a[2])?);
        let parts: Vec<&str> = if n < 0 {
            s.split(sep).collect()
        } else {
            s.splitn(n as usize, sep).collect()
        };
        Ok(Value::map(
            parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| (format!("_{i}"), Value::from(p))),
        ))
    });
    f.insert("toStrings", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::list(strslice(&a[0]).into_iter().map(Value::from)))
    });
    f.insert("trimall", |a| {
        FuncError::check_arity(a, 2)?;
        let (cut, s) = (string(&a[0])?, string(&a[1])?);
        Ok(Value::from(s.trim_matches(|c| cut.contains(c))))
    });
    f.insert("regexFindAll", regex_find_all);
    f.insert("mustRegexFindAll", regex_find_all);
    f.insert("regexSplit", regex_split);
    f.insert("mustRegexSplit", regex_split);
    f.insert("regexReplaceAllLiteral", regex_replace_literal);
    f.insert("mustRegexReplaceAllLiteral", regex_replace_literal);
    f.insert("regexQuoteMeta", |a| one(a, regex::escape));
    f.insert("mustRegexMatch", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(Value::Bool(regex(string(&a[0])?)?.is_match(string(&a[1])?)))
    });
    f.insert("mustRegexFind", |a| {
        FuncError::check_arity(a, 2)?;
        let re = regex(string(&a[0])?)?;
        Ok(Value::from(
            re.find(string(&a[1])?).map_or("", |m| m.as_str()),
        ))
    });
    f.insert("mustRegexReplaceAll", |a| {
        FuncError::check_arity(a, 3)?;
        let re = regex(string(&a[0])?)?;
        Ok(Value::from(
            re.replace_all(string(&a[1])?, string(&a[2])?).into_owned(),
        ))
    });
    f.insert("typeIsLike", |a| {
        FuncError::check_arity(a, 2)?;
        let want = string(&a[0])?;
        let got = a[1].type_name();
        Ok(Value::Bool(want == got || format!("*{want}") == got))
    });
    f.insert("randAlphaNum", |a| {
        random_string(a, || [ALPHA, DIGITS].concat())
    });
    f.insert("randAlpha", |a| random_string(a, || ALPHA.to_vec()));
    f.insert("randNumeric", |a| random_string(a, || DIGITS.to_vec()));
    f.insert("randAscii", |a| random_string(a, || (32u8..=126).collect()));
    f.insert("randInt", |a| {
        FuncError::check_arity(a, 2)?;
        let (lo, hi) = (to_i64(&a[0]), to_i64(&a[1]));
        if hi <= lo {
            return Err(FuncError::msg("invalid argument to Intn"));
        }
        Ok(Value::Int(rand::random_range(lo..hi)))
    });
    f.insert("uuidv4", |a| {
        FuncError::check_arity(a, 0)?;
        Ok(Value::from(uuid::Uuid::new_v4().to_string()))
    });
    f.insert("getHostByName", |a| {
        FuncError::check_arity(a, 1)?;
        // `helm template` never resolves names; it renders an empty string.
        let _ = strval(&a[0]);
        Ok(Value::from(""))
    });
}

fn one(a: &[Value], f: impl Fn(&str) -> String) -> R {
    FuncError::check_arity(a, 1)?;
    Ok(Value::from(f(string(&a[0])?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_case_changes() {
        assert_eq!(words("mlflowTrackingURI"), ["mlflow", "Tracking", "URI"]);
        assert_eq!(words("HTTPServer2"), ["HTTP", "Server2"]);
        assert_eq!(words("a-b c"), ["a", "b", "c"]);
    }

    #[test]
    fn abbrevboth_keeps_middle() {
        assert_eq!(abbrevboth(5, 10, "1234 5678 9123 4567"), "...5678...");
    }
}
