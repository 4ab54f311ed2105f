//! Remote Helm value files: `helm.valueFiles` entries that are `http://` or `https://`
//! URLs, which Argo CD hands to `helm template --values URL`.
//!
//! A file is fetched with a blocking HTTP client (rustls), within a time limit and a size
//! limit, and only a successful (2xx) answer is accepted. User-info in the URL
//! (`https://user:token@host/...`) is sent as Basic credentials but never appears in an
//! error: messages name the URL with its user-info and query removed.

use std::io::Read;
use std::time::Duration;

/// Limits of one remote value file fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteValuesOptions {
    /// Time limit of the whole request (connect, headers and body).
    pub timeout: Duration,
    /// Time limit of the connection alone.
    pub connect_timeout: Duration,
    /// Largest body accepted, in bytes.
    pub max_bytes: u64,
}

impl Default for RemoteValuesOptions {
    fn default() -> Self {
        RemoteValuesOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Why a remote value file could not be fetched. `url` is always redacted.
#[derive(Debug, thiserror::Error)]
pub enum RemoteValuesError {
    /// The text is not an http(s) URL with a host.
    #[error("value file {url:?} is not a valid http(s) URL")]
    InvalidUrl {
        /// The redacted URL.
        url: String,
    },
    /// The request failed before an answer (connection, TLS, time limit).
    #[error("fetching value file {url}: {cause}")]
    Request {
        /// The redacted URL.
        url: String,
        /// What went wrong, without the URL.
        cause: String,
    },
    /// The server answered with a status other than 2xx.
    #[error("fetching value file {url}: server answered {status}")]
    Status {
        /// The redacted URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The body is larger than [`RemoteValuesOptions::max_bytes`].
    #[error("fetching value file {url}: larger than the limit of {limit} bytes")]
    TooLarge {
        /// The redacted URL.
        url: String,
        /// The limit.
        limit: u64,
    },
}

/// Returns `url` without user-info and with its query replaced by `?…`, for messages.
pub fn redact_url(url: &str) -> String {
    let without_user = ferrocd_source::url::redact(url);
    match without_user.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => without_user,
    }
}

/// Fetches the value file at `url` (http or https) and returns its bytes.
pub fn fetch_value_file(
    url: &str,
    opts: &RemoteValuesOptions,
) -> Result<Vec<u8>, RemoteValuesError> {
    let shown = redact_url(url);
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| RemoteValuesError::InvalidUrl { url: shown.clone() })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(RemoteValuesError::InvalidUrl { url: shown });
    }
    let request_error = |e: reqwest::Error| RemoteValuesError::Request {
        url: shown.clone(),
        cause: describe(e),
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(opts.timeout)
        .connect_timeout(opts.connect_timeout)
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .map_err(request_error)?;
    let mut request = client.get(parsed.clone());
    // Credentials in the URL become Basic credentials, as Helm's HTTP getter sends them.
    if !parsed.username().is_empty() {
        let user = percent_decode(parsed.username());
        let password = parsed.password().map(percent_decode);
        let mut bare = parsed.clone();
        // Both setters only fail for URLs without a host, excluded above.
        let _ = bare.set_username("");
        let _ = bare.set_password(None);
        request = client.get(bare).basic_auth(user, password);
    }
    let response = request.send().map_err(request_error)?;
    let status = response.status();
    if !status.is_success() {
        return Err(RemoteValuesError::Status {
            url: shown,
            status: status.as_u16(),
        });
    }
    let too_large = || RemoteValuesError::TooLarge {
        url: shown.clone(),
        limit: opts.max_bytes,
    };
    if response
        .content_length()
        .is_some_and(|n| n > opts.max_bytes)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    response
        .take(opts.max_bytes.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| RemoteValuesError::Request {
            url: shown.clone(),
            cause: format!("reading the body: {}", io_cause(&e)),
        })?;
    if body.len() as u64 > opts.max_bytes {
        return Err(too_large());
    }
    Ok(body)
}

/// The cause chain of a reqwest error, without the URL (which may carry credentials).
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_redirect() {
        "too many redirects"
    } else {
        "request failed"
    };
    let e = e.without_url();
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let text = s.to_string();
        if !text.contains("://") && !causes.contains(&text) {
            causes.push(text);
        }
        source = s.source();
    }
    if causes.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {}", causes.join(": "))
    }
}

fn io_cause(e: &std::io::Error) -> String {
    let text = e.to_string();
    if e.kind() == std::io::ErrorKind::TimedOut || text.contains("timed out") {
        "timed out".to_string()
    } else if text.contains("://") {
        "connection error".to_string()
    } else {
        text
    }
}

/// Decodes `%XX` escapes of URL user-info (invalid escapes are kept as written).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_drops_user_info_and_query() {
        assert_eq!(
            redact_url("https://bot:s3cret@values.example.com/prod.yaml?token=abc"),
            "https://values.example.com/prod.yaml?…"
        );
        assert_eq!(
            redact_url("http://values.example.com/dev.yaml"),
            "http://values.example.com/dev.yaml"
        );
    }

    #[test]
    fn percent_escapes_in_user_info_are_decoded() {
        assert_eq!(percent_decode("p%40ss%2Fword"), "p@ss/word");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn non_http_urls_are_refused_without_a_request() {
        let err = fetch_value_file("ftp://u:pw@host/values.yaml", &Default::default())
            .expect_err("ftp is refused");
        assert!(matches!(err, RemoteValuesError::InvalidUrl { .. }));
        assert!(!err.to_string().contains("pw"), "{err}");
        let err = fetch_value_file("https://", &Default::default()).expect_err("no host");
        assert!(matches!(err, RemoteValuesError::InvalidUrl { .. }));
    }
}
