//! Charts from OCI registries (`oci://registry/repository/chart`), through the OCI
//! distribution API as `helm push` stores them: a manifest whose config has media type
//! [`HELM_CONFIG_MEDIA_TYPE`] and whose chart layer has media type [`HELM_CHART_MEDIA_TYPE`].
//!
//! The tag is the chart version (`+` written as `_`, as OCI tags cannot hold `+`); a
//! constraint (`1.2.*`) or an empty revision is resolved over the repository's tag list.
//! The layer's digest is always verified, and the archive is cached under
//! `oci/<registry-repository>-<hash>/<chart>-<version>.tgz`, so an exact version already
//! fetched needs no request.
//!
//! Authentication follows the registry's `401` challenge: `WWW-Authenticate: Bearer
//! realm=...,service=...,scope=...` gets a token from the realm (anonymously, or with the
//! credential's user name and password), `WWW-Authenticate: Basic` sends the credential
//! directly. A credential with a bearer token sends it as is. Registries on a loopback
//! address are spoken to over plain HTTP (as Docker does), others over HTTPS unless
//! [`crate::helm_repo::FetchOptions::plain_http`] is set.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use tracing::debug;

use crate::credentials::Credential;
use crate::error::{SourceError, scrub};
use crate::helm_repo::{
    Auth, FetchOptions, FetchedChart, HelmRepoClient, cached, error_chain, http_client,
    is_exact_version, read_body, select_version, store,
};

/// The config media type of a Helm chart manifest.
pub const HELM_CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
/// The media type of the chart archive layer.
pub const HELM_CHART_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// The chart layer media type of charts pushed by Helm before 3.8.
const LEGACY_CHART_MEDIA_TYPE: &str = "application/tar+gzip";
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// An `oci://host[:port]/repository` reference, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OciReference {
    /// `host[:port]`.
    pub registry: String,
    /// The repository path inside the registry (`charts/triton-server`).
    pub repository: String,
}

impl OciReference {
    /// Parses `oci://registry/repo` (the scheme may be omitted) and appends `chart` as the
    /// last path part when it is not empty (Argo CD's `repoURL` + `chart`).
    pub fn parse(repo_url: &str, chart: &str) -> Result<OciReference, SourceError> {
        let bad = |message: &str| SourceError::Oci {
            reference: crate::url::redact(repo_url),
            message: message.to_string(),
        };
        let rest = repo_url
            .trim()
            .strip_prefix("oci://")
            .unwrap_or(repo_url.trim());
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        let rest = rest.trim_end_matches('/');
        let (registry, path) = rest.split_once('/').unwrap_or((rest, ""));
        if registry.is_empty() {
            return Err(bad("missing registry host"));
        }
        let chart = chart.trim().trim_matches('/');
        let repository = match (path.is_empty(), chart.is_empty()) {
            (true, true) => return Err(bad("missing repository path")),
            (true, false) => chart.to_string(),
            (false, true) => path.to_string(),
            (false, false) => format!("{path}/{chart}"),
        };
        let valid = |part: &str| {
            !part.is_empty()
                && part != ".."
                && part != "."
                && part.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                })
        };
        if !repository.split('/').all(valid) {
            return Err(bad(&format!("invalid repository name {repository:?}")));
        }
        Ok(OciReference {
            registry: registry.to_ascii_lowercase(),
            repository,
        })
    }

    /// The chart name: the last part of the repository path.
    pub fn chart_name(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }

    /// `oci://registry/repository`.
    pub fn url(&self) -> String {
        format!("oci://{}/{}", self.registry, self.repository)
    }

    fn is_loopback(&self) -> bool {
        let host = match self.registry.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => self.registry.split(':').next().unwrap_or(&self.registry),
        };
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// A `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme, lowercased (`bearer`, `basic`).
    pub scheme: String,
    /// Its parameters (`realm`, `service`, `scope`), names lowercased.
    pub params: BTreeMap<String, String>,
}

/// Parses a `WWW-Authenticate` header value with one challenge:
/// `Bearer realm="https://auth.example.com/token",service="registry",scope="repository:a:pull"`.
/// Quoted values may hold commas and `\"` escapes.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.is_empty() {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut name = String::new();
        while let Some(c) = chars.peek().copied() {
            if c == '=' || c == ',' {
                break;
            }
            name.push(c);
            chars.next();
        }
        if name.trim().is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            return None;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return None;
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        params.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    Some(Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(default, rename = "mediaType")]
    media_type: String,
    #[serde(default)]
    digest: String,
}

#[derive(Deserialize)]
struct Manifest {
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// One conversation with a registry: the client and the authorization earned so far.
struct Session<'a> {
    client: reqwest::blocking::Client,
    base: String,
    reference: &'a OciReference,
    credential: Option<&'a Credential>,
    auth: Option<Auth>,
}

impl Session<'_> {
    fn secrets(&self) -> Vec<String> {
        let mut s: Vec<String> = self.auth.iter().map(|a| a.secret().to_string()).collect();
        if let Some(c) = self.credential {
            s.extend(c.password.iter().map(|p| p.expose().to_string()));
            s.extend(c.bearer_token.iter().map(|p| p.expose().to_string()));
        }
        s
    }

    fn unreachable(&self, url: &str, e: &reqwest::Error) -> SourceError {
        let secrets = self.secrets();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        SourceError::Unreachable {
            url: url.to_string(),
            cause: scrub(&error_chain(e), &secrets),
        }
    }

    /// GETs a registry path, answering one authentication challenge.
    fn get(&mut self, path: &str, accept: &str) -> Result<Vec<u8>, SourceError> {
        let url = format!("{}{path}", self.base);
        for attempt in 0..2 {
            let mut req = self
                .client
                .get(&url)
                .header(reqwest::header::ACCEPT, accept);
            if let Some(a) = &self.auth {
                req = a.apply(req);
            }
            let resp = req.send().map_err(|e| self.unreachable(&url, &e))?;
            if resp.status() == reqwest::StatusCode::UNAUTHORIZED && attempt == 0 {
                let header = resp
                    .headers()
                    .get(reqwest::header::WWW_AUTHENTICATE)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                self.answer(&url, &header)?;
                continue;
            }
            let secrets = self.secrets();
            let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
            return read_body(resp, &url, &secrets);
        }
        Err(SourceError::AuthenticationFailed { url })
    }

    /// Earns the authorization a `401` challenge asks for.
    fn answer(&mut self, url: &str, header: &str) -> Result<(), SourceError> {
        let refused = || SourceError::AuthenticationFailed {
            url: url.to_string(),
        };
        let challenge = parse_challenge(header).ok_or_else(refused)?;
        match challenge.scheme.as_str() {
            "basic" => {
                let c = self
                    .credential
                    .filter(|c| c.username.is_some() || c.password.is_some())
                    .ok_or_else(refused)?;
                self.auth = Some(Auth::from_credential(c));
                Ok(())
            }
            "bearer" => {
                if let Some(token) = self.credential.and_then(|c| c.bearer_token.as_ref()) {
                    self.auth = Some(Auth::Bearer(token.expose().to_string()));
                    return Ok(());
                }
                let realm = challenge.params.get("realm").ok_or_else(refused)?;
                let scope =
                    challenge.params.get("scope").cloned().unwrap_or_else(|| {
                        format!("repository:{}:pull", self.reference.repository)
                    });
                let mut query = vec![("scope", scope)];
                if let Some(service) = challenge.params.get("service") {
                    query.push(("service", service.clone()));
                }
                let token_url = reqwest::Url::parse_with_params(realm, &query).map_err(|_| {
                    SourceError::Oci {
                        reference: self.reference.url(),
                        message: format!("invalid token realm {realm:?}"),
                    }
                })?;
                let mut req = self.client.get(token_url);
                if let Some(c) = self
                    .credential
                    .filter(|c| c.username.is_some() && c.password.is_some())
                {
                    req = Auth::from_credential(c).apply(req);
                }
                let resp = req.send().map_err(|e| self.unreachable(realm, &e))?;
                let secrets = self.secrets();
                let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
                let body = read_body(resp, realm, &secrets)?;
                let token: TokenResponse =
                    serde_json::from_slice(&body).map_err(|_| SourceError::Oci {
                        reference: self.reference.url(),
                        message: format!("token service {realm} answered without a token"),
                    })?;
                let token = token
                    .token
                    .or(token.access_token)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(refused)?;
                self.auth = Some(Auth::Bearer(token));
                Ok(())
            }
            _ => Err(refused()),
        }
    }

    fn tags(&mut self) -> Result<Vec<String>, SourceError> {
        let path = format!("/v2/{}/tags/list?n=10000", self.reference.repository);
        let body = self.get(&path, "application/json")?;
        let list: TagList = serde_json::from_slice(&body).map_err(|e| SourceError::Oci {
            reference: self.reference.url(),
            message: format!("invalid tag list: {e}"),
        })?;
        Ok(list.tags.unwrap_or_default())
    }
}

impl HelmRepoClient {
    /// Fetches the chart at `repo_url` (`oci://registry/repo`, joined with `chart` when
    /// given) at `revision` (a version/tag, a constraint, or empty for the latest stable
    /// version), verifying the layer digest, and returns the cached archive.
    pub fn fetch_oci_chart(
        &self,
        repo_url: &str,
        chart: &str,
        revision: &str,
        opts: &FetchOptions,
    ) -> Result<FetchedChart, SourceError> {
        let reference = OciReference::parse(repo_url, chart)?;
        let name = reference.chart_name().to_string();
        let dir = self.repo_dir("oci", &reference.url());
        let revision = revision.trim();
        if is_exact_version(revision)
            && let Some(hit) = cached(&dir, &name, revision)
        {
            debug!(chart = %reference.url(), version = revision, "chart from cache");
            return Ok(hit);
        }
        let credential = self.oci_credential(&reference);
        let plain = opts.plain_http || reference.is_loopback();
        let scheme = if plain { "http" } else { "https" };
        let base = format!("{scheme}://{}", reference.registry);
        let client = http_client(&base, credential, self.options())?;
        let mut session = Session {
            client,
            base,
            reference: &reference,
            credential,
            auth: credential
                .and_then(|c| c.bearer_token.as_ref())
                .map(|t| Auth::Bearer(t.expose().to_string())),
        };
        let tag = if is_exact_version(revision) {
            revision.replace('+', "_")
        } else {
            let tags = session.tags()?;
            select_version(&reference.url(), &name, revision, &tags, String::as_str)?.clone()
        };
        let manifest_path = format!("/v2/{}/manifests/{tag}", reference.repository);
        let body = match session.get(&manifest_path, MANIFEST_ACCEPT) {
            Ok(body) => body,
            Err(SourceError::HttpStatus { status: 404, .. }) => {
                let tags = session.tags().unwrap_or_default();
                return Err(
                    match select_version(&reference.url(), &name, &tag, &tags, String::as_str) {
                        Err(e) => e,
                        Ok(_) => SourceError::Oci {
                            reference: format!("{}:{tag}", reference.url()),
                            message: "manifest not found".into(),
                        },
                    },
                );
            }
            Err(e) => return Err(e),
        };
        let oci_error = |message: String| SourceError::Oci {
            reference: format!("{}:{tag}", reference.url()),
            message,
        };
        let manifest: Manifest = serde_json::from_slice(&body)
            .map_err(|e| oci_error(format!("invalid manifest: {e}")))?;
        let config_type = manifest.config.as_ref().map(|c| c.media_type.as_str());
        if config_type != Some(HELM_CONFIG_MEDIA_TYPE) {
            return Err(oci_error(format!(
                "not a Helm chart (config media type {:?}, expected {HELM_CONFIG_MEDIA_TYPE})",
                config_type.unwrap_or_default()
            )));
        }
        let layer = manifest
            .layers
            .iter()
            .find(|l| {
                l.media_type == HELM_CHART_MEDIA_TYPE || l.media_type == LEGACY_CHART_MEDIA_TYPE
            })
            .ok_or_else(|| oci_error(format!("manifest has no {HELM_CHART_MEDIA_TYPE} layer")))?;
        let Some(expected) = layer.digest.strip_prefix("sha256:") else {
            return Err(oci_error(format!(
                "unsupported layer digest {:?} (sha256 expected)",
                layer.digest
            )));
        };
        if expected.len() != 64 || !expected.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(oci_error(format!(
                "invalid layer digest {:?}",
                layer.digest
            )));
        }
        let blob_path = format!("/v2/{}/blobs/{}", reference.repository, layer.digest);
        let data = session.get(&blob_path, "application/octet-stream")?;
        let actual = hex::encode(Sha256::digest(&data));
        let version = tag.replace('_', "+");
        if actual != expected.to_ascii_lowercase() {
            return Err(SourceError::DigestMismatch {
                url: format!("{}:{tag}", reference.url()),
                chart: name,
                version,
                expected: expected.to_string(),
                actual,
            });
        }
        let archive = store(&dir, &reference.url(), &name, &version, &data)?;
        debug!(chart = %reference.url(), version = %version, "chart pulled");
        Ok(FetchedChart {
            name,
            version,
            digest: actual,
            archive,
        })
    }

    /// The credential for a registry repository: the most specific of the spellings
    /// Argo CD repository Secrets use (`oci://host/path`, `host/path`, `host`).
    fn oci_credential(&self, reference: &OciReference) -> Option<&Credential> {
        let mut candidates = vec![reference.url()];
        let mut path = reference.repository.as_str();
        loop {
            candidates.push(format!("{}/{path}", reference.registry));
            match path.rsplit_once('/') {
                Some((parent, _)) => {
                    candidates.push(format!("oci://{}/{parent}", reference.registry));
                    path = parent;
                }
                None => break,
            }
        }
        candidates.push(format!("oci://{}", reference.registry));
        candidates.push(reference.registry.clone());
        candidates.iter().find_map(|c| self.credential(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn references() {
        let r = OciReference::parse("oci://Registry.example.com:5000/ml/charts", "triton").unwrap();
        assert_eq!(r.registry, "registry.example.com:5000");
        assert_eq!(r.repository, "ml/charts/triton");
        assert_eq!(r.chart_name(), "triton");
        assert_eq!(r.url(), "oci://registry.example.com:5000/ml/charts/triton");
        let r = OciReference::parse("oci://127.0.0.1:5000/charts/mlflow/", "").unwrap();
        assert_eq!(r.repository, "charts/mlflow");
        assert!(r.is_loopback());
        assert!(
            !OciReference::parse("ghcr.io/ml/x", "")
                .unwrap()
                .is_loopback()
        );
        assert!(
            OciReference::parse("oci://[::1]:5000/x", "")
                .unwrap()
                .is_loopback()
        );
        for bad in [
            "oci://",
            "oci://host",
            "oci://host/../x",
            "oci://host/Upper",
        ] {
            assert!(OciReference::parse(bad, "").is_err(), "{bad}");
        }
    }

    #[test]
    fn challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:ml/triton:pull,push""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.example.com/token");
        assert_eq!(c.params["service"], "registry.example.com");
        assert_eq!(c.params["scope"], "repository:ml/triton:pull,push");
        let c = parse_challenge(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(c.scheme, "basic");
        assert_eq!(c.params["realm"], "Registry Realm");
        let c = parse_challenge("Bearer realm=http://h/t, service=reg").unwrap();
        assert_eq!(c.params["realm"], "http://h/t");
        assert_eq!(c.params["service"], "reg");
        assert_eq!(parse_challenge(r#"Bearer realm="open"#), None);
        assert_eq!(parse_challenge(""), None);
    }

    proptest! {
        #[test]
        fn challenge_parser_never_panics(s in ".{0,200}") {
            let _ = parse_challenge(&s);
        }

        #[test]
        fn quoted_values_round_trip(realm in "[ -~]{0,40}", scope in "[a-z/:,]{1,30}") {
            let escaped = realm.replace('\\', "\\\\").replace('"', "\\\"");
            let header = format!(r#"Bearer realm="{escaped}",scope="{scope}""#);
            let c = parse_challenge(&header).unwrap();
            prop_assert_eq!(c.params.get("realm").map(String::as_str), Some(realm.trim()));
            prop_assert_eq!(c.params.get("scope").map(String::as_str), Some(scope.as_str()));
        }

        #[test]
        fn reference_parser_never_panics(s in ".{0,80}", chart in "[a-z-]{0,10}") {
            let _ = OciReference::parse(&s, &chart);
        }
    }
}
