//! BuildKit's S3 cache (`--cache-to type=s3`) inside a cache location. Pure.
//!
//! BuildKit writes each layer once as `<prefix>blobs/sha256:<digest>` and, after every export, a
//! manifest `<prefix>manifests/<name>` (its cache config: JSON whose `layers[].blob` names every
//! blob the cache needs); `blobs/` and `manifests/` are its default prefixes. Deleting a blob a
//! manifest names breaks the next import, and BuildKit refreshes an unchanged blob's LastModified
//! only every `touch_refresh` (24 h), so a blob's age is not its last use. So under such a root
//! the usual rules apply to the manifests only; a blob goes only when no manifest kept names it and
//! it is older than the minimum age. A manifest that cannot be read or parsed leaves the whole
//! BuildKit cache alone, said in the report. The held objects are decided when the location's
//! listing is complete (all of a root's blobs sort before its manifests), never mid-listing.

use super::plan::{Deletion, PrunePolicy, Reason};
use std::collections::{BTreeMap, HashSet};

/// How many BuildKit objects one location may hold for its decision; past it the BuildKit cache
/// is left alone (memory stays bounded at any size: about 250 bytes an object, some 12 MB at most).
pub const HELD_CAP: usize = 50_000;

/// One object held for the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub key: String,
    pub size: u64,
    pub last_modified_ms: i64,
}

/// The blobs and manifests of one BuildKit root (`<location>/<root>`).
#[derive(Debug, Default)]
pub struct Root {
    /// Blob digest (`sha256:...`) -> the object.
    blobs: Vec<(String, Held)>,
    manifests: Vec<Held>,
}

/// The BuildKit caches found in a location's listing so far.
#[derive(Debug, Default)]
pub struct BuildkitCaches {
    roots: BTreeMap<String, Root>,
    held: usize,
    overflow: bool,
}

/// A blob's key (relative to the location): `<root>blobs/sha256:<64 hex>`, root "" or ending in `/`.
pub fn blob_of(tail: &str) -> Option<(&str, &str)> {
    let at = tail.rfind("blobs/sha256:")?;
    let (root, rest) = tail.split_at(at);
    let digest = &rest["blobs/".len()..];
    let hex = &digest["sha256:".len()..];
    let boundary = root.is_empty() || root.ends_with('/');
    (boundary && hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then_some((root, digest))
}

/// The blob digests a manifest (BuildKit's cache config) names; Err when it is not one.
pub fn manifest_blobs(body: &[u8]) -> Result<HashSet<String>, String> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let layers =
        value.get("layers").and_then(|l| l.as_array()).ok_or("no \"layers\" list: not a BuildKit cache config")?;
    layers
        .iter()
        .map(|l| {
            l.get("blob").and_then(|b| b.as_str()).map(str::to_owned).ok_or_else(|| "a layer without \"blob\"".into())
        })
        .collect()
}

impl BuildkitCaches {
    /// Holds the object when it belongs to a BuildKit cache (a blob, or a manifest of a root whose
    /// blobs were seen); false when it is an ordinary cache object.
    pub fn hold(&mut self, tail: &str, object: Held) -> bool {
        if let Some((root, digest)) = blob_of(tail) {
            let digest = digest.to_owned();
            self.count();
            self.roots.entry(root.to_owned()).or_default().blobs.push((digest, object));
            return true;
        }
        let root = self.roots.keys().rev().find(|root| {
            tail.strip_prefix(root.as_str())
                .and_then(|rest| rest.strip_prefix("manifests/"))
                .is_some_and(|n| !n.is_empty())
        });
        if let Some(root) = root.cloned() {
            self.count();
            if let Some(r) = self.roots.get_mut(&root) {
                r.manifests.push(object);
            }
            return true;
        }
        false
    }

    fn count(&mut self) {
        self.held += 1;
        if self.held > HELD_CAP {
            self.overflow = true;
            self.roots.values_mut().for_each(|r| {
                r.blobs.clear();
                r.manifests.clear();
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// The manifests to read before deciding: those the usual rules keep (the N newest of each
    /// root, and the rest until they are older than the maximum age).
    pub fn to_read(&self, policy: &PrunePolicy, now_ms: i64) -> Vec<String> {
        if self.overflow {
            return vec![];
        }
        self.roots.values().flat_map(|r| kept_manifests(r, policy, now_ms).0).map(|m| m.key.clone()).collect()
    }

    /// The deletions, with the manifests' bodies read (`read`: key -> body, or why not), and a
    /// note per root for the report.
    pub fn decide(
        self,
        read: &BTreeMap<String, Result<Vec<u8>, String>>,
        policy: &PrunePolicy,
        now_ms: i64,
        location: &str,
    ) -> (Vec<Deletion>, Vec<String>) {
        let mut out = Vec::new();
        let mut notes = Vec::new();
        if self.overflow {
            notes.push(format!(
                "BuildKit cache left alone: more than {HELD_CAP} BuildKit objects in one location to decide on"
            ));
            return (out, notes);
        }
        let young = |mtime: i64| now_ms.saturating_sub(mtime) < policy.min_age.num_milliseconds();
        for (root, r) in self.roots {
            let at = format!("BuildKit cache at {location}/{root}");
            let (kept, old) = kept_manifests(&r, policy, now_ms);
            let mut named = HashSet::new();
            let mut unreadable = None;
            for m in &kept {
                match read.get(&m.key).map(|b| b.as_ref().map_err(Clone::clone).and_then(|b| manifest_blobs(b))) {
                    Some(Ok(blobs)) => named.extend(blobs),
                    Some(Err(why)) => unreadable = Some(format!("manifest {} unreadable ({why})", m.key)),
                    None => unreadable = Some(format!("manifest {} not read", m.key)),
                }
                if unreadable.is_some() {
                    break;
                }
            }
            if let Some(why) = unreadable {
                notes.push(format!("{at} left alone: {why}"));
                continue;
            }
            if kept.is_empty() && old.is_empty() {
                notes.push(format!("{at} left alone: no manifest names its {} blob(s)", r.blobs.len()));
                continue;
            }
            let stale: Vec<&Held> = old.into_iter().collect();
            for m in &stale {
                out.push(deletion(m, location, Reason::MaxAge));
            }
            let mut unreferenced = 0;
            for (digest, blob) in &r.blobs {
                if !named.contains(digest) && !young(blob.last_modified_ms) {
                    out.push(deletion(blob, location, Reason::Unreferenced));
                    unreferenced += 1;
                }
            }
            notes.push(format!(
                "{at}: {} manifest(s) kept naming {} blob(s); {} stale manifest(s) and {unreferenced} unreferenced blob(s) deleted, of {} blob(s)",
                kept.len(),
                named.len(),
                stale.len(),
                r.blobs.len()
            ));
        }
        (out, notes)
    }
}

/// A root's manifests the rules keep (the N newest; the others until past the maximum age) and
/// the ones past it.
fn kept_manifests<'r>(r: &'r Root, policy: &PrunePolicy, now_ms: i64) -> (Vec<&'r Held>, Vec<&'r Held>) {
    let mut by_age: Vec<&Held> = r.manifests.iter().collect();
    by_age.sort_by(|a, b| b.last_modified_ms.cmp(&a.last_modified_ms).then(a.key.cmp(&b.key)));
    let max_age = policy.max_age.num_milliseconds();
    let (mut kept, mut old) = (Vec::new(), Vec::new());
    for (i, m) in by_age.into_iter().enumerate() {
        if i < policy.keep_newest || now_ms.saturating_sub(m.last_modified_ms) <= max_age {
            kept.push(m);
        } else {
            old.push(m);
        }
    }
    (kept, old)
}

fn deletion(object: &Held, location: &str, reason: Reason) -> Deletion {
    Deletion {
        key: object.key.clone(),
        location: location.to_owned(),
        size: object.size,
        last_modified_ms: object.last_modified_ms,
        reason,
    }
}

#[cfg(test)]
#[path = "buildkit_tests.rs"]
mod tests;
