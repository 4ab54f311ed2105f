//! Pattern matching for policy fields, as Argo CD's policies mean it.
//!
//! In the default `glob` mode a pattern is a glob *without separators*: `*` matches any run of
//! characters, `/` included (so `*` matches `ml-platform/mlflow`, and `team-*/*` matches
//! `team-a/ns/app`). `?` matches one character, `[a-z]` and `[!0-9]` match classes, `{a,b}`
//! matches alternatives and `\` escapes the next character. In `regex` mode the pattern is a
//! regular expression searched anywhere in the value, as Argo CD's regex mode does; anchor it
//! with `^…$` to match the whole value.

use regex::Regex;

/// How many alternatives a pattern with `{…}` groups may expand to.
const MAX_ALTERNATIVES: usize = 256;

/// A compiled pattern for one policy field.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// A pattern without metacharacters: compared for equality.
    Exact(String),
    /// A glob, expanded into its `{…}` alternatives.
    Glob(Vec<Vec<Token>>),
    /// A regular expression (regex match mode).
    Regex(Regex),
}

/// One element of a glob.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    /// A literal character.
    Char(char),
    /// `?`
    One,
    /// `*`
    Any,
    /// `[…]`: ranges, negated or not.
    Class {
        /// Inclusive ranges.
        ranges: Vec<(char, char)>,
        /// `[!…]` or `[^…]`.
        negated: bool,
    },
}

/// Why a pattern does not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatternProblem {
    /// `[` without `]`.
    UnclosedClass,
    /// `{` without `}`.
    UnclosedGroup,
    /// `}` without `{`.
    UnopenedGroup,
    /// Too many `{…}` combinations.
    TooManyAlternatives,
    /// The regular expression is invalid.
    Regex(String),
}

impl std::fmt::Display for PatternProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PatternProblem::UnclosedClass => f.write_str("'[' without a closing ']'"),
            PatternProblem::UnclosedGroup => f.write_str("'{' without a closing '}'"),
            PatternProblem::UnopenedGroup => f.write_str("'}' without an opening '{'"),
            PatternProblem::TooManyAlternatives => {
                write!(f, "more than {MAX_ALTERNATIVES} '{{…}}' alternatives")
            }
            PatternProblem::Regex(e) => write!(f, "invalid regular expression: {e}"),
        }
    }
}

impl Matcher {
    /// Compiles a glob.
    pub(crate) fn glob(pattern: &str) -> Result<Matcher, PatternProblem> {
        if !pattern.contains(['*', '?', '[', '{', '}', '\\']) {
            return Ok(Matcher::Exact(pattern.to_string()));
        }
        let chars: Vec<char> = pattern.chars().collect();
        let alternatives = expand(&chars)?;
        let mut compiled = Vec::with_capacity(alternatives.len());
        for alt in alternatives {
            compiled.push(tokenize(&alt)?);
        }
        Ok(Matcher::Glob(compiled))
    }

    /// Compiles a regular expression.
    pub(crate) fn regex(pattern: &str) -> Result<Matcher, PatternProblem> {
        Regex::new(pattern)
            .map(Matcher::Regex)
            .map_err(|e| PatternProblem::Regex(e.to_string()))
    }

    /// Whether `value` matches.
    pub(crate) fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(s) => s == value,
            Matcher::Glob(alternatives) => {
                let chars: Vec<char> = value.chars().collect();
                alternatives
                    .iter()
                    .any(|tokens| match_tokens(tokens, &chars))
            }
            Matcher::Regex(re) => re.is_match(value),
        }
    }
}

/// Expands `{a,b}` groups (nested ones too) into plain globs.
fn expand(chars: &[char]) -> Result<Vec<Vec<char>>, PatternProblem> {
    // Find the first top-level group outside classes and escapes.
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '}' if !in_class => return Err(PatternProblem::UnopenedGroup),
            '{' if !in_class => {
                let (end, parts) = split_group(chars, i)?;
                let prefix = &chars[..i];
                let suffix_alts = expand(&chars[end + 1..])?;
                let mut out = Vec::new();
                for part in parts {
                    for middle in expand(&part)? {
                        for suffix in &suffix_alts {
                            let mut alt = prefix.to_vec();
                            alt.extend_from_slice(&middle);
                            alt.extend_from_slice(suffix);
                            out.push(alt);
                            if out.len() > MAX_ALTERNATIVES {
                                return Err(PatternProblem::TooManyAlternatives);
                            }
                        }
                    }
                }
                return Ok(out);
            }
            _ => {}
        }
        i += 1;
    }
    Ok(vec![chars.to_vec()])
}

/// Splits the group opening at `start` into its comma-separated parts; returns the index of the
/// closing brace too.
fn split_group(chars: &[char], start: usize) -> Result<(usize, Vec<Vec<char>>), PatternProblem> {
    let mut depth = 0usize;
    let mut parts = Vec::new();
    let mut current = Vec::new();
    let mut i = start + 1;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                current.push(c);
                if let Some(&next) = chars.get(i + 1) {
                    current.push(next);
                }
                i += 2;
                continue;
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '{' if !in_class => depth += 1,
            '}' if !in_class => {
                if depth == 0 {
                    parts.push(current);
                    return Ok((i, parts));
                }
                depth -= 1;
            }
            ',' if !in_class && depth == 0 => {
                parts.push(std::mem::take(&mut current));
                i += 1;
                continue;
            }
            _ => {}
        }
        current.push(c);
        i += 1;
    }
    Err(PatternProblem::UnclosedGroup)
}

/// Turns a brace-free glob into tokens.
fn tokenize(chars: &[char]) -> Result<Vec<Token>, PatternProblem> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                // A trailing backslash stands for itself.
                out.push(Token::Char(chars.get(i + 1).copied().unwrap_or('\\')));
                i += 2;
            }
            '*' => {
                if out.last() != Some(&Token::Any) {
                    out.push(Token::Any);
                }
                i += 1;
            }
            '?' => {
                out.push(Token::One);
                i += 1;
            }
            '[' => {
                let (token, next) = class(chars, i)?;
                out.push(token);
                i = next;
            }
            c => {
                out.push(Token::Char(c));
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Parses the class opening at `start`; returns it and the index after its `]`.
fn class(chars: &[char], start: usize) -> Result<(Token, usize), PatternProblem> {
    let mut i = start + 1;
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(PatternProblem::UnclosedClass);
        };
        if c == ']' && !first {
            return Ok((Token::Class { ranges, negated }, i + 1));
        }
        first = false;
        let lo = if c == '\\' {
            i += 1;
            *chars.get(i).ok_or(PatternProblem::UnclosedClass)?
        } else {
            c
        };
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&h| h != ']') {
            let hi = chars[i + 2];
            ranges.push((lo, hi));
            i += 3;
        } else {
            ranges.push((lo, lo));
            i += 1;
        }
    }
}

fn token_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Char(t) => *t == c,
        Token::One => true,
        Token::Any => true,
        Token::Class { ranges, negated } => {
            ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
    }
}

/// Matches with one backtracking point (the last `*`), which is enough for globs whose only
/// variable-length token is `*`: O(len(tokens) · len(value)).
fn match_tokens(tokens: &[Token], value: &[char]) -> bool {
    let (mut t, mut v) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        match tokens.get(t) {
            Some(Token::Any) => {
                star = Some((t, v));
                t += 1;
            }
            Some(token) if token_matches(token, value[v]) => {
                t += 1;
                v += 1;
            }
            _ => match star {
                Some((st, sv)) => {
                    t = st + 1;
                    v = sv + 1;
                    star = Some((st, sv + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t.min(tokens.len())..]
        .iter()
        .all(|token| *token == Token::Any)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, value: &str) -> bool {
        Matcher::glob(pattern)
            .expect("pattern compiles")
            .matches(value)
    }

    #[test]
    fn star_crosses_slashes() {
        assert!(m("*", "ml-platform/mlflow"));
        assert!(m("*/*", "ml-platform/serving/triton"));
        assert!(m("ml-*/*", "ml-platform/airflow"));
        assert!(!m("ml-*/*", "data/airflow"));
        assert!(m("*-prod", "serving/triton-prod"));
        assert!(!m("*-prod", "serving/triton-staging"));
    }

    #[test]
    fn classes_alternatives_and_escapes() {
        assert!(m("team-[ab]/*", "team-a/x"));
        assert!(!m("team-[ab]/*", "team-c/x"));
        assert!(m("team-[!ab]/*", "team-c/x"));
        assert!(m("gpu-[0-9]", "gpu-7"));
        assert!(m("{mlflow,airflow}/*", "airflow/scheduler"));
        assert!(!m("{mlflow,airflow}/*", "spark/driver"));
        assert!(m("a{b,c{d,e}}f", "acef"));
        assert!(m(r"literal\*", "literal*"));
        assert!(!m(r"literal\*", "literalx"));
        assert!(m("app-?", "app-1"));
        assert!(!m("app-?", "app-12"));
    }

    #[test]
    fn exact_without_metacharacters() {
        assert!(m("default/mlflow", "default/mlflow"));
        assert!(!m("default/mlflow", "default/mlflow-2"));
    }

    #[test]
    fn bad_patterns_are_reported() {
        assert_eq!(
            Matcher::glob("team-[ab").unwrap_err(),
            PatternProblem::UnclosedClass
        );
        assert_eq!(
            Matcher::glob("{a,b").unwrap_err(),
            PatternProblem::UnclosedGroup
        );
        assert_eq!(
            Matcher::glob("a}").unwrap_err(),
            PatternProblem::UnopenedGroup
        );
        assert!(matches!(
            Matcher::glob("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}"),
            Err(PatternProblem::TooManyAlternatives)
        ));
    }

    #[test]
    fn regex_mode_searches() {
        let re = Matcher::regex("^ml-.*/mlflow$").expect("compiles");
        assert!(re.matches("ml-platform/mlflow"));
        assert!(!re.matches("data/mlflow"));
        assert!(Matcher::regex("(").is_err());
    }

    proptest::proptest! {
        #[test]
        fn literal_patterns_match_themselves(s in "[a-z0-9/:._-]{0,30}") {
            proptest::prop_assert!(m(&s, &s));
            proptest::prop_assert!(m("*", &s));
        }

        #[test]
        fn any_pattern_compiles_or_errors(p in "[a-z*?\\[\\]{},!\\\\/-]{0,20}", v in "[a-z/-]{0,20}") {
            if let Ok(matcher) = Matcher::glob(&p) {
                let _ = matcher.matches(&v);
            }
        }
    }
}
