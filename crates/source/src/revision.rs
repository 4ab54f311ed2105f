//! Resolving a revision inside a mirror: refs, abbreviated ids, version constraints.
//!
//! Everything here reads the mirror only; fetching is the cache's business.

use std::collections::HashSet;

use gix::ObjectId;

use crate::cache::{Resolved, RevisionKind};
use crate::constraint::{Constraint, parse_version};
use crate::error::{SourceError, scrub};
use crate::url::RepoUrl;

pub(crate) fn is_full_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn is_hex_prefix(s: &str) -> bool {
    (4..40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn parse_oid(s: &str, url: &RepoUrl) -> Result<ObjectId, SourceError> {
    ObjectId::from_hex(s.to_ascii_lowercase().as_bytes()).map_err(|_| SourceError::NotACommitId {
        url: url.display.clone(),
        commit: s.to_string(),
    })
}

pub(crate) fn commit_resolved(oid: ObjectId) -> Resolved {
    Resolved {
        commit: oid.to_string(),
        kind: RevisionKind::Commit,
        reference: None,
    }
}

pub(crate) fn not_found(url: &RepoUrl, rev: &str) -> SourceError {
    SourceError::RevisionNotFound {
        url: url.display.clone(),
        revision: rev.to_string(),
    }
}

pub(crate) fn is_commit(repo: &gix::Repository, oid: ObjectId) -> bool {
    matches!(
        repo.try_find_header(oid),
        Ok(Some(h)) if h.kind() == gix::objs::Kind::Commit
    )
}

pub(crate) fn delete_ref(
    repo: &gix::Repository,
    url: &RepoUrl,
    name: &str,
) -> Result<(), SourceError> {
    use gix::refs::transaction::{Change, PreviousValue, RefEdit, RefLog};
    let Ok(full) = gix::refs::FullName::try_from(name) else {
        return Ok(());
    };
    if !has_ref(repo, name) {
        return Ok(());
    }
    let edit = RefEdit {
        change: Change::Delete {
            expected: PreviousValue::Any,
            log: RefLog::AndReference,
        },
        name: full,
        deref: false,
    };
    repo.edit_references_as([edit], None)
        .map(|_| ())
        .map_err(|e| SourceError::Git {
            url: url.display.clone(),
            action: "deleting ref",
            cause: scrub(&e.to_string(), &[]),
        })
}

pub(crate) fn has_ref(repo: &gix::Repository, name: &str) -> bool {
    matches!(repo.try_find_reference(name), Ok(Some(_)))
}

/// The commit a ref ultimately points to, or `None` if the ref does not exist.
pub(crate) fn peel_ref(
    repo: &gix::Repository,
    url: &RepoUrl,
    name: &str,
) -> Result<Option<ObjectId>, SourceError> {
    let mut reference = match repo.try_find_reference(name) {
        Ok(Some(r)) => r,
        Ok(None) | Err(_) => return Ok(None),
    };
    let commit = reference.peel_to_commit().map_err(|e| SourceError::Git {
        url: url.display.clone(),
        action: "peeling ref to a commit",
        cause: scrub(&e.to_string(), &[]),
    })?;
    Ok(Some(commit.id))
}

pub(crate) fn resolve_head(
    repo: &gix::Repository,
    url: &RepoUrl,
    rev: &str,
) -> Result<Resolved, SourceError> {
    let head = repo.try_find_reference("HEAD").ok().flatten();
    let target = head.as_ref().and_then(|h| match h.target() {
        gix::refs::TargetRef::Symbolic(name) => Some(name.as_bstr().to_string()),
        gix::refs::TargetRef::Object(_) => None,
    });
    match peel_ref(repo, url, "HEAD") {
        Ok(Some(oid)) => Ok(Resolved {
            commit: oid.to_string(),
            kind: RevisionKind::DefaultBranch,
            reference: target,
        }),
        _ => Err(not_found(url, if rev.is_empty() { "HEAD" } else { rev })),
    }
}

pub(crate) fn resolve_constraint(
    repo: &gix::Repository,
    url: &RepoUrl,
    constraint: &Constraint,
) -> Result<Resolved, SourceError> {
    let mut best: Option<(semver::Version, String)> = None;
    for name in tag_names(repo, url)? {
        let Some(version) = parse_version(&name) else {
            continue;
        };
        if !constraint.matches(&version) {
            continue;
        }
        let better = match &best {
            None => true,
            Some((v, n)) => (&version, &name) > (v, n),
        };
        if better {
            best = Some((version, name));
        }
    }
    let (_, tag) = best.ok_or_else(|| SourceError::NoMatchingTag {
        url: url.display.clone(),
        constraint: constraint.to_string(),
    })?;
    let reference = format!("refs/tags/{tag}");
    let oid =
        peel_ref(repo, url, &reference)?.ok_or_else(|| not_found(url, constraint.as_str()))?;
    Ok(Resolved {
        commit: oid.to_string(),
        kind: RevisionKind::Constraint,
        reference: Some(reference),
    })
}

pub(crate) fn tag_names(repo: &gix::Repository, url: &RepoUrl) -> Result<Vec<String>, SourceError> {
    let git_err = |e: gix::Error| SourceError::Git {
        url: url.display.clone(),
        action: "listing tags",
        cause: scrub(&e.to_string(), &[]),
    };
    let platform = repo.references().map_err(git_err)?;
    let mut names = Vec::new();
    for r in platform.tags().map_err(git_err)?.flatten() {
        let full = r.name().as_bstr().to_string();
        if let Some(short) = full.strip_prefix("refs/tags/") {
            names.push(short.to_string());
        }
    }
    Ok(names)
}

pub(crate) fn resolve_name(
    repo: &gix::Repository,
    url: &RepoUrl,
    rev: &str,
) -> Result<Resolved, SourceError> {
    let candidates: [(String, RevisionKind); 2] = [
        (format!("refs/heads/{rev}"), RevisionKind::Branch),
        (format!("refs/tags/{rev}"), RevisionKind::Tag),
    ];
    for (name, kind) in candidates {
        if let Some(oid) = peel_ref(repo, url, &name)? {
            return Ok(Resolved {
                commit: oid.to_string(),
                kind,
                reference: Some(name),
            });
        }
    }
    if rev.starts_with("refs/")
        && let Some(oid) = peel_ref(repo, url, rev)?
    {
        let kind = if rev.starts_with("refs/heads/") {
            RevisionKind::Branch
        } else if rev.starts_with("refs/tags/") {
            RevisionKind::Tag
        } else {
            RevisionKind::Reference
        };
        return Ok(Resolved {
            commit: oid.to_string(),
            kind,
            reference: Some(rev.to_string()),
        });
    }
    if is_hex_prefix(rev)
        && let Some(oid) = lookup_commit_prefix(repo, url, rev)?
    {
        return Ok(commit_resolved(oid));
    }
    Err(not_found(url, rev))
}

/// The one commit whose id starts with `prefix`; an error if several commits do.
pub(crate) fn lookup_commit_prefix(
    repo: &gix::Repository,
    url: &RepoUrl,
    prefix: &str,
) -> Result<Option<ObjectId>, SourceError> {
    let Ok(prefix_id) = gix::hash::Prefix::from_hex(&prefix.to_ascii_lowercase()) else {
        return Ok(None);
    };
    let mut candidates: HashSet<ObjectId> = HashSet::new();
    let lookup = repo
        .objects
        .lookup_prefix(prefix_id, Some(&mut candidates))
        .map_err(|e| SourceError::Git {
            url: url.display.clone(),
            action: "looking up abbreviated commit",
            cause: scrub(&e.to_string(), &[]),
        })?;
    if lookup.is_none() {
        return Ok(None);
    }
    let commits: Vec<ObjectId> = candidates
        .into_iter()
        .filter(|oid| is_commit(repo, *oid))
        .collect();
    match commits.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(SourceError::AmbiguousRevision {
            url: url.display.clone(),
            revision: prefix.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha_shapes() {
        assert!(is_full_sha("0123456789abcdef0123456789abcdef01234567"));
        assert!(!is_full_sha("0123456"));
        assert!(is_hex_prefix("abc1234"));
        assert!(!is_hex_prefix("abc"));
        assert!(!is_hex_prefix("main"));
    }
}
