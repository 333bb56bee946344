//! Everything in the bucket outside the non-root locations, in one run, each key listed once: the
//! bucket root with the delimiter `/` (its keys belong to a root location if there is one); a folder
//! that is a location is left to that location's run; a folder with locations inside is listed with
//! the delimiter too, descending only where locations are; any other folder is listed in full, to
//! count what is unmanaged exactly (never deleted). A root location is pruned only when
//! `root::survey` proves the bucket holds nothing but cache; otherwise it is left alone, with why.

use super::lister::Lister;
use super::newest::Kept;
use super::pager::Pager;
use super::plan::ObjectMeta;
use super::planner::{Finished, LocationPlanner};
use super::scope::{LocationState, Owner, Scope};
use super::task::{Ending, LocationRun, Shared, send};
use super::walk::{Entries, Entry, Walk};
use crate::RESERVED_PREFIX;
use crate::aws::s3_objects::ListedObject;
use crate::error::AwsError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where the rest of the bucket stopped: the folders being listed with the delimiter (outermost
/// first, each with its position), the unmanaged folder being listed in full, and the root
/// location's N newest so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestProgress {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<(String, Option<String>)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing: Option<(String, Option<String>)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub newest: Vec<Kept>,
}

/// Objects no location owns, by top-level prefix (`name/`, or "" for keys at the bucket root).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unmanaged {
    pub by_prefix: BTreeMap<String, (u64, u64)>,
    /// Keys S3 listed that did not decode (never touched).
    pub undecodable: u64,
}

/// Top-level prefixes counted one by one; past this many, the rest are counted together under
/// [`OTHER_PREFIXES`] (memory stays bounded however the bucket is laid out).
pub const COUNTED_PREFIXES: usize = 10_000;
pub const OTHER_PREFIXES: &str = "(other prefixes)";

impl Unmanaged {
    fn count(&mut self, key: &str, size: u64) {
        let mut top = key.find('/').map_or("", |i| &key[..=i]);
        if self.by_prefix.len() >= COUNTED_PREFIXES && !self.by_prefix.contains_key(top) {
            top = OTHER_PREFIXES;
        }
        let entry = self.by_prefix.entry(top.to_owned()).or_default();
        entry.0 += 1;
        entry.1 += size;
    }
}

/// How the rest of the bucket's run ended.
pub struct RestRun {
    /// The root location's run, when the bucket root is a managed location that was pruned.
    pub root: Option<LocationRun>,
    /// Why the root location was left alone this run (the bucket holds more than cache).
    pub root_left_alone: Option<String>,
    pub unmanaged: Unmanaged,
    /// None: everything was listed. Some: why it stopped, where the next run continues, and the
    /// error when a call failed.
    pub stopped: Option<(String, RestProgress, Option<AwsError>)>,
}

/// The rest of the bucket.
pub struct RestTask<'a> {
    pub scope: &'a Scope,
    pub resume: RestProgress,
    /// List unmanaged folders to count them (sweeps); false: only the root's keys (build runs).
    pub folders: bool,
}

/// What stopped the listing.
enum Halt {
    Limit(String),
    Failed(AwsError),
}

impl RestTask<'_> {
    pub async fn run<L: Lister>(mut self, shared: &Shared<'_, L>) -> RestRun {
        let resume = std::mem::take(&mut self.resume);
        let mut root_left_alone = None;
        if self.scope.root_location().is_some() {
            root_left_alone = super::root::survey(self.scope, shared.lister, shared.limits).await.err();
        }
        let mut planner = self.scope.root_location().filter(|_| root_left_alone.is_none()).map(|i| {
            let orphaned = matches!(self.scope.managed()[i].state, LocationState::Orphaned { .. });
            LocationPlanner::new(shared.policy, shared.quota, "", orphaned, shared.now, resume.newest)
                .born(self.scope.managed()[i].born)
                .writers(self.scope.writers_of(""))
        });
        let mut unmanaged = Unmanaged::default();
        let mut stack: Vec<Entries> = resume.folders.into_iter().map(|(prefix, at)| Entries::new(prefix, at)).collect();
        if stack.is_empty() {
            stack.push(Entries::new(String::new(), None));
        }
        let mut listing = resume.listing;
        let halt = loop {
            if let Some((name, start_after)) = listing.take() {
                match self.list_folder(shared, &name, start_after, &mut unmanaged).await {
                    Ok(()) => {
                        if let Some(parent) = stack.last_mut() {
                            parent.passed(&Entry::Folder(name));
                        }
                    }
                    Err((halt, at)) => {
                        listing = Some((name, at));
                        break Some(halt);
                    }
                }
            }
            if let Some(why) = shared.stop_reason().filter(|_| planner.is_some()) {
                break Some(Halt::Limit(why));
            }
            let Some(top) = stack.last_mut() else { break None };
            if let Some(request) = top.request() {
                let mut pager = Pager::new(shared.lister.clone());
                pager.request(request, shared.limits);
                match pager.next().await {
                    None => break Some(Halt::Limit(pager.stopped.unwrap_or("stopped").to_owned())),
                    Some(Err(e)) => break Some(Halt::Failed(e)),
                    Some(Ok(page)) => {
                        unmanaged.undecodable += page.undecodable.len() as u64;
                        shared.limits.listed(&page.objects);
                        if let Err(e) = top.absorb(page) {
                            break Some(Halt::Failed(e));
                        }
                    }
                }
            }
            let Some(entry) = top.next_entry() else {
                if top.done() {
                    let done = stack.pop().map(|e| e.prefix).unwrap_or_default();
                    if let Some(parent) = stack.last_mut() {
                        parent.passed(&Entry::Folder(done));
                    }
                }
                continue;
            };
            match &entry {
                Entry::Key(object) => {
                    let fed = self.key(shared, object, &mut planner, &mut unmanaged).await;
                    // Passed either way: an object that met the cap is in the heap, and a resumed
                    // run must not add it twice.
                    top.passed(&entry);
                    if !fed {
                        break Some(Halt::Limit(super::task::CAPPED.into()));
                    }
                }
                Entry::Folder(name) if self.claimed(name) || !self.folders => top.passed(&entry),
                Entry::Folder(name) if self.scope.claimed_inside(name.trim_end_matches('/')).is_empty() => {
                    listing = Some((name.clone(), None));
                }
                // Locations inside: descend with the delimiter, so their keys are never listed here.
                Entry::Folder(name) => stack.push(Entries::new(name.clone(), None)),
            }
        };
        let mut run = self.ending(shared, planner, unmanaged, stack, listing, halt).await;
        run.root_left_alone = root_left_alone;
        run
    }

    /// A folder that is another run's business: a location, or cache-sentinel's own.
    fn claimed(&self, folder: &str) -> bool {
        folder == RESERVED_PREFIX || self.scope.is_claimed(folder.trim_end_matches('/'))
    }

    /// A key outside every non-root location: the root location's, or unmanaged. False once the
    /// deletion cap is met.
    async fn key<L: Lister>(
        &self,
        shared: &Shared<'_, L>,
        object: &ListedObject,
        planner: &mut Option<LocationPlanner<'_>>,
        unmanaged: &mut Unmanaged,
    ) -> bool {
        match (self.scope.owner_of(&object.key), planner.as_mut()) {
            (Owner::Managed(_), Some(planner)) => {
                let mut out = Vec::new();
                let meta = ObjectMeta {
                    key: object.key.clone(),
                    size: object.size,
                    last_modified_ms: object.last_modified_ms,
                };
                let fed = planner.push(meta, &mut out);
                send(&shared.deletions, &mut out).await;
                fed
            }
            (Owner::Unmanaged, _) => {
                unmanaged.count(&object.key, object.size);
                true
            }
            _ => true,
        }
    }

    /// Lists a folder with no location inside in full, counting its objects as unmanaged.
    async fn list_folder<L: Lister>(
        &self,
        shared: &Shared<'_, L>,
        name: &str,
        start_after: Option<String>,
        unmanaged: &mut Unmanaged,
    ) -> Result<(), (Halt, Option<String>)> {
        let mut walk = Walk::new(name.to_owned(), vec![], start_after);
        let mut pager = Pager::new(shared.lister.clone());
        pager.request(walk.request(), shared.limits);
        loop {
            let page = match pager.next().await {
                None => {
                    let why = pager.stopped.unwrap_or("stopped").to_owned();
                    return Err((Halt::Limit(why), walk.position().map(str::to_owned)));
                }
                Some(Err(e)) => return Err((Halt::Failed(e), walk.position().map(str::to_owned))),
                Some(Ok(page)) => page,
            };
            unmanaged.undecodable += page.undecodable.len() as u64;
            let objects = walk.advance(page).map_err(|e| (Halt::Failed(e), walk.position().map(str::to_owned)))?;
            if !walk.done() {
                pager.request(walk.request(), shared.limits);
            }
            shared.limits.listed(&objects);
            objects.iter().for_each(|o| unmanaged.count(&o.key, o.size));
            if walk.done() {
                return Ok(());
            }
        }
    }

    async fn ending<L: Lister>(
        &self,
        shared: &Shared<'_, L>,
        planner: Option<LocationPlanner<'_>>,
        unmanaged: Unmanaged,
        stack: Vec<Entries>,
        listing: Option<(String, Option<String>)>,
        halt: Option<Halt>,
    ) -> RestRun {
        let Some(halt) = halt else {
            let mut root = None;
            if let Some(planner) = planner {
                let mut out = Vec::new();
                let finished = planner.finish(&mut out);
                send(&shared.deletions, &mut out).await;
                root = Some(finished_run(finished));
            }
            return RestRun { root, unmanaged, stopped: None, root_left_alone: None };
        };
        let pruned_root = planner.is_some();
        let (summary, newest) = planner.map(|p| p.suspend()).unwrap_or_default();
        let folders = stack.into_iter().map(|e| (e.prefix, e.position)).collect();
        let progress = RestProgress { folders, listing, newest };
        let (why, error) = match halt {
            Halt::Limit(why) => (why, None),
            Halt::Failed(e) => (format!("error: {e}"), Some(e)),
        };
        let root = pruned_root.then(|| LocationRun {
            summary,
            ending: match &error {
                Some(e) => Ending::Failed { error: e.clone(), progress: Default::default() },
                None => Ending::Stopped { why: why.clone(), progress: Default::default() },
            },
        });
        RestRun { root, unmanaged, stopped: Some((why, progress, error)), root_left_alone: None }
    }
}

fn finished_run(finished: Finished) -> LocationRun {
    LocationRun { summary: finished.summary.clone(), ending: Ending::Finished(Box::new(finished)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmanaged_objects_count_by_top_level_prefix_within_a_bound() {
        let mut u = Unmanaged::default();
        u.count("loose", 1);
        u.count("releases/app-1.zip", 10);
        u.count("releases/app-2.zip", 10);
        u.count("a/b/c", 5);
        assert_eq!(u.by_prefix[""], (1, 1));
        assert_eq!(u.by_prefix["releases/"], (2, 20));
        assert_eq!(u.by_prefix["a/"], (1, 5));
        for i in 0..COUNTED_PREFIXES + 5 {
            u.count(&format!("p{i}/x"), 1);
        }
        assert_eq!(u.by_prefix.len(), COUNTED_PREFIXES + 1);
        assert!(u.by_prefix[OTHER_PREFIXES].0 >= 5);
        u.count("releases/app-3.zip", 10);
        assert_eq!(u.by_prefix["releases/"], (3, 30), "prefixes already counted keep counting");
    }
}
