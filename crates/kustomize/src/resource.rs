//! One object under construction, with the history of its names that name references and
//! later patches need.

use std::fmt;

use serde_json::{Map, Value};

/// How a generated object combines with an existing one of the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Behavior {
    /// Not generated, or generated with `behavior: create`.
    #[default]
    Create,
    /// Merge data into the existing object.
    Merge,
    /// Replace the existing object.
    Replace,
}

/// Where an object came from, for `buildMetadata: [originAnnotations]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// Read from a file (absolute path).
    File(std::path::PathBuf),
    /// Made by a generator configured in a kustomization file (absolute path).
    Generated {
        kustomization: std::path::PathBuf,
        generator: &'static str,
    },
}

/// The identity of an object: group, version, kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ResId {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for ResId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = if self.group.is_empty() {
            "[noGrp]"
        } else {
            &self.group
        };
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        write!(
            f,
            "{}.{}.{}/{}.{}",
            self.kind, self.version, group, self.name, ns
        )
    }
}

/// Splits an `apiVersion` into group and version.
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// An object being built.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    /// The object.
    pub obj: Value,
    /// Names the object had before its current one, oldest first.
    pub prev_names: Vec<String>,
    /// Namespaces the object had before its current one, oldest first.
    pub prev_namespaces: Vec<String>,
    /// Kinds the object had before its current one.
    pub prev_kinds: Vec<String>,
    /// The name gets a content-hash suffix at the end of the build.
    pub needs_hash: bool,
    /// How a generated object merges.
    pub behavior: Behavior,
    /// Name prefixes applied, innermost first.
    pub prefixes: Vec<String>,
    /// Name suffixes applied, innermost first.
    pub suffixes: Vec<String>,
    /// Where the object came from.
    pub source: Option<Source>,
}

fn str_at<'a>(v: &'a Value, a: &str, b: Option<&str>) -> &'a str {
    let v = v.get(a);
    let v = match b {
        Some(b) => v.and_then(|v| v.get(b)),
        None => v,
    };
    v.and_then(Value::as_str).unwrap_or("")
}

impl Resource {
    pub(crate) fn new(obj: Value) -> Self {
        Self {
            obj,
            prev_names: Vec::new(),
            prev_namespaces: Vec::new(),
            prev_kinds: Vec::new(),
            needs_hash: false,
            behavior: Behavior::Create,
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            source: None,
        }
    }

    pub(crate) fn api_version(&self) -> &str {
        str_at(&self.obj, "apiVersion", None)
    }
    pub(crate) fn group(&self) -> &str {
        split_api_version(self.api_version()).0
    }
    pub(crate) fn version(&self) -> &str {
        split_api_version(self.api_version()).1
    }
    pub(crate) fn kind(&self) -> &str {
        str_at(&self.obj, "kind", None)
    }
    pub(crate) fn name(&self) -> &str {
        str_at(&self.obj, "metadata", Some("name"))
    }
    pub(crate) fn namespace(&self) -> &str {
        str_at(&self.obj, "metadata", Some("namespace"))
    }

    /// Whether the kind lives in namespaces (unknown kinds count as namespaced).
    pub(crate) fn is_namespaced(&self) -> bool {
        ferrocd_schema::is_namespaced(self.group(), self.kind()).unwrap_or(true)
    }

    /// The current identity.
    pub(crate) fn id(&self) -> ResId {
        ResId {
            group: self.group().to_string(),
            version: self.version().to_string(),
            kind: self.kind().to_string(),
            namespace: self.effective_namespace().to_string(),
            name: self.name().to_string(),
        }
    }

    /// The namespace used in ids: `default` when unset for namespaced kinds, empty for
    /// cluster-scoped kinds.
    pub(crate) fn effective_namespace(&self) -> &str {
        if !self.is_namespaced() {
            return "";
        }
        match self.namespace() {
            "" => "default",
            ns => ns,
        }
    }

    /// Whether `name` is the current or any earlier name.
    pub(crate) fn had_name(&self, name: &str) -> bool {
        self.name() == name || self.prev_names.iter().any(|n| n == name)
    }

    /// Whether the effective namespace is, or once was, `ns` (with `""` meaning `default`).
    pub(crate) fn had_namespace(&self, ns: &str) -> bool {
        let norm = |s: &str| {
            if s.is_empty() {
                "default".to_string()
            } else {
                s.to_string()
            }
        };
        let ns = norm(ns);
        norm(self.namespace()) == ns || self.prev_namespaces.iter().any(|n| norm(n) == ns)
    }

    pub(crate) fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let obj = object_mut(&mut self.obj);
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        object_mut(meta)
    }

    /// Renames the object, remembering the old name.
    pub(crate) fn set_name(&mut self, name: &str) {
        if self.name() == name {
            return;
        }
        let old = self.name().to_string();
        self.prev_names.push(old);
        self.metadata_mut()
            .insert("name".into(), Value::String(name.to_string()));
    }

    /// Moves the object to a namespace, remembering the old one.
    pub(crate) fn set_namespace(&mut self, ns: &str) {
        if self.namespace() == ns {
            return;
        }
        let old = self.namespace().to_string();
        self.prev_namespaces.push(old);
        self.metadata_mut()
            .insert("namespace".into(), Value::String(ns.to_string()));
    }

    /// Records the identity fields before a patch that may change them.
    pub(crate) fn record_change_from(&mut self, before: &Resource) {
        if before.name() != self.name() {
            self.prev_names.push(before.name().to_string());
        }
        if before.kind() != self.kind() {
            self.prev_kinds.push(before.kind().to_string());
        }
    }

    /// Annotation value.
    pub(crate) fn annotation(&self, key: &str) -> Option<&str> {
        self.obj
            .get("metadata")?
            .get("annotations")?
            .get(key)?
            .as_str()
    }

    /// Label map (empty when missing).
    pub(crate) fn labels(&self) -> Option<&Map<String, Value>> {
        self.obj.get("metadata")?.get("labels")?.as_object()
    }

    /// Annotation map.
    pub(crate) fn annotations(&self) -> Option<&Map<String, Value>> {
        self.obj.get("metadata")?.get("annotations")?.as_object()
    }
}

/// Turns `v` into a map if it is not one, and returns it.
pub(crate) fn object_mut(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}
