//! Helm-style (Masterminds) semantic-version constraints.
//!
//! Git revisions and Helm chart versions may name a range instead of a version:
//! `1.2.*`, `1.2.x`, `>=1.0.0 <2.0.0`, `>= 1.0, < 2`, `^1.2.3`, `~1.2`, `1.2 - 1.4`,
//! alternatives joined by `||`. The rules follow Helm's documentation rather than Cargo's:
//!
//! - comparisons in one group are joined by spaces or commas (all must hold); groups are
//!   joined by `||` (one must hold);
//! - a partial version is a wildcard in its missing parts: `1.2` and `1.2.x` both mean
//!   `>=1.2.0 <1.3.0`; `>1.2` means `>=1.3.0`; `<=1.2` means `<1.3.0`;
//! - `~1.2.3` allows patch updates (`>=1.2.3 <1.3.0`), `~1` allows minor ones;
//! - `^1.2.3` allows changes that keep the left-most non-zero part (`^0.2.3` is `<0.3.0`);
//! - `a - b` is `>=a <=b`;
//! - a pre-release version matches only when a comparison of its group names a pre-release.
//!
//! Versions (Git tags, chart versions) may carry a leading `v` and may be partial
//! (`v1.2` is `1.2.0`); see [`parse_version`].

use std::fmt;

use semver::{Prerelease, Version};

/// Why a constraint string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintError {
    /// Nothing to parse.
    #[error("version constraint is empty")]
    Empty,
    /// A group between `||` has no comparison.
    #[error("version constraint {constraint:?}: empty alternative")]
    EmptyAlternative {
        /// The whole constraint.
        constraint: String,
    },
    /// A term is not an operator followed by a (partial) version.
    #[error("version constraint {constraint:?}: invalid term {term:?}")]
    InvalidTerm {
        /// The whole constraint.
        constraint: String,
        /// The offending term.
        term: String,
    },
}

/// A parsed constraint: alternatives (`||`) of groups of comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    source: String,
    alternatives: Vec<Group>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    comparisons: Vec<Comparison>,
    allows_prerelease: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Comparison {
    /// `version <op> bound`.
    Cmp { op: Op, version: Version },
    /// Not inside `[lo, hi)` (a partial `!=`).
    Outside { lo: Version, hi: Version },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A version as written in a constraint, with its wildcard parts.
#[derive(Debug, Clone)]
struct Partial {
    major: Option<u64>,
    minor: Option<u64>,
    patch: Option<u64>,
    pre: Prerelease,
}

impl Partial {
    fn floor(&self) -> Version {
        let mut v = Version::new(
            self.major.unwrap_or(0),
            self.minor.unwrap_or(0),
            self.patch.unwrap_or(0),
        );
        v.pre = self.pre.clone();
        v
    }

    /// The first version above the wildcard range, or `None` when the range is unbounded.
    fn ceiling(&self) -> Option<Version> {
        match (self.major, self.minor, self.patch) {
            (None, _, _) => None,
            (Some(ma), None, _) => Some(Version::new(ma.checked_add(1)?, 0, 0)),
            (Some(ma), Some(mi), None) => Some(Version::new(ma, mi.checked_add(1)?, 0)),
            (Some(_), Some(_), Some(_)) => None,
        }
    }

    fn is_exact(&self) -> bool {
        self.patch.is_some()
    }
}

impl Constraint {
    /// Parses a constraint such as `>=1.0.0 <2.0.0 || ^3.1`.
    pub fn parse(input: &str) -> Result<Constraint, ConstraintError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ConstraintError::Empty);
        }
        let mut alternatives = Vec::new();
        for alt in trimmed.split("||") {
            let group = parse_group(trimmed, alt)?;
            alternatives.push(group);
        }
        Ok(Constraint {
            source: trimmed.to_string(),
            alternatives,
        })
    }

    /// Whether `version` satisfies the constraint.
    pub fn matches(&self, version: &Version) -> bool {
        self.alternatives.iter().any(|g| g.matches(version))
    }

    /// The highest of `versions` that satisfies the constraint.
    pub fn best_match<'a, I>(&self, versions: I) -> Option<&'a Version>
    where
        I: IntoIterator<Item = &'a Version>,
    {
        versions.into_iter().filter(|v| self.matches(v)).max()
    }

    /// The constraint as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for Constraint {
    type Err = ConstraintError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Constraint::parse(s)
    }
}

impl Group {
    fn matches(&self, v: &Version) -> bool {
        if !v.pre.is_empty() && !self.allows_prerelease {
            return false;
        }
        self.comparisons.iter().all(|c| c.matches(v))
    }
}

impl Comparison {
    fn matches(&self, v: &Version) -> bool {
        match self {
            Comparison::Cmp { op, version } => {
                // Build metadata never affects precedence.
                let cmp = cmp_precedence(v, version);
                match op {
                    Op::Eq => cmp.is_eq(),
                    Op::Ne => !cmp.is_eq(),
                    Op::Gt => cmp.is_gt(),
                    Op::Ge => cmp.is_ge(),
                    Op::Lt => cmp.is_lt(),
                    Op::Le => cmp.is_le(),
                }
            }
            Comparison::Outside { lo, hi } => {
                cmp_precedence(v, lo).is_lt() || cmp_precedence(v, hi).is_ge()
            }
        }
    }
}

fn cmp_precedence(a: &Version, b: &Version) -> std::cmp::Ordering {
    (a.major, a.minor, a.patch, &a.pre).cmp(&(b.major, b.minor, b.patch, &b.pre))
}

fn parse_group(whole: &str, alt: &str) -> Result<Group, ConstraintError> {
    let tokens = tokenize(alt);
    if tokens.is_empty() {
        return Err(ConstraintError::EmptyAlternative {
            constraint: whole.to_string(),
        });
    }
    let mut comparisons = Vec::new();
    let mut allows_prerelease = false;
    let mut i = 0;
    while i < tokens.len() {
        let invalid = |term: &str| ConstraintError::InvalidTerm {
            constraint: whole.to_string(),
            term: term.to_string(),
        };
        // Hyphen range: `a - b`.
        if i + 2 < tokens.len() && tokens[i + 1] == "-" {
            let lo = parse_partial(&tokens[i]).ok_or_else(|| invalid(&tokens[i]))?;
            let hi = parse_partial(&tokens[i + 2]).ok_or_else(|| invalid(&tokens[i + 2]))?;
            allows_prerelease |= !lo.pre.is_empty() || !hi.pre.is_empty();
            comparisons.push(Comparison::Cmp {
                op: Op::Ge,
                version: lo.floor(),
            });
            push_upper_inclusive(&mut comparisons, &hi);
            i += 3;
            continue;
        }
        let token = &tokens[i];
        let (op, rest) = split_operator(token);
        if rest.is_empty() {
            return Err(invalid(token));
        }
        let partial = parse_partial(rest).ok_or_else(|| invalid(token))?;
        allows_prerelease |= !partial.pre.is_empty();
        expand(op, &partial, &mut comparisons);
        i += 1;
    }
    Ok(Group {
        comparisons,
        allows_prerelease,
    })
}

/// Splits a group into terms: separators are commas and spaces, but an operator written
/// apart from its version (`>= 1.0`) is joined back to it.
fn tokenize(alt: &str) -> Vec<String> {
    let raw: Vec<&str> = alt
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut pending_op: Option<&str> = None;
    for t in raw {
        if let Some(op) = pending_op.take() {
            out.push(format!("{op}{t}"));
            continue;
        }
        if t != "-" && t.chars().all(|c| "<>=!~^".contains(c)) {
            pending_op = Some(t);
            continue;
        }
        out.push(t.to_string());
    }
    if let Some(op) = pending_op {
        out.push(op.to_string());
    }
    out
}

fn split_operator(token: &str) -> (&str, &str) {
    for op in [
        "~>", ">=", "=>", "<=", "=<", "!=", "==", ">", "<", "=", "~", "^",
    ] {
        if let Some(rest) = token.strip_prefix(op) {
            return (op, rest);
        }
    }
    ("", token)
}

fn expand(op: &str, p: &Partial, out: &mut Vec<Comparison>) {
    let floor = p.floor();
    let push = |out: &mut Vec<Comparison>, op: Op, version: Version| {
        out.push(Comparison::Cmp { op, version });
    };
    match op {
        "" | "=" | "==" => {
            if p.is_exact() {
                push(out, Op::Eq, floor);
            } else {
                push(out, Op::Ge, floor);
                if let Some(c) = p.ceiling() {
                    push(out, Op::Lt, c);
                }
            }
        }
        "!=" => {
            if p.is_exact() {
                push(out, Op::Ne, floor);
            } else if let Some(hi) = p.ceiling() {
                out.push(Comparison::Outside { lo: floor, hi });
            } else {
                // `!= *` excludes everything.
                push(out, Op::Lt, Version::new(0, 0, 0));
            }
        }
        ">" => match p.ceiling() {
            Some(c) => push(out, Op::Ge, c),
            None if p.is_exact() => push(out, Op::Gt, floor),
            None => push(out, Op::Lt, Version::new(0, 0, 0)),
        },
        ">=" | "=>" => push(out, Op::Ge, floor),
        "<" => push(out, Op::Lt, floor),
        "<=" | "=<" => push_upper_inclusive(out, p),
        "~" | "~>" => {
            push(out, Op::Ge, floor.clone());
            let upper = match (p.major, p.minor) {
                (None, _) => None,
                (Some(ma), None) => ma.checked_add(1).map(|m| Version::new(m, 0, 0)),
                (Some(ma), Some(mi)) => mi.checked_add(1).map(|m| Version::new(ma, m, 0)),
            };
            if let Some(u) = upper {
                push(out, Op::Lt, u);
            }
        }
        "^" => {
            push(out, Op::Ge, floor.clone());
            let upper = match (p.major, p.minor, p.patch) {
                (None, _, _) => None,
                (Some(ma), _, _) if ma > 0 => ma.checked_add(1).map(|m| Version::new(m, 0, 0)),
                (Some(_), None, _) => Some(Version::new(1, 0, 0)),
                (Some(_), Some(mi), _) if mi > 0 => {
                    mi.checked_add(1).map(|m| Version::new(0, m, 0))
                }
                (Some(_), Some(_), None) => Some(Version::new(0, 1, 0)),
                (Some(_), Some(_), Some(pa)) => pa.checked_add(1).map(|x| Version::new(0, 0, x)),
            };
            if let Some(u) = upper {
                push(out, Op::Lt, u);
            }
        }
        _ => push(out, Op::Eq, floor),
    }
}

fn push_upper_inclusive(out: &mut Vec<Comparison>, p: &Partial) {
    match p.ceiling() {
        Some(c) => out.push(Comparison::Cmp {
            op: Op::Lt,
            version: c,
        }),
        None if p.is_exact() => out.push(Comparison::Cmp {
            op: Op::Le,
            version: p.floor(),
        }),
        None => {}
    }
}

fn is_wild(part: &str) -> bool {
    matches!(part, "x" | "X" | "*")
}

/// Parses a possibly partial, possibly wildcarded version (`1`, `1.2`, `1.2.x`, `v1.2.3-rc.1`).
fn parse_partial(s: &str) -> Option<Partial> {
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    if s.is_empty() {
        return None;
    }
    // Split off pre-release and build: the first '-' or '+' after the numeric core.
    let core_end = s.find(['-', '+']).unwrap_or(s.len());
    let (core, tail) = s.split_at(core_end);
    let pre = if let Some(rest) = tail.strip_prefix('-') {
        let pre = rest.split('+').next().unwrap_or("");
        Prerelease::new(pre).ok()?
    } else {
        Prerelease::EMPTY
    };
    if let Some(build) = tail.split_once('+').map(|(_, b)| b) {
        semver::BuildMetadata::new(build).ok()?;
    }
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let mut nums: [Option<u64>; 3] = [None, None, None];
    let mut wild_seen = false;
    for (i, part) in parts.iter().enumerate() {
        if is_wild(part) {
            wild_seen = true;
            continue;
        }
        if wild_seen || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        nums[i] = Some(part.parse().ok()?);
    }
    if wild_seen && !pre.is_empty() {
        return None;
    }
    Some(Partial {
        major: nums[0],
        minor: nums[1],
        patch: nums[2],
        pre,
    })
}

/// Parses a version leniently, as tags and chart versions are written: an optional leading
/// `v`, and missing minor/patch parts taken as `0` (`v1.2` is `1.2.0`). Wildcards are not
/// versions.
pub fn parse_version(s: &str) -> Option<Version> {
    let s = s.trim();
    let p = parse_partial(s)?;
    let major = p.major?;
    // Wildcards are excluded: a missing part is fine only when absent, not when `x`/`*`.
    let stripped = s.strip_prefix(['v', 'V']).unwrap_or(s);
    let core = stripped.split(['-', '+']).next().unwrap_or("");
    if core.split('.').any(is_wild) {
        return None;
    }
    let mut v = Version::new(major, p.minor.unwrap_or(0), p.patch.unwrap_or(0));
    v.pre = p.pre;
    if let Some((_, build)) = stripped.split_once('+') {
        v.build = semver::BuildMetadata::new(build).ok()?;
    }
    Some(v)
}

/// Whether a revision string is a version constraint rather than a plain ref: it parses as a
/// constraint and is not itself a version (so `v1.2.3`, `1.2` and `main` are refs, while
/// `1.2.*`, `^1.2` and `>=1.0 <2` are constraints).
pub fn is_constraint(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && parse_version(s).is_none() && Constraint::parse(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        parse_version(s).unwrap()
    }

    fn check(c: &str, yes: &[&str], no: &[&str]) {
        let con = Constraint::parse(c).unwrap_or_else(|e| panic!("{c}: {e}"));
        for y in yes {
            assert!(con.matches(&v(y)), "{c} should match {y}");
        }
        for n in no {
            assert!(!con.matches(&v(n)), "{c} should not match {n}");
        }
    }

    #[test]
    fn wildcards() {
        check(
            "1.2.*",
            &["1.2.0", "1.2.9"],
            &["1.3.0", "1.1.9", "1.2.3-rc.1"],
        );
        check("1.2.x", &["1.2.0", "1.2.99"], &["2.2.0"]);
        check("1.x", &["1.0.0", "1.9.9"], &["2.0.0", "0.9.0"]);
        check("*", &["0.0.1", "9.9.9"], &["1.0.0-alpha"]);
        check("1.2", &["1.2.0", "1.2.7"], &["1.3.0"]);
    }

    #[test]
    fn ranges_with_spaces_and_commas() {
        check(">=1.0.0 <2.0.0", &["1.0.0", "1.9.9"], &["2.0.0", "0.9.9"]);
        check(">= 1.0, < 2", &["1.0.0", "1.99.0"], &["2.0.0"]);
        check(">1.2", &["1.3.0"], &["1.2.9", "1.2.0"]);
        check(">1.2.3", &["1.2.4"], &["1.2.3"]);
        check("<=1.2", &["1.2.9", "1.0.0"], &["1.3.0"]);
        check("<=1.2.3", &["1.2.3"], &["1.2.4"]);
        check("=>1.5 =<1.6.1", &["1.5.0", "1.6.1"], &["1.6.2"]);
    }

    #[test]
    fn tilde_and_caret() {
        check("~1.2.3", &["1.2.3", "1.2.9"], &["1.3.0", "1.2.2"]);
        check("~1.2", &["1.2.0", "1.2.9"], &["1.3.0"]);
        check("~1", &["1.0.0", "1.9.0"], &["2.0.0"]);
        check("~>2.1", &["2.1.5"], &["2.2.0"]);
        check("^1.2.3", &["1.2.3", "1.9.0"], &["2.0.0", "1.2.2"]);
        check("^1.2", &["1.2.0", "1.99.1"], &["2.0.0", "1.1.0"]);
        check("^0.2.3", &["0.2.3", "0.2.9"], &["0.3.0"]);
        check("^0.0.3", &["0.0.3"], &["0.0.4"]);
        check("^0", &["0.0.1", "0.9.9"], &["1.0.0"]);
        check("^0.0", &["0.0.9"], &["0.1.0"]);
    }

    #[test]
    fn hyphen_ranges_and_alternatives() {
        check("1.2 - 1.4", &["1.2.0", "1.4.9"], &["1.5.0", "1.1.9"]);
        check("1.2.3 - 1.4.5", &["1.2.3", "1.4.5"], &["1.4.6"]);
        check("^1.0 || ^3.0", &["1.5.0", "3.1.0"], &["2.0.0"]);
        check(
            "<1.0 || >=2.0 <2.1",
            &["0.5.0", "2.0.5"],
            &["1.5.0", "2.1.0"],
        );
    }

    #[test]
    fn not_equal() {
        check("!=1.2.3", &["1.2.4"], &["1.2.3"]);
        check(">=1.0 !=1.2.3", &["1.2.4", "1.0.0"], &["1.2.3"]);
        check("!=1.2", &["1.1.9", "1.3.0"], &["1.2.0", "1.2.5"]);
    }

    #[test]
    fn prereleases_need_a_prerelease_constraint() {
        check(">=2.0.0", &["2.0.0"], &["2.1.0-rc.1"]);
        check(">=2.1.0-rc.0", &["2.1.0-rc.1", "2.1.0"], &["2.0.0"]);
        check("2.1.0-rc.1", &["2.1.0-rc.1"], &["2.1.0"]);
    }

    #[test]
    fn best_match_picks_highest() {
        let tags: Vec<Version> = ["v1.0.0", "v1.2.3", "v1.2.9", "v2.0.0", "v2.1.0-rc.1"]
            .iter()
            .map(|t| v(t))
            .collect();
        let best = |c: &str| Constraint::parse(c).unwrap().best_match(&tags).cloned();
        assert_eq!(best("1.2.*"), Some(v("1.2.9")));
        assert_eq!(best("^1"), Some(v("1.2.9")));
        assert_eq!(best("*"), Some(v("2.0.0")));
        assert_eq!(best(">=2.1.0-0"), Some(v("2.1.0-rc.1")));
        assert_eq!(best("^3"), None);
    }

    #[test]
    fn lenient_versions() {
        assert_eq!(parse_version("v1.2"), Some(Version::new(1, 2, 0)));
        assert_eq!(parse_version("3"), Some(Version::new(3, 0, 0)));
        assert_eq!(parse_version("1.2.3-rc.1").unwrap().pre.as_str(), "rc.1");
        assert_eq!(parse_version("1.2.x"), None);
        assert_eq!(parse_version("main"), None);
        assert_eq!(parse_version("1.2.3.4"), None);
        assert_eq!(parse_version("01a"), None);
    }

    #[test]
    fn constraint_detection() {
        for c in [
            "1.2.*",
            "1.2.x",
            ">=1.0.0 <2.0.0",
            "^1.2",
            "~1.2.3",
            "1.2 - 1.4",
            "*",
            "^1 || ^2",
        ] {
            assert!(is_constraint(c), "{c}");
        }
        for r in [
            "main",
            "v1.2.3",
            "1.2.3",
            "1.2",
            "HEAD",
            "",
            "feature/gpu-1.2",
            "abc1234",
            "release-1.x",
        ] {
            assert!(!is_constraint(r), "{r}");
        }
    }

    #[test]
    fn parse_errors_name_the_term() {
        let e = Constraint::parse(">=1.0 <abc").unwrap_err();
        assert_eq!(
            e.to_string(),
            "version constraint \">=1.0 <abc\": invalid term \"<abc\""
        );
        assert_eq!(Constraint::parse(" "), Err(ConstraintError::Empty));
        assert!(matches!(
            Constraint::parse("^1 ||"),
            Err(ConstraintError::EmptyAlternative { .. })
        ));
        assert!(Constraint::parse(">=").is_err());
        assert!(Constraint::parse("1.2.3.4").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = Constraint::parse(&s);
            let _ = is_constraint(&s);
            let _ = parse_version(&s);
        }

        #[test]
        fn parse_never_panics_on_constraint_alphabet(s in "[0-9vxX*.<>=!~^|, -]{0,30}") {
            if let Ok(c) = Constraint::parse(&s) {
                let _ = c.matches(&Version::new(1, 2, 3));
            }
        }

        #[test]
        fn exact_version_matches_itself(a in 0u64..50, b in 0u64..50, c in 0u64..50) {
            let s = format!("{a}.{b}.{c}");
            let con = Constraint::parse(&s).unwrap();
            proptest::prop_assert!(con.matches(&Version::new(a, b, c)));
            let caret = format!("^{s}");
            let tilde = format!("~{s}");
            proptest::prop_assert!(Constraint::parse(&caret).unwrap().matches(&Version::new(a, b, c)));
            proptest::prop_assert!(Constraint::parse(&tilde).unwrap().matches(&Version::new(a, b, c)));
        }
    }
}
