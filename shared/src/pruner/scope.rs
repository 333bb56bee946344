//! Which keys of the bucket the pruner may touch: the cache locations CodeBuild projects use, and
//! nothing else.
//!
//! A key belongs to the longest location that is a path prefix of it (`<location>/` is a prefix of
//! the key: `tts` does not own `tts-api/x`). A location at the bucket root owns only keys without a
//! `/`, and of those only the ones named like a cache object (`root::cache_shaped`: never
//! `terraform.tfstate`): every other location has a non-empty prefix and owns only keys with a `/`,
//! so no key has two owners and a root location never makes `releases/...` or `tf.backups/...` its
//! business. Whether the root may be pruned at all is `root::survey`'s question. Keys
//! under [`RESERVED_PREFIX`](crate::RESERVED_PREFIX) belong to cache-sentinel itself; keys no
//! location owns are unmanaged: counted and reported, never deleted.

use super::writers::Writers;
use crate::RESERVED_PREFIX;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// How the pruner treats a managed location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum LocationState {
    /// At least one project uses it: keep the N newest, apply ages and budgets.
    Live,
    /// No project uses it any more, since `missing_since`; within the grace period (or with orphan
    /// deletion off) it is pruned like a live location.
    Missing { missing_since: DateTime<Utc> },
    /// Missing for longer than the grace period: every object past the minimum age goes.
    Orphaned { missing_since: DateTime<Utc> },
}

impl LocationState {
    pub fn as_str(&self) -> &'static str {
        match self {
            LocationState::Live => "live",
            LocationState::Missing { .. } => "missing",
            LocationState::Orphaned { .. } => "orphaned",
        }
    }
}

/// A cache location the pruner prunes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagedLocation {
    /// The key prefix without a trailing `/`; "" is the bucket root.
    pub prefix: String,
    #[serde(flatten)]
    pub state: LocationState,
    /// The projects using it now (none when missing).
    pub projects: Vec<String>,
    /// Their `cacheNamespace`s, if any.
    pub namespaces: Vec<String>,
    /// When its first project was created (the earliest `created` of every project seen using it):
    /// an object older than that predates the location and is never its cache. None: not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub born: Option<DateTime<Utc>>,
}

#[cfg(test)]
impl ManagedLocation {
    /// A live location with no projects (tests).
    pub fn live(prefix: &str) -> Self {
        ManagedLocation {
            prefix: prefix.into(),
            state: LocationState::Live,
            projects: vec![],
            namespaces: vec![],
            born: None,
        }
    }
}

/// A cache location the pruner leaves alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExcludedLocation {
    pub prefix: String,
    pub reason: String,
    pub projects: Vec<String>,
}

/// Who owns a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The managed location at this index of [`Scope::managed`].
    Managed(usize),
    /// The excluded location at this index of [`Scope::excluded`].
    Excluded(usize),
    /// cache-sentinel's own keys.
    Reserved,
    Unmanaged,
}

/// The managed and excluded locations of one bucket, and the ownership of every key.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    managed: Vec<ManagedLocation>,
    excluded: Vec<ExcludedLocation>,
    /// Non-root prefix -> owner.
    claims: HashMap<String, Owner>,
    /// The owner of keys without a `/`, when a location is at the bucket root.
    root: Option<Owner>,
    /// The writers of each shared live location (`writers`), by prefix.
    writers: HashMap<String, Writers>,
}

impl Scope {
    /// A scope of these locations, sorted by prefix. A prefix listed twice keeps its first entry;
    /// a prefix under the reserved prefix is never managed.
    pub fn new(mut managed: Vec<ManagedLocation>, mut excluded: Vec<ExcludedLocation>) -> Self {
        managed.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        managed.dedup_by(|a, b| a.prefix == b.prefix);
        let (reserved, kept): (Vec<_>, Vec<_>) = managed.into_iter().partition(|m| is_reserved(&m.prefix));
        managed = kept;
        excluded.extend(reserved.into_iter().map(|m| ExcludedLocation {
            reason: format!("under {RESERVED_PREFIX}, cache-sentinel's own prefix"),
            prefix: m.prefix,
            projects: m.projects,
        }));
        excluded.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        excluded.dedup_by(|a, b| a.prefix == b.prefix);
        excluded.retain(|e| managed.binary_search_by(|m| m.prefix.cmp(&e.prefix)).is_err());
        let mut scope = Scope { managed, excluded, claims: HashMap::new(), root: None, writers: HashMap::new() };
        let owners: Vec<(String, Owner)> =
            (scope.managed.iter().enumerate().map(|(i, m)| (m.prefix.clone(), Owner::Managed(i))))
                .chain(scope.excluded.iter().enumerate().map(|(i, e)| (e.prefix.clone(), Owner::Excluded(i))))
                .collect();
        for (prefix, owner) in owners {
            if prefix.is_empty() {
                scope.root = Some(owner);
            } else {
                scope.claims.insert(prefix, owner);
            }
        }
        scope
    }

    pub fn managed(&self) -> &[ManagedLocation] {
        &self.managed
    }

    /// Live locations that two or more projects use: whose N newest are kept per project.
    pub fn shared_locations(&self) -> impl Iterator<Item = &ManagedLocation> {
        self.managed.iter().filter(|m| m.state == LocationState::Live && m.projects.len() > 1)
    }

    /// Who wrote the objects of a shared location, once read (`CachePruner::read_writers`).
    pub fn set_writers(&mut self, prefix: &str, writers: Writers) {
        self.writers.insert(prefix.to_owned(), writers);
    }

    pub fn writers_of(&self, prefix: &str) -> Option<&Writers> {
        self.writers.get(prefix)
    }

    pub fn excluded(&self) -> &[ExcludedLocation] {
        &self.excluded
    }

    /// The managed location at the bucket root, if any.
    pub fn root_location(&self) -> Option<usize> {
        match self.root {
            Some(Owner::Managed(i)) => Some(i),
            _ => None,
        }
    }

    /// Whether the bucket root is a location (managed or excluded).
    pub fn root_claimed(&self) -> bool {
        self.root.is_some()
    }

    /// The owner of a key: the longest location that is a path prefix of it.
    pub fn owner_of(&self, key: &str) -> Owner {
        if key.starts_with(RESERVED_PREFIX) {
            return Owner::Reserved;
        }
        for (i, _) in key.char_indices().rev().filter(|(_, c)| *c == '/') {
            if let Some(owner) = self.claims.get(&key[..i]) {
                return *owner;
            }
        }
        match self.root {
            Some(owner) if !key.contains('/') && super::root::cache_shaped(key) => owner,
            _ => Owner::Unmanaged,
        }
    }

    /// The one check before every delete call: the key belongs to a managed location.
    pub fn may_delete(&self, key: &str) -> bool {
        matches!(self.owner_of(key), Owner::Managed(_))
    }

    /// Whether a non-root prefix (no trailing `/`) is a location, managed or excluded.
    pub fn is_claimed(&self, prefix: &str) -> bool {
        self.claims.contains_key(prefix)
    }

    /// The locations strictly inside `prefix/` (`prefix` "" = the whole bucket), as `<location>/`,
    /// sorted: a listing of `prefix/` skips them, their own listings cover them.
    pub fn claimed_inside(&self, prefix: &str) -> Vec<String> {
        let mut inside: Vec<String> = self
            .claims
            .keys()
            .filter(|p| {
                prefix.is_empty()
                    || (p.len() > prefix.len() + 1 && p.starts_with(prefix) && p.as_bytes()[prefix.len()] == b'/')
            })
            .map(|p| format!("{p}/"))
            .collect();
        inside.sort();
        // A location inside another skipped one is covered by the outer skip.
        let mut outer: Vec<String> = Vec::with_capacity(inside.len());
        for p in inside {
            if !outer.last().is_some_and(|o| p.starts_with(o.as_str())) {
                outer.push(p);
            }
        }
        outer
    }
}

/// Whether a prefix is cache-sentinel's own.
pub fn is_reserved(prefix: &str) -> bool {
    let with_slash = format!("{prefix}/");
    with_slash.starts_with(RESERVED_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(prefix: &str) -> ManagedLocation {
        ManagedLocation::live(prefix)
    }

    fn excluded(prefix: &str) -> ExcludedLocation {
        ExcludedLocation { prefix: prefix.into(), reason: "out of scope".into(), projects: vec![] }
    }

    #[test]
    fn a_key_belongs_to_the_longest_location_on_a_path_boundary() {
        let scope = Scope::new(vec![live("team-cache"), live("team-cache/tts-api"), live("tts")], vec![]);
        let index = |p: &str| scope.managed().iter().position(|m| m.prefix == p).unwrap();
        assert_eq!(scope.owner_of("team-cache/tts-api/x"), Owner::Managed(index("team-cache/tts-api")));
        assert_eq!(scope.owner_of("team-cache/tts-api-2/x"), Owner::Managed(index("team-cache")));
        assert_eq!(scope.owner_of("team-cache/x"), Owner::Managed(index("team-cache")));
        assert_eq!(scope.owner_of("tts/a"), Owner::Managed(index("tts")));
        assert_eq!(scope.owner_of("tts-api/x"), Owner::Unmanaged, "tts does not own tts-api");
        assert_eq!(scope.owner_of("tts"), Owner::Unmanaged, "the location's name is not inside it");
        assert_eq!(scope.owner_of("loose"), Owner::Unmanaged, "no root location");
        assert_eq!(scope.owner_of(".cache-sentinel/pruner/state.json"), Owner::Reserved);
    }

    #[test]
    fn a_root_location_owns_only_keys_without_a_slash() {
        let scope = Scope::new(vec![live(""), live("tts")], vec![excluded("legacy")]);
        assert_eq!(scope.root_location(), Some(0));
        assert_eq!(scope.owner_of("3f2a9c01"), Owner::Managed(0));
        assert_eq!(scope.owner_of("terraform.tfstate"), Owner::Unmanaged, "not named like a cache object");
        assert_eq!(scope.owner_of("releases/app-1.40.0.zip"), Owner::Unmanaged);
        assert_eq!(scope.owner_of("tf.backups/state-1.tfstate"), Owner::Unmanaged);
        assert_eq!(scope.owner_of("tts/a"), Owner::Managed(1));
        assert_eq!(scope.owner_of("legacy/a"), Owner::Excluded(0));
        assert!(!scope.may_delete("legacy/a") && !scope.may_delete("releases/x") && scope.may_delete("x1"));
    }

    #[test]
    fn reserved_and_duplicate_prefixes_are_never_managed() {
        let scope = Scope::new(vec![live(".cache-sentinel/x"), live("a"), live("a")], vec![excluded("a")]);
        assert_eq!(scope.managed().len(), 1);
        assert_eq!(scope.excluded().iter().map(|e| e.prefix.as_str()).collect::<Vec<_>>(), vec![".cache-sentinel/x"]);
        assert!(!scope.may_delete(".cache-sentinel/x/y"));
    }

    #[test]
    fn listings_skip_the_locations_inside_them() {
        let scope = Scope::new(
            vec![live("team"), live("team/a"), live("team/a/b"), live("team/b"), live("teamx")],
            vec![excluded("team/c")],
        );
        assert_eq!(scope.claimed_inside("team"), vec!["team/a/", "team/b/", "team/c/"]);
        assert_eq!(scope.claimed_inside("team/a"), vec!["team/a/b/"]);
        assert!(scope.claimed_inside("teamx").is_empty());
        assert_eq!(scope.claimed_inside(""), vec!["team/", "teamx/"]);
    }
}
