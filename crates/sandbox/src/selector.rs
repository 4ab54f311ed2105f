//! Label selectors (string form from `?labelSelector=` and structured form from specs) and
//! field selectors.

use std::collections::BTreeMap;

use serde_json::Value;

/// A parse error of a selector string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// The selector text could not be parsed.
    #[error("unable to parse requirement: {0}")]
    Syntax(String),
    /// The field selector names a field that is not supported for the kind.
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
}

/// One label requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `key` exists.
    Exists(String),
    /// `!key`.
    DoesNotExist(String),
    /// `key=value` / `key==value` / `key in (...)`.
    In(String, Vec<String>),
    /// `key!=value` / `key notin (...)`.
    NotIn(String, Vec<String>),
    /// `key>n`.
    Gt(String, i64),
    /// `key<n`.
    Lt(String, i64),
}

impl Requirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Requirement::Gt(k, n) => labels
                .get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v > *n),
            Requirement::Lt(k, n) => labels
                .get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v < *n),
        }
    }
}

/// A parsed label selector: all requirements must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    /// The requirements.
    pub requirements: Vec<Requirement>,
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 316
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn valid_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn split_top_level(s: &str) -> Result<Vec<&str>, SelectorError> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(SelectorError::Syntax(s.to_string()));
                }
            }
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(SelectorError::Syntax(s.to_string()));
    }
    parts.push(&s[start..]);
    Ok(parts)
}

fn parse_set(rest: &str, whole: &str) -> Result<Vec<String>, SelectorError> {
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| SelectorError::Syntax(whole.to_string()))?;
    let mut values = Vec::new();
    for v in inner.split(',') {
        let v = v.trim();
        if !valid_value(v) {
            return Err(SelectorError::Syntax(whole.to_string()));
        }
        values.push(v.to_string());
    }
    Ok(values)
}

impl LabelSelector {
    /// Parses the string form (`app=mlflow,tier in (web,api),!canary`).
    pub fn parse(s: &str) -> Result<LabelSelector, SelectorError> {
        let mut requirements = Vec::new();
        if s.trim().is_empty() {
            return Ok(LabelSelector { requirements });
        }
        for part in split_top_level(s)? {
            let part = part.trim();
            let err = || SelectorError::Syntax(part.to_string());
            if part.is_empty() {
                return Err(err());
            }
            if let Some(k) = part.strip_prefix('!') {
                let k = k.trim();
                if !valid_key(k) {
                    return Err(err());
                }
                requirements.push(Requirement::DoesNotExist(k.to_string()));
                continue;
            }
            // set-based: "key in (...)" / "key notin (...)"
            let words: Vec<&str> = part.splitn(2, char::is_whitespace).collect();
            if words.len() == 2 {
                let key = words[0];
                let rest = words[1].trim_start();
                if let Some(r) = rest.strip_prefix("notin") {
                    if valid_key(key) {
                        requirements.push(Requirement::NotIn(key.into(), parse_set(r, part)?));
                        continue;
                    }
                } else if let Some(r) = rest.strip_prefix("in")
                    && valid_key(key)
                {
                    requirements.push(Requirement::In(key.into(), parse_set(r, part)?));
                    continue;
                }
            }
            let (key, op, value) = if let Some((k, v)) = part.split_once("!=") {
                (k, "!=", v)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, "=", v)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, "=", v)
            } else if let Some((k, v)) = part.split_once('>') {
                (k, ">", v)
            } else if let Some((k, v)) = part.split_once('<') {
                (k, "<", v)
            } else {
                (part, "exists", "")
            };
            let key = key.trim();
            let value = value.trim();
            if !valid_key(key) || !valid_value(value) {
                return Err(err());
            }
            requirements.push(match op {
                "=" => Requirement::In(key.into(), vec![value.into()]),
                "!=" => Requirement::NotIn(key.into(), vec![value.into()]),
                ">" => Requirement::Gt(key.into(), value.parse().map_err(|_| err())?),
                "<" => Requirement::Lt(key.into(), value.parse().map_err(|_| err())?),
                _ => Requirement::Exists(key.into()),
            });
        }
        Ok(LabelSelector { requirements })
    }

    /// Builds a selector from a structured `LabelSelector` object (`matchLabels`,
    /// `matchExpressions`). `None` means the object is malformed.
    pub fn from_object(sel: &Value) -> Option<LabelSelector> {
        let mut requirements = Vec::new();
        if let Some(ml) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in ml {
                requirements.push(Requirement::In(k.clone(), vec![v.as_str()?.to_string()]));
            }
        }
        if let Some(me) = sel.get("matchExpressions").and_then(Value::as_array) {
            for e in me {
                let key = e.get("key")?.as_str()?.to_string();
                let values: Vec<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                requirements.push(match e.get("operator")?.as_str()? {
                    "In" => Requirement::In(key, values),
                    "NotIn" => Requirement::NotIn(key, values),
                    "Exists" => Requirement::Exists(key),
                    "DoesNotExist" => Requirement::DoesNotExist(key),
                    _ => return None,
                });
            }
        }
        Some(LabelSelector { requirements })
    }

    /// Builds an equality selector from a plain map (Service `spec.selector`).
    pub fn from_map(map: &Value) -> LabelSelector {
        let requirements = map
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        Requirement::In(k.clone(), vec![v.as_str().unwrap_or_default().to_string()])
                    })
                    .collect()
            })
            .unwrap_or_default();
        LabelSelector { requirements }
    }

    /// Whether the selector has no requirement (matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether the labels satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether an object's `metadata.labels` satisfy the selector.
    pub fn matches_object(&self, obj: &Value) -> bool {
        self.matches(&labels_of(obj))
    }
}

/// The labels of an object as a map.
pub fn labels_of(obj: &Value) -> BTreeMap<String, String> {
    obj.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// A parsed field selector: `(field path, equal?, value)` triples.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    terms: Vec<(String, bool, String)>,
}

fn supported_field(kind: &str, field: &str) -> bool {
    if matches!(field, "metadata.name" | "metadata.namespace") {
        return true;
    }
    match kind {
        "Pod" => matches!(
            field,
            "spec.nodeName"
                | "spec.restartPolicy"
                | "spec.schedulerName"
                | "spec.serviceAccountName"
                | "spec.hostNetwork"
                | "status.phase"
                | "status.podIP"
                | "status.nominatedNodeName"
        ),
        "Event" => {
            field.starts_with("involvedObject.")
                || matches!(field, "reason" | "type" | "source" | "reportingComponent")
        }
        "Secret" => field == "type",
        "Node" => field == "spec.unschedulable",
        "Namespace" => field == "status.phase",
        "Job" => field == "status.successful",
        "ReplicaSet" => field == "status.replicas",
        _ => false,
    }
}

impl FieldSelector {
    /// Parses `metadata.name=foo,status.phase!=Running` for objects of `kind`.
    pub fn parse(s: &str, kind: &str) -> Result<FieldSelector, SelectorError> {
        let mut terms = Vec::new();
        if s.trim().is_empty() {
            return Ok(FieldSelector { terms });
        }
        for part in s.split(',') {
            let part = part.trim();
            let (field, eq, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, true, v)
            } else {
                return Err(SelectorError::Syntax(part.to_string()));
            };
            let field = field.trim();
            if !supported_field(kind, field) {
                return Err(SelectorError::UnsupportedField(field.to_string()));
            }
            terms.push((field.to_string(), eq, value.trim().to_string()));
        }
        Ok(FieldSelector { terms })
    }

    /// The value required for `metadata.name`, when the selector pins it.
    pub fn pinned_name(&self) -> Option<&str> {
        self.terms
            .iter()
            .find(|(f, eq, _)| f == "metadata.name" && *eq)
            .map(|(_, _, v)| v.as_str())
    }

    /// Whether the object satisfies every term.
    pub fn matches(&self, obj: &Value) -> bool {
        self.terms.iter().all(|(field, eq, value)| {
            let mut cur = obj;
            for seg in field.split('.') {
                cur = cur.get(seg).unwrap_or(&Value::Null);
            }
            let actual = match cur {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (actual == *value) == *eq
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn equality_and_set_based() {
        let s = LabelSelector::parse("app=mlflow, tier in (web, api),!canary,env notin (dev)")
            .expect("parse");
        assert_eq!(s.requirements.len(), 4);
        assert!(s.matches(&labels(&[("app", "mlflow"), ("tier", "api")])));
        assert!(!s.matches(&labels(&[("app", "mlflow"), ("tier", "db")])));
        assert!(!s.matches(&labels(&[
            ("app", "mlflow"),
            ("tier", "web"),
            ("canary", "1")
        ])));
        assert!(!s.matches(&labels(&[
            ("app", "mlflow"),
            ("tier", "web"),
            ("env", "dev")
        ])));
        let s = LabelSelector::parse("gpu,app!=airflow").expect("parse");
        assert!(s.matches(&labels(&[("gpu", "")])));
        assert!(!s.matches(&labels(&[("gpu", "a100"), ("app", "airflow")])));
        let s = LabelSelector::parse("replicas>2").expect("parse");
        assert!(s.matches(&labels(&[("replicas", "3")])));
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["app in (a", "=x", "a==(b)", "tier in a,b", "app=x y", ","] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn structured_selector() {
        let s = LabelSelector::from_object(&json!({"matchLabels": {"app": "triton"},
            "matchExpressions": [{"key": "gpu", "operator": "Exists"}]}))
        .expect("valid");
        assert!(s.matches(&labels(&[("app", "triton"), ("gpu", "a100")])));
        assert!(!s.matches(&labels(&[("app", "triton")])));
    }

    #[test]
    fn field_selector() {
        let f =
            FieldSelector::parse("metadata.name=web,status.phase!=Running", "Pod").expect("parse");
        assert_eq!(f.pinned_name(), Some("web"));
        assert!(f.matches(&json!({"metadata": {"name": "web"}, "status": {"phase": "Pending"}})));
        assert!(!f.matches(&json!({"metadata": {"name": "web"}, "status": {"phase": "Running"}})));
        assert_eq!(
            FieldSelector::parse("spec.replicas=1", "Deployment"),
            Err(SelectorError::UnsupportedField("spec.replicas".into()))
        );
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in ".{0,40}") {
            let _ = LabelSelector::parse(&s);
            let _ = FieldSelector::parse(&s, "Pod");
        }

        #[test]
        fn equality_roundtrip(k in "[a-z][a-z0-9.-]{0,10}", v in "[a-z0-9]{0,8}") {
            let s = LabelSelector::parse(&format!("{k}={v}")).expect("valid selector");
            let mut l = BTreeMap::new();
            l.insert(k.clone(), v.clone());
            prop_assert!(s.matches(&l));
            l.insert(k, format!("{v}x"));
            prop_assert!(!s.matches(&l));
        }
    }
}
