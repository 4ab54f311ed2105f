//! ferrocd-manifest: Kubernetes manifests as data.
//!
//! A [`Manifest`] is one Kubernetes object (as JSON) together with where it came from
//! (file and line), so that every later error can point at the source. Parsing follows
//! what `kubectl` and Argo CD do with YAML: YAML 1.1 booleans (`yes`, `on`), legacy
//! octal numbers, multi-document streams, `List` kinds expanded into their items, and
//! numbers normalized the way a YAML → JSON → object round trip in Go leaves them
//! (`1.0` becomes the integer `1`).
#![deny(missing_docs)]

mod emit;
mod parse;

use std::fmt;

use ferrocd_model::ResourceKey;
use serde_json::Value;

pub use emit::{to_json_list, to_yaml_documents, to_yaml_string};
pub use parse::{ParseError, parse_documents, parse_yaml_value};

/// Where an object came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// File path as given by the caller (usually relative to the source root).
    pub file: String,
    /// 1-based line of the document that holds the object.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One Kubernetes object and its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The object, a JSON map with at least `apiVersion` and `kind`.
    pub object: Value,
    /// Where the object was read from.
    pub origin: Origin,
}

impl Manifest {
    /// The object's identity.
    pub fn key(&self) -> ResourceKey {
        ResourceKey::from_object(&self.object)
    }

    /// `metadata.name`, or an empty string.
    pub fn name(&self) -> &str {
        str_at(&self.object, "/metadata/name")
    }

    /// `kind`, or an empty string.
    pub fn kind(&self) -> &str {
        str_at(&self.object, "/kind")
    }

    /// `apiVersion`, or an empty string.
    pub fn api_version(&self) -> &str {
        str_at(&self.object, "/apiVersion")
    }

    /// `metadata.namespace`, or an empty string.
    pub fn namespace(&self) -> &str {
        str_at(&self.object, "/metadata/namespace")
    }

    /// The value of annotation `name`, if set.
    pub fn annotation(&self, name: &str) -> Option<&str> {
        self.object
            .get("metadata")?
            .get("annotations")?
            .get(name)?
            .as_str()
    }
}

fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}
