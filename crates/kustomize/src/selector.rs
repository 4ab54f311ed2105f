//! Selecting objects: patch targets and replacement selectors (group, version, kind, name,
//! namespace as anchored regular expressions, label and annotation selectors).

use regex::Regex;
use serde_json::{Map, Value};

use crate::kustomization::Selector;
use crate::resource::Resource;

/// A compiled selector.
#[derive(Debug)]
pub(crate) struct Compiled {
    group: Option<String>,
    version: Option<String>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Option<LabelSelector>,
    annotations: Option<LabelSelector>,
}

fn anchored(s: &Option<String>) -> Result<Option<Regex>, String> {
    match s.as_deref() {
        None | Some("") => Ok(None),
        Some(p) => Regex::new(&format!("^(?:{p})$"))
            .map(Some)
            .map_err(|e| format!("invalid regular expression `{p}`: {e}")),
    }
}

impl Compiled {
    pub(crate) fn new(s: &Selector) -> Result<Self, String> {
        Ok(Self {
            group: s.group.clone(),
            version: s.version.clone().filter(|v| !v.is_empty()),
            kind: anchored(&s.kind)?,
            name: anchored(&s.name)?,
            namespace: anchored(&s.namespace)?,
            labels: s
                .label_selector
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(LabelSelector::parse)
                .transpose()?,
            annotations: s
                .annotation_selector
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(LabelSelector::parse)
                .transpose()?,
        })
    }

    pub(crate) fn matches(&self, res: &Resource) -> bool {
        if let Some(g) = &self.group
            && g != res.group()
        {
            return false;
        }
        if let Some(v) = &self.version
            && v != res.version()
        {
            return false;
        }
        if let Some(k) = &self.kind
            && !k.is_match(res.kind())
        {
            return false;
        }
        if let Some(n) = &self.name
            && !(n.is_match(res.name()))
        {
            return false;
        }
        if let Some(ns) = &self.namespace
            && !ns.is_match(res.namespace())
        {
            return false;
        }
        let empty = Map::new();
        if let Some(l) = &self.labels
            && !l.matches(res.labels().unwrap_or(&empty))
        {
            return false;
        }
        if let Some(a) = &self.annotations
            && !a.matches(res.annotations().unwrap_or(&empty))
        {
            return false;
        }
        true
    }
}

/// A Kubernetes label selector in its string form (`a=b,c!=d,e in (x,y),!f,g`).
#[derive(Debug, PartialEq)]
pub(crate) struct LabelSelector(Vec<Requirement>);

#[derive(Debug, PartialEq)]
enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// Splits at commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn set_values(s: &str) -> Result<Vec<String>, String> {
    let inner = s
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("expected a parenthesised set in `{s}`"))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

impl LabelSelector {
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let req = if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==") {
                Requirement::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once('=') {
                Requirement::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once(" notin ") {
                Requirement::NotIn(k.trim().into(), set_values(v)?)
            } else if let Some((k, v)) = part.split_once(" in ") {
                Requirement::In(k.trim().into(), set_values(v)?)
            } else if let Some(k) = part.strip_prefix('!') {
                Requirement::NotExists(k.trim().into())
            } else if part
                .chars()
                .all(|c| c.is_alphanumeric() || "-_./".contains(c))
            {
                Requirement::Exists(part.into())
            } else {
                return Err(format!(
                    "unable to parse requirement `{part}` of selector `{s}`"
                ));
            };
            reqs.push(req);
        }
        Ok(Self(reqs))
    }

    pub(crate) fn matches(&self, labels: &Map<String, Value>) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Eq(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEq(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn label_selectors_match() {
        let labels = json!({"app": "mlflow", "tier": "backend", "gpu": "a100"});
        let labels = labels.as_object().unwrap();
        let m = |s: &str| LabelSelector::parse(s).unwrap().matches(labels);
        assert!(m("app=mlflow"));
        assert!(m("app==mlflow,tier"));
        assert!(!m("app!=mlflow"));
        assert!(m("gpu in (a100, h100)"));
        assert!(!m("gpu notin (a100)"));
        assert!(m("!canary"));
        assert!(!m("canary"));
        assert!(m(""));
    }

    #[test]
    fn bad_selectors_are_errors() {
        assert!(LabelSelector::parse("a in b").is_err());
        assert!(LabelSelector::parse("a b c").is_err());
    }

    proptest! {
        #[test]
        fn selector_parser_never_panics(s in ".{0,40}") {
            let _ = LabelSelector::parse(&s);
        }
    }
}
