//! `ferrocd login`, `ferrocd logout` and `ferrocd context`: sessions with ferrocd API
//! servers, kept in the CLI configuration (see [`crate::config`]). Passwords are read from
//! a flag, from stdin, or from the terminal without echo; neither they nor tokens are ever
//! printed, and only the token is stored.

use std::io::{BufRead as _, IsTerminal as _};

use anyhow::{Context as _, anyhow};
use clap::Args;
use reqwest::{Method, StatusCode};

use crate::Failure;
use crate::app::api::{self, ApiClient};
use crate::config::{self, CliConfig, ServerEntry, Session};

/// Flags of `ferrocd login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The ferrocd server: `host:port` or a URL.
    pub server: String,
    /// Account name (default: prompt on a terminal, else `admin`).
    #[arg(long)]
    pub username: Option<String>,
    /// Password (visible to other users of this machine in the process list; prefer
    /// --password-stdin or the prompt).
    #[arg(long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from the first line of stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// Name of the context to write (default: SERVER).
    #[arg(long, value_name = "CTX")]
    pub name: Option<String>,
    /// Plain HTTP instead of HTTPS.
    #[arg(long)]
    pub plaintext: bool,
    /// Do not verify the server's TLS certificate.
    #[arg(long)]
    pub insecure: bool,
}

/// Flags of `ferrocd logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The context to log out of (default: the current one).
    pub context: Option<String>,
}

/// Flags of `ferrocd context`.
#[derive(Debug, Args)]
pub struct ContextArgs {
    /// Switch to this context; without it, list the contexts.
    pub name: Option<String>,
}

/// Logs in to `server` and writes the context `name` (made current) to the CLI
/// configuration at `path`. Returns the session.
pub async fn login_and_save(
    path: &std::path::Path,
    name: &str,
    server: ServerEntry,
    username: &str,
    password: &str,
) -> Result<Session, Failure> {
    let session = Session {
        context: name.to_string(),
        base_url: config::base_url(&server.server, server.plain_text),
        insecure: server.insecure,
        username: username.to_string(),
        token: String::new(),
    };
    let token = api::login(&session, username, password).await?;
    let mut config = CliConfig::load(path)?;
    config.upsert_login(name, server, username, &token);
    config.save(path)?;
    Ok(Session { token, ..session })
}

fn prompt(label: &str) -> Result<String, Failure> {
    use std::io::Write as _;
    eprint!("{label}: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading from the terminal")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Runs `ferrocd login`.
pub fn login(args: LoginArgs) -> Result<(), Failure> {
    let terminal = std::io::stdin().is_terminal();
    let username = match args.username.clone() {
        Some(u) => u,
        None if terminal => prompt("Username")?,
        None => "admin".to_string(),
    };
    if username.is_empty() {
        return Err(anyhow!("login: give a user name (--username)").into());
    }
    let password = if let Some(p) = args.password.clone() {
        p
    } else if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else if terminal {
        rpassword::prompt_password("Password: ").context("reading the password")?
    } else {
        return Err(anyhow!(
            "login: stdin is not a terminal; give --password-stdin (and pipe the password) or --password"
        )
        .into());
    };
    let server = args.server.trim().trim_end_matches('/').to_string();
    let plain_text = args.plaintext || server.starts_with("http://");
    let name = args.name.clone().unwrap_or_else(|| {
        server
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_string()
    });
    let path = config::path();
    let entry = ServerEntry {
        server,
        plain_text,
        insecure: args.insecure,
    };
    crate::run_direct(async move {
        let session = login_and_save(&path, &name, entry, &username, &password).await?;
        crate::write_stdout(&format!(
            "'{username}' logged in to {} (context '{name}', saved in {})\n",
            session.base_url,
            path.display()
        ))
    })
}

/// Runs `ferrocd logout`: revokes the session on the server and forgets the token.
pub fn logout(args: LogoutArgs) -> Result<(), Failure> {
    let path = config::path();
    let mut config = CliConfig::load(&path)?;
    let name = args
        .context
        .clone()
        .unwrap_or_else(|| config.current_context.clone());
    let Some(session) = config.session(Some(&name)).filter(|_| !name.is_empty()) else {
        return Err(anyhow!(
            "no context '{name}' in {}; see `ferrocd context`",
            path.display()
        )
        .into());
    };
    if !session.token.is_empty() {
        let client = ApiClient::new(&session)?;
        let revoked = crate::run_direct(async move {
            match client.call(Method::DELETE, &["session"], &[], None).await {
                Ok(_) => Ok(()),
                // Already expired or revoked: nothing to revoke.
                Err(e) if e.status() == Some(StatusCode::UNAUTHORIZED) => Ok(()),
                Err(e) => Err(e.explain(&client, "revoking the session", None)),
            }
        });
        if let Err(e) = revoked {
            // The token is forgotten anyway; say why the server may still accept it.
            eprintln!(
                "warning: the server did not revoke the session ({}); the token is forgotten here",
                e.message()
            );
        }
    }
    config.clear_token(&name);
    config.save(&path)?;
    crate::write_stdout(&format!(
        "logged out of context '{name}' ({})\n",
        session.base_url
    ))
}

/// Runs `ferrocd context`: lists the contexts, or switches to one.
pub fn context(args: ContextArgs) -> Result<(), Failure> {
    let path = config::path();
    let mut config = CliConfig::load(&path)?;
    if let Some(name) = args.name {
        if !config.contexts.iter().any(|c| c.name == name) {
            return Err(anyhow!(
                "no context '{name}' in {}; log in with `ferrocd login SERVER --name {name}`",
                path.display()
            )
            .into());
        }
        config.current_context = name.clone();
        config.save(&path)?;
        return crate::write_stdout(&format!("switched to context '{name}'\n"));
    }
    let mut table = crate::app::Table::new(&["CURRENT", "NAME", "SERVER", "USER", "SESSION"]);
    for c in &config.contexts {
        let Some(s) = config.session(Some(&c.name)) else {
            continue;
        };
        table.row(vec![
            if c.name == config.current_context {
                "*".to_string()
            } else {
                String::new()
            },
            c.name.clone(),
            s.base_url.clone(),
            s.username.clone(),
            if s.token.is_empty() {
                "logged out".to_string()
            } else {
                "logged in".to_string()
            },
        ]);
    }
    crate::write_stdout(&table.render())
}
