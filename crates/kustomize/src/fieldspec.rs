//! Field specs: where in which kinds a transformer reads or writes, and the walker that
//! visits those fields.

use serde_json::{Map, Value};

use crate::kustomization::FieldSpecEntry;
use crate::resource::Resource;

/// One field spec: a path in objects of an optional group/version/kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldSpec {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub path: Vec<String>,
    pub create: bool,
}

/// Splits a field path at `/`, honouring `\/` escapes.
pub(crate) fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                cur.push('/');
                chars.next();
            }
            '/' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.retain(|s| !s.is_empty());
    out
}

impl FieldSpec {
    /// A spec for `kind` (any group) at `path`.
    pub(crate) fn kind(kind: &str, path: &str, create: bool) -> Self {
        Self {
            group: None,
            version: None,
            kind: Some(kind.to_string()),
            path: split_path(path),
            create,
        }
    }

    /// A spec for every kind.
    pub(crate) fn any(path: &str, create: bool) -> Self {
        Self {
            group: None,
            version: None,
            kind: None,
            path: split_path(path),
            create,
        }
    }

    /// A spec for `group`/`kind`.
    pub(crate) fn gk(group: &str, kind: &str, path: &str, create: bool) -> Self {
        Self {
            group: Some(group.to_string()),
            ..Self::kind(kind, path, create)
        }
    }

    pub(crate) fn from_entry(e: &FieldSpecEntry) -> Self {
        Self {
            group: e.group.clone().filter(|s| !s.is_empty()),
            version: e.version.clone().filter(|s| !s.is_empty()),
            kind: e.kind.clone().filter(|s| !s.is_empty()),
            path: split_path(&e.path),
            create: e.create,
        }
    }

    /// Whether the spec applies to the resource.
    pub(crate) fn applies_to(&self, res: &Resource) -> bool {
        self.matches_gvk(res.group(), res.version(), res.kind())
    }

    pub(crate) fn matches_gvk(&self, group: &str, version: &str, kind: &str) -> bool {
        self.group.as_deref().is_none_or(|g| g == group)
            && self.version.as_deref().is_none_or(|v| v == version)
            && self.kind.as_deref().is_none_or(|k| k == kind)
    }
}

/// What a visitor sees at the end of a path.
pub(crate) type Visit<'a, E> = dyn FnMut(&mut Value) -> Result<(), E> + 'a;

/// Calls `f` on every value at `path` under `v`, walking into every element of lists met on
/// the way (and `name[]` segments). With `create`, missing maps along the path are created
/// and the final field is created as `null` for `f` to fill.
pub(crate) fn visit<E>(
    v: &mut Value,
    path: &[String],
    create: bool,
    f: &mut Visit<'_, E>,
) -> Result<(), E> {
    if let Value::Array(items) = v {
        for item in items {
            visit(item, path, create, f)?;
        }
        return Ok(());
    }
    let Some((first, rest)) = path.split_first() else {
        return f(v);
    };
    let (field, is_list) = match first.strip_suffix("[]") {
        Some(f) => (f, true),
        None => (first.as_str(), false),
    };
    let Value::Object(map) = v else {
        return Ok(());
    };
    if !map.contains_key(field) {
        if !create || is_list {
            return Ok(());
        }
        let fresh = if rest.is_empty() {
            Value::Null
        } else {
            Value::Object(Map::new())
        };
        map.insert(field.to_string(), fresh);
    }
    let Some(child) = map.get_mut(field) else {
        return Ok(());
    };
    if child.is_null() && !rest.is_empty() {
        if !create {
            return Ok(());
        }
        *child = Value::Object(Map::new());
    }
    visit(child, rest, create, f)
}

/// Applies `f` at every spec of `specs` that applies to `res`.
pub(crate) fn visit_specs<E>(
    res: &mut Resource,
    specs: &[FieldSpec],
    f: &mut Visit<'_, E>,
) -> Result<(), E> {
    for spec in specs {
        if spec.applies_to(res) {
            visit(&mut res.obj, &spec.path, spec.create, f)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn split_honours_escapes() {
        assert_eq!(
            split_path("metadata/annotations/a.io\\/b"),
            ["metadata", "annotations", "a.io/b"]
        );
        assert_eq!(
            split_path("spec/containers[]/image"),
            ["spec", "containers[]", "image"]
        );
    }

    #[test]
    fn visit_walks_lists_and_creates() {
        let mut v = json!({"spec": {"containers": [{"image": "a"}, {"image": "b"}]}});
        let mut seen = Vec::new();
        visit::<()>(
            &mut v,
            &split_path("spec/containers/image"),
            false,
            &mut |x| {
                seen.push(x.clone());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, [json!("a"), json!("b")]);
        visit::<()>(
            &mut v,
            &split_path("spec/template/metadata/labels"),
            true,
            &mut |x| {
                *x = json!({"a": "b"});
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(v["spec"]["template"]["metadata"]["labels"]["a"], "b");
    }
}
