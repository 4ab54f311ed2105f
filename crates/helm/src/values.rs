//! Values: the `--set` family grammar, merging user values, coalescing them
//! with chart defaults (null removes a key), subchart scoping with `global`
//! propagation, dependency conditions/tags/aliases and import-values.
//!
//! Values are JSON data; numbers read from YAML are stored as floats (Go
//! `float64`), integers from `--set` as integers (Go `int64`), so templates
//! see the same Go types as under Helm.

use serde_json::{Map, Value as Json};

use crate::chart::Chart;
use crate::error::HelmError;

/// Turns every number into a float, as Helm's YAML → JSON decoding does.
pub fn floatify(v: Json) -> Json {
    match v {
        Json::Number(n) => {
            serde_json::Number::from_f64(n.as_f64().unwrap_or(0.0)).map_or(Json::Null, Json::Number)
        }
        Json::Array(a) => Json::Array(a.into_iter().map(floatify).collect()),
        Json::Object(m) => Json::Object(m.into_iter().map(|(k, x)| (k, floatify(x))).collect()),
        other => other,
    }
}

/// How the value of a `--set`-style expression is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetKind {
    /// `--set`: `true`/`false`/`null` and integers are typed, `{a,b}` is a list.
    Typed,
    /// `--set-string`: every value a string.
    String,
    /// `--set-json`: the value is JSON.
    Json,
}

impl SetKind {
    fn flag(self) -> &'static str {
        match self {
            SetKind::Typed => "--set",
            SetKind::String => "--set-string",
            SetKind::Json => "--set-json",
        }
    }
}

/// Parses one `--set`-style argument (`a.b=1,c[0].d=x`) into `into`.
pub fn parse_set_into(
    expr: &str,
    kind: SetKind,
    into: &mut Map<String, Json>,
) -> Result<(), HelmError> {
    let err = |message: String| HelmError::Set {
        flag: kind.flag(),
        message,
    };
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        // Key path.
        let mut path: Vec<Seg> = Vec::new();
        let mut cur = String::new();
        let mut has_eq = false;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '\\' if i + 1 < chars.len() => {
                    cur.push(chars[i + 1]);
                    i += 2;
                }
                '.' => {
                    path.push(Seg::Key(std::mem::take(&mut cur)));
                    i += 1;
                }
                '[' => {
                    if !cur.is_empty() {
                        path.push(Seg::Key(std::mem::take(&mut cur)));
                    }
                    let close = chars[i..].iter().position(|c| *c == ']').map(|p| p + i);
                    let Some(close) = close else {
                        return Err(err(format!(
                            "key {:?} has no value",
                            chars[..i].iter().collect::<String>()
                        )));
                    };
                    let num: String = chars[i + 1..close].iter().collect();
                    let idx: usize = num.parse().map_err(|_| {
                        err(format!(
                            "failed to parse index: strconv.Atoi: parsing {num:?}: invalid syntax"
                        ))
                    })?;
                    if idx > 65536 {
                        return Err(err(format!(
                            "index of {idx} is greater than maximum supported index value of 65536"
                        )));
                    }
                    path.push(Seg::Index(idx));
                    i = close + 1;
                    if i < chars.len() && chars[i] == '.' {
                        i += 1;
                    }
                }
                '=' => {
                    has_eq = true;
                    i += 1;
                    break;
                }
                ',' => {
                    return Err(err(format!(
                        "key {:?} has no value (cannot end with ,)",
                        cur
                    )));
                }
                _ => {
                    cur.push(c);
                    i += 1;
                }
            }
        }
        if !cur.is_empty() || path.is_empty() || !matches!(path.last(), Some(Seg::Index(_))) {
            path.push(Seg::Key(cur));
        }
        if !has_eq {
            let key = path
                .iter()
                .map(Seg::to_string)
                .collect::<Vec<_>>()
                .join(".");
            return Err(err(format!("key {key:?} has no value")));
        }
        // Value.
        let value = match kind {
            SetKind::Json => {
                let rest: String = chars[i..].iter().collect();
                let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<Json>();
                let v = match stream.next() {
                    Some(Ok(v)) => v,
                    Some(Err(e)) => return Err(err(e.to_string())),
                    None => Json::Null,
                };
                let used = stream.byte_offset();
                i += rest[..used].chars().count();
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                v
            }
            _ if kind == SetKind::Typed && i < chars.len() && chars[i] == '{' => {
                let close = chars[i..].iter().position(|c| *c == '}').map(|p| p + i);
                let Some(close) = close else {
                    return Err(err("list must terminate with '}'".into()));
                };
                let inner: String = chars[i + 1..close].iter().collect();
                i = close + 1;
                let items = if inner.is_empty() {
                    Vec::new()
                } else {
                    split_unescaped(&inner)
                        .into_iter()
                        .map(|s| typed(&s))
                        .collect()
                };
                Json::Array(items)
            }
            _ => {
                let mut s = String::new();
                while i < chars.len() && chars[i] != ',' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        s.push(chars[i + 1]);
                        i += 2;
                    } else {
                        s.push(chars[i]);
                        i += 1;
                    }
                }
                if kind == SetKind::String {
                    Json::String(s)
                } else {
                    typed(&s)
                }
            }
        };
        if i < chars.len() {
            if chars[i] == ',' {
                i += 1;
            } else {
                return Err(err(format!(
                    "unexpected character {:?} after value",
                    chars[i]
                )));
            }
        }
        set_path(into, &path, value).map_err(err)?;
    }
    Ok(())
}

/// A literal `key=value` whose value is the given text (`--set-file` after reading the file).
pub fn set_literal(key: &str, text: String, into: &mut Map<String, Json>) -> Result<(), HelmError> {
    let mut map = Map::new();
    parse_set_into(&format!("{key}=x"), SetKind::String, &mut map)?;
    fn replace(v: &mut Json, text: &str) {
        match v {
            Json::String(s) if s == "x" => *s = text.to_string(),
            Json::Object(m) => m.values_mut().for_each(|x| replace(x, text)),
            Json::Array(a) => a.iter_mut().for_each(|x| replace(x, text)),
            _ => {}
        }
    }
    let mut v = Json::Object(map);
    replace(&mut v, &text);
    if let Json::Object(m) = v {
        merge_maps(into, m);
    }
    Ok(())
}

fn split_unescaped(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next()
                    && let Some(last) = out.last_mut()
                {
                    last.push(n);
                }
            }
            ',' => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

/// Helm's typed `--set` value: true/false/null (any case), integers without
/// leading zeros, anything else a string.
fn typed(s: &str) -> Json {
    if s.eq_ignore_ascii_case("true") {
        return Json::Bool(true);
    }
    if s.eq_ignore_ascii_case("false") {
        return Json::Bool(false);
    }
    if s.eq_ignore_ascii_case("null") {
        return Json::Null;
    }
    if s == "0" {
        return Json::from(0i64);
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !s.starts_with('0')
        && !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && let Ok(n) = s.parse::<i64>()
    {
        return Json::from(n);
    }
    Json::String(s.to_string())
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

impl std::fmt::Display for Seg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Seg::Key(k) => f.write_str(k),
            Seg::Index(i) => write!(f, "[{i}]"),
        }
    }
}

fn set_path(root: &mut Map<String, Json>, path: &[Seg], value: Json) -> Result<(), String> {
    let Some((Seg::Key(first), rest)) = path.split_first() else {
        return Err("key must start with a name".into());
    };
    if rest.is_empty() {
        root.insert(first.clone(), value);
        return Ok(());
    }
    let slot = root.entry(first.clone()).or_insert(Json::Null);
    set_in(slot, rest, value)
}

fn set_in(slot: &mut Json, path: &[Seg], value: Json) -> Result<(), String> {
    let Some((seg, rest)) = path.split_first() else {
        *slot = value;
        return Ok(());
    };
    match seg {
        Seg::Key(k) => {
            if !slot.is_object() {
                *slot = Json::Object(Map::new());
            }
            let Json::Object(m) = slot else {
                return Err("internal".into());
            };
            let child = m.entry(k.clone()).or_insert(Json::Null);
            set_in(child, rest, value)
        }
        Seg::Index(idx) => {
            if !slot.is_array() {
                *slot = Json::Array(Vec::new());
            }
            let Json::Array(a) = slot else {
                return Err("internal".into());
            };
            while a.len() <= *idx {
                a.push(Json::Null);
            }
            set_in(&mut a[*idx], rest, value)
        }
    }
}

/// Merges `src` into `dst`, `src` winning; nested maps merge (Helm's `mergeMaps`).
pub fn merge_maps(dst: &mut Map<String, Json>, src: Map<String, Json>) {
    for (k, v) in src {
        match (dst.get_mut(&k), v) {
            (Some(Json::Object(d)), Json::Object(s)) => merge_maps(d, s),
            (_, v) => {
                dst.insert(k, v);
            }
        }
    }
}

/// Fills `dst` (user values) with `defaults` where missing; a user `null`
/// removes a key the defaults have (other nulls stay, as in Helm); maps
/// merge recursively.
pub fn coalesce_tables(dst: &mut Map<String, Json>, defaults: &Map<String, Json>) {
    for (k, dv) in defaults {
        match dst.get_mut(k) {
            Some(Json::Null) => {
                dst.remove(k);
            }
            Some(Json::Object(d)) => {
                if let Json::Object(dm) = dv {
                    coalesce_tables(d, dm);
                }
            }
            Some(_) => {}
            None => {
                dst.insert(k.clone(), dv.clone());
            }
        }
    }
}

/// Coalesces `user` values over the chart's defaults, then each subchart's
/// defaults under its key, with `global` copied down (the parent's globals win).
pub fn coalesce_chart(chart: &Chart, user: &mut Map<String, Json>) {
    if let Json::Object(defaults) = &chart.values {
        coalesce_tables(user, defaults);
    }
    let globals = user.get("global").cloned();
    for sub in &chart.dependencies {
        let name = sub.metadata.name.clone();
        let slot = user.entry(name).or_insert_with(|| Json::Object(Map::new()));
        if !slot.is_object() {
            *slot = Json::Object(Map::new());
        }
        if let Json::Object(sv) = slot {
            if let Some(Json::Object(pg)) = &globals {
                let g = sv
                    .entry("global")
                    .or_insert_with(|| Json::Object(Map::new()));
                if !g.is_object() {
                    *g = Json::Object(Map::new());
                }
                if let Json::Object(gm) = g {
                    merge_maps(gm, pg.clone());
                }
            }
            coalesce_chart(sub, sv);
        }
    }
}

/// Applies aliases, drops subcharts disabled by tags or conditions and
/// applies import-values; `user` are the user-supplied values of the root chart.
pub fn process_dependencies(chart: &mut Chart, user: &Map<String, Json>) -> Result<(), HelmError> {
    apply_aliases(chart)?;
    let mut cvals = user.clone();
    coalesce_chart(chart, &mut cvals);
    let tags = cvals.get("tags").cloned().unwrap_or(Json::Null);
    prune_disabled(chart, &cvals, &tags, "");
    import_values(chart);
    Ok(())
}

fn apply_aliases(chart: &mut Chart) -> Result<(), HelmError> {
    let mut out = Vec::new();
    let subs = std::mem::take(&mut chart.dependencies);
    for dep in &chart.metadata.dependencies {
        if !subs.iter().any(|s| s.metadata.name == dep.name) {
            return Err(HelmError::MissingDependency {
                name: dep.name.clone(),
            });
        }
    }
    for sub in &subs {
        let deps: Vec<_> = chart
            .metadata
            .dependencies
            .iter()
            .filter(|d| d.name == sub.metadata.name)
            .collect();
        if deps.is_empty() {
            out.push(sub.clone());
        }
        for d in deps {
            let mut c = sub.clone();
            if let Some(a) = &d.alias {
                c.metadata.name = a.clone();
                if let Json::Object(m) = &mut c.metadata.raw {
                    m.insert("name".into(), Json::String(a.clone()));
                }
            }
            out.push(c);
        }
    }
    for c in &mut out {
        apply_aliases(c)?;
    }
    chart.dependencies = out;
    Ok(())
}

fn lookup<'a>(vals: &'a Map<String, Json>, path: &str) -> Option<&'a Json> {
    let mut parts = path.split('.');
    let first = parts.next()?;
    let mut cur = vals.get(first)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

fn prune_disabled(chart: &mut Chart, cvals: &Map<String, Json>, tags: &Json, prefix: &str) {
    let deps = chart.metadata.dependencies.clone();
    let mut keep = Vec::new();
    for sub in std::mem::take(&mut chart.dependencies) {
        let dep = deps
            .iter()
            .find(|d| d.alias.as_deref().unwrap_or(&d.name) == sub.metadata.name);
        let mut enabled = true;
        if let Some(d) = dep {
            // Tags: enabled if any listed tag is true, disabled if all are false.
            let mut tag_seen = false;
            let mut tag_true = false;
            for t in &d.tags {
                if let Some(Json::Bool(b)) = tags.get(t) {
                    tag_seen = true;
                    tag_true |= *b;
                }
            }
            if tag_seen {
                enabled = tag_true;
            }
            for c in &d.condition {
                if let Some(Json::Bool(b)) = lookup(cvals, &format!("{prefix}{c}")) {
                    enabled = *b;
                    break;
                }
            }
        }
        if enabled {
            keep.push(sub);
        }
    }
    for sub in &mut keep {
        let p = format!("{prefix}{}.", sub.metadata.name);
        prune_disabled(sub, cvals, tags, &p);
    }
    chart.dependencies = keep;
}

fn nested_mut<'a>(m: &'a mut Map<String, Json>, path: &str) -> Option<&'a mut Map<String, Json>> {
    let Some((first, rest)) = (if path.is_empty() {
        None
    } else {
        Some(path.split_once('.').unwrap_or((path, "")))
    }) else {
        return Some(m);
    };
    let e = m
        .entry(first.to_string())
        .or_insert_with(|| Json::Object(Map::new()));
    if !e.is_object() {
        *e = Json::Object(Map::new());
    }
    e.as_object_mut().and_then(|inner| nested_mut(inner, rest))
}

fn import_values(chart: &mut Chart) {
    for sub in &mut chart.dependencies {
        import_values(sub);
    }
    let deps = chart.metadata.dependencies.clone();
    for d in &deps {
        if d.import_values.is_empty() {
            continue;
        }
        let name = d.alias.as_deref().unwrap_or(&d.name);
        let Some(sub) = chart.dependencies.iter().find(|s| s.metadata.name == name) else {
            continue;
        };
        let Json::Object(sub_vals) = &sub.values else {
            continue;
        };
        let mut imported = Map::new();
        for (child, parent) in &d.import_values {
            let Some(v) = lookup(sub_vals, child).cloned() else {
                continue;
            };
            let Some(target) = nested_mut(&mut imported, parent) else {
                continue;
            };
            if let Json::Object(m) = v {
                merge_maps(target, m);
            }
        }
        if let Json::Object(own) = &chart.values {
            merge_maps(&mut imported, own.clone());
        }
        chart.values = Json::Object(imported);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(expr: &str, kind: SetKind) -> Json {
        let mut m = Map::new();
        parse_set_into(expr, kind, &mut m).unwrap();
        Json::Object(m)
    }

    #[test]
    fn set_grammar() {
        assert_eq!(
            set("a.b=1,c=true,d=null,e=01,f=x", SetKind::Typed),
            json!({"a": {"b": 1}, "c": true, "d": null, "e": "01", "f": "x"})
        );
        assert_eq!(
            set("workers[1].gpu=2", SetKind::Typed),
            json!({"workers": [null, {"gpu": 2}]})
        );
        assert_eq!(
            set(r"nodeSelector.kubernetes\.io/arch=amd64", SetKind::Typed),
            json!({"nodeSelector": {"kubernetes.io/arch": "amd64"}})
        );
        assert_eq!(
            set("args={--a,--b},x=1", SetKind::Typed),
            json!({"args": ["--a", "--b"], "x": 1})
        );
        assert_eq!(set(r"msg=a\,b", SetKind::Typed), json!({"msg": "a,b"}));
        assert_eq!(
            set("a=1,b=TRUE", SetKind::String),
            json!({"a": "1", "b": "TRUE"})
        );
        assert_eq!(
            set(r#"r={"cpu":"2","m":[1,2]},z=3"#, SetKind::Json),
            json!({"r": {"cpu": "2", "m": [1, 2]}, "z": 3})
        );
        assert_eq!(
            set("m[0][1]=x", SetKind::Typed),
            json!({"m": [[null, "x"]]})
        );
    }

    #[test]
    fn set_errors() {
        let mut m = Map::new();
        assert!(parse_set_into("a", SetKind::Typed, &mut m).is_err());
        assert!(parse_set_into("a,b=1", SetKind::Typed, &mut m).is_err());
        assert!(parse_set_into("a[x]=1", SetKind::Typed, &mut m).is_err());
        assert!(parse_set_into("a[99999]=1", SetKind::Typed, &mut m).is_err());
        assert!(parse_set_into("a={x", SetKind::Typed, &mut m).is_err());
    }

    #[test]
    fn null_removes_default() {
        let mut user = json!({"a": null, "b": {"c": null, "d": 2}})
            .as_object()
            .cloned()
            .unwrap();
        let defaults = json!({"a": 1, "b": {"c": 3, "e": 4}, "f": 5})
            .as_object()
            .cloned()
            .unwrap();
        coalesce_tables(&mut user, &defaults);
        assert_eq!(Json::Object(user), json!({"b": {"d": 2, "e": 4}, "f": 5}));
    }

    proptest::proptest! {
        #[test]
        fn set_parser_never_panics(s in "[a-z.\\[\\]0-9=,{}\\\\\"]{0,24}") {
            let mut m = Map::new();
            for k in [SetKind::Typed, SetKind::String, SetKind::Json] {
                let _ = parse_set_into(&s, k, &mut m);
            }
        }
    }
}
