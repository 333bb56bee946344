//! How a prefix is listed, as pure state machines over ListObjectsV2 pages: [`Walk`] lists one
//! prefix and skips the locations inside it (each listed by its own walk); [`Entries`] merges a
//! delimiter page of a folder (its keys and its subfolders) into key order.
//!
//! Skipping a location inside the listed prefix costs at most one call: once a page ends inside
//! it, the next request starts after it ([`past`]) instead of following the continuation token.
//!
//! Every listing makes progress or stops with a named error ([`no_progress`]): S3 may answer a
//! truncated page with no keys (ListObjectsV2 documents `IsTruncated` independently of `KeyCount`),
//! and then the walk follows the page's continuation token, never the position it already asked for.

use crate::aws::s3_objects::{ListPage, ListedObject};
use crate::error::{AwsError, AwsErrorKind};
use std::collections::VecDeque;

/// The error of a listing whose next request would be the one just answered: S3 (or an emulator)
/// gave a truncated page that moves neither the position nor the token. Transient (an S3 service
/// fault), so the run fails and is retried, and resumes from where it was.
pub fn no_progress(request: &Request) -> AwsError {
    AwsError::new(
        "s3:ListObjectsV2",
        AwsErrorKind::Service,
        "ListingMadeNoProgress",
        format!(
            "the listing of {:?} makes no progress: a truncated page (start-after {:?}, token {:?}) \
             would be asked for again unchanged",
            request.prefix, request.start_after, request.token
        ),
    )
}

/// A start-after key beyond every key under `prefix_with_slash` (keys are at most 1,024 bytes and
/// U+10FFFF is the largest character; a key longer still would be listed again and skipped).
pub fn past(prefix_with_slash: &str) -> String {
    let mut key = String::with_capacity(prefix_with_slash.len() + 16);
    key.push_str(prefix_with_slash);
    key.extend(std::iter::repeat_n('\u{10FFFF}', 4));
    key
}

/// What to ask S3 for next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub prefix: String,
    pub delimiter: Option<&'static str>,
    pub start_after: Option<String>,
    pub token: Option<String>,
}

/// The listing of one prefix, page by page, skipping the locations inside it.
#[derive(Debug, Clone)]
pub struct Walk {
    prefix: String,
    /// `<location>/` of the locations inside, sorted, none inside another.
    skip: Vec<String>,
    start_after: Option<String>,
    token: Option<String>,
    done: bool,
}

impl Walk {
    /// Lists `prefix` (ending in `/`, or "" for the whole bucket) from after `start_after`.
    pub fn new(prefix: String, skip: Vec<String>, start_after: Option<String>) -> Self {
        Walk { prefix, skip, start_after, token: None, done: false }
    }

    pub fn done(&self) -> bool {
        self.done
    }

    /// Where a later run continues: after this key.
    pub fn position(&self) -> Option<&str> {
        self.start_after.as_deref()
    }

    /// The next request.
    pub fn request(&self) -> Request {
        Request {
            prefix: self.prefix.clone(),
            delimiter: None,
            start_after: if self.token.is_some() { None } else { self.start_after.clone() },
            token: self.token.clone(),
        }
    }

    /// The skipped location a key is in, if any.
    fn skipped(&self, key: &str) -> Option<&str> {
        let i = self.skip.partition_point(|s| s.as_str() <= key);
        i.checked_sub(1).map(|i| self.skip[i].as_str()).filter(|s| key.starts_with(s))
    }

    /// Takes a page: the objects to plan (in order, skipped locations left out), and moves on.
    /// Err when the next request would be the one this page answered ([`no_progress`]).
    pub fn advance(&mut self, page: ListPage) -> Result<Vec<ListedObject>, AwsError> {
        let asked = self.request();
        let last = page.objects.last().map(|o| o.key.clone());
        let objects: Vec<ListedObject> = page.objects.into_iter().filter(|o| self.skipped(&o.key).is_none()).collect();
        match page.next_token {
            None => self.done = true,
            // Only a key of this page can be inside a skipped location: a page with no keys leaves
            // the position where it was (perhaps just past a location) and its token goes on.
            Some(token) => match last.as_deref().and_then(|k| self.skipped(k)) {
                // The listing went into a location listed by its own walk: jump over it.
                Some(inside) => {
                    self.start_after = Some(past(inside));
                    self.token = None;
                }
                None => self.token = Some(token),
            },
        }
        if let Some(last) = last.filter(|_| self.token.is_some() || self.done) {
            self.start_after = Some(last);
        }
        if !self.done && self.request() == asked {
            return Err(no_progress(&asked));
        }
        Ok(objects)
    }
}

/// An entry of a folder listed with the delimiter `/`: a key, or a subfolder (`.../name/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Key(ListedObject),
    Folder(String),
}

impl Entry {
    /// The key or folder name, as S3 orders them.
    pub fn name(&self) -> &str {
        match self {
            Entry::Key(o) => &o.key,
            Entry::Folder(f) => f,
        }
    }
}

/// A folder ("" = the bucket root), listed with the delimiter `/` page by page from a position.
#[derive(Debug, Clone, Default)]
pub struct Entries {
    pub prefix: String,
    /// Continue after this key or folder.
    pub position: Option<String>,
    pending: VecDeque<Entry>,
    /// The token of a truncated page that brought nothing new: the next request follows it.
    token: Option<String>,
    exhausted: bool,
}

impl Entries {
    pub fn new(prefix: String, position: Option<String>) -> Self {
        Entries { prefix, position, pending: VecDeque::new(), token: None, exhausted: false }
    }

    /// The next request, when the entries of the last page are used up and more may follow.
    pub fn request(&self) -> Option<Request> {
        (self.pending.is_empty() && !self.exhausted).then(|| Request {
            prefix: self.prefix.clone(),
            delimiter: Some("/"),
            start_after: if self.token.is_some() { None } else { self.position.clone() },
            token: self.token.clone(),
        })
    }

    /// Merges a page's keys and folders in key order. Entries at or before the position are left
    /// out: S3 rolls a folder up again when a key of it sorts after a start-after inside it. A
    /// truncated page that brings nothing new (no entries, or only that folder again) is followed
    /// by its token; Err when the next request would be the one this page answered.
    pub fn absorb(&mut self, page: ListPage) -> Result<(), AwsError> {
        let asked = self.request();
        let after = |name: &str| self.position.as_deref().is_none_or(|p| name > p);
        let mut entries: Vec<Entry> = page
            .objects
            .into_iter()
            .map(Entry::Key)
            .chain(page.prefixes.into_iter().map(Entry::Folder))
            .filter(|e| after(e.name()))
            .collect();
        entries.sort_by(|a, b| a.name().cmp(b.name()));
        self.pending.extend(entries);
        self.exhausted = page.next_token.is_none();
        self.token = page.next_token.filter(|_| self.pending.is_empty());
        match asked {
            Some(asked) if self.request().as_ref() == Some(&asked) => Err(no_progress(&asked)),
            _ => Ok(()),
        }
    }

    /// The next entry of the folder, in key order.
    pub fn next_entry(&mut self) -> Option<Entry> {
        self.pending.pop_front()
    }

    /// The entry is done with: a later run continues after it (after everything in a folder).
    pub fn passed(&mut self, entry: &Entry) {
        self.position = Some(match entry {
            Entry::Key(o) => o.key.clone(),
            Entry::Folder(f) => past(f),
        });
    }

    pub fn done(&self) -> bool {
        self.exhausted && self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(keys: &[&str], token: Option<&str>) -> ListPage {
        ListPage {
            objects: keys.iter().map(|k| ListedObject { key: (*k).into(), size: 1, last_modified_ms: 0 }).collect(),
            next_token: token.map(str::to_owned),
            ..ListPage::default()
        }
    }

    #[test]
    fn a_walk_skips_inner_locations_and_jumps_over_them() {
        let mut walk = Walk::new("team/".into(), vec!["team/a/".into()], None);
        assert_eq!(walk.request(), Request { prefix: "team/".into(), ..Request::default() });
        let got = walk.advance(page(&["team/0", "team/a/1", "team/a/2"], Some("t1"))).unwrap();
        assert_eq!(got.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), vec!["team/0"]);
        // The page ended inside team/a/: the next request starts after it, without the token.
        let next = walk.request();
        assert_eq!((next.start_after, next.token), (Some(past("team/a/")), None));
        let got = walk.advance(page(&["team/b"], Some("t2"))).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(walk.request().token.as_deref(), Some("t2"));
        walk.advance(page(&[], None)).unwrap();
        assert!(walk.done());
        assert!(past("team/a/").as_str() > "team/a/zzzz" && past("team/a/").as_str() < "team/b");
    }

    #[test]
    fn an_empty_truncated_page_after_a_jump_follows_its_token() {
        let mut walk = Walk::new("team/".into(), vec!["team/a/".into()], None);
        walk.advance(page(&["team/0", "team/a/1"], Some("t1"))).unwrap();
        let jump = walk.request();
        assert_eq!((jump.start_after.clone(), jump.token.clone()), (Some(past("team/a/")), None));
        // S3 answers the jump with no keys and IsTruncated=true: the token goes on.
        assert!(walk.advance(page(&[], Some("t2"))).unwrap().is_empty());
        let next = walk.request();
        assert_ne!(next, jump, "the same request again would be answered the same way, forever");
        assert_eq!(next.token.as_deref(), Some("t2"));
        assert_eq!(walk.position(), Some(past("team/a/").as_str()), "a resumed run starts after the location");
        let got = walk.advance(page(&["team/b"], None)).unwrap();
        assert_eq!((got.len(), walk.done()), (1, true));
    }

    #[test]
    fn a_page_that_moves_neither_position_nor_token_is_a_named_error() {
        let mut walk = Walk::new("team/".into(), vec![], None);
        walk.advance(page(&["team/0"], Some("t1"))).unwrap();
        let error = walk.advance(page(&[], Some("t1"))).unwrap_err();
        assert_eq!(error.code, "ListingMadeNoProgress");
        assert!(error.is_transient(), "the run fails and is retried");
        assert!(error.to_string().contains("\"team/\""), "{error}");
        // A delimiter listing too: a truncated page with nothing new, then the same token again.
        let mut root = Entries::new(String::new(), None);
        root.absorb(page(&[], Some("t1"))).unwrap();
        assert_eq!(root.request().and_then(|r| r.token).as_deref(), Some("t1"));
        assert_eq!(root.absorb(page(&[], Some("t1"))).unwrap_err().code, "ListingMadeNoProgress");
    }

    #[test]
    fn a_delimiter_page_with_nothing_new_is_followed_not_taken_for_the_end() {
        // Only the folder rolled up again (at the position), and more to come.
        let mut root = Entries::new(String::new(), Some(past("b/")));
        let mut p = page(&[], Some("t1"));
        p.prefixes = vec!["b/".into()];
        root.absorb(p).unwrap();
        assert!(!root.done(), "the rest of the bucket is still to list");
        let next = root.request().unwrap();
        assert_eq!((next.start_after, next.token.as_deref()), (None, Some("t1")));
        root.absorb(page(&["c"], None)).unwrap();
        assert_eq!(root.next_entry().map(|e| e.name().to_owned()).as_deref(), Some("c"));
        assert!(root.done());
    }

    #[test]
    fn entries_merge_keys_and_folders_in_order_and_never_repeat() {
        let mut root = Entries::new(String::new(), None);
        let mut p = page(&["a.tgz", "z.tgz"], None);
        p.prefixes = vec!["b/".into(), "releases/".into()];
        assert_eq!(root.request().unwrap().delimiter, Some("/"));
        root.absorb(p).unwrap();
        let mut names = vec![];
        while let Some(e) = root.next_entry() {
            names.push(e.name().to_owned());
            root.passed(&e);
        }
        assert_eq!(names, vec!["a.tgz", "b/", "releases/", "z.tgz"]);
        assert!(root.done() && root.request().is_none());
        // A folder rolled up again after a start-after past it is left out.
        let mut root = Entries::new(String::new(), Some(past("b/")));
        let mut p = page(&["c"], None);
        p.prefixes = vec!["b/".into()];
        root.absorb(p).unwrap();
        assert_eq!(root.next_entry().map(|e| e.name().to_owned()).as_deref(), Some("c"));
        assert_eq!(root.next_entry(), None);
    }
}
