//! Query strings with repeated keys (`?projects=a&projects=b`), as Argo CD's gateway takes them.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;

/// The decoded `key=value` pairs of a query string, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Query(pub Vec<(String, String)>);

impl Query {
    /// Parses a raw query string.
    pub(crate) fn parse(raw: &str) -> Query {
        Query(
            raw.split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(k), decode(v))
                })
                .collect(),
        )
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, comma-separated values split too.
    pub(crate) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// A boolean (`true`/`false`); `default` when absent.
    pub(crate) fn flag(&self, key: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ApiError::bad_request(format!(
                "query parameter {key}: expected true or false, found {other:?}"
            ))),
        }
    }
}

/// Percent-decoding with `+` as space.
pub(crate) fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Query, ApiError> {
        Ok(Query::parse(parts.uri.query().unwrap_or("")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_encoded() {
        let q = Query::parse(
            "projects=ml&projects=serving%2Cdata&selector=team%3Dml+ops&dryRun=true&x",
        );
        assert_eq!(q.all("projects"), ["ml", "serving", "data"]);
        assert_eq!(q.get("selector"), Some("team=ml ops"));
        assert_eq!(q.flag("dryRun", false), Ok(true));
        assert_eq!(q.flag("cascade", true), Ok(true));
        assert!(q.flag("selector", true).is_err());
        assert_eq!(q.get("x"), Some(""));
    }

    #[test]
    fn bad_escapes_are_kept() {
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode("a%2Fb"), "a/b");
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(s in "\\PC{0,40}") {
            let _ = decode(&s);
            let _ = Query::parse(&s);
        }
    }
}
