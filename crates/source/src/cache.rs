//! The repository cache: bare mirrors, revision resolution and commit snapshots.
//!
//! Layout under the cache root:
//!
//! ```text
//! repos/<name>-<hash>/            bare mirror of one normalized URL (refs/heads, refs/tags, HEAD)
//! snapshots/<name>-<hash>/<sha>/  the tree of one commit, written once, never modified
//! known_hosts                     SSH host keys accepted on first use (default policy)
//! ```
//!
//! Concurrency: every mirror has a slot that serializes its fetches. A request that finds a
//! fetch of the same repository in flight waits for it and shares its outcome instead of
//! fetching again; so does a request that arrives before a fetch starts and finds it done.
//! Reads (refs and objects) need no lock: gix updates refs through lock files and renames,
//! and packs are complete before refs point into them. Snapshots are written into a
//! temporary directory and renamed into place, so readers never see a partial tree.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use sha2::{Digest as _, Sha256};

use crate::constraint::{Constraint, is_constraint};
use crate::credentials::CredentialStore;
use crate::error::{SourceError, scrub};
use crate::fetch::{self, FetchScope, FetchSettings, HostKeyPolicy};
use crate::revision::{
    commit_resolved, delete_ref, has_ref, is_commit, is_full_sha, is_hex_prefix,
    lookup_commit_prefix, not_found, parse_oid, peel_ref, resolve_constraint, resolve_head,
    resolve_name,
};
use crate::snapshot;
use crate::url::RepoUrl;

/// Behaviour of a [`RepoCache`] beyond its root and credentials.
#[derive(Clone, Debug)]
pub struct CacheOptions {
    /// How SSH host keys are checked.
    pub host_keys: HostKeyPolicy,
    /// How long to wait for a TCP connection (HTTP(S) and SSH).
    pub connect_timeout: Duration,
    /// The longest one HTTP request of a fetch may take.
    pub http_timeout: Duration,
    /// Extra trusted CA certificates (PEM bundles) per host name, as Argo CD's
    /// `argocd-tls-certs-cm` holds them (key: host name without port).
    pub tls_certs: BTreeMap<String, String>,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            host_keys: HostKeyPolicy::AcceptNew,
            connect_timeout: Duration::from_secs(30),
            http_timeout: Duration::from_secs(600),
            tls_certs: BTreeMap::new(),
        }
    }
}

/// How a revision was understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevisionKind {
    /// `HEAD` or an empty revision: the remote's default branch.
    DefaultBranch,
    /// A branch name.
    Branch,
    /// A tag name.
    Tag,
    /// The highest tag matching a version constraint.
    Constraint,
    /// A full or abbreviated commit id.
    Commit,
    /// Another full ref name (`refs/pull/12/head`, ...).
    Reference,
}

/// A revision resolved to a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The full commit id (40 lowercase hex digits).
    pub commit: String,
    /// How the revision was understood.
    pub kind: RevisionKind,
    /// The ref the commit was found through (`refs/heads/main`, `refs/tags/v1.2.9`), if any.
    pub reference: Option<String>,
}

/// What a path holds at a commit (see [`RepoCache::path_tree`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathTree {
    /// The object id of the tree (or file) at the path.
    pub id: String,
    /// The files below it (relative, slash-separated, sorted), symlinks included; empty
    /// when the path is a file.
    pub files: Vec<String>,
    /// Whether a symbolic link or submodule is below it: what it points to is not part of
    /// `id`.
    pub has_links: bool,
}

/// A commit's files on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkout {
    /// The full commit id.
    pub commit: String,
    /// The immutable directory holding the commit's tree.
    pub path: PathBuf,
}

/// A cache of bare repository mirrors, safe to share between threads.
pub struct RepoCache {
    root: PathBuf,
    credentials: CredentialStore,
    options: CacheOptions,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    fetches: AtomicU64,
    snapshot_seq: AtomicU64,
}

/// Coordination of one mirror's fetches.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    done: Condvar,
}

#[derive(Default)]
struct SlotState {
    /// The fetch running now, if any.
    in_flight: Option<InFlight>,
    /// Bumped when a fetch finishes.
    generation: u64,
    /// When the last mirror fetch started, and how it ended.
    last_mirror: Option<(Instant, Result<(), SourceError>)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum InFlight {
    Mirror,
    Extra,
}

impl std::fmt::Debug for RepoCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoCache")
            .field("root", &self.root)
            .field("options", &self.options)
            .field("fetches", &self.fetches.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RepoCache {
    /// A cache rooted at `root` (created on first use) using `credentials`.
    pub fn new(root: impl Into<PathBuf>, credentials: CredentialStore) -> Self {
        Self::with_options(root, credentials, CacheOptions::default())
    }

    /// Like [`RepoCache::new`], with explicit options.
    pub fn with_options(
        root: impl Into<PathBuf>,
        credentials: CredentialStore,
        options: CacheOptions,
    ) -> Self {
        RepoCache {
            root: root.into(),
            credentials,
            options,
            slots: Mutex::new(HashMap::new()),
            fetches: AtomicU64::new(0),
            snapshot_seq: AtomicU64::new(0),
        }
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The credentials this cache authenticates with (also used for Helm repositories and
    /// OCI registries, see [`crate::HelmRepoClient`]).
    pub fn credentials(&self) -> &CredentialStore {
        &self.credentials
    }

    /// How many fetches this cache has started (for tests and metrics).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Fetches if needed and resolves `revision` to a full commit SHA. Revision may be: a
    /// branch, a tag, a full or short SHA, `HEAD` or `""` (default branch), a full ref name,
    /// or a semver constraint over tags (`1.2.*`, `>=1.0.0 <2.0.0`, `^1.2`, `~1.2.3`; tags
    /// may carry a leading `v`).
    ///
    /// Branches, `HEAD` and constraints always fetch (refs move); a tag or commit already in
    /// the mirror is answered without network.
    pub fn resolve(&self, url: &str, revision: &str) -> Result<Resolved, SourceError> {
        let arrived = Instant::now();
        let repo_url = RepoUrl::parse(url)?;
        let rev = revision.trim();
        let mirror = self.mirror_dir(&repo_url);

        if rev.is_empty() || rev == "HEAD" {
            self.fetch_shared(&repo_url, &mirror, arrived)?;
            let repo = self.open(&repo_url, &mirror)?;
            return resolve_head(&repo, &repo_url, rev);
        }
        if is_constraint(rev) {
            let constraint =
                Constraint::parse(rev).map_err(|source| SourceError::InvalidConstraint {
                    url: repo_url.display.clone(),
                    revision: rev.to_string(),
                    source,
                })?;
            self.fetch_shared(&repo_url, &mirror, arrived)?;
            let repo = self.open(&repo_url, &mirror)?;
            return resolve_constraint(&repo, &repo_url, &constraint);
        }
        if is_full_sha(rev) {
            let oid = parse_oid(rev, &repo_url)?;
            if mirror.join("HEAD").is_file() {
                let repo = self.open(&repo_url, &mirror)?;
                if is_commit(&repo, oid) {
                    return Ok(commit_resolved(oid));
                }
            }
            self.fetch_shared(&repo_url, &mirror, arrived)?;
            let repo = self.open(&repo_url, &mirror)?;
            if is_commit(&repo, oid) {
                return Ok(commit_resolved(oid));
            }
            // Not reachable from any branch or tag: ask for the commit itself (servers
            // speaking protocol v2, or allowing reachable ids in wants, can send it).
            let sha = oid.to_string();
            let pin = format!("+{sha}:refs/ferrocd/commits/{sha}");
            match self.fetch_extra(&repo_url, &mirror, vec![pin]) {
                Err(e @ SourceError::AuthenticationFailed { .. }) => return Err(e),
                Err(e) => {
                    tracing::debug!(url = %repo_url.display, commit = %sha, error = %e, "fetching a commit by id failed");
                }
                Ok(()) => {}
            }
            let repo = self.open(&repo_url, &mirror)?;
            if is_commit(&repo, oid) {
                return Ok(commit_resolved(oid));
            }
            return Err(not_found(&repo_url, rev));
        }
        if rev.starts_with("refs/")
            && !rev.starts_with("refs/heads/")
            && !rev.starts_with("refs/tags/")
        {
            return self.resolve_other_ref(&repo_url, &mirror, rev);
        }
        // A name: tags and commits already present are stable, branches move.
        if mirror.join("HEAD").is_file() {
            let repo = self.open(&repo_url, &mirror)?;
            if !has_ref(&repo, &format!("refs/heads/{rev}")) {
                if let Some(found) = peel_ref(&repo, &repo_url, &format!("refs/tags/{rev}"))? {
                    return Ok(Resolved {
                        commit: found.to_string(),
                        kind: RevisionKind::Tag,
                        reference: Some(format!("refs/tags/{rev}")),
                    });
                }
                if is_hex_prefix(rev)
                    && !rev.starts_with("refs/")
                    && let Some(oid) = lookup_commit_prefix(&repo, &repo_url, rev)?
                {
                    return Ok(commit_resolved(oid));
                }
            }
        }
        self.fetch_shared(&repo_url, &mirror, arrived)?;
        let repo = self.open(&repo_url, &mirror)?;
        resolve_name(&repo, &repo_url, rev)
    }

    /// A ref outside branches and tags (`refs/pull/12/head`, `refs/changes/...`): fetched
    /// on its own every time, as such refs move and are not mirrored.
    fn resolve_other_ref(
        &self,
        url: &RepoUrl,
        mirror: &Path,
        rev: &str,
    ) -> Result<Resolved, SourceError> {
        if gix::refs::FullName::try_from(rev).is_err() {
            return Err(not_found(url, rev));
        }
        // Forget the previous answer: if the remote dropped the ref, nothing will match.
        if mirror.join("HEAD").is_file() {
            let repo = self.open(url, mirror)?;
            delete_ref(&repo, url, rev)?;
        }
        self.fetch_extra(url, mirror, vec![format!("+{rev}:{rev}")])?;
        let repo = self.open(url, mirror)?;
        match peel_ref(&repo, url, rev)? {
            Some(oid) => Ok(Resolved {
                commit: oid.to_string(),
                kind: RevisionKind::Reference,
                reference: Some(rev.to_string()),
            }),
            None => Err(not_found(url, rev)),
        }
    }

    /// Materializes the tree of `commit` (a full commit id) as an immutable directory, one
    /// per repository and commit, and returns its path. The commit is fetched first if the
    /// mirror does not have it.
    pub fn snapshot(&self, url: &str, commit: &str) -> Result<PathBuf, SourceError> {
        let repo_url = RepoUrl::parse(url)?;
        let commit = commit.trim().to_ascii_lowercase();
        if !is_full_sha(&commit) {
            return Err(SourceError::NotACommitId {
                url: repo_url.display.clone(),
                commit,
            });
        }
        let mirror = self.mirror_dir(&repo_url);
        let parent = self.root.join("snapshots").join(mirror_name(&repo_url));
        let dest = parent.join(&commit);
        if dest.is_dir() {
            return Ok(dest);
        }
        let oid = parse_oid(&commit, &repo_url)?;
        let present = mirror.join("HEAD").is_file() && {
            let repo = self.open(&repo_url, &mirror)?;
            is_commit(&repo, oid)
        };
        if !present {
            self.resolve(url, &commit)?;
        }
        let repo = self.open(&repo_url, &mirror)?;
        let tree = repo
            .find_commit(oid)
            .and_then(|c| c.tree_id().map(|id| id.detach()))
            .map_err(|e| SourceError::Git {
                url: repo_url.display.clone(),
                action: "reading commit",
                cause: scrub(&e.to_string(), &[]),
            })?;
        std::fs::create_dir_all(&parent)
            .map_err(|e| SourceError::io(&repo_url.display, "creating", &parent, e))?;
        let seq = self.snapshot_seq.fetch_add(1, Ordering::Relaxed);
        let staging = parent.join(format!(".tmp-{commit}-{}-{seq}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir(&staging)
            .map_err(|e| SourceError::io(&repo_url.display, "creating", &staging, e))?;
        let target = snapshot::Target {
            url: &repo_url.display,
            commit: &commit,
        };
        if let Err(e) = snapshot::write_tree(&repo, tree, &staging, &target) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        if let Err(e) = std::fs::rename(&staging, &dest) {
            let _ = std::fs::remove_dir_all(&staging);
            // Another thread or process won the race: its directory is identical.
            if !dest.is_dir() {
                return Err(SourceError::io(
                    &repo_url.display,
                    "renaming into",
                    &dest,
                    e,
                ));
            }
        }
        tracing::debug!(url = %repo_url.display, commit = %commit, path = %dest.display(), "snapshot written");
        Ok(dest)
    }

    /// Resolves `revision` and materializes its commit.
    pub fn checkout(&self, url: &str, revision: &str) -> Result<Checkout, SourceError> {
        let resolved = self.resolve(url, revision)?;
        let path = self.snapshot(url, &resolved.commit)?;
        Ok(Checkout {
            commit: resolved.commit,
            path,
        })
    }

    /// The content of `path` (slash-separated, relative to the repository root) at `commit`,
    /// read from the object database; `None` when there is no such file. Symlinks are not
    /// followed (their link text is returned).
    pub fn read_file(
        &self,
        url: &str,
        commit: &str,
        path: &str,
    ) -> Result<Option<Vec<u8>>, SourceError> {
        let (repo, root, git_err) = self.commit_tree(url, commit, "reading file")?;
        let tree = repo.find_tree(root).map_err(&git_err)?;
        let wanted = path.trim_matches('/');
        let entry = tree.lookup_entry_by_path(wanted).map_err(&git_err)?;
        match entry {
            Some(e) if e.mode().is_blob() || e.mode().is_link() => {
                let blob = repo.find_blob(e.oid().to_owned()).map_err(&git_err)?;
                Ok(Some(blob.data.clone()))
            }
            _ => Ok(None),
        }
    }

    /// What `path` (slash-separated, relative to the repository root; empty for the root)
    /// holds at `commit`, from the object database without materializing it: its object
    /// id and the files below it. Equal ids at two commits mean equal content, which lets a
    /// caller reuse what it derived from the path at another commit. `None` when nothing
    /// is at `path`.
    pub fn path_tree(
        &self,
        url: &str,
        commit: &str,
        path: &str,
    ) -> Result<Option<PathTree>, SourceError> {
        let (repo, root, git_err) = self.commit_tree(url, commit, "reading tree")?;
        let tree = repo.find_tree(root).map_err(&git_err)?;
        let wanted = path.trim_matches('/');
        let wanted = if wanted == "." { "" } else { wanted };
        let (id, is_tree) = if wanted.is_empty() {
            (tree.id, true)
        } else {
            match tree.lookup_entry_by_path(wanted).map_err(&git_err)? {
                Some(e) => (e.oid().to_owned(), e.mode().is_tree()),
                None => return Ok(None),
            }
        };
        let mut listing = PathTree {
            id: id.to_string(),
            files: Vec::new(),
            has_links: false,
        };
        if !is_tree {
            return Ok(Some(listing));
        }
        let mut stack = vec![(id, String::new())];
        while let Some((tree_id, prefix)) = stack.pop() {
            let tree = repo.find_tree(tree_id).map_err(&git_err)?;
            let decoded = tree.decode().map_err(&git_err)?;
            for entry in &decoded.entries {
                let name = format!("{prefix}{}", entry.filename);
                match entry.mode.kind() {
                    gix::objs::tree::EntryKind::Tree => {
                        stack.push((entry.oid.to_owned(), format!("{name}/")));
                    }
                    gix::objs::tree::EntryKind::Blob
                    | gix::objs::tree::EntryKind::BlobExecutable => listing.files.push(name),
                    gix::objs::tree::EntryKind::Link | gix::objs::tree::EntryKind::Commit => {
                        listing.has_links = true;
                        listing.files.push(name);
                    }
                }
            }
        }
        listing.files.sort();
        Ok(Some(listing))
    }

    /// The opened mirror and the root tree id of `commit` (fetched first when the mirror does
    /// not have it), with the error mapping of `action`.
    #[allow(clippy::type_complexity)]
    fn commit_tree(
        &self,
        url: &str,
        commit: &str,
        action: &'static str,
    ) -> Result<
        (
            gix::Repository,
            gix::ObjectId,
            impl Fn(gix::Error) -> SourceError + use<>,
        ),
        SourceError,
    > {
        let repo_url = RepoUrl::parse(url)?;
        let commit = commit.trim().to_ascii_lowercase();
        if !is_full_sha(&commit) {
            return Err(SourceError::NotACommitId {
                url: repo_url.display.clone(),
                commit,
            });
        }
        let oid = parse_oid(&commit, &repo_url)?;
        let mirror = self.mirror_dir(&repo_url);
        let present = mirror.join("HEAD").is_file() && {
            let repo = self.open(&repo_url, &mirror)?;
            is_commit(&repo, oid)
        };
        if !present {
            self.resolve(url, &commit)?;
        }
        let repo = self.open(&repo_url, &mirror)?;
        let display = repo_url.display.clone();
        let git_err = move |e: gix::Error| SourceError::Git {
            url: display.clone(),
            action,
            cause: scrub(&e.to_string(), &[]),
        };
        let tree = repo
            .find_commit(oid)
            .and_then(|c| c.tree_id().map(|id| id.detach()))
            .map_err(&git_err)?;
        Ok((repo, tree, git_err))
    }

    fn mirror_dir(&self, url: &RepoUrl) -> PathBuf {
        self.root.join("repos").join(mirror_name(url))
    }

    fn open(&self, url: &RepoUrl, mirror: &Path) -> Result<gix::Repository, SourceError> {
        fetch::open_mirror(url, mirror, Vec::new())
    }

    fn slot(&self, url: &RepoUrl) -> Arc<Slot> {
        let mut slots = self.slots.lock();
        slots.entry(url.normalized.clone()).or_default().clone()
    }

    /// Fetches every branch and tag of `url` unless a mirror fetch that is in flight now,
    /// or that started after `arrived`, answers for this request; its outcome is shared.
    fn fetch_shared(
        &self,
        url: &RepoUrl,
        mirror: &Path,
        arrived: Instant,
    ) -> Result<(), SourceError> {
        let slot = self.slot(url);
        let mut state = slot.state.lock();
        loop {
            match state.in_flight {
                Some(InFlight::Mirror) => {
                    let generation = state.generation;
                    while state.generation == generation {
                        slot.done.wait(&mut state);
                    }
                    if let Some((_, result)) = &state.last_mirror {
                        return result.clone();
                    }
                }
                Some(InFlight::Extra) => {
                    let generation = state.generation;
                    while state.generation == generation {
                        slot.done.wait(&mut state);
                    }
                }
                None => break,
            }
        }
        if let Some((started, result)) = &state.last_mirror
            && *started >= arrived
        {
            return result.clone();
        }
        state.in_flight = Some(InFlight::Mirror);
        drop(state);
        self.run_fetch(url, mirror, &slot, &FetchScope::Mirror)
    }

    /// Fetches only `refspecs` (never shared, but serialized with the mirror's other fetches).
    fn fetch_extra(
        &self,
        url: &RepoUrl,
        mirror: &Path,
        refspecs: Vec<String>,
    ) -> Result<(), SourceError> {
        let slot = self.slot(url);
        let mut state = slot.state.lock();
        while state.in_flight.is_some() {
            let generation = state.generation;
            while state.generation == generation {
                slot.done.wait(&mut state);
            }
        }
        state.in_flight = Some(InFlight::Extra);
        drop(state);
        self.run_fetch(url, mirror, &slot, &FetchScope::Extra(refspecs))
    }

    /// Runs one fetch whose slot is already marked in flight, and publishes its outcome.
    fn run_fetch(
        &self,
        url: &RepoUrl,
        mirror: &Path,
        slot: &Slot,
        scope: &FetchScope,
    ) -> Result<(), SourceError> {
        let mut finish = FinishGuard {
            slot,
            started: Instant::now(),
            mirror: *scope == FetchScope::Mirror,
            result: None,
        };
        self.fetches.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(url = %url.display, ?scope, "fetching");
        let result = fetch::init_mirror(url, mirror).and_then(|()| {
            let known_hosts = self.root.join("known_hosts");
            let settings = FetchSettings {
                credential: self.credentials.lookup(&url.normalized),
                host_keys: &self.options.host_keys,
                default_known_hosts: &known_hosts,
                connect_timeout_ms: u64::try_from(self.options.connect_timeout.as_millis())
                    .unwrap_or(u64::MAX),
                ca_pem: url
                    .host
                    .as_deref()
                    .and_then(|h| self.options.tls_certs.get(h))
                    .map(String::as_str),
                timeout: self.options.http_timeout,
            };
            fetch::fetch(url, mirror, &settings, scope)
        });
        if let Err(e) = &result {
            tracing::debug!(url = %url.display, error = %e, "fetch failed");
        }
        finish.result = Some(result.clone());
        result
    }
}

/// Marks a slot's fetch finished (even if the fetch panicked) and wakes the waiters.
struct FinishGuard<'a> {
    slot: &'a Slot,
    started: Instant,
    mirror: bool,
    result: Option<Result<(), SourceError>>,
}

impl Drop for FinishGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.slot.state.lock();
        state.in_flight = None;
        state.generation = state.generation.wrapping_add(1);
        let result = self.result.take().unwrap_or_else(|| {
            Err(SourceError::Git {
                url: String::new(),
                action: "fetching",
                cause: "fetch aborted".to_string(),
            })
        });
        if self.mirror {
            state.last_mirror = Some((self.started, result));
        }
        self.slot.done.notify_all();
    }
}

/// `<last path segment>-<first 16 hex of sha256(normalized url)>`.
fn mirror_name(url: &RepoUrl) -> String {
    let digest = Sha256::digest(url.normalized.as_bytes());
    let hash = hex::encode(&digest[..8]);
    let last = url
        .normalized
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or("repo");
    let name: String = last
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .take(40)
        .collect();
    let name = name.trim_start_matches('.');
    if name.is_empty() {
        hash
    } else {
        format!("{name}-{hash}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_names_are_stable_and_readable() {
        let a = RepoUrl::parse("https://git.example.com/ml/MLflow.git").unwrap();
        let b = RepoUrl::parse("HTTPS://GIT.example.com/ml/MLflow/").unwrap();
        assert_eq!(mirror_name(&a), mirror_name(&b));
        assert!(
            mirror_name(&a).starts_with("MLflow-"),
            "{}",
            mirror_name(&a)
        );
        let c = RepoUrl::parse("https://git.example.com/ml/other").unwrap();
        assert_ne!(mirror_name(&a), mirror_name(&c));
    }

    #[test]
    fn repo_cache_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RepoCache>();
        assert_send_sync::<SourceError>();
    }
}
