//! Sprig's slash-separated path functions (Go's `path` package semantics) and
//! URL functions (`urlParse`, `urlJoin`).

use ferrocd_gotmpl::{FuncError, FuncMap, Map, Value};

use super::args::{string, strval};

/// Go's `path.Clean`: lexical simplification of a slash path.
pub(crate) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

/// Go's `path.Base`.
fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

/// Go's `path.Dir`.
fn dir(p: &str) -> String {
    let cut = p.rfind('/').map_or(0, |i| i + 1);
    clean(&p[..cut])
}

/// Go's `path.Ext`.
fn ext(p: &str) -> String {
    let last = p.rsplit('/').next().unwrap_or(p);
    last.rfind('.')
        .map_or(String::new(), |i| last[i..].to_string())
}

/// The parts of a URL as Go's `net/url` splits them.
#[derive(Debug, Default, PartialEq)]
struct Url {
    scheme: String,
    opaque: String,
    userinfo: String,
    host: String,
    path: String,
    query: String,
    fragment: String,
}

fn parse_url(s: &str) -> Result<Url, String> {
    let mut u = Url::default();
    let (rest, fragment) = s.split_once('#').unwrap_or((s, ""));
    u.fragment = percent_decode(fragment);
    let mut rest = rest;
    if let Some(i) = rest.find(':') {
        let cand = &rest[..i];
        let valid = cand.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && cand
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if valid {
            u.scheme = cand.to_ascii_lowercase();
            rest = &rest[i + 1..];
        } else if i == 0 {
            return Err(format!("parse {s:?}: missing protocol scheme"));
        }
    }
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    u.query = query.to_string();
    if !u.scheme.is_empty() && !rest.starts_with('/') {
        u.opaque = rest.to_string();
        return Ok(u);
    }
    let path = if let Some(after) = rest.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rsplit_once('@') {
            Some((user, host)) => {
                u.userinfo = user.to_string();
                u.host = host.to_string();
            }
            None => u.host = authority.to_string(),
        }
        &after[end..]
    } else {
        rest
    };
    u.path = percent_decode(path);
    Ok(u)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = s
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let (b'%', Some(v)) = (b[i], hex) {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hostname(host: &str) -> String {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest).to_string();
    }
    host.split(':').next().unwrap_or(host).to_string()
}

fn url_join(m: &Map) -> String {
    let get = |k: &str| m.get(k).map(|v| strval(&v)).unwrap_or_default();
    let (scheme, host, path, query, fragment, userinfo, opaque) = (
        get("scheme"),
        get("host"),
        get("path"),
        get("query"),
        get("fragment"),
        get("userinfo"),
        get("opaque"),
    );
    let mut out = String::new();
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    if !opaque.is_empty() {
        out.push_str(&opaque);
    } else {
        if !scheme.is_empty() || !host.is_empty() || !userinfo.is_empty() {
            if !host.is_empty() || !path.is_empty() || !userinfo.is_empty() {
                out.push_str("//");
            }
            if !userinfo.is_empty() {
                out.push_str(&userinfo);
                out.push('@');
            }
            out.push_str(&host);
        }
        if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        out.push_str(&path);
    }
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&fragment);
    }
    out
}

fn path_fn(f: &mut FuncMap, names: [&str; 2], op: fn(&str) -> String) {
    for name in names {
        f.insert(name, move |a| {
            FuncError::check_arity(a, 1)?;
            Ok(Value::from(op(string(&a[0])?)))
        });
    }
}

/// Registers the path and URL functions.
pub(crate) fn register(f: &mut FuncMap) {
    path_fn(f, ["base", "osBase"], base);
    path_fn(f, ["dir", "osDir"], dir);
    path_fn(f, ["ext", "osExt"], ext);
    path_fn(f, ["clean", "osClean"], clean);
    for name in ["isAbs", "osIsAbs"] {
        f.insert(name, |a| {
            FuncError::check_arity(a, 1)?;
            Ok(Value::Bool(string(&a[0])?.starts_with('/')))
        });
    }
    f.insert("urlParse", |a| {
        FuncError::check_arity(a, 1)?;
        let s = string(&a[0])?;
        let u = parse_url(s).map_err(|e| FuncError::msg(format!("unable to parse url: {e}")))?;
        Ok(Value::map([
            ("scheme", Value::from(u.scheme)),
            ("host", Value::from(u.host.clone())),
            ("hostname", Value::from(hostname(&u.host))),
            ("path", Value::from(u.path)),
            ("query", Value::from(u.query)),
            ("opaque", Value::from(u.opaque)),
            ("fragment", Value::from(u.fragment)),
            ("userinfo", Value::from(u.userinfo)),
        ]))
    });
    f.insert("urlJoin", |a| {
        FuncError::check_arity(a, 1)?;
        match &a[0] {
            Value::Map(m) => Ok(Value::from(url_join(m))),
            other => Err(FuncError::WrongType {
                expected: "map[string]interface {}".into(),
                got: other.type_name(),
            }),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_semantics() {
        assert_eq!(clean("/a/b/../c/./d/"), "/a/c/d");
        assert_eq!(clean("../../x"), "../../x");
        assert_eq!(clean("/.."), "/");
        assert_eq!(base("/opt/airflow/"), "airflow");
        assert_eq!(base("///"), "/");
        assert_eq!(dir("file"), ".");
        assert_eq!(ext("model.tar.gz"), ".gz");
        assert_eq!(ext("dir.d/file"), "");
    }

    #[test]
    fn urls_split_like_go() {
        let u = parse_url("s3://bucket/models/v1?versionId=3").expect("parses");
        assert_eq!(u.scheme, "s3");
        assert_eq!(u.host, "bucket");
        assert_eq!(u.path, "/models/v1");
        assert_eq!(u.query, "versionId=3");
        let m = parse_url("mailto:ml@example.com").expect("parses");
        assert_eq!(m.opaque, "ml@example.com");
    }

    proptest::proptest! {
        #[test]
        fn url_parse_never_panics(s in "\\PC{0,40}") {
            let _ = parse_url(&s);
        }

        #[test]
        fn clean_is_idempotent(s in "[a-z./]{0,20}") {
            let once = clean(&s);
            proptest::prop_assert_eq!(clean(&once), once.clone());
        }
    }
}
