//! YAML as Helm's `toYaml` writes it (go-yaml through JSON): keys sorted,
//! sequences not indented under their key, strings quoted only when they
//! would read back as something else, multi-line strings as literal blocks.
//! Also YAML reading with Kubernetes' YAML 1.1 flavour.

use ferrocd_gotmpl::Value;

use crate::sprig::json_float;

/// `toYaml`: the value as a YAML document without the final newline.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    emit_node(&mut out, v, 0, Ctx::Top, 0);
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Top,
    MapValue,
    ListItem,
}

fn is_empty_collection(v: &Value) -> bool {
    match v {
        Value::Map(m) => m.is_empty(),
        Value::List(l) => l.is_empty(),
        _ => true,
    }
}

fn pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

/// Emits `v`; the caller has already written the key or `- ` marker (or
/// nothing at the top). `indent` is the column of the enclosing mapping keys.
fn emit_node(out: &mut String, v: &Value, indent: usize, ctx: Ctx, depth: usize) {
    if depth > 200 {
        out.push_str("null\n");
        return;
    }
    match v {
        Value::Map(m) if !m.is_empty() => {
            let entries = m.entries();
            let child = match ctx {
                Ctx::Top => 0,
                Ctx::MapValue => indent + 2,
                Ctx::ListItem => indent,
            };
            if ctx == Ctx::MapValue {
                out.push('\n');
            }
            for (i, (k, val)) in entries.iter().enumerate() {
                if i > 0 || ctx != Ctx::ListItem {
                    pad(out, child);
                }
                out.push_str(&scalar_string(k, child));
                out.push(':');
                emit_value_after_key(out, val, child, depth);
            }
        }
        Value::List(l) if !l.is_empty() => {
            // Sequences sit at the key's column under a mapping key.
            let col = match ctx {
                Ctx::Top => 0,
                Ctx::MapValue => indent,
                Ctx::ListItem => indent,
            };
            if ctx == Ctx::MapValue {
                out.push('\n');
            }
            for (i, item) in l.iter().enumerate() {
                if i > 0 || ctx != Ctx::ListItem {
                    pad(out, col);
                }
                out.push('-');
                if matches!(item, Value::Map(_) | Value::List(_)) && !is_empty_collection(item) {
                    out.push(' ');
                    emit_node(out, item, col + 2, Ctx::ListItem, depth + 1);
                } else {
                    out.push(' ');
                    out.push_str(&scalar(item, col + 2));
                    out.push('\n');
                }
            }
        }
        other => {
            if ctx == Ctx::MapValue {
                out.push(' ');
            }
            out.push_str(&scalar(other, indent));
            out.push('\n');
        }
    }
}

fn emit_value_after_key(out: &mut String, val: &Value, col: usize, depth: usize) {
    if matches!(val, Value::Map(_) | Value::List(_)) && !is_empty_collection(val) {
        emit_node(out, val, col, Ctx::MapValue, depth + 1);
    } else {
        out.push(' ');
        out.push_str(&scalar(val, col + 2));
        out.push('\n');
    }
}

/// A scalar (or empty collection) in YAML; `indent` is the column block
/// scalars' content is written at.
fn scalar(v: &Value, indent: usize) -> String {
    match v {
        Value::Nil | Value::Object(_) | Value::Func(_) => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Uint64(u) => u.to_string(),
        Value::Float64(f) => {
            if f.is_nan() {
                "null".into()
            } else {
                json_float(*f)
            }
        }
        Value::String(s) => scalar_string(s, indent),
        Value::Map(_) => "{}".into(),
        Value::List(_) => "[]".into(),
    }
}

/// Whether a plain scalar with this text would be read as something other
/// than a string by a YAML 1.1 reader (go-yaml).
pub(crate) fn resolves_to_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
        ".NaN", ".NAN", "<<", "=",
    ];
    if WORDS.contains(&s) || is_timestamp(s) {
        return true;
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body.is_empty() {
        return false;
    }
    let first = body.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'.') {
        return false;
    }
    let plain: String = body.chars().filter(|c| *c != '_').collect();
    if let Some(hex) = plain.strip_prefix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    if let Some(bin) = plain.strip_prefix("0b") {
        return !bin.is_empty() && bin.chars().all(|c| c == '0' || c == '1');
    }
    if plain.contains(':') {
        // Base 60 (sexagesimal) numbers: 1:20, 190:20:30.
        return plain
            .split(':')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit() || c == '.'));
    }
    if plain.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    plain.parse::<f64>().is_ok() && !plain.ends_with(['e', 'E'])
}

/// Whether go-yaml reads this plain scalar as a timestamp (and so quotes such
/// strings when it writes them): `2006-1-2`, optionally followed by `T`, `t`
/// or a space and `15:4:5` with an optional fraction and, after `T`/`t`, a zone
/// (`Z` or `±07:00`). The date must exist.
fn is_timestamp(s: &str) -> bool {
    fn num(s: &str, min: usize, max: usize) -> Option<(u32, &str)> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        if n < min || n > max {
            return None;
        }
        Some((s[..n].parse().ok()?, &s[n..]))
    }
    let date = || -> Option<&str> {
        let (year, rest) = num(s, 4, 4)?;
        let (month, rest) = num(rest.strip_prefix('-')?, 1, 2)?;
        let (day, rest) = num(rest.strip_prefix('-')?, 1, 2)?;
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (day >= 1 && day <= days).then_some(rest)
    };
    let Some(rest) = date() else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let (sep, time) = rest.split_at(1);
    if !matches!(sep, "T" | "t" | " ") {
        return false;
    }
    let clock = || -> Option<&str> {
        let (h, r) = num(time, 1, 2)?;
        let (m, r) = num(r.strip_prefix(':')?, 1, 2)?;
        let (sec, r) = num(r.strip_prefix(':')?, 1, 2)?;
        if h > 23 || m > 59 || sec > 59 {
            return None;
        }
        match r.strip_prefix('.') {
            Some(frac) => num(frac, 1, 9).map(|(_, r)| r),
            None => Some(r),
        }
    };
    let Some(zone) = clock() else {
        return false;
    };
    if zone.is_empty() {
        return true;
    }
    if sep == " " {
        return false;
    }
    if zone == "Z" {
        return true;
    }
    let Some(offset) = zone.strip_prefix(['+', '-']) else {
        return false;
    };
    matches!(
        num(offset, 2, 2),
        Some((h, r)) if h <= 23 && matches!(num(r.strip_prefix(':').unwrap_or("x"), 2, 2), Some((m, "")) if m <= 59)
    )
}

fn plain_allowed(s: &str) -> bool {
    if s.is_empty()
        || s.starts_with(' ')
        || s.ends_with(' ')
        || s.starts_with("---")
        || s.starts_with("...")
    {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "?:,[]{}#&*!|>'\"%@`".contains(first) {
        if matches!(first, '?' | ':') {
            let second = s.chars().nth(1);
            if second.is_none() || second == Some(' ') {
                return false;
            }
            if first == ':' || first == '?' {
                return false;
            }
        } else {
            return false;
        }
    }
    if first == '-' {
        let second = s.chars().nth(1);
        if second.is_none() || second == Some(' ') {
            return false;
        }
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.contains('\t') {
        return false;
    }
    s.chars().all(|c| !c.is_control() && c != '\u{feff}')
}

fn printable(s: &str) -> bool {
    s.chars().all(|c| {
        c == '\n'
            || c == '\t'
            || (!c.is_control()
                && c != '\u{feff}'
                && c != '\u{2028}'
                && c != '\u{2029}'
                && c != '\u{85}')
    })
}

fn scalar_string(s: &str, indent: usize) -> String {
    if resolves_to_non_string(s) {
        return double_quoted(s);
    }
    if s.contains('\n') {
        let block_ok = printable(s)
            && !s.contains('\t')
            && !s.starts_with(' ')
            && !s.starts_with('\n')
            && !s.lines().any(|l| l.ends_with(' '))
            && !s.contains('\r')
            && !s.ends_with("\n\n");
        if block_ok {
            return literal_block(s, indent);
        }
        return double_quoted(s);
    }
    if plain_allowed(s) {
        return s.to_string();
    }
    if printable(s) && !s.contains('\t') {
        return format!("'{}'", s.replace('\'', "''"));
    }
    double_quoted(s)
}

fn literal_block(s: &str, indent: usize) -> String {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!("|{chomp}");
    let body = if trailing == 1 {
        &s[..s.len() - 1]
    } else {
        s.trim_end_matches('\n')
    };
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            pad(&mut out, indent.max(2));
            out.push_str(line);
        }
    }
    if trailing > 1 {
        for _ in 1..trailing {
            out.push('\n');
        }
    }
    out
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02X}"));
                } else {
                    out.push_str(&format!("\\u{n:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::{json_to_value, value_to_json};

    fn roundtrip(j: serde_json::Value) {
        let y = to_yaml(&json_to_value(&j));
        let back = ferrocd_manifest::parse_yaml_value(&y, "t").unwrap();
        assert_eq!(
            value_to_json(&json_to_value(&back)),
            value_to_json(&json_to_value(&j)),
            "yaml:\n{y}"
        );
    }

    #[test]
    fn emits_go_yaml_layout() {
        let v = json_to_value(&serde_json::json!({
            "resources": {"limits": {"nvidia.com/gpu": 1, "memory": "16Gi"}},
            "args": ["--port", "8080"],
            "env": [{"name": "A", "value": "true"}],
            "empty": {}, "none": null, "script": "set -e\nrun\n"
        }));
        assert_eq!(
            to_yaml(&v),
            "args:\n- --port\n- \"8080\"\nempty: {}\nenv:\n- name: A\n  value: \"true\"\nnone: null\nresources:\n  limits:\n    memory: 16Gi\n    nvidia.com/gpu: 1\nscript: |\n  set -e\n  run"
        );
    }

    #[test]
    fn timestamps_are_quoted_like_go_yaml_does() {
        for ts in [
            "2024-06-01",
            "2024-6-1",
            "2024-02-29",
            "2024-06-01T10:30:00Z",
            "2024-06-01t10:30:00.123+02:00",
            "2024-06-01 10:30:00",
        ] {
            assert!(is_timestamp(ts), "{ts}");
        }
        for not in [
            "2023-02-29",
            "2024-13-01",
            "24-06-01",
            "2024-06-01T10:30",
            "2024-06-01 10:30:00Z",
            "2024-06-01x",
            "release-2024-06-01",
        ] {
            assert!(!is_timestamp(not), "{not}");
        }
    }

    #[test]
    fn quotes_what_would_change_type() {
        for s in [
            "yes",
            "on",
            "1.5",
            "0x1F",
            "1:20",
            "",
            " x",
            "a: b",
            "*.ml.example.com",
            "#x",
            "- a",
            "12e3",
        ] {
            let y = to_yaml(&Value::from(s));
            let back: serde_json::Value = ferrocd_manifest::parse_yaml_value(&y, "t").unwrap();
            assert_eq!(back, serde_json::Value::String(s.into()), "{s:?} -> {y}");
        }
    }

    #[test]
    fn nested_lists_and_blocks_roundtrip() {
        roundtrip(serde_json::json!([[1, [2, 3]], {"a": [{"b": "x\ny"}]}, "multi\n\nline\n\n"]));
        roundtrip(serde_json::json!({"k": {"l": [[{"m": ["n"]}]], "o": "p: q"}}));
        roundtrip(serde_json::json!({"tab": "a\tb", "lead": "  x\ny", "cr": "a\r\nb"}));
    }
}
