//! Decoding of the Kubernetes protobuf envelope for the few kinds kubectl's generator commands
//! send that way (`kubectl create namespace|configmap|secret|serviceaccount`). Other kinds are
//! answered with 415 so the client can be told to send JSON.

use base64::Engine;
use serde_json::{Map, Value, json};

/// Why a protobuf body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtobufError {
    /// The bytes are not a well-formed message.
    #[error("malformed protobuf at byte {0}")]
    Malformed(usize),
    /// The envelope names a kind this decoder does not know.
    #[error("protobuf bodies of kind {0:?} are not supported; send JSON")]
    UnsupportedKind(String),
}

#[derive(Debug, Clone, Copy)]
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn fields(buf: &[u8]) -> Result<Vec<(u64, Field<'_>)>, ProtobufError> {
    let mut out = Vec::new();
    let mut i = 0;
    let varint = |i: &mut usize| -> Result<u64, ProtobufError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *buf.get(*i).ok_or(ProtobufError::Malformed(*i))?;
            *i += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ProtobufError::Malformed(*i))
    };
    while i < buf.len() {
        let key = varint(&mut i)?;
        let (num, wire) = (key >> 3, key & 7);
        match wire {
            0 => out.push((num, Field::Varint(varint(&mut i)?))),
            2 => {
                let len = varint(&mut i)? as usize;
                let end = i
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or(ProtobufError::Malformed(i))?;
                out.push((num, Field::Bytes(&buf[i..end])));
                i = end;
            }
            1 => i += 8,
            5 => i += 4,
            _ => return Err(ProtobufError::Malformed(i)),
        }
        if i > buf.len() {
            return Err(ProtobufError::Malformed(i));
        }
    }
    Ok(out)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn map_entry(b: &[u8], bytes_value: bool) -> Result<(String, Value), ProtobufError> {
    let mut k = String::new();
    let mut v = Value::String(String::new());
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => k = text(x),
            (2, Field::Bytes(x)) if bytes_value => {
                v = Value::String(base64::engine::general_purpose::STANDARD.encode(x))
            }
            (2, Field::Bytes(x)) => v = Value::String(text(x)),
            _ => {}
        }
    }
    Ok((k, v))
}

fn insert_map(obj: &mut Map<String, Value>, key: &str, entry: (String, Value)) {
    let m = obj.entry(key.to_string()).or_insert_with(|| json!({}));
    if let Some(m) = m.as_object_mut() {
        m.insert(entry.0, entry.1);
    }
}

fn push(obj: &mut Map<String, Value>, key: &str, v: Value) {
    let a = obj.entry(key.to_string()).or_insert_with(|| json!([]));
    if let Some(a) = a.as_array_mut() {
        a.push(v);
    }
}

fn object_meta(b: &[u8]) -> Result<Value, ProtobufError> {
    let mut m = Map::new();
    // proto2 writes empty optional strings; JSON omits them
    for (n, f) in fields(b)?
        .into_iter()
        .filter(|(_, f)| !matches!(f, Field::Bytes(x) if x.is_empty()))
    {
        match (n, f) {
            (1, Field::Bytes(x)) => {
                m.insert("name".into(), json!(text(x)));
            }
            (2, Field::Bytes(x)) => {
                m.insert("generateName".into(), json!(text(x)));
            }
            (3, Field::Bytes(x)) => {
                m.insert("namespace".into(), json!(text(x)));
            }
            (5, Field::Bytes(x)) => {
                m.insert("uid".into(), json!(text(x)));
            }
            (6, Field::Bytes(x)) => {
                m.insert("resourceVersion".into(), json!(text(x)));
            }
            (11, Field::Bytes(x)) => insert_map(&mut m, "labels", map_entry(x, false)?),
            (12, Field::Bytes(x)) => insert_map(&mut m, "annotations", map_entry(x, false)?),
            (14, Field::Bytes(x)) => push(&mut m, "finalizers", json!(text(x))),
            _ => {}
        }
    }
    Ok(Value::Object(m))
}

fn local_ref(b: &[u8]) -> Result<Value, ProtobufError> {
    let mut name = String::new();
    for (n, f) in fields(b)? {
        if let (1, Field::Bytes(x)) = (n, f) {
            name = text(x);
        }
    }
    Ok(json!({"name": name}))
}

/// Decodes a `k8s\0`-prefixed protobuf body into a JSON object.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let raw = body
        .strip_prefix(b"k8s\0")
        .ok_or(ProtobufError::Malformed(0))?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut payload: &[u8] = &[];
    for (n, f) in fields(raw)? {
        match (n, f) {
            (1, Field::Bytes(tm)) => {
                for (tn, tf) in fields(tm)? {
                    match (tn, tf) {
                        (1, Field::Bytes(x)) => api_version = text(x),
                        (2, Field::Bytes(x)) => kind = text(x),
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(x)) => payload = x,
            _ => {}
        }
    }
    let mut o = Map::new();
    o.insert("apiVersion".into(), json!(api_version));
    o.insert("kind".into(), json!(kind));
    let supported = api_version == "v1"
        && matches!(
            kind.as_str(),
            "Namespace" | "ConfigMap" | "Secret" | "ServiceAccount"
        );
    if !supported {
        return Err(ProtobufError::UnsupportedKind(format!(
            "{api_version}/{kind}"
        )));
    }
    for (n, f) in fields(payload)? {
        let Field::Bytes(x) = f else {
            if let (4, Field::Varint(v)) = (n, f) {
                if kind == "ConfigMap" {
                    o.insert("immutable".into(), json!(v != 0));
                } else if kind == "ServiceAccount" {
                    o.insert("automountServiceAccountToken".into(), json!(v != 0));
                }
            }
            if let (5, Field::Varint(v)) = (n, f)
                && kind == "Secret"
            {
                o.insert("immutable".into(), json!(v != 0));
            }
            continue;
        };
        match (kind.as_str(), n) {
            (_, 1) => {
                o.insert("metadata".into(), object_meta(x)?);
            }
            ("Namespace", 2) => {
                let mut spec = Map::new();
                for (sn, sf) in fields(x)? {
                    if let (1, Field::Bytes(fin)) = (sn, sf) {
                        push(&mut spec, "finalizers", json!(text(fin)));
                    }
                }
                o.insert("spec".into(), Value::Object(spec));
            }
            ("ConfigMap", 2) => insert_map(&mut o, "data", map_entry(x, false)?),
            ("ConfigMap", 3) => insert_map(&mut o, "binaryData", map_entry(x, true)?),
            ("Secret", 2) => insert_map(&mut o, "data", map_entry(x, true)?),
            ("Secret", 3) if !x.is_empty() => {
                o.insert("type".into(), json!(text(x)));
            }
            ("Secret", 4) => insert_map(&mut o, "stringData", map_entry(x, false)?),
            ("ServiceAccount", 3) => push(&mut o, "imagePullSecrets", local_ref(x)?),
            _ => {}
        }
    }
    Ok(Value::Object(o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn field_bytes(n: u64, b: &[u8]) -> Vec<u8> {
        let mut out = vec![((n << 3) | 2) as u8, b.len() as u8];
        out.extend_from_slice(b);
        out
    }

    #[test]
    fn decodes_a_configmap() {
        let meta = [field_bytes(1, b"airflow-vars"), field_bytes(3, b"ml")].concat();
        let entry = [field_bytes(1, b"schedule"), field_bytes(2, b"@daily")].concat();
        let cm = [field_bytes(1, &meta), field_bytes(2, &entry)].concat();
        let tm = [field_bytes(1, b"v1"), field_bytes(2, b"ConfigMap")].concat();
        let unknown = [field_bytes(1, &tm), field_bytes(2, &cm)].concat();
        let body = [b"k8s\0".as_slice(), &unknown].concat();
        let v = decode(&body).expect("decode");
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "airflow-vars", "namespace": "ml"},
                "data": {"schedule": "@daily"}})
        );
    }

    #[test]
    fn rejects_other_kinds_and_garbage() {
        let tm = [field_bytes(1, b"apps/v1"), field_bytes(2, b"Deployment")].concat();
        let body = [b"k8s\0".as_slice(), &field_bytes(1, &tm)].concat();
        assert_eq!(
            decode(&body),
            Err(ProtobufError::UnsupportedKind("apps/v1/Deployment".into()))
        );
        assert!(decode(b"k8s\0\x0a\x7f").is_err());
        assert!(decode(b"json").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut body = b"k8s\0".to_vec();
            body.extend(bytes);
            let _ = decode(&body);
        }
    }
}
