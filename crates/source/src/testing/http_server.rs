//! A smart-HTTP Git server on loopback: a tiny HTTP/1.1 host that runs Git's own
//! `git-http-backend` as a CGI program for every request, optionally behind Basic auth.
//!
//! One request per connection (`Connection: close`), request bodies with `Content-Length`
//! or chunked transfer encoding, responses with `Content-Length`. Every request is
//! recorded, so tests can count how often a client talked to the server.
//! [`GitHttpServer::start_tls`] serves HTTPS with a fresh self-signed certificate for
//! `127.0.0.1` and `localhost`.

use std::io::{BufRead as _, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use parking_lot::Mutex;

/// One request the server answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, e.g. `/ml-platform.git/info/refs`.
    pub path: String,
    /// The query string without `?`.
    pub query: String,
    /// The status sent back.
    pub status: u16,
}

struct Shared {
    tls: Option<Arc<rustls::ServerConfig>>,
    root: PathBuf,
    auth: Option<(String, String)>,
    backend: PathBuf,
    stop: AtomicBool,
    requests: Mutex<Vec<RequestRecord>>,
    delay: Mutex<Duration>,
    bearer: Mutex<Option<String>>,
}

/// A running smart-HTTP Git server serving the repositories under a root directory.
/// It stops when dropped.
pub struct GitHttpServer {
    addr: SocketAddr,
    cert_pem: Option<String>,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl GitHttpServer {
    /// Serves the repositories under `root` on `127.0.0.1:<free port>`, requiring HTTP
    /// Basic auth with `auth` = `(user, password)` when given. Panics if
    /// `git-http-backend` cannot be found or the port cannot be bound.
    pub fn start(root: impl Into<PathBuf>, auth: Option<(&str, &str)>) -> GitHttpServer {
        Self::start_inner(root.into(), auth, None)
    }

    /// Like [`GitHttpServer::start`], over HTTPS with a self-signed certificate for
    /// `127.0.0.1` and `localhost` (see [`GitHttpServer::cert_pem`]).
    pub fn start_tls(root: impl Into<PathBuf>, auth: Option<(&str, &str)>) -> GitHttpServer {
        let certified = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_string(),
            "localhost".to_string(),
        ])
        .unwrap_or_else(|e| panic!("generating a test certificate: {e}"));
        let cert_der = certified.cert.der().clone();
        let key_der =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| {
                b.with_no_client_auth()
                    .with_single_cert(vec![cert_der], key_der)
            })
            .unwrap_or_else(|e| panic!("configuring the test TLS server: {e}"));
        Self::start_inner(
            root.into(),
            auth,
            Some((Arc::new(config), certified.cert.pem())),
        )
    }

    fn start_inner(
        root: PathBuf,
        auth: Option<(&str, &str)>,
        tls: Option<(Arc<rustls::ServerConfig>, String)>,
    ) -> GitHttpServer {
        let backend = find_backend().unwrap_or_else(|| {
            panic!("git-http-backend not found (install Debian's git package, or set FERROCD_GIT_HTTP_BACKEND)")
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("binding 127.0.0.1:0 for the git http server: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("reading the git http server address: {e}"));
        let (tls_config, cert_pem) = match tls {
            Some((config, pem)) => (Some(config), Some(pem)),
            None => (None, None),
        };
        let shared = Arc::new(Shared {
            tls: tls_config,
            root,
            auth: auth.map(|(u, p)| (u.to_string(), p.to_string())),
            backend,
            stop: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
            delay: Mutex::new(Duration::ZERO),
            bearer: Mutex::new(None),
        });
        let accept_shared = Arc::clone(&shared);
        let acceptor = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let conn_shared = Arc::clone(&accept_shared);
                std::thread::spawn(move || {
                    let _ = serve(stream, &conn_shared);
                });
            }
        });
        GitHttpServer {
            addr,
            cert_pem,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The PEM certificate of an HTTPS server (`None` for plain HTTP).
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// `http://127.0.0.1:<port>` (or `https://`).
    pub fn base_url(&self) -> String {
        let scheme = if self.cert_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The URL of the repository at `relative` under the root, e.g. `ml-platform.git`.
    pub fn url(&self, relative: &str) -> String {
        format!("{}/{}", self.base_url(), relative.trim_start_matches('/'))
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many requests were answered so far (401s included).
    pub fn request_count(&self) -> usize {
        self.shared.requests.lock().len()
    }

    /// Every request answered so far, in order of completion.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.requests.lock().clone()
    }

    /// Forgets the recorded requests.
    pub fn reset_requests(&self) {
        self.shared.requests.lock().clear();
    }

    /// Also accepts `Authorization: Bearer <token>` (the server must have been started with
    /// Basic auth for authentication to be required at all).
    pub fn set_bearer_token(&self, token: &str) {
        *self.shared.bearer.lock() = Some(token.to_string());
    }

    /// Delays every response by `delay` (to widen race windows in concurrency tests).
    pub fn set_delay(&self, delay: Duration) {
        *self.shared.delay.lock() = delay;
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.acceptor.take() {
            let _ = handle.join();
        }
    }
}

fn find_backend() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FERROCD_GIT_HTTP_BACKEND") {
        return Some(PathBuf::from(p));
    }
    let debian = Path::new("/usr/lib/git-core/git-http-backend");
    if debian.is_file() {
        return Some(debian.to_path_buf());
    }
    let out = Command::new("git").arg("--exec-path").output().ok()?;
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let candidate = Path::new(&dir).join("git-http-backend");
    candidate.is_file().then_some(candidate)
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A connection the server answers on: plain TCP or TLS over TCP.
trait Conn: Read + Write {
    /// Ends the connection after the response.
    fn finish(&mut self);
}

impl Conn for TcpStream {
    fn finish(&mut self) {
        let _ = self.shutdown(std::net::Shutdown::Both);
    }
}

impl Conn for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn finish(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    match &shared.tls {
        None => handle(stream, shared),
        Some(config) => {
            let conn =
                rustls::ServerConnection::new(Arc::clone(config)).map_err(std::io::Error::other)?;
            handle(rustls::StreamOwned::new(conn, stream), shared)
        }
    }
}

fn handle<S: Conn>(stream: S, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let Some(request) = read_request(&mut reader)? else {
        return Ok(());
    };
    let delay = *shared.delay.lock();
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    let (status, response) = if !authorized(&request, shared) {
        let body = b"authentication required\n";
        let mut out = format!(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"ferrocd-test\"\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        (401, out)
    } else {
        run_backend(&request, shared)?
    };
    shared.requests.lock().push(RequestRecord {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        status,
    });
    let stream = reader.get_mut();
    stream.write_all(&response)?;
    stream.flush()?;
    stream.finish();
    Ok(())
}

fn authorized(request: &Request, shared: &Shared) -> bool {
    let Some((user, pass)) = &shared.auth else {
        return true;
    };
    let Some(value) = request.header("authorization") else {
        return false;
    };
    if let Some(token) = value.strip_prefix("Bearer ") {
        return shared.bearer.lock().as_deref() == Some(token.trim());
    }
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    decoded == format!("{user}:{pass}").as_bytes()
}

fn read_request<S: Read>(reader: &mut BufReader<S>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            break;
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut request = Request {
        method,
        path,
        query,
        headers,
        body: Vec::new(),
    };
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        request.body = read_chunked(reader)?;
    } else if let Some(len) = request
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body)?;
        request.body = body;
    }
    Ok(Some(request))
}

fn read_chunked<S: Read>(reader: &mut BufReader<S>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        if reader.read_line(&mut size_line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "chunked body ended early",
            ));
        }
        let size_text = size_line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            // Trailers until an empty line.
            loop {
                let mut t = String::new();
                if reader.read_line(&mut t)? == 0 || t.trim().is_empty() {
                    break;
                }
            }
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn run_backend(request: &Request, shared: &Shared) -> std::io::Result<(u16, Vec<u8>)> {
    let mut cmd = Command::new(&shared.backend);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "safe.directory")
        .env("GIT_CONFIG_VALUE_0", "*")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("SERVER_SOFTWARE", "ferrocd-test")
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("REQUEST_METHOD", &request.method)
        .env("PATH_INFO", &request.path)
        .env("QUERY_STRING", &request.query)
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .env("CONTENT_TYPE", request.header("content-type").unwrap_or(""));
    if let Some((user, _)) = &shared.auth {
        cmd.env("REMOTE_USER", user).env("AUTH_TYPE", "Basic");
    }
    for (k, v) in &request.headers {
        let name = k.to_ascii_uppercase().replace('-', "_");
        if matches!(
            name.as_str(),
            "AUTHORIZATION" | "CONTENT_LENGTH" | "CONTENT_TYPE"
        ) {
            continue;
        }
        cmd.env(format!("HTTP_{name}"), v);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take();
    let body = request.body.clone();
    let writer = std::thread::spawn(move || {
        if let Some(stdin) = stdin.as_mut() {
            let _ = stdin.write_all(&body);
        }
        drop(stdin);
    });
    let mut output = Vec::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_end(&mut output)?;
    }
    let _ = writer.join();
    child.wait()?;

    let (head, body) = split_cgi(&output);
    let mut status = 200u16;
    let mut status_text = "OK".to_string();
    let mut headers = String::new();
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        if k.eq_ignore_ascii_case("status") {
            let v = v.trim();
            let (code, text) = v.split_once(' ').unwrap_or((v, ""));
            status = code.parse().unwrap_or(500);
            status_text = text.to_string();
        } else {
            headers.push_str(&format!("{}: {}\r\n", k.trim(), v.trim()));
        }
    }
    let mut response = format!(
        "HTTP/1.1 {status} {status_text}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body);
    Ok((status, response))
}

/// Splits CGI output into its header block (as text) and body.
fn split_cgi(output: &[u8]) -> (String, &[u8]) {
    let crlf = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    let lf = output.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    let split = match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    match split {
        Some((i, len)) => (
            String::from_utf8_lossy(&output[..i]).into_owned(),
            &output[i + len..],
        ),
        None => (String::new(), output),
    }
}
