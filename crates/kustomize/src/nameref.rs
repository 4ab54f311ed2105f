//! Name references: after names changed (prefix, suffix, hash), every field that names
//! another object by its old name is updated to the new one.

use serde_json::Value;

use crate::config::{NameRef, TransformerConfig};
use crate::fieldspec::visit;
use crate::resource::Resource;

/// A renamed object a reference may point at.
struct Candidate {
    names: Vec<String>,
    name: String,
    namespace: String,
    namespaces: Vec<String>,
    namespaced: bool,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

/// What a reference needs to know about the object that makes it.
struct Referrer<'a> {
    prefixes: &'a [String],
    suffixes: &'a [String],
}

fn candidates(resources: &[Resource], rule: &NameRef) -> Vec<Candidate> {
    resources
        .iter()
        .filter(|r| r.kind() == rule.kind && rule.group.as_deref().is_none_or(|g| g == r.group()))
        .filter(|r| !r.prev_names.is_empty())
        .map(|r| {
            let norm = |s: &str| {
                if s.is_empty() {
                    "default".to_string()
                } else {
                    s.to_string()
                }
            };
            Candidate {
                names: r.prev_names.clone(),
                name: r.name().to_string(),
                namespace: norm(r.namespace()),
                namespaces: r.prev_namespaces.iter().map(|n| norm(n)).collect(),
                namespaced: r.is_namespaced(),
                prefixes: r.prefixes.clone(),
                suffixes: r.suffixes.clone(),
            }
        })
        .collect()
}

/// The new name for a reference `old` made from namespace `ns` (`None` for cluster-scoped
/// referrers, which may point anywhere).
fn new_name(
    cands: &[Candidate],
    old: &str,
    ns: Option<&str>,
    referrer: &Referrer<'_>,
) -> Option<String> {
    let named: Vec<&Candidate> = cands
        .iter()
        .filter(|c| c.names.iter().any(|n| n == old))
        .collect();
    if named.is_empty() {
        return None;
    }
    let in_ns: Vec<&&Candidate> = named
        .iter()
        .filter(|c| match ns {
            Some(ns) if c.namespaced => c.namespace == ns || c.namespaces.iter().any(|n| n == ns),
            _ => true,
        })
        .collect();
    let mut pick = if !in_ns.is_empty() {
        in_ns.iter().map(|c| **c).collect::<Vec<_>>()
    } else {
        named
    };
    if pick.len() > 1 {
        // Several copies of one base: the one renamed like the referrer is meant.
        let same: Vec<&Candidate> = pick
            .iter()
            .copied()
            .filter(|c| c.prefixes == referrer.prefixes && c.suffixes == referrer.suffixes)
            .collect();
        if !same.is_empty() {
            pick = same;
        }
    }
    let first = pick.first()?;
    if pick.iter().all(|c| c.name == first.name) {
        Some(first.name.clone())
    } else {
        None
    }
}

fn update_string(v: &mut Value, cands: &[Candidate], ns: Option<&str>, referrer: &Referrer<'_>) {
    if let Some(s) = v.as_str()
        && let Some(n) = new_name(cands, s, ns, referrer)
    {
        *v = Value::String(n);
    }
}

/// Fixes every reference in `resources`.
pub(crate) fn fix(resources: &mut [Resource], config: &TransformerConfig) {
    for rule in &config.name_reference {
        let cands = candidates(resources, rule);
        if cands.is_empty() {
            continue;
        }
        for res in resources.iter_mut() {
            let ns_owned = if res.is_namespaced() {
                Some(if res.namespace().is_empty() {
                    "default".to_string()
                } else {
                    res.namespace().to_string()
                })
            } else {
                None
            };
            let ns = ns_owned.as_deref();
            let (prefixes, suffixes) = (res.prefixes.clone(), res.suffixes.clone());
            let referrer = Referrer {
                prefixes: &prefixes,
                suffixes: &suffixes,
            };
            let specs: Vec<_> = rule
                .referrers
                .iter()
                .filter(|s| s.applies_to(res))
                .collect();
            for spec in specs {
                let Some((field, parent)) = spec.path.split_last() else {
                    continue;
                };
                let field = field.trim_end_matches("[]").to_string();
                let _ = visit::<()>(&mut res.obj, parent, false, &mut |p| {
                    let Value::Object(m) = p else {
                        return Ok(());
                    };
                    if let Some(kind) = m.get("kind").and_then(Value::as_str)
                        && kind != rule.kind
                        && field == "name"
                    {
                        return Ok(());
                    }
                    let Some(v) = m.get_mut(&field) else {
                        return Ok(());
                    };
                    match v {
                        Value::String(_) => update_string(v, &cands, ns, &referrer),
                        Value::Array(items) => {
                            for item in items {
                                match item {
                                    Value::String(_) => update_string(item, &cands, ns, &referrer),
                                    Value::Object(sub) => {
                                        let kind_ok = sub
                                            .get("kind")
                                            .and_then(Value::as_str)
                                            .is_none_or(|k| k == rule.kind);
                                        if !kind_ok {
                                            continue;
                                        }
                                        let sub_ns =
                                            sub.get("namespace").and_then(Value::as_str).map(|s| {
                                                if s.is_empty() {
                                                    "default".to_string()
                                                } else {
                                                    s.to_string()
                                                }
                                            });
                                        let ns = sub_ns.as_deref().or(ns);
                                        if let Some(name) = sub.get_mut("name") {
                                            update_string(name, &cands, ns, &referrer);
                                        }
                                    }
                                    _ => {}
                                }
                            }
                        }
                        _ => {}
                    }
                    Ok(())
                });
            }
        }
    }
}
