//! YAML read the way Helm reads values and `fromYaml` text: a YAML 1.1 reader
//! (go-yaml) whose result is converted to JSON. The conversion is what this
//! module adds to the plain YAML reader: a mapping key is resolved like any
//! plain scalar and then written as a JSON string, so the keys `on:`, `y:`,
//! `yes:` become `"true"`, `off:`/`n:`/`no:` become `"false"`, `1:` becomes
//! `"1"` and `~:` becomes `"null"` (quoted keys stay as written); a later
//! duplicate key wins; infinities and NaN, which JSON cannot hold, are errors.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value as Json};

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GoYamlError {
    /// The text is not valid YAML; the message is the YAML reader's.
    Syntax(String),
    /// The YAML holds a value JSON cannot represent (`.inf`, `.nan`).
    Unsupported(String),
}

/// Parses one YAML document into JSON with Helm's key conversion. Numbers keep
/// their YAML type (integers as integers); callers floatify as Helm does.
pub(crate) fn parse(text: &str, file: &str) -> Result<Json, GoYamlError> {
    let mut options = serde_saphyr::Options::default();
    options.legacy_octal_numbers = true;
    // Our visitor refuses them with the message JSON encoding gives.
    options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::PassThrough;
    match serde_saphyr::from_str_with_options::<GoValue>(text, options) {
        Ok(v) => Ok(v.0),
        Err(err) => {
            let message = err.to_string();
            let unsupported = [
                format!("{UNSUPPORTED}+Inf"),
                format!("{UNSUPPORTED}-Inf"),
                format!("{UNSUPPORTED}NaN"),
            ];
            if let Some(u) = unsupported
                .into_iter()
                .find(|u| message.contains(u.as_str()))
            {
                return Err(GoYamlError::Unsupported(u));
            }
            if let Some(idx) = message.find(NULL_KEY) {
                let rest = &message[idx..];
                let line = rest.lines().next().unwrap_or(rest);
                return Err(GoYamlError::Unsupported(line.to_string()));
            }
            // The plain reader words syntax errors with file and position.
            match ferrocd_manifest::parse_yaml_value(text, file) {
                Err(e) => Err(GoYamlError::Syntax(e.to_string())),
                Ok(_) => Err(GoYamlError::Syntax(message)),
            }
        }
    }
}

const UNSUPPORTED: &str = "json: unsupported value: ";

/// A JSON value deserialized from YAML with go-yaml → JSON semantics.
struct GoValue(Json);

impl<'de> Deserialize<'de> for GoValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor).map(GoValue)
    }
}

struct ValueVisitor;

fn float<E: de::Error>(f: f64) -> Result<Json, E> {
    if f.is_nan() {
        return Err(E::custom(format!("{UNSUPPORTED}NaN")));
    }
    if f.is_infinite() {
        let sign = if f > 0.0 { "+" } else { "-" };
        return Err(E::custom(format!("{UNSUPPORTED}{sign}Inf")));
    }
    Ok(Number::from_f64(f).map_or(Json::Null, Json::Number))
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Json, E> {
        match i64::try_from(v) {
            Ok(i) => Ok(Json::Number(i.into())),
            Err(_) => float(v as f64),
        }
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Json, E> {
        match u64::try_from(v) {
            Ok(u) => Ok(Json::Number(u.into())),
            Err(_) => float(v as f64),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        float(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        GoValue::deserialize(d).map(|v| v.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(GoValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut out = Map::new();
        while let Some(GoKey(k)) = map.next_key()? {
            let GoValue(v) = map.next_value()?;
            let Some(k) = k else {
                return Err(de::Error::custom(format!("{NULL_KEY}{}", go_sharp_v(&v))));
            };
            out.insert(k, v);
        }
        Ok(Json::Object(out))
    }
}

/// The start of the message for a null mapping key, which JSON cannot hold.
const NULL_KEY: &str = "unsupported map key of type: %!s(<nil>), key: <nil>, value: ";

/// Go's `%#v` of a decoded scalar (collections are abbreviated).
fn go_sharp_v(v: &Json) -> String {
    match v {
        Json::Null => "<nil>".into(),
        Json::String(s) => serde_json::to_string(s).unwrap_or_default(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::Array(_) => "[]interface {}{...}".into(),
        Json::Object(_) => "map[interface {}]interface {}{...}".into(),
    }
}

/// A mapping key resolved as a scalar and written as JSON writes it; `None`
/// for a null key.
struct GoKey(Option<String>);

impl<'de> Deserialize<'de> for GoKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyVisitor).map(GoKey)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar mapping key")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<String>, E> {
        // Go's strconv.FormatFloat(f, 'g', -1, 64) for the common cases.
        if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e21 {
            Ok(Some(format!("{}", v as i64)))
        } else {
            Ok(Some(crate::sprig::json_float(v)))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Option<String>, E> {
        Ok(Some(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Json {
        parse(text, "values.yaml").expect("parses")
    }

    #[test]
    fn boolean_and_number_keys_become_json_strings() {
        let v = p("on:\n  push: [main]\ny: 2\nn: 3\n\"off\": kept\n1: one\n");
        assert_eq!(
            v,
            serde_json::json!({"true": 2, "false": 3, "off": "kept", "1": "one"})
        );
    }

    #[test]
    fn values_keep_yaml_1_1_types() {
        let v = p("a: yes\nb: Off\nc: 0755\nd: \"on\"\ne: ~\n");
        assert_eq!(
            v,
            serde_json::json!({"a": true, "b": false, "c": 493, "d": "on", "e": null})
        );
    }

    #[test]
    fn infinities_are_refused_as_json_refuses_them() {
        assert_eq!(
            parse("limits:\n  ceiling: .inf\n", "v.yaml"),
            Err(GoYamlError::Unsupported(
                "json: unsupported value: +Inf".into()
            ))
        );
        assert_eq!(
            parse("~: nothing\n", "v.yaml"),
            Err(GoYamlError::Unsupported(format!("{NULL_KEY}\"nothing\"")))
        );
        assert!(matches!(
            parse("a: [1, 2\n", "v.yaml"),
            Err(GoYamlError::Syntax(_))
        ));
    }
}
