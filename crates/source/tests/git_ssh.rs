//! Against a real `sshd` on loopback, started as the current user with a generated host
//! key and an authorized client key. Skipped (with a printed reason) when `sshd` is absent,
//! unless `CI` is set, in which case its absence is a failure.

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Fixture, cache_dir};
use ferrocd_source::{
    CacheOptions, Credential, CredentialStore, HostKeyPolicy, RepoCache, SourceError,
};
use tempfile::TempDir;

struct Sshd {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sshd {
    fn client_key(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("client_key")).unwrap()
    }

    fn host_key_pub(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("host_key.pub")).unwrap()
    }
}

fn find_sshd() -> Option<PathBuf> {
    let candidates = ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"];
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn current_user() -> String {
    let out = Command::new("id")
        .arg("-un")
        .output()
        .expect("running id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "ferrocd-test", "-f"])
        .arg(path)
        .status()
        .expect("running ssh-keygen");
    assert!(status.success(), "ssh-keygen failed");
}

fn start_sshd() -> Option<Sshd> {
    let Some(sshd) = find_sshd() else {
        if std::env::var_os("CI").is_some() {
            panic!("sshd not found and CI is set: scripts/install-deps installs openssh-server");
        }
        eprintln!("skipping SSH test: sshd not found (install openssh-server)");
        return None;
    };
    let dir = tempfile::Builder::new()
        .prefix("ferrocd-sshd-")
        .tempdir()
        .unwrap();
    let d = dir.path();
    keygen(&d.join("host_key"));
    keygen(&d.join("client_key"));
    std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nAuthorizedKeysFile {ak}\nPidFile {pid}\n\
         StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
         PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nAcceptEnv GIT_PROTOCOL\n\
         LogLevel ERROR\n",
        hk = d.join("host_key").display(),
        ak = d.join("authorized_keys").display(),
        pid = d.join("sshd.pid").display(),
    );
    std::fs::write(d.join("sshd_config"), config).unwrap();
    // As root, sshd wants its privilege separation directory.
    let _ = std::fs::create_dir_all("/run/sshd");
    let child = Command::new(&sshd)
        .args(["-D", "-e", "-f"])
        .arg(d.join("sshd_config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting sshd");
    let server = Sshd { child, port, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "sshd did not start listening on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(server)
}

fn ssh_url(sshd: &Sshd, repo: &Path) -> String {
    format!(
        "ssh://{}@127.0.0.1:{}{}",
        current_user(),
        sshd.port,
        repo.display()
    )
}

#[test]
fn ssh_clone_with_private_key() {
    let Some(sshd) = start_sshd() else { return };
    let fx = Fixture::new();
    let url = ssh_url(&sshd, &fx.bare());
    let mut store = CredentialStore::new();
    store.add_repository(&url, Credential::ssh_key(sshd.client_key()));
    let root = cache_dir();
    let cache = RepoCache::new(root.path(), store);

    let head = cache.resolve(&url, "HEAD").unwrap();
    assert_eq!(head.commit, fx.commit("main"));
    assert_eq!(
        cache.resolve(&url, "1.2.*").unwrap().commit,
        fx.commit("v1.2.9")
    );
    let checkout = cache.checkout(&url, "dev").unwrap();
    assert!(
        checkout
            .path
            .join("apps/model-server/dev-overrides.yaml")
            .is_file()
    );
    // The host key was remembered in the cache's known_hosts (accept-new policy).
    let known = std::fs::read_to_string(root.path().join("known_hosts")).unwrap();
    assert!(known.contains("ssh-ed25519"), "{known}");
}

#[test]
fn ssh_with_pinned_known_hosts() {
    let Some(sshd) = start_sshd() else { return };
    let fx = Fixture::new();
    let url = ssh_url(&sshd, &fx.bare());
    let mut store = CredentialStore::new();
    store.add_repository(&url, Credential::ssh_key(sshd.client_key()));

    let hosts = sshd.dir.path().join("known_hosts");
    let key = sshd.host_key_pub();
    let mut parts = key.split_whitespace();
    let (kind, blob) = (parts.next().unwrap(), parts.next().unwrap());
    std::fs::write(&hosts, format!("[127.0.0.1]:{} {kind} {blob}\n", sshd.port)).unwrap();
    let options = CacheOptions {
        host_keys: HostKeyPolicy::KnownHosts(hosts),
        ..CacheOptions::default()
    };
    let cache = RepoCache::with_options(cache_dir().path(), store.clone(), options);
    assert_eq!(
        cache.resolve(&url, "main").unwrap().commit,
        fx.commit("main")
    );

    // An unknown host key is refused under a strict policy.
    let empty = sshd.dir.path().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let strict = CacheOptions {
        host_keys: HostKeyPolicy::KnownHosts(empty),
        ..CacheOptions::default()
    };
    let cache = RepoCache::with_options(cache_dir().path(), store, strict);
    let err = cache.resolve(&url, "main").unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::Unreachable { .. } | SourceError::AuthenticationFailed { .. }
        ),
        "{err}"
    );
}

#[test]
fn ssh_with_an_unauthorized_key_fails_without_leaking_it() {
    let Some(sshd) = start_sshd() else { return };
    let fx = Fixture::new();
    let url = ssh_url(&sshd, &fx.bare());
    let other = sshd.dir.path().join("stranger_key");
    keygen(&other);
    let stranger = std::fs::read_to_string(&other).unwrap();
    let mut store = CredentialStore::new();
    store.add_repository(&url, Credential::ssh_key(stranger.clone()));
    let cache = RepoCache::new(cache_dir().path(), store);
    let err = cache.resolve(&url, "main").unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(
        matches!(err, SourceError::AuthenticationFailed { .. }),
        "{shown}"
    );
    let key_body: String = stranger.lines().nth(1).unwrap_or_default().to_string();
    assert!(!shown.contains(&key_body), "{shown}");
}

#[test]
fn ssh_to_a_closed_port_is_unreachable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("ssh://git@127.0.0.1:{port}/srv/git/ml-platform.git");
    let mut store = CredentialStore::new();
    store.add_repository(&url, Credential::ssh_key("-----BEGIN OPENSSH PRIVATE KEY-----\nhunter2keymaterial\n-----END OPENSSH PRIVATE KEY-----\n"));
    let cache = RepoCache::new(cache_dir().path(), store);
    let err = cache.resolve(&url, "main").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SourceError::Unreachable { .. }), "{text}");
    assert!(
        text.starts_with(&format!(
            "repository ssh://127.0.0.1:{port}/srv/git/ml-platform.git: unreachable: "
        )),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
    assert!(!format!("{err:?}").contains("hunter2keymaterial"));
}
