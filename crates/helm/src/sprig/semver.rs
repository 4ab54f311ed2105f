//! `semver` and `semverCompare`: Masterminds-style versions (a leading `v`,
//! missing minor/patch allowed) and constraints (`^`, `~`, wildcards,
//! hyphen ranges, `,`/space for AND, `||` for OR; prereleases only match
//! constraints that carry one).

use std::cmp::Ordering;
use std::sync::Arc;

use ferrocd_gotmpl::{FuncError, FuncMap, Object, Value};

use super::args::string;

/// A parsed version, as the template sees it (`.Major`, `.Prerelease`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    meta: String,
    original: String,
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// A version with its wildcard parts (`1.x`, `1.2`, `*`) marked.
#[derive(Debug, Clone)]
struct Partial {
    v: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    any: bool,
}

fn parse_partial(s: &str) -> Option<Partial> {
    let body = s.strip_prefix('v').unwrap_or(s);
    let (body, meta) = body.split_once('+').unwrap_or((body, ""));
    let (core, pre) = body.split_once('-').unwrap_or((body, ""));
    if (!pre.is_empty() || body.ends_with('-')) && !is_ident(pre) {
        return None;
    }
    if body.contains('+') || (!meta.is_empty() && !is_ident(meta)) {
        return None;
    }
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let wild = |p: &str| matches!(p, "x" | "X" | "*");
    let mut nums = [0u64; 3];
    let mut dirty = [false; 3];
    for i in 0..3 {
        match parts.get(i) {
            None => dirty[i] = true,
            Some(p) if wild(p) => dirty[i] = true,
            Some(p) => {
                if dirty[..i].iter().any(|d| *d) || !p.chars().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                if p.len() > 1 && p.starts_with('0') {
                    return None;
                }
                nums[i] = p.parse().ok()?;
            }
        }
    }
    Some(Partial {
        v: Version {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre: pre.to_string(),
            meta: meta.to_string(),
            original: s.to_string(),
        },
        any: dirty[0],
        minor_dirty: dirty[1] || dirty[0],
        patch_dirty: dirty[2] || dirty[1] || dirty[0],
    })
}

/// Parses a version the way Helm's `semver` function does.
pub fn parse_version(s: &str) -> Option<Version> {
    let p = parse_partial(s)?;
    if p.any || (s.contains(['x', 'X', '*']) && (p.minor_dirty || p.patch_dirty)) {
        return None;
    }
    Some(p.v)
}

fn cmp_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (mut x, mut y) = (a.split('.'), b.split('.'));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let ord = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => p.cmp(q),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

impl Version {
    /// Semantic-version precedence (build metadata ignored).
    pub fn compare(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| cmp_pre(&self.pre, &o.pre))
    }

    fn canonical(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.meta.is_empty() {
            s.push('+');
            s.push_str(&self.meta);
        }
        s
    }
}

impl Object for Version {
    fn type_name(&self) -> String {
        "*semver.Version".into()
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Major"
                | "Minor"
                | "Patch"
                | "Prerelease"
                | "Metadata"
                | "Original"
                | "String"
                | "Compare"
                | "LessThan"
                | "GreaterThan"
                | "Equal"
        )
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, FuncError> {
        let other = || -> Result<Version, FuncError> {
            FuncError::check_arity(args, 1)?;
            match &args[0] {
                Value::Object(o) => parse_version(&o.display())
                    .ok_or_else(|| FuncError::msg("invalid semantic version".to_string())),
                v => Err(FuncError::WrongType {
                    expected: "*semver.Version".into(),
                    got: v.type_name(),
                }),
            }
        };
        Ok(match name {
            "Major" => Value::Uint64(self.major),
            "Minor" => Value::Uint64(self.minor),
            "Patch" => Value::Uint64(self.patch),
            "Prerelease" => Value::from(self.pre.clone()),
            "Metadata" => Value::from(self.meta.clone()),
            "Original" => Value::from(self.original.clone()),
            "String" => Value::from(self.canonical()),
            "Compare" => Value::Int(match self.compare(&other()?) {
                Ordering::Less => -1,
                Ordering::Equal => 0,
                Ordering::Greater => 1,
            }),
            "LessThan" => Value::Bool(self.compare(&other()?) == Ordering::Less),
            "GreaterThan" => Value::Bool(self.compare(&other()?) == Ordering::Greater),
            "Equal" => Value::Bool(self.compare(&other()?) == Ordering::Equal),
            _ => return Err(FuncError::msg(format!("no method {name}"))),
        })
    }

    fn display(&self) -> String {
        self.canonical()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Term {
    op: Op,
    p: Partial,
}

fn parse_term(s: &str) -> Option<Term> {
    let ops: [(&str, Op); 12] = [
        (">=", Op::Ge),
        ("=>", Op::Ge),
        ("<=", Op::Le),
        ("=<", Op::Le),
        ("!=", Op::Ne),
        ("~>", Op::Tilde),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
        ("~", Op::Tilde),
        ("^", Op::Caret),
        ("", Op::Eq),
    ];
    let (op, rest) = ops
        .iter()
        .find_map(|(t, op)| s.strip_prefix(t).map(|r| (*op, r.trim())))?;
    Some(Term {
        op,
        p: parse_partial(rest)?,
    })
}

/// A constraint: OR of AND groups.
#[derive(Debug, Clone)]
pub struct Constraint(Vec<Vec<Term>>);

/// Parses a Masterminds constraint string; `None` when it is malformed.
pub fn parse_constraint(s: &str) -> Option<Constraint> {
    let mut groups = Vec::new();
    for group in s.split("||") {
        let mut terms = Vec::new();
        let mut tokens: Vec<String> = Vec::new();
        for piece in group.split(',') {
            // Join operators separated from their versions by spaces (`>= 1.2`).
            let mut pending = String::new();
            for tok in piece.split_whitespace() {
                if tok.chars().all(|c| "<>=!~^".contains(c)) {
                    pending.push_str(tok);
                } else {
                    tokens.push(format!("{pending}{tok}"));
                    pending.clear();
                }
            }
            if !pending.is_empty() {
                return None;
            }
        }
        let mut i = 0;
        while i < tokens.len() {
            if tokens.get(i + 1).map(String::as_str) == Some("-") && i + 2 < tokens.len() {
                let lo = parse_partial(&tokens[i])?;
                let hi = parse_partial(&tokens[i + 2])?;
                terms.push(Term { op: Op::Ge, p: lo });
                terms.push(Term { op: Op::Le, p: hi });
                i += 3;
                continue;
            }
            terms.push(parse_term(&tokens[i])?);
            i += 1;
        }
        if terms.is_empty() {
            terms.push(parse_term("*")?);
        }
        groups.push(terms);
    }
    Some(Constraint(groups))
}

fn term_matches(t: &Term, v: &Version) -> bool {
    if !v.pre.is_empty() && t.p.v.pre.is_empty() {
        return false;
    }
    let c = &t.p.v;
    let eq_wild = || {
        t.p.any
            || (v.major == c.major
                && (t.p.minor_dirty || v.minor == c.minor)
                && (t.p.patch_dirty || (v.patch == c.patch && cmp_pre(&v.pre, &c.pre).is_eq())))
    };
    match t.op {
        Op::Eq => eq_wild(),
        Op::Ne => !eq_wild(),
        Op::Gt => {
            if t.p.any {
                false
            } else if t.p.minor_dirty {
                v.major > c.major
            } else if t.p.patch_dirty {
                v.major > c.major || (v.major == c.major && v.minor > c.minor)
            } else {
                v.compare(c).is_gt()
            }
        }
        Op::Lt => v.compare(c).is_lt(),
        Op::Ge => v.compare(c).is_ge(),
        Op::Le => {
            if t.p.any {
                true
            } else if t.p.minor_dirty {
                v.major <= c.major
            } else if t.p.patch_dirty {
                v.major < c.major || (v.major == c.major && v.minor <= c.minor)
            } else {
                v.compare(c).is_le()
            }
        }
        Op::Tilde => {
            if t.p.any {
                return true;
            }
            v.compare(c).is_ge()
                && if t.p.minor_dirty {
                    v.major == c.major
                } else {
                    v.major == c.major && v.minor == c.minor
                }
        }
        Op::Caret => {
            if t.p.any {
                return true;
            }
            if !v.compare(c).is_ge() {
                return false;
            }
            if c.major > 0 || t.p.minor_dirty {
                v.major == c.major
            } else if c.minor > 0 || t.p.patch_dirty {
                v.major == 0 && v.minor == c.minor
            } else {
                v.major == 0 && v.minor == 0 && v.patch == c.patch
            }
        }
    }
}

impl Constraint {
    /// Whether the version satisfies the constraint.
    pub fn matches(&self, v: &Version) -> bool {
        self.0
            .iter()
            .any(|group| group.iter().all(|t| term_matches(t, v)))
    }
}

/// Registers `semver` and `semverCompare`.
pub(crate) fn register(f: &mut FuncMap) {
    f.insert("semver", |a| {
        FuncError::check_arity(a, 1)?;
        let v = parse_version(string(&a[0])?)
            .ok_or_else(|| FuncError::msg("invalid semantic version"))?;
        Ok(Value::Object(Arc::new(v)))
    });
    f.insert("semverCompare", |a| {
        FuncError::check_arity(a, 2)?;
        let (c, v) = (string(&a[0])?, string(&a[1])?);
        let constraint = parse_constraint(c)
            .ok_or_else(|| FuncError::msg(format!("improper constraint: {c}")))?;
        let version = parse_version(v).ok_or_else(|| FuncError::msg("invalid semantic version"))?;
        Ok(Value::Bool(constraint.matches(&version)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(c: &str, v: &str) -> bool {
        parse_constraint(c)
            .expect("constraint")
            .matches(&parse_version(v).expect("version"))
    }

    #[test]
    fn constraints_like_masterminds() {
        assert!(ok(">=1.21-0", "1.28.3-gke.100"));
        assert!(!ok(">=1.20.0", "1.21.0-alpha"));
        assert!(ok("^0.2.3", "0.2.9"));
        assert!(!ok("^0.2.3", "0.3.0"));
        assert!(ok("~1", "1.9.0"));
        assert!(!ok("~1", "2.0.0"));
        assert!(ok(">= 1.2, < 2", "1.5.0"));
        assert!(ok("1.2 - 1.4", "1.4.9"));
        assert!(!ok("1.2 - 1.4", "1.5.0"));
    }

    #[test]
    fn prerelease_ordering() {
        let a = parse_version("1.0.0-alpha.2").expect("v");
        let b = parse_version("1.0.0-alpha.10").expect("v");
        let c = parse_version("1.0.0").expect("v");
        assert!(a.compare(&b).is_lt());
        assert!(b.compare(&c).is_lt());
        assert!(parse_version("1.2.x").is_none());
        assert!(parse_version("not-a-version").is_none());
    }

    proptest::proptest! {
        #[test]
        fn versions_round_trip(a in 0u64..1000, b in 0u64..1000, c in 0u64..1000, pre in "[a-z0-9]{0,6}") {
            let text = if pre.is_empty() { format!("v{a}.{b}.{c}") } else { format!("{a}.{b}.{c}-{pre}") };
            let v = parse_version(&text).expect("valid version");
            let again = parse_version(&v.canonical()).expect("canonical parses");
            proptest::prop_assert!(v.compare(&again).is_eq());
            let at_least = parse_constraint(&format!(">={}", v.canonical())).expect("constraint");
            let matched = at_least.matches(&v);
            proptest::prop_assert!(matched || !v.pre.is_empty());
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,24}") {
            let _ = parse_version(&s);
            if let Some(c) = parse_constraint(&s) {
                let _ = c.matches(&Version { major: 1, minor: 2, patch: 3, pre: String::new(), meta: String::new(), original: String::new() });
            }
        }
    }
}
