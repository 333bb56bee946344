//! Where pages come from: S3 (counted, through the adapter), or an in-memory bucket that answers
//! ListObjectsV2 as S3 documents it (prefix, delimiter, start-after, continuation token, 1,000 keys
//! a page), so the whole walk can be property-tested without a network.

use super::calls::ApiCalls;
use super::walk::Request;
use crate::aws::s3_objects::{self, ListPage, ListRequest, ListedObject, PAGE_SIZE};
use crate::error::AwsError;
use aws_sdk_s3::Client;
use std::sync::Arc;

/// A source of ListObjectsV2 pages (cheap to clone: requests run as their own tasks, so the next
/// page is on its way while this one is planned).
pub trait Lister: Clone + Send + Sync + 'static {
    fn list(&self, request: Request) -> impl Future<Output = Result<ListPage, AwsError>> + Send;

    /// GetObject of one small object (a BuildKit manifest): its body, None when it is gone.
    fn read(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, AwsError>> + Send;
}

/// The cache bucket in S3; every call is counted.
#[derive(Debug, Clone)]
pub struct S3Lister {
    pub s3: Client,
    pub bucket: String,
    pub calls: Arc<ApiCalls>,
}

impl Lister for S3Lister {
    async fn list(&self, request: Request) -> Result<ListPage, AwsError> {
        let operation = if request.delimiter.is_some() { "s3:ListObjectsV2(delimiter)" } else { "s3:ListObjectsV2" };
        self.calls.add(operation, 1);
        let request = ListRequest {
            prefix: &request.prefix,
            delimiter: request.delimiter,
            start_after: request.start_after.as_deref(),
            continuation_token: request.token.as_deref(),
        };
        s3_objects::list_page(&self.s3, &self.bucket, request).await
    }

    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, AwsError> {
        self.calls.add("s3:GetObject", 1);
        crate::aws::s3_documents::get_document(&self.s3, &self.bucket, key).await
    }
}

/// A bucket in memory: objects sorted by key (byte order, as S3 sorts UTF-8 keys).
#[derive(Debug, Clone, Default)]
pub struct MemoryLister {
    objects: Arc<Vec<ListedObject>>,
    page_size: usize,
    /// Bodies of the objects that have one (BuildKit manifests); the others read as empty.
    bodies: Arc<std::collections::HashMap<String, Vec<u8>>>,
    /// Answers every request first with a page of no keys that is truncated (as S3 may), whose
    /// token leads to the real page.
    empty_pages: bool,
}

/// Marks the token of an empty page (`MemoryLister::with_empty_pages`).
const EMPTY_PAGE_TOKEN: char = '\u{0}';

impl MemoryLister {
    pub fn new(mut objects: Vec<ListedObject>) -> Self {
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        objects.dedup_by(|a, b| a.key == b.key);
        MemoryLister { objects: Arc::new(objects), page_size: PAGE_SIZE, bodies: Arc::default(), empty_pages: false }
    }

    /// The same bucket answering every request first with an empty truncated page.
    pub fn with_empty_pages(mut self) -> Self {
        self.empty_pages = true;
        self
    }

    /// The same bucket with these objects' bodies.
    pub fn with_bodies(mut self, bodies: std::collections::HashMap<String, Vec<u8>>) -> Self {
        self.bodies = Arc::new(bodies);
        self
    }

    /// Smaller pages, so that tests cross page boundaries with few objects.
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// One page, as S3 answers it. The continuation token is the last key or folder returned.
    pub fn page(&self, request: &Request) -> ListPage {
        let after = request.token.as_deref().or(request.start_after.as_deref());
        let start = after.map_or(0, |a| self.objects.partition_point(|o| o.key.as_str() <= a));
        let mut page = ListPage::default();
        let mut entries = 0;
        let mut last: Option<String> = None;
        for o in self.objects[start..].iter().filter(|o| o.key.starts_with(&request.prefix)) {
            let rest = &o.key[request.prefix.len()..];
            let folder = request
                .delimiter
                .and_then(|d| rest.find(d).map(|i| format!("{}{}", request.prefix, &rest[..i + d.len()])));
            if let Some(folder) = &folder
                && page.prefixes.last() == Some(folder)
            {
                continue;
            }
            // After a folder rolled up from a token, its other keys are not listed again.
            if let (Some(folder), Some(token)) = (&folder, request.token.as_deref())
                && folder.as_str() <= token
            {
                continue;
            }
            if entries == self.page_size {
                page.next_token = last;
                return page;
            }
            entries += 1;
            match folder {
                Some(folder) => {
                    last = Some(folder.clone());
                    page.prefixes.push(folder);
                }
                None => {
                    last = Some(o.key.clone());
                    page.objects.push(o.clone());
                }
            }
        }
        page
    }
}

impl Lister for MemoryLister {
    async fn list(&self, mut request: Request) -> Result<ListPage, AwsError> {
        if self.empty_pages {
            match request.token.as_deref().and_then(|t| t.strip_prefix(EMPTY_PAGE_TOKEN)) {
                // The empty page's token: the position the request had, as a token.
                Some(after) => request.token = Some(after.to_owned()).filter(|a| !a.is_empty()),
                None => {
                    let after = request.token.as_deref().or(request.start_after.as_deref()).unwrap_or("");
                    return Ok(ListPage {
                        next_token: Some(format!("{EMPTY_PAGE_TOKEN}{after}")),
                        ..ListPage::default()
                    });
                }
            }
        }
        Ok(self.page(&request))
    }

    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, AwsError> {
        let exists = self.objects.binary_search_by(|o| o.key.as_str().cmp(key)).is_ok();
        Ok(exists.then(|| self.bodies.get(key).cloned().unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(keys: &[&str]) -> MemoryLister {
        MemoryLister::new(
            keys.iter().map(|k| ListedObject { key: (*k).into(), size: 1, last_modified_ms: 0 }).collect(),
        )
    }

    fn keys(page: &ListPage) -> Vec<&str> {
        page.objects.iter().map(|o| o.key.as_str()).collect()
    }

    #[test]
    fn pages_follow_prefix_start_after_and_tokens() {
        let b = bucket(&["a/1", "a/2", "a/3", "b/1", "c"]).with_page_size(2);
        let first = b.page(&Request { prefix: "a/".into(), ..Request::default() });
        assert_eq!((keys(&first), first.next_token.as_deref()), (vec!["a/1", "a/2"], Some("a/2")));
        let second = b.page(&Request { prefix: "a/".into(), token: first.next_token, ..Request::default() });
        assert_eq!((keys(&second), second.next_token.clone()), (vec!["a/3"], None));
        let after = b.page(&Request { start_after: Some("a/3".into()), ..Request::default() });
        assert_eq!(keys(&after), vec!["b/1", "c"]);
    }

    #[test]
    fn a_delimiter_rolls_folders_up_once() {
        let b = bucket(&["a/1", "a/2", "b/1", "c", "d/x/y"]).with_page_size(2);
        let request = Request { delimiter: Some("/"), ..Request::default() };
        let first = b.page(&request);
        assert_eq!(
            (first.prefixes.clone(), first.next_token.as_deref()),
            (vec!["a/".to_owned(), "b/".to_owned()], Some("b/"))
        );
        let second = b.page(&Request { token: first.next_token, ..request.clone() });
        assert_eq!((keys(&second), second.prefixes.clone()), (vec!["c"], vec!["d/".to_owned()]));
        assert_eq!(second.next_token, None);
    }
}
