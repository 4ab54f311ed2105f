//! One fetch of a remote into a bare mirror, through gix.
//!
//! The mirror keeps the remote's branches under `refs/heads/*` and tags under `refs/tags/*`
//! (forced, so rewritten branches follow the remote), deletes refs the remote no longer has,
//! and points its own `HEAD` at the remote's default branch. Credentials are handed to gix
//! through its credential callback (HTTP basic), the `http.extraHeader` setting (bearer
//! tokens) or `core.sshCommand` (an `ssh` invocation with the private key written to a
//! 0600 temporary file); nothing secret is ever part of the URL given to gix, so transport
//! errors cannot echo it. The repository is opened isolated from the user's and system's
//! Git configuration, so results do not depend on the machine.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use gix::bstr::ByteSlice as _;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
use gix::remote::Direction;

use crate::credentials::Credential;
use crate::error::{SourceError, scrub};
use crate::http_client::{self, HttpSettings};
use crate::url::{RepoUrl, Scheme};

/// How SSH host keys are checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Accept and remember unknown hosts in `<cache root>/known_hosts`, refuse changed keys.
    #[default]
    AcceptNew,
    /// Only hosts listed in this `known_hosts` file are accepted.
    KnownHosts(PathBuf),
    /// No checking at all (also chosen per repository by `insecure: true`).
    Insecure,
}

/// What a fetch asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FetchScope {
    /// Every branch and tag plus HEAD; refs the remote dropped are deleted.
    Mirror,
    /// Only these refspecs (a ref outside branches and tags, or a commit id); nothing
    /// is pruned.
    Extra(Vec<String>),
}

/// Settings that shape every fetch.
pub(crate) struct FetchSettings<'a> {
    pub credential: Option<&'a Credential>,
    pub host_keys: &'a HostKeyPolicy,
    pub default_known_hosts: &'a Path,
    pub connect_timeout_ms: u64,
    /// Extra trusted CA certificates (PEM) for the repository's host.
    pub ca_pem: Option<&'a str>,
    /// The longest one HTTP request may take.
    pub timeout: std::time::Duration,
}

/// Opens the mirror at `path` with the configuration a fetch from `url` needs.
pub(crate) fn open_mirror(
    url: &RepoUrl,
    path: &Path,
    overrides: Vec<String>,
) -> Result<gix::Repository, SourceError> {
    let mut values = vec![
        "core.logAllRefUpdates=false".to_string(),
        "committer.name=ferrocd".to_string(),
        "committer.email=ferrocd@localhost".to_string(),
        "user.name=ferrocd".to_string(),
        "user.email=ferrocd@localhost".to_string(),
        "protocol.version=2".to_string(),
    ];
    values.extend(overrides);
    let options = gix::open::Options::isolated().config_overrides(values);
    gix::open_opts(path, options).map_err(|e| SourceError::Git {
        url: url.display.clone(),
        action: "opening cache",
        cause: scrub(&e.to_string(), &[]),
    })
}

/// Creates an empty bare mirror at `path` (through a temporary sibling and a rename, so a
/// half-initialized directory is never visible).
pub(crate) fn init_mirror(url: &RepoUrl, path: &Path) -> Result<(), SourceError> {
    if path.join("HEAD").is_file() {
        return Ok(());
    }
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| SourceError::io(&url.display, "creating", parent, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".init-")
        .tempdir_in(parent)
        .map_err(|e| SourceError::io(&url.display, "creating", parent, e))?;
    gix::init_bare(tmp.path()).map_err(|e| SourceError::Git {
        url: url.display.clone(),
        action: "initializing cache",
        cause: scrub(&e.to_string(), &[]),
    })?;
    let staged = tmp.keep();
    if let Err(e) = std::fs::rename(&staged, path) {
        let _ = std::fs::remove_dir_all(&staged);
        if !path.join("HEAD").is_file() {
            return Err(SourceError::io(&url.display, "creating", path, e));
        }
    }
    Ok(())
}

/// Fetches every branch and tag of `url` into the mirror at `path`.
pub(crate) fn fetch(
    url: &RepoUrl,
    path: &Path,
    settings: &FetchSettings<'_>,
    scope: &FetchScope,
) -> Result<(), SourceError> {
    let credential = settings.credential;
    let forced_basic = credential.and_then(|c| forced_basic_header(c, url));
    let mut secrets: Vec<&str> = credential.map(Credential::secrets).unwrap_or_default();
    if let Some(p) = url.password.as_deref() {
        secrets.push(p);
    }
    if let Some(header) = forced_basic.as_deref() {
        secrets.push(header);
        secrets.extend(header.rsplit(' ').next());
    }
    let mut overrides = vec![format!(
        "gitoxide.http.connectTimeout={}",
        settings.connect_timeout_ms
    )];
    let insecure = credential.is_some_and(|c| c.insecure);
    if let Some(header) = &forced_basic {
        overrides.push(format!("http.extraHeader={header}"));
    }
    if let Some(token) = credential.and_then(|c| c.bearer_token.as_ref()) {
        overrides.push(format!(
            "http.extraHeader=Authorization: Bearer {}",
            token.expose()
        ));
    }
    // Keep the key file alive until the fetch is over.
    let mut _key_file = None;
    if url.scheme == Scheme::Ssh {
        let key = match credential.and_then(|c| c.ssh_private_key.as_ref()) {
            Some(key) => {
                let file = write_key(url, key.expose())?;
                let path = file.path().to_path_buf();
                _key_file = Some(file);
                Some(path)
            }
            None => None,
        };
        let policy = if insecure {
            &HostKeyPolicy::Insecure
        } else {
            settings.host_keys
        };
        overrides.push(format!(
            "core.sshCommand={}",
            ssh_command(
                key.as_deref(),
                policy,
                settings.default_known_hosts,
                settings.connect_timeout_ms.div_ceil(1000).max(1),
            )
        ));
        overrides.push("ssh.variant=ssh".to_string());
    }

    let repo = open_mirror(url, path, overrides)?;
    let unreachable = |e: &dyn std::fmt::Display| SourceError::Unreachable {
        url: url.display.clone(),
        cause: scrub(&e.to_string(), &secrets),
    };
    let classify = |e: gix::Error| -> SourceError {
        let classes = e.classify();
        if classes.is_unauthenticated() || e.classify().is_permission_denied() {
            return SourceError::AuthenticationFailed {
                url: url.display.clone(),
            };
        }
        let text = chain_text(&e);
        if looks_like_auth_failure(&text) {
            return SourceError::AuthenticationFailed {
                url: url.display.clone(),
            };
        }
        unreachable(&text)
    };

    let remote = repo
        .remote_at(url.fetch.as_str())
        .map_err(classify)?
        .with_fetch_tags(gix::remote::fetch::Tags::None)
        .with_refspecs(
            match scope {
                FetchScope::Mirror => vec![
                    "+refs/heads/*:refs/heads/*".to_string(),
                    "+refs/tags/*:refs/tags/*".to_string(),
                ],
                FetchScope::Extra(specs) => specs.clone(),
            }
            .iter()
            .map(|spec| gix::bstr::BString::from(spec.as_str())),
            Direction::Fetch,
        )
        .map_err(classify)?;
    let mut connection = remote.connect(Direction::Fetch).map_err(classify)?;
    if matches!(url.scheme, Scheme::Http | Scheme::Https) {
        let http = HttpSettings {
            credential,
            ca_pem: settings.ca_pem,
            connect_timeout: std::time::Duration::from_millis(settings.connect_timeout_ms),
            timeout: settings.timeout,
        };
        connection.set_transport_options(http_client::transport_options(&repo, url, &http)?);
    }

    let username = credential
        .and_then(|c| c.username.clone())
        .or_else(|| url.username.clone());
    let password = credential
        .and_then(|c| c.password.as_ref().map(|p| p.expose().to_string()))
        .or_else(|| url.password.clone());
    connection.set_credentials(move |action| match action {
        gix::credentials::helper::Action::Get(ctx) => match &password {
            Some(pw) => Ok(Some(gix::credentials::protocol::Outcome {
                identity: gix::sec::identity::Account {
                    username: username.clone().unwrap_or_else(|| "git".to_string()),
                    password: pw.clone(),
                    oauth_refresh_token: None,
                },
                next: ctx.into(),
            })),
            None => Ok(None),
        },
        gix::credentials::helper::Action::Store(_) | gix::credentials::helper::Action::Erase(_) => {
            Ok(None)
        }
    });

    let head_spec = gix::refspec::parse("HEAD".into(), gix::refspec::parse::Operation::Fetch)
        .map_err(|e| unreachable(&e))?
        .to_owned();
    let options = gix::remote::ref_map::Options {
        extra_refspecs: match scope {
            FetchScope::Mirror => vec![head_spec],
            FetchScope::Extra(_) => Vec::new(),
        },
        ..Default::default()
    };
    let prepare = connection
        .prepare_fetch(gix::progress::Discard, options)
        .map_err(classify)?;
    let remote_refs = prepare.ref_map().remote_refs.clone();
    // Nothing on the remote matches (an empty repository, a ref that is gone): there is
    // nothing to receive, which is not an error here; resolution reports what is missing.
    if !prepare.ref_map().is_missing_required_mapping() {
        let interrupt = AtomicBool::new(false);
        prepare
            .receive(gix::progress::Discard, &interrupt)
            .map_err(classify)?;
    }
    match scope {
        FetchScope::Mirror => sync_refs(url, &repo, &remote_refs),
        FetchScope::Extra(_) => Ok(()),
    }
}

/// Deletes refs the remote no longer advertises and points HEAD at the remote's HEAD.
fn sync_refs(
    url: &RepoUrl,
    repo: &gix::Repository,
    remote_refs: &[gix::protocol::handshake::Ref],
) -> Result<(), SourceError> {
    use gix::protocol::handshake::Ref;
    let git_err = |action: &'static str| {
        let url = url.display.clone();
        move |e: gix::Error| SourceError::Git {
            url: url.clone(),
            action,
            cause: scrub(&e.to_string(), &[]),
        }
    };
    let mut advertised: HashSet<Vec<u8>> = HashSet::new();
    let mut head: Option<&Ref> = None;
    for r in remote_refs {
        let name = match r {
            Ref::Peeled { full_ref_name, .. }
            | Ref::Direct { full_ref_name, .. }
            | Ref::Symbolic { full_ref_name, .. }
            | Ref::Unborn { full_ref_name, .. } => full_ref_name,
        };
        if name.as_bytes() == b"HEAD" {
            head = Some(r);
        } else {
            advertised.insert(name.to_vec());
        }
    }
    let mut edits = Vec::new();
    {
        let platform = repo.references().map_err(git_err("listing refs"))?;
        for r in platform.all().map_err(git_err("listing refs"))?.flatten() {
            let name = r.name().as_bstr().to_vec();
            let mirrored = name.starts_with(b"refs/heads/") || name.starts_with(b"refs/tags/");
            if mirrored && !advertised.contains(&name) {
                edits.push(RefEdit {
                    change: Change::Delete {
                        expected: PreviousValue::Any,
                        log: RefLog::AndReference,
                    },
                    name: r.name().to_owned(),
                    deref: false,
                });
            }
        }
    }
    let head_edit = match head {
        Some(Ref::Symbolic { target, .. }) | Some(Ref::Unborn { target, .. }) => {
            gix::refs::FullName::try_from(target.clone())
                .ok()
                .map(gix::refs::Target::Symbolic)
        }
        Some(Ref::Direct { object, .. }) | Some(Ref::Peeled { object, .. }) => {
            Some(gix::refs::Target::Object(*object))
        }
        None => None,
    };
    if let Some(new) = head_edit
        && let Ok(name) = gix::refs::FullName::try_from("HEAD")
    {
        edits.push(RefEdit {
            change: Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: "ferrocd: remote HEAD".into(),
                },
                expected: PreviousValue::Any,
                new,
            },
            name,
            deref: false,
        });
    }
    if !edits.is_empty() {
        repo.edit_references_as(edits, None)
            .map_err(git_err("updating refs"))?;
    }
    Ok(())
}

/// `Authorization: Basic ...` sent up front when `forceHttpBasicAuth` is set (servers that
/// answer 404 instead of 401 to anonymous requests).
fn forced_basic_header(credential: &Credential, url: &RepoUrl) -> Option<String> {
    use base64::Engine as _;
    if !credential.force_http_basic_auth || !matches!(url.scheme, Scheme::Http | Scheme::Https) {
        return None;
    }
    let password = credential.password.as_ref()?;
    let user = credential.username.as_deref().unwrap_or("git");
    let token =
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", password.expose()));
    Some(format!("Authorization: Basic {token}"))
}

fn write_key(url: &RepoUrl, key: &str) -> Result<tempfile::NamedTempFile, SourceError> {
    let mut file = tempfile::Builder::new()
        .prefix("ferrocd-ssh-key-")
        .tempfile()
        .map_err(|e| {
            SourceError::io(
                &url.display,
                "creating ssh key file in",
                std::env::temp_dir(),
                e,
            )
        })?;
    // NamedTempFile is created with mode 0600 on Unix.
    let mut text = key.replace("\r\n", "\n");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    file.write_all(text.as_bytes())
        .and_then(|()| file.flush())
        .map_err(|e| SourceError::io(&url.display, "writing ssh key file", file.path(), e))?;
    Ok(file)
}

/// The `ssh` invocation for `core.sshCommand` (run through a shell by gix).
pub(crate) fn ssh_command(
    key: Option<&Path>,
    policy: &HostKeyPolicy,
    default_known_hosts: &Path,
    connect_timeout_secs: u64,
) -> String {
    let mut cmd = vec![
        "ssh".to_string(),
        "-o".to_string(),
        "BatchMode=yes".to_string(),
        "-o".to_string(),
        format!("ConnectTimeout={connect_timeout_secs}"),
    ];
    if let Some(key) = key {
        cmd.extend([
            "-i".to_string(),
            shell_quote(&key.display().to_string()),
            "-o".to_string(),
            "IdentitiesOnly=yes".to_string(),
        ]);
    }
    let (strict, known) = match policy {
        HostKeyPolicy::AcceptNew => ("accept-new", default_known_hosts.display().to_string()),
        HostKeyPolicy::KnownHosts(p) => ("yes", p.display().to_string()),
        HostKeyPolicy::Insecure => ("no", "/dev/null".to_string()),
    };
    cmd.extend([
        "-o".to_string(),
        format!("StrictHostKeyChecking={strict}"),
        "-o".to_string(),
        shell_quote(&format!("UserKnownHostsFile={known}")),
    ]);
    cmd.join(" ")
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The error and all its sources on one line.
fn chain_text(e: &gix::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for err in e.iter_errors() {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    if parts.is_empty() {
        parts.push(e.to_string());
    }
    parts.join(": ")
}

/// Transports that report refusal only as text (the `ssh` program, git-upload-pack).
fn looks_like_auth_failure(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("permission denied")
        || t.contains("authentication failed")
        || t.contains("authentication required")
        || t.contains("status 401")
        || t.contains("status 403")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_command_pins_key_and_host_policy() {
        let cmd = ssh_command(
            Some(Path::new("/tmp/key file")),
            &HostKeyPolicy::KnownHosts(PathBuf::from("/etc/ferrocd/known_hosts")),
            Path::new("/unused"),
            30,
        );
        assert_eq!(
            cmd,
            "ssh -o BatchMode=yes -o ConnectTimeout=30 -i '/tmp/key file' -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/ferrocd/known_hosts"
        );
        let insecure = ssh_command(None, &HostKeyPolicy::Insecure, Path::new("/x"), 5);
        assert!(insecure.ends_with("StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"));
        let accept = ssh_command(
            None,
            &HostKeyPolicy::AcceptNew,
            Path::new("/c/known_hosts"),
            5,
        );
        assert!(accept.contains("StrictHostKeyChecking=accept-new"));
        assert!(accept.contains("UserKnownHostsFile=/c/known_hosts"));
    }

    #[test]
    fn quoting_handles_single_quotes() {
        assert_eq!(shell_quote("a'b"), "'a'\\''b'");
        assert_eq!(shell_quote("/plain/path"), "/plain/path");
    }

    #[test]
    fn auth_failure_texts() {
        assert!(looks_like_auth_failure(
            "git@host: Permission denied (publickey)."
        ));
        assert!(!looks_like_auth_failure("Connection refused"));
    }
}
