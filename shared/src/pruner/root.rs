//! Whether the bucket root may be pruned. A location at the bucket root (a project whose cache
//! location is the bare bucket) owns the keys without a `/`, and so would own `terraform.tfstate`,
//! a database dump or a release archive left beside it. Root keys are deleted only when the bucket
//! provably holds nothing but cache: every key at the root is named like a cache object
//! ([`cache_shaped`]) and every folder is a cache location, has locations inside and nothing else,
//! or is cache-sentinel's own. The [`survey`] checks that before every run that would prune the
//! root; otherwise the root location is left alone and reported with the reason and the fix.

use super::lister::Lister;
use super::pager::{PageLimits, Pager};
use super::scope::{Owner, Scope};
use super::walk::{Entries, Entry};
use crate::RESERVED_PREFIX;

/// Whether a key at the bucket root may be a cache object. CodeBuild does not document its object
/// names (keys are opaque), but they are machine-made identifiers; what people and tools leave at
/// a bucket root are files named for their type (`terraform.tfstate`, `dump.sql.gz`,
/// `app-1.40.0.zip`, `README`). So: only ASCII letters, digits, `-` and `_`, at least one digit,
/// no extension. A root key that is not is never the root location's.
pub fn cache_shaped(key: &str) -> bool {
    !key.is_empty()
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && key.bytes().any(|b| b.is_ascii_digit())
}

/// What to change so that a root location's projects can be pruned.
pub const ROOT_FIX: &str = "give each project its own prefix (cache location <bucket>/<project>; cache-guard does this with CACHE_PREFIX_PER_PROJECT=true)";

/// Lists the bucket with the delimiter `/` (descending only into folders that hold locations) and
/// stops at the first thing that is not cache. Ok: the bucket holds nothing but cache. Err: why the
/// root location is left alone, with what to change.
pub async fn survey<L: Lister>(scope: &Scope, lister: &L, limits: &PageLimits) -> Result<(), String> {
    let mut stack = vec![Entries::new(String::new(), None)];
    while let Some(top) = stack.last_mut() {
        if let Some(request) = top.request() {
            let mut pager = Pager::new(lister.clone());
            pager.request(request, limits);
            let page = match pager.next().await {
                None => return Err(unproven(pager.stopped.unwrap_or("stopped"))),
                Some(Err(e)) => return Err(unproven(&format!("error: {e}"))),
                Some(Ok(page)) => page,
            };
            if let Some(key) = page.undecodable.first() {
                return Err(other_data(&format!("a key S3 listed that does not decode ({key:?})")));
            }
            if let Err(e) = top.absorb(page) {
                return Err(unproven(&format!("error: {e}")));
            }
        }
        let Some(entry) = top.next_entry() else {
            if top.done() {
                stack.pop();
            }
            continue;
        };
        top.passed(&entry);
        match entry {
            Entry::Key(object) => {
                if scope.owner_of(&object.key) == Owner::Unmanaged {
                    let what = if object.key.contains('/') {
                        format!("{:?} is in no cache location", object.key)
                    } else {
                        format!("{:?} at the bucket root is not named like a cache object", object.key)
                    };
                    return Err(other_data(&what));
                }
            }
            Entry::Folder(name) => {
                let prefix = name.trim_end_matches('/');
                if name == RESERVED_PREFIX || scope.is_claimed(prefix) {
                    continue;
                }
                if scope.claimed_inside(prefix).is_empty() {
                    return Err(other_data(&format!("the folder {name:?} is not a cache location")));
                }
                stack.push(Entries::new(name, None));
            }
        }
    }
    Ok(())
}

fn other_data(what: &str) -> String {
    format!(
        "the bucket also holds other data ({what}): keys at the bucket root are pruned only in a bucket that holds nothing but cache; {ROOT_FIX}"
    )
}

fn unproven(why: &str) -> String {
    format!("the bucket could not be checked to hold only cache in this run ({why}): the bucket root is not pruned")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::s3_objects::ListedObject;
    use crate::pruner::RunLimits;
    use crate::pruner::lister::MemoryLister;
    use crate::pruner::scope::{ExcludedLocation, ManagedLocation};

    fn scope() -> Scope {
        let excluded = ExcludedLocation { prefix: "legacy".into(), reason: "out of scope".into(), projects: vec![] };
        let live = ManagedLocation::live;
        Scope::new(vec![live(""), live("team/api"), live("tts")], vec![excluded])
    }

    async fn verdict(keys: &[&str], limits: &PageLimits) -> Result<(), String> {
        let objects = keys.iter().map(|k| ListedObject { key: (*k).into(), size: 1, last_modified_ms: 0 }).collect();
        survey(&scope(), &MemoryLister::new(objects).with_page_size(2), limits).await
    }

    fn unlimited() -> PageLimits {
        PageLimits::of_run(&RunLimits::default())
    }

    #[test]
    fn machine_made_names_are_cache_shaped_files_are_not() {
        for key in ["9e3779b1", "00000000", "npm-key-abc123", "3f2a_cache_7"] {
            assert!(cache_shaped(key), "{key}");
        }
        for key in ["terraform.tfstate", "dump.sql.gz", "app-1.40.0.zip", "README", "deadbeef", "a b1", "", "x1.tgz"] {
            assert!(!cache_shaped(key), "{key}");
        }
    }

    #[tokio::test]
    async fn a_bucket_of_cache_locations_and_cache_sentinels_own_keys_holds_only_cache() {
        let keys = [".cache-sentinel/pruner/state.json", "0a1b2c3d", "9e3779b1", "legacy/x", "team/api/1", "tts/1"];
        assert_eq!(verdict(&keys, &unlimited()).await, Ok(()));
        assert_eq!(verdict(&[], &unlimited()).await, Ok(()), "an empty bucket");
    }

    #[tokio::test]
    async fn anything_else_leaves_the_root_alone_with_its_name_and_the_fix() {
        let cases: [(&[&str], &str); 4] = [
            (&["0a1b2c3d", "terraform.tfstate"], "\"terraform.tfstate\" at the bucket root"),
            (&["0a1b2c3d", "releases/app-1.zip", "tts/1"], "the folder \"releases/\""),
            (&["0a1b2c3d", "team/README", "team/api/1"], "\"team/README\" is in no cache location"),
            (&["team/api/1", "team/other/x"], "the folder \"team/other/\""),
        ];
        for (keys, says) in cases {
            let why = verdict(keys, &unlimited()).await.unwrap_err();
            assert!(why.contains(says) && why.contains("CACHE_PREFIX_PER_PROJECT"), "{keys:?}: {why}");
        }
    }

    #[tokio::test]
    async fn a_survey_cut_short_proves_nothing() {
        let limits = PageLimits::new(None, Some(1));
        let keys = ["0a1b2c3d", "1a1b2c3d", "2a1b2c3d", "tts/1"];
        let why = verdict(&keys, &limits).await.unwrap_err();
        assert!(why.contains("page limit reached"), "{why}");
    }
}
