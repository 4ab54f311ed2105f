//! Dotted field paths of replacements and vars: `spec.template.spec.containers.[name=app].image`,
//! `spec.ports.0.port`, `metadata.labels.[app.kubernetes.io/name]`, `items[0]`, `*`.

use serde_json::{Map, Value};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// A map key.
    Key(String),
    /// A list position.
    Index(usize),
    /// List elements whose field equals a value.
    Match(String, String),
    /// Every list element.
    All,
}

/// Parses a field path.
pub(crate) fn parse(path: &str) -> Vec<Step> {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => {
                if depth == 0 && !cur.is_empty() {
                    tokens.push(std::mem::take(&mut cur));
                }
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
                if depth == 0 {
                    tokens.push(std::mem::take(&mut cur));
                }
            }
            '.' if depth == 0 => {
                if !cur.is_empty() {
                    tokens.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    tokens
        .into_iter()
        .map(|t| {
            if let Some(inner) = t.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                if let Some((k, v)) = inner.split_once('=') {
                    Step::Match(k.to_string(), v.to_string())
                } else if let Ok(i) = inner.parse() {
                    Step::Index(i)
                } else if inner == "*" {
                    Step::All
                } else {
                    Step::Key(inner.to_string())
                }
            } else if t == "*" {
                Step::All
            } else if let Ok(i) = t.parse::<usize>() {
                Step::Index(i)
            } else {
                Step::Key(t)
            }
        })
        .collect()
}

/// The first value at `steps`.
pub(crate) fn get<'a>(v: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    let Some((first, rest)) = steps.split_first() else {
        return Some(v);
    };
    match (first, v) {
        (Step::Key(k), Value::Object(m)) => get(m.get(k)?, rest),
        (Step::Index(i), Value::Array(a)) => get(a.get(*i)?, rest),
        (Step::Index(i), Value::Object(m)) => get(m.get(&i.to_string())?, rest),
        (Step::Match(k, val), Value::Array(a)) => a
            .iter()
            .filter(|e| {
                e.get(k)
                    .is_some_and(|x| crate::kustomization::scalar_string(x) == *val)
            })
            .find_map(|e| get(e, rest)),
        (Step::All, Value::Array(a)) => a.iter().find_map(|e| get(e, rest)),
        _ => None,
    }
}

/// Calls `f` on every value at `steps`, creating missing map fields (and `[k=v]` list
/// elements) when `create` is set. Returns how many values were visited.
pub(crate) fn visit_mut(
    v: &mut Value,
    steps: &[Step],
    create: bool,
    f: &mut dyn FnMut(&mut Value),
) -> usize {
    let Some((first, rest)) = steps.split_first() else {
        f(v);
        return 1;
    };
    match first {
        Step::Key(k) => {
            if v.is_null() && create {
                *v = Value::Object(Map::new());
            }
            let Value::Object(m) = v else {
                return 0;
            };
            if !m.contains_key(k) {
                if !create {
                    return 0;
                }
                m.insert(k.clone(), Value::Null);
            }
            match m.get_mut(k) {
                Some(child) => visit_mut(child, rest, create, f),
                None => 0,
            }
        }
        Step::Index(i) => match v {
            Value::Array(a) => match a.get_mut(*i) {
                Some(child) => visit_mut(child, rest, create, f),
                None => 0,
            },
            _ => 0,
        },
        Step::Match(k, val) => {
            if v.is_null() && create {
                *v = Value::Array(Vec::new());
            }
            let Value::Array(a) = v else {
                return 0;
            };
            let mut n = 0;
            for e in a.iter_mut() {
                if e.get(k)
                    .is_some_and(|x| crate::kustomization::scalar_string(x) == *val)
                {
                    n += visit_mut(e, rest, create, f);
                }
            }
            if n == 0 && create {
                let mut m = Map::new();
                m.insert(k.clone(), Value::String(val.clone()));
                a.push(Value::Object(m));
                if let Some(last) = a.last_mut() {
                    n += visit_mut(last, rest, create, f);
                }
            }
            n
        }
        Step::All => match v {
            Value::Array(a) => a.iter_mut().map(|e| visit_mut(e, rest, create, f)).sum(),
            _ => 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        #[test]
        fn paths_never_panic(path in "[a-z0-9.\\[\\]=*]{0,40}") {
            let steps = parse(&path);
            let mut v = json!({"a": [{"b": 1}, {"b": 2}], "c": {"d": "x"}});
            let _ = get(&v, &steps);
            let _ = visit_mut(&mut v, &steps, true, &mut |x| *x = json!(0));
        }
    }

    #[test]
    fn parses_brackets_with_dots() {
        assert_eq!(
            parse("spec.containers.[name=a.b].image"),
            [
                Step::Key("spec".into()),
                Step::Key("containers".into()),
                Step::Match("name".into(), "a.b".into()),
                Step::Key("image".into())
            ]
        );
        assert_eq!(
            parse("metadata.labels.[app.kubernetes.io/name]")[2],
            Step::Key("app.kubernetes.io/name".into())
        );
        assert_eq!(parse("spec.ports.0.port")[2], Step::Index(0));
        assert_eq!(parse("items[1].x")[1], Step::Index(1));
    }

    #[test]
    fn get_and_set() {
        let mut v = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        assert_eq!(
            get(&v, &parse("spec.containers.[name=b].image")),
            Some(&json!("y"))
        );
        let n = visit_mut(&mut v, &parse("spec.containers.*.image"), false, &mut |x| {
            *x = json!("z")
        });
        assert_eq!(n, 2);
        visit_mut(&mut v, &parse("metadata.annotations.a"), true, &mut |x| {
            *x = json!("1")
        });
        assert_eq!(v["metadata"]["annotations"]["a"], "1");
    }
}
