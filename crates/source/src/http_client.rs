//! HTTP client settings that gix's reqwest backend takes only through its client hook:
//! TLS verification (`insecure`), extra trusted CA certificates, client certificates,
//! proxy and timeouts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gix::protocol::transport::client::blocking_io::http;

use crate::credentials::Credential;
use crate::error::{SourceError, scrub};
use crate::url::RepoUrl;

/// What shapes the HTTP client of one fetch.
pub(crate) struct HttpSettings<'a> {
    pub credential: Option<&'a Credential>,
    /// Extra trusted CA certificates (PEM) for this host.
    pub ca_pem: Option<&'a str>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

/// Builds the transport options for an HTTP(S) fetch: the ones gix derives from the
/// repository's configuration, plus a client hook applying `settings`.
pub(crate) fn transport_options(
    repo: &gix::Repository,
    url: &RepoUrl,
    settings: &HttpSettings<'_>,
) -> Result<Box<dyn std::any::Any>, SourceError> {
    let invalid = |what: &str| SourceError::Git {
        url: url.display.clone(),
        action: "configuring http client",
        cause: what.to_string(),
    };
    let derived = repo
        .transport_options(url.fetch.as_str(), None)
        .map_err(|e| SourceError::Git {
            url: url.display.clone(),
            action: "configuring http client",
            cause: scrub(&e.to_string(), &[]),
        })?;
    let mut options = derived
        .and_then(|b| b.downcast::<http::Options>().ok())
        .map(|b| *b)
        .unwrap_or_default();

    let insecure = settings.credential.is_some_and(|c| c.insecure);
    let mut ca_certs = Vec::new();
    if let Some(pem) = settings.ca_pem {
        ca_certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|_| invalid("trusted CA certificates are not valid PEM"))?;
    }
    let identity = match settings.credential {
        Some(c) => match (&c.tls_client_cert, &c.tls_client_key) {
            (Some(cert), Some(key)) => {
                let pem = format!("{}\n{}\n", cert.expose(), key.expose());
                Some(
                    reqwest::Identity::from_pem(pem.as_bytes())
                        .map_err(|_| invalid("TLS client certificate or key is not valid PEM"))?,
                )
            }
            _ => None,
        },
        None => None,
    };
    let proxy = match settings.credential.and_then(|c| c.proxy.as_ref()) {
        Some(p) => {
            Some(reqwest::Proxy::all(p.expose()).map_err(|_| invalid("proxy URL is invalid"))?)
        }
        None => None,
    };
    let connect_timeout = settings.connect_timeout;
    let timeout = settings.timeout;
    let configure = move |builder: reqwest::blocking::ClientBuilder| -> gix::Result<reqwest::blocking::ClientBuilder> {
        let mut builder = builder
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .tls_danger_accept_invalid_certs(insecure);
        if !ca_certs.is_empty() {
            builder = builder.tls_certs_merge(ca_certs.clone());
        }
        if let Some(identity) = identity.clone() {
            builder = builder.identity(identity);
        }
        if let Some(proxy) = proxy.clone() {
            builder = builder.proxy(proxy);
        }
        Ok(builder)
    };
    let backend = http::reqwest::Options {
        configure_client: Some(Box::new(configure)),
        configure_request: None,
    };
    options.backend = Some(Arc::new(Mutex::new(backend)));
    Ok(Box::new(options))
}
