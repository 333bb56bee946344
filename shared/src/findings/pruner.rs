//! What cache-pruner's sweep says for Security Hub: data in the cache bucket that is no project's
//! cache (never deleted, reported), on the bucket (`AwsS3Bucket`); gone when a whole sweep finds
//! none. A build's run does not count the rest of the bucket, and says nothing. Pure.

use super::asff::{Kind, Subject};
use super::open::Observation;
use crate::pruner::notice::human;
use crate::pruner::report::PruneReport;

pub fn observations(report: &PruneReport) -> Vec<Observation> {
    let Some(unmanaged) = report.unmanaged.as_ref().filter(|_| report.trigger == "scheduled-sweep") else {
        return vec![];
    };
    let subject = Subject::Bucket(report.bucket.clone());
    if unmanaged.objects == 0 {
        return if unmanaged.complete {
            vec![Observation::Gone { kind: Kind::UnmanagedData, subject }]
        } else {
            vec![]
        };
    }
    let top: Vec<String> = unmanaged
        .top_prefixes
        .iter()
        .take(5)
        .map(|p| format!("{} ({} objects, {})", p.prefix, p.objects, human(p.bytes)))
        .collect();
    vec![Observation::Present {
        kind: Kind::UnmanagedData,
        subject,
        title: format!("The cache bucket {} holds data that is no project's cache", report.bucket),
        detail: format!(
            "{} objects ({}) under {} prefixes no CodeBuild project caches to; cache-pruner never deletes them. Largest: {}.",
            unmanaged.objects,
            human(unmanaged.bytes),
            unmanaged.prefixes,
            if top.is_empty() { "-".into() } else { top.join("; ") }
        ),
        remediation: "Move what is not build cache to another bucket, or delete it if nothing needs it: a bucket that holds only cache can be pruned whole, and its lifecycle rules stay simple.".into(),
    }]
}
