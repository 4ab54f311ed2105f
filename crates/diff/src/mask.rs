//! Masking of Secret values in every diff output, Argo CD's way: each value of `data`
//! becomes a run of `+`. For one key, equal values on both sides get the same mask and a
//! different value a longer one (`++++++++` vs `+++++++++`), so a user sees *that* a
//! value changed without seeing it.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::FieldChange;

/// The mask of the first distinct value of a key.
const BASE_MASK: usize = 8;

/// Masks assigned per (key, value).
pub(crate) struct Masks {
    by_key: HashMap<String, Vec<(Value, String)>>,
}

impl Masks {
    /// Assigns masks to the data values of desired first, then live.
    pub(crate) fn new(desired: Option<&Value>, live: Option<&Value>) -> Self {
        let mut masks = Masks {
            by_key: HashMap::new(),
        };
        for side in [desired, live].into_iter().flatten() {
            for field in ["data", "stringData"] {
                if let Some(Value::Object(data)) = side.get(field) {
                    for (k, v) in data {
                        masks.mask_of(k, v);
                    }
                }
            }
        }
        masks
    }

    fn mask_of(&mut self, key: &str, value: &Value) -> String {
        let seen = self.by_key.entry(key.to_string()).or_default();
        if let Some((_, mask)) = seen.iter().find(|(v, _)| v == value) {
            return mask.clone();
        }
        let mask = "+".repeat(BASE_MASK + seen.len());
        seen.push((value.clone(), mask.clone()));
        mask
    }

    fn mask_map(&mut self, data: &mut Map<String, Value>) {
        for (k, v) in data.iter_mut() {
            *v = Value::String(self.mask_of(k, v));
        }
    }

    /// Masks `data`/`stringData` of a whole Secret object.
    pub(crate) fn mask_object(&mut self, obj: &mut Value) {
        for field in ["data", "stringData"] {
            if let Some(Value::Object(data)) = obj.get_mut(field) {
                self.mask_map(data);
            }
        }
        if let Some(Value::Object(annotations)) = obj.pointer_mut("/metadata/annotations")
            && let Some(v) = annotations.get_mut(crate::normalize::LAST_APPLIED)
        {
            *v = Value::String("+".repeat(BASE_MASK));
        }
    }

    /// Masks the values of a change, by its path.
    pub(crate) fn mask_change(&mut self, change: &mut FieldChange) {
        let path = change.path.clone();
        for value in [change.desired.as_mut(), change.live.as_mut()]
            .into_iter()
            .flatten()
        {
            match path.as_str() {
                "/" => self.mask_object(value),
                "/data" | "/stringData" => {
                    if let Value::Object(data) = value {
                        self.mask_map(data);
                    }
                }
                p => {
                    if let Some(key) = p
                        .strip_prefix("/data/")
                        .or_else(|| p.strip_prefix("/stringData/"))
                    {
                        let key = key.replace("~1", "/").replace("~0", "~");
                        *value = Value::String(self.mask_of(&key, value));
                    }
                }
            }
        }
    }
}

/// Whether the object is a core `Secret`.
pub(crate) fn is_secret(obj: &Value) -> bool {
    obj.get("kind").and_then(Value::as_str) == Some("Secret")
        && !obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .contains('/')
}
