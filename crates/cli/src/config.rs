//! The CLI's own configuration: the ferrocd servers it logged in to, like argocd's
//! `~/.config/argocd/config`. A context names a server and a user; the user holds the
//! session token. The file is `$FERROCD_CONFIG`, else `$XDG_CONFIG_HOME/ferrocd/config.yaml`,
//! else `~/.config/ferrocd/config.yaml`; it is written with mode 0600 and never holds a
//! password.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CliConfig {
    /// The context commands use when no `--server` is given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub current_context: String,
    /// Named pairs of server and user.
    #[serde(default)]
    pub contexts: Vec<ContextRef>,
    /// How to reach each server.
    #[serde(default)]
    pub servers: Vec<ServerEntry>,
    /// Session tokens, by user entry name.
    #[serde(default)]
    pub users: Vec<UserEntry>,
}

/// A context: which server, as which user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextRef {
    /// Context name (`ferrocd context NAME` switches to it).
    pub name: String,
    /// The server (`host:port`), a key of `servers`.
    pub server: String,
    /// The user entry, a key of `users`.
    pub user: String,
}

/// A server and how to talk to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ServerEntry {
    /// `host:port` (or a full URL).
    pub server: String,
    /// Plain HTTP instead of HTTPS.
    #[serde(default, skip_serializing_if = "is_false")]
    pub plain_text: bool,
    /// Do not verify the server's TLS certificate.
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure: bool,
}

/// A user entry: the account name and its session token.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct UserEntry {
    /// Entry name (the context name by default).
    pub name: String,
    /// The account the token belongs to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// The session token (absent after `ferrocd logout`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth_token: String,
}

impl std::fmt::Debug for UserEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserEntry")
            .field("name", &self.name)
            .field("username", &self.username)
            .field(
                "auth_token",
                &if self.auth_token.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .finish()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A resolved context: everything needed to call a server.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// Context name (empty when it came from flags or environment).
    pub context: String,
    /// Base URL, `http(s)://host:port`, without a trailing slash.
    pub base_url: String,
    /// Skip TLS verification.
    pub insecure: bool,
    /// The account.
    pub username: String,
    /// The token (empty when logged out).
    pub token: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("context", &self.context)
            .field("base_url", &self.base_url)
            .field("insecure", &self.insecure)
            .field("username", &self.username)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// The base URL of a server given as `host:port` or as a URL.
pub fn base_url(server: &str, plain_text: bool) -> String {
    let server = server.trim().trim_end_matches('/');
    if server.starts_with("http://") || server.starts_with("https://") {
        server.to_string()
    } else if plain_text {
        format!("http://{server}")
    } else {
        format!("https://{server}")
    }
}

/// Where the file lives.
pub fn path() -> PathBuf {
    if let Some(p) = std::env::var_os("FERROCD_CONFIG").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("ferrocd/config.yaml");
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".config/ferrocd/config.yaml"),
        None => std::env::temp_dir().join("ferrocd/config.yaml"),
    }
}

impl CliConfig {
    /// Reads the file; a missing file is an empty configuration.
    pub fn load(path: &Path) -> anyhow::Result<CliConfig> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(CliConfig::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        if text.trim().is_empty() {
            return Ok(CliConfig::default());
        }
        serde_saphyr::from_str(&text).map_err(|e| {
            anyhow!(
                "{}: not a ferrocd CLI configuration: {}",
                path.display(),
                e.to_string().lines().next().unwrap_or_default()
            )
        })
    }

    /// Writes the file (mode 0600, through a temporary file so a crash never leaves half a
    /// file).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_saphyr::to_string(self).context("encoding the CLI configuration")?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        write_private(&tmp, text.as_bytes())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    /// Adds or replaces the context `name` (with its server and user entries) and makes it
    /// the current one.
    pub fn upsert_login(&mut self, name: &str, server: ServerEntry, username: &str, token: &str) {
        let user = UserEntry {
            name: name.to_string(),
            username: username.to_string(),
            auth_token: token.to_string(),
        };
        let context = ContextRef {
            name: name.to_string(),
            server: server.server.clone(),
            user: name.to_string(),
        };
        match self.servers.iter_mut().find(|s| s.server == server.server) {
            Some(s) => *s = server,
            None => self.servers.push(server),
        }
        match self.users.iter_mut().find(|u| u.name == user.name) {
            Some(u) => *u = user,
            None => self.users.push(user),
        }
        match self.contexts.iter_mut().find(|c| c.name == name) {
            Some(c) => *c = context,
            None => self.contexts.push(context),
        }
        self.current_context = name.to_string();
    }

    /// The context `name` (the current one when `None`) resolved to a session.
    pub fn session(&self, name: Option<&str>) -> Option<Session> {
        let name = name.unwrap_or(&self.current_context);
        if name.is_empty() {
            return None;
        }
        let context = self.contexts.iter().find(|c| c.name == name)?;
        let server = self.servers.iter().find(|s| s.server == context.server);
        let user = self.users.iter().find(|u| u.name == context.user);
        Some(Session {
            context: context.name.clone(),
            base_url: base_url(&context.server, server.is_some_and(|s| s.plain_text)),
            insecure: server.is_some_and(|s| s.insecure),
            username: user.map(|u| u.username.clone()).unwrap_or_default(),
            token: user.map(|u| u.auth_token.clone()).unwrap_or_default(),
        })
    }

    /// Forgets the token of context `name`; false when there is no such context.
    pub fn clear_token(&mut self, name: &str) -> bool {
        let Some(context) = self.contexts.iter().find(|c| c.name == name) else {
            return false;
        };
        let user = context.user.clone();
        for u in self.users.iter_mut().filter(|u| u.name == user) {
            u.auth_token.clear();
        }
        true
    }
}

/// Creates or truncates `path` with mode 0600 and writes `data`.
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(data)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(server: &str) -> ServerEntry {
        ServerEntry {
            server: server.into(),
            plain_text: true,
            insecure: false,
        }
    }

    #[test]
    fn login_round_trips_and_is_private() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("nested/config.yaml");
        let mut config = CliConfig::default();
        config.upsert_login("ml-prod", entry("cd.ml.example.com:443"), "admin", "tok-1");
        config.upsert_login("demo", entry("127.0.0.1:8081"), "admin", "tok-2");
        config.save(&path).expect("save");
        let back = CliConfig::load(&path).expect("load");
        assert_eq!(back, config);
        assert_eq!(back.current_context, "demo");
        let session = back.session(None).expect("current");
        assert_eq!(session.base_url, "http://127.0.0.1:8081");
        assert_eq!(session.token, "tok-2");
        assert_eq!(
            back.session(Some("ml-prod")).map(|s| s.token),
            Some("tok-1".to_string())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn relogin_replaces_and_logout_clears() {
        let mut config = CliConfig::default();
        config.upsert_login("demo", entry("127.0.0.1:8081"), "admin", "old");
        config.upsert_login("demo", entry("127.0.0.1:9090"), "alice", "new");
        assert_eq!(config.contexts.len(), 1);
        assert_eq!(config.users.len(), 1);
        let s = config.session(None).expect("session");
        assert_eq!(
            (s.base_url.as_str(), s.username.as_str(), s.token.as_str()),
            ("http://127.0.0.1:9090", "alice", "new")
        );
        assert!(config.clear_token("demo"));
        assert!(!config.clear_token("nope"));
        assert_eq!(config.session(None).map(|s| s.token), Some(String::new()));
    }

    #[test]
    fn base_urls() {
        assert_eq!(base_url("cd.example.com", false), "https://cd.example.com");
        assert_eq!(base_url("localhost:8080/", true), "http://localhost:8080");
        assert_eq!(base_url("http://x:1", false), "http://x:1");
    }

    #[test]
    fn garbage_is_an_error_and_missing_is_empty() {
        let dir = tempfile::tempdir().expect("dir");
        let missing = CliConfig::load(&dir.path().join("none.yaml")).expect("missing");
        assert_eq!(missing, CliConfig::default());
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "contexts: 7\n").expect("write");
        let err = CliConfig::load(&bad).expect_err("bad");
        assert!(err.to_string().contains("bad.yaml"), "{err}");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let mut config = CliConfig::default();
        config.upsert_login("demo", entry("h:1"), "admin", "very-secret-token");
        let text = format!("{config:?} {:?}", config.session(None));
        assert!(!text.contains("very-secret-token"), "{text}");
    }
}
