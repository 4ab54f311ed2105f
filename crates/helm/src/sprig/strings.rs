//! Sprig string functions.

use ferrocd_gotmpl::{FuncError, FuncMap, Value, sprintf};

use super::args::{int, string, strslice, strval};

type R = Result<Value, FuncError>;

fn s1(args: &[Value], f: impl Fn(&str) -> String) -> R {
    FuncError::check_arity(args, 1)?;
    Ok(Value::from(f(string(&args[0])?)))
}

/// Go's deprecated `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_');
    }
    out
}

fn untitle(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        prev_sep = c.is_whitespace();
    }
    out
}

fn substr(args: &[Value]) -> R {
    FuncError::check_arity(args, 3)?;
    let (start, end, s) = (int(&args[0])?, int(&args[1])?, string(&args[2])?);
    let len = s.len() as i64;
    let bytes = s.as_bytes();
    let out = if start < 0 {
        &bytes[..end.clamp(0, len) as usize]
    } else if end < 0 || end > len {
        &bytes[start.min(len) as usize..]
    } else {
        &bytes[start.min(end) as usize..end as usize]
    };
    Ok(Value::from(String::from_utf8_lossy(out).into_owned()))
}

fn trunc(args: &[Value]) -> R {
    FuncError::check_arity(args, 2)?;
    let (c, s) = (int(&args[0])?, string(&args[1])?);
    let len = s.len() as i64;
    let out = if c < 0 && len + c > 0 {
        &s.as_bytes()[(len + c) as usize..]
    } else if c >= 0 && len > c {
        &s.as_bytes()[..c as usize]
    } else {
        s.as_bytes()
    };
    Ok(Value::from(String::from_utf8_lossy(out).into_owned()))
}

fn indent_by(n: i64, s: &str) -> String {
    let pad = " ".repeat(n.max(0) as usize);
    format!("{pad}{}", s.replace('\n', &format!("\n{pad}")))
}

fn quote_all(args: &[Value], q: impl Fn(&str) -> String) -> R {
    let parts: Vec<String> = args
        .iter()
        .filter(|a| !a.is_nil())
        .map(|a| q(&strval(a)))
        .collect();
    Ok(Value::from(parts.join(" ")))
}

fn two_strings(args: &[Value]) -> Result<(&str, &str), FuncError> {
    FuncError::check_arity(args, 2)?;
    Ok((string(&args[0])?, string(&args[1])?))
}

/// Registers the string functions.
pub(crate) fn register(f: &mut FuncMap) {
    f.insert("upper", |a| s1(a, str::to_uppercase));
    f.insert("lower", |a| s1(a, str::to_lowercase));
    f.insert("title", |a| s1(a, title));
    f.insert("untitle", |a| s1(a, untitle));
    f.insert("trim", |a| s1(a, |s| s.trim().to_string()));
    f.insert("nospace", |a| {
        s1(a, |s| s.chars().filter(|c| !c.is_whitespace()).collect())
    });
    f.insert("trimAll", |a| {
        let (cut, s) = two_strings(a)?;
        Ok(Value::from(s.trim_matches(|c| cut.contains(c))))
    });
    f.insert("trimPrefix", |a| {
        let (p, s) = two_strings(a)?;
        Ok(Value::from(s.strip_prefix(p).unwrap_or(s)))
    });
    f.insert("trimSuffix", |a| {
        let (p, s) = two_strings(a)?;
        Ok(Value::from(s.strip_suffix(p).unwrap_or(s)))
    });
    f.insert("contains", |a| {
        let (sub, s) = two_strings(a)?;
        Ok(Value::Bool(s.contains(sub)))
    });
    f.insert("hasPrefix", |a| {
        let (p, s) = two_strings(a)?;
        Ok(Value::Bool(s.starts_with(p)))
    });
    f.insert("hasSuffix", |a| {
        let (p, s) = two_strings(a)?;
        Ok(Value::Bool(s.ends_with(p)))
    });
    f.insert("repeat", |a| {
        FuncError::check_arity(a, 2)?;
        let n = int(&a[0])?;
        if n < 0 {
            return Err(FuncError::msg("strings: negative Repeat count"));
        }
        Ok(Value::from(string(&a[1])?.repeat(n as usize)))
    });
    f.insert("substr", substr);
    f.insert("trunc", trunc);
    f.insert("replace", |a| {
        FuncError::check_arity(a, 3)?;
        let (old, new, s) = (string(&a[0])?, string(&a[1])?, string(&a[2])?);
        Ok(Value::from(s.replace(old, new)))
    });
    f.insert("indent", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(Value::from(indent_by(int(&a[0])?, string(&a[1])?)))
    });
    f.insert("nindent", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(Value::from(format!(
            "\n{}",
            indent_by(int(&a[0])?, string(&a[1])?)
        )))
    });
    f.insert("quote", |a| {
        quote_all(a, |s| sprintf("%q", &[Value::from(s)]))
    });
    f.insert("squote", |a| quote_all(a, |s| format!("'{s}'")));
    f.insert("cat", |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| sprintf("%v", std::slice::from_ref(v)))
            .collect();
        Ok(Value::from(parts.join(" ")))
    });
    f.insert("toString", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(strval(&a[0])))
    });
    f.insert("splitList", |a| {
        let (sep, s) = two_strings(a)?;
        Ok(Value::list(go_split(s, sep).into_iter().map(Value::from)))
    });
    f.insert("split", |a| {
        let (sep, s) = two_strings(a)?;
        Ok(Value::map(
            go_split(s, sep)
                .into_iter()
                .enumerate()
                .map(|(i, p)| (format!("_{i}"), Value::from(p))),
        ))
    });
    f.insert("join", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(Value::from(strslice(&a[1]).join(string(&a[0])?)))
    });
    f.insert("sortAlpha", |a| {
        FuncError::check_arity(a, 1)?;
        let mut items = strslice(&a[0]);
        items.sort();
        Ok(Value::list(items.into_iter().map(Value::from)))
    });
    f.insert("plural", |a| {
        FuncError::check_arity(a, 3)?;
        let (one, many, n) = (string(&a[0])?, string(&a[1])?, int(&a[2])?);
        Ok(Value::from(if n == 1 { one } else { many }))
    });
}

/// Go's `strings.Split`: an empty separator splits into characters.
fn go_split(s: &str, sep: &str) -> Vec<String> {
    if sep.is_empty() {
        return s.chars().map(String::from).collect();
    }
    s.split(sep).map(str::to_string).collect()
}
