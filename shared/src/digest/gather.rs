//! What a digest is made of, read in account-wide listings so that its calls grow with builds and
//! projects, never with their product:
//! * the projects in scope: ListProjects (100 a page), BatchGetProjects (100 a call);
//! * the builds: ListBuilds newest first (100 a page) and BatchGetBuilds (100 a call), back to twice
//!   the window (the week's builds and the history the earliest of them is judged against), at most
//!   `MAX_BUILD_PAGES` pages; each build judged as the monitor judges it (`recent_builds`);
//! * the monitor's cache records of every project: one paged ListObjectsV2 of
//!   `.cache-sentinel/evidence/` (they expire after 30 days), at most `MAX_RECORD_PAGES` pages;
//! * the guard's refused heals: one paged ListObjectsV2 of its refusal markers;
//! * what the pruner freed: one paged ListObjectsV2 of its records of the account and region
//!   (`pruner::freed`), newest first, down to the window's start.
//!
//! A failed project or build listing fails the digest (it would be wrong); a failed record
//! listing makes those projects' cache "not known", and says why.

use super::standing::{CacheFacts, cache_line};
use super::week::ProjectWeek;
use crate::aws::codebuild::{CodeBuildProjects, build_facts};
use crate::aws::s3::Markers;
use crate::aws::s3_documents::get_document;
use crate::aws::s3_objects::{ListRequest, list_keys, list_page};
use crate::build::BuildFacts;
use crate::error::AwsError;
use crate::guard::dedup::{NAMESPACE as GUARD_NAMESPACE, refusal_marker};
use crate::guard::plan::{RefusalCause, plan_project};
use crate::monitor::MonitorConfig;
use crate::monitor::streak::{self, Record};
use crate::project::ProjectSnapshot;
use crate::pruner::deployment::Deployment;
use crate::pruner::freed::{self, Listed};
use crate::recent_builds::judge_recent;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// At most this many ListBuilds pages (20,000 builds): an account building more than that in two
/// windows gets a digest of the builds read, and says so.
pub const MAX_BUILD_PAGES: u32 = 200;
/// At most this many pages of the monitor's records (100,000 builds in 30 days).
pub const MAX_RECORD_PAGES: u32 = 100;
/// At most this many pages of the pruner's records (100,000 location runs in the window).
const MAX_FREED_PAGES: u32 = 100;
/// At most this many pages of the guard's refusal markers.
const MAX_REFUSAL_PAGES: u32 = 10;

/// Where the digest reads from.
pub struct Sources<'a> {
    pub codebuild: &'a CodeBuildProjects,
    pub s3: &'a aws_sdk_s3::Client,
    pub config: &'a MonitorConfig,
    /// The cache bucket holding the monitor's records and the guard's markers (None: unknown).
    pub bucket: Option<&'a str>,
    /// Whose pruner records to read: the account (None: unknown) and region.
    pub account: Option<&'a str>,
    pub region: &'a str,
}

/// How much was read, for the report and the notes under the digest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reading {
    pub projects_in_scope: usize,
    pub build_pages: u32,
    pub builds_read: u32,
    /// The build listing reached the start of the history it needs (false: stopped at the cap).
    pub history_complete: bool,
    pub record_pages: u32,
    pub records_read: usize,
    /// The pruner's records of the window read (one per location and run that deleted).
    pub pruned_records: usize,
    /// Said under the digest: what could not be read.
    pub notes: Vec<String>,
}

/// The weeks of the projects worth a line, and how many had nothing to say.
pub struct Gathered {
    pub weeks: Vec<ProjectWeek>,
    pub quiet: usize,
    /// What the pruner freed in the window, in every location (None: its records were not read).
    pub pruned: Option<u64>,
    pub reading: Reading,
}

/// Reads everything the digest of `[from, to)` needs.
pub async fn gather(src: &Sources<'_>, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Gathered, AwsError> {
    let mut reading = Reading::default();
    let names = src.codebuild.list_names().await?;
    let in_scope: Vec<String> = names.into_iter().filter(|n| src.config.common.projects.check(n).is_ok()).collect();
    let (mut projects, _vanished) = src.codebuild.get(&in_scope).await?;
    projects.sort_by(|a, b| a.name.cmp(&b.name));
    reading.projects_in_scope = projects.len();
    let wanted: HashSet<&str> = projects.iter().map(|p| p.name.as_str()).collect();
    let history_from = from - (to - from);
    let builds = read_builds(src, &wanted, history_from, &mut reading).await?;
    let records = match src.bucket {
        Some(bucket) => read_records(src, bucket, &mut reading).await,
        None => Err("no cache bucket known (CACHE_BUCKET)".to_owned()),
    };
    let refusals = match src.bucket {
        Some(bucket) => read_refusals(src, bucket).await.unwrap_or_else(|e| {
            reading.notes.push(format!("the guard's refusals could not be read: {e}"));
            HashSet::new()
        }),
        None => HashSet::new(),
    };
    let freed = match src.bucket {
        Some(bucket) => read_freed(src, bucket, from, to, &mut reading).await.map_err(|e| e.to_string()),
        None => Err("no cache bucket known (CACHE_BUCKET)".to_owned()),
    };
    let mut by_project: BTreeMap<&str, Vec<BuildFacts>> = BTreeMap::new();
    for build in builds {
        if let Some(list) = by_project.get_mut(build.project.as_str()) {
            list.push(build);
        } else if let Some(name) = wanted.get(build.project.as_str()) {
            by_project.insert(name, vec![build]);
        }
    }
    let markers = src.bucket.map(|b| Markers::new(src.s3.clone(), b, GUARD_NAMESPACE));
    let (mut weeks, mut quiet) = (Vec::new(), 0);
    for project in &projects {
        let history = by_project.get(project.name.as_str()).map_or(&[][..], Vec::as_slice);
        let mut week = project_week(src, project, history, (from, to), &records, &refusals, markers.as_ref());
        if let (Ok(freed), Some(location)) =
            (&freed, project.cache.location.as_deref().filter(|_| project.cache.is_s3()))
        {
            week.bytes_pruned = freed.get(location.trim_end_matches('/')).copied();
        }
        if week.builds.is_empty() && !week.cache.needs_work() {
            quiet += 1;
        } else {
            weeks.push(week);
        }
    }
    if let Err(why) = &records {
        reading.notes.push(format!("the monitor's cache records could not be read: {why}"));
    }
    if let Err(why) = &freed {
        reading.notes.push(format!("what the pruner freed could not be read: {why}"));
    }
    let pruned = freed.ok().map(|f| f.values().sum());
    Ok(Gathered { weeks, quiet, pruned, reading })
}

fn project_week(
    src: &Sources<'_>,
    project: &ProjectSnapshot,
    history: &[BuildFacts],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    records: &Result<BTreeMap<String, Vec<Record>>, String>,
    refused_keys: &HashSet<String>,
    markers: Option<&Markers>,
) -> ProjectWeek {
    let in_window = |b: &BuildFacts| b.start.is_some_and(|s| s >= from && s < to);
    // Newest first by number: the builds of the window and any after it, judged; those after dropped.
    let show = history.iter().filter(|b| b.start.is_none_or(|s| s >= from)).count();
    let judged = judge_recent(&project.name, history, show, src.config, to);
    let builds: Vec<_> = judged.builds.into_iter().filter(|r| r.start.is_some_and(|s| s >= from && s < to)).collect();
    let newest = history.iter().filter(|b| in_window(b)).max_by_key(|b| (b.build_number, b.start));
    let plan = src.bucket.map(|bucket| plan_project(project, &src.config.guard_policy(bucket)));
    let refusals: Vec<RefusalCause> = match markers {
        Some(m) => RefusalCause::ALL
            .into_iter()
            .filter(|c| refused_keys.contains(&m.key(&refusal_marker(&project.name, *c))))
            .collect(),
        None => vec![],
    };
    let own: Result<&[Record], String> = match records {
        Ok(all) => Ok(all.get(&project.name).map_or(&[][..], Vec::as_slice)),
        Err(why) => Err(why.clone()),
    };
    let cache = cache_line(&CacheFacts {
        project,
        plan: plan.as_ref(),
        refusals: &refusals,
        records: own,
        needed: src.config.ineffective_cache_builds,
        dry_run: src.config.common.dry_run,
    });
    ProjectWeek {
        project: project.name.clone(),
        environment: newest.and_then(|b| b.environment_type.clone()).or_else(|| project.environment_type.clone()),
        compute_type: newest.and_then(|b| b.compute_type.clone()).or_else(|| project.compute_type.clone()),
        builds,
        cache,
        bytes_pruned: None,
    }
}

/// The account's builds of the wanted projects, newest first, back to `history_from`.
async fn read_builds(
    src: &Sources<'_>,
    wanted: &HashSet<&str>,
    history_from: DateTime<Utc>,
    reading: &mut Reading,
) -> Result<Vec<BuildFacts>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    while reading.build_pages < MAX_BUILD_PAGES {
        let (ids, next) = src.codebuild.list_build_ids_page(token.take()).await?;
        reading.build_pages += 1;
        // Every build of the page is read, in scope or not: its start time says where the listing is.
        let (builds, _not_found) = src.codebuild.get_builds_reporting(&ids).await?;
        reading.builds_read += builds.len() as u32;
        let builds: Vec<BuildFacts> = builds.iter().map(build_facts).collect();
        // Newest first: a page that started wholly before the history ends it.
        let past = !builds.is_empty() && builds.iter().all(|b| b.start.is_some_and(|s| s < history_from));
        out.extend(builds.into_iter().filter(|b| wanted.contains(b.project.as_str())));
        match next {
            Some(next) if !past => token = Some(next),
            _ => {
                reading.history_complete = true;
                break;
            }
        }
    }
    if !reading.history_complete {
        reading.notes.push(format!(
            "only the newest {} builds were read (ListBuilds, {MAX_BUILD_PAGES} pages): older builds of the window are left out",
            reading.builds_read
        ));
    }
    Ok(out)
}

/// Every project's cache records, newest first (one paged listing of the records' namespace).
async fn read_records(
    src: &Sources<'_>,
    bucket: &str,
    reading: &mut Reading,
) -> Result<BTreeMap<String, Vec<Record>>, String> {
    let root = format!("{}{}/", crate::RESERVED_PREFIX, streak::NAMESPACE);
    let (keys, pages, complete) =
        list_keys(src.s3, bucket, &root, MAX_RECORD_PAGES).await.map_err(|e| e.to_string())?;
    reading.record_pages = pages;
    reading.records_read = keys.len();
    if !complete {
        reading.notes.push(format!(
            "only the first {} cache records were read ({MAX_RECORD_PAGES} pages): projects after them show their cache as not known",
            keys.len()
        ));
    }
    let mut by_project: BTreeMap<String, Vec<Record>> = BTreeMap::new();
    for key in &keys {
        let Some((project, _)) = key.strip_prefix(&root).and_then(|rest| rest.split_once('/')) else { continue };
        if let Some(record) = streak::parse_key(project, key) {
            by_project.entry(project.to_owned()).or_default().push(record);
        }
    }
    if !complete && let Some(last) = keys.last().and_then(|k| k.strip_prefix(&root)).and_then(|r| r.split_once('/')) {
        // The last project's records may be cut short; the ones after it were never reached.
        by_project.remove(last.0);
    }
    Ok(by_project)
}

/// Bytes the pruner freed per location within `[from, to)`: its records of this account and region,
/// newest first, until one older than the window.
async fn read_freed(
    src: &Sources<'_>,
    bucket: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    reading: &mut Reading,
) -> Result<BTreeMap<String, u64>, AwsError> {
    let deployment = Deployment::new(bucket, src.account, src.region);
    let (mut records, mut token, mut pages) = (Vec::new(), None::<String>, 0);
    'pages: while pages < MAX_FREED_PAGES {
        let request = ListRequest {
            prefix: &freed::prefix(&deployment),
            continuation_token: token.as_deref(),
            ..ListRequest::default()
        };
        let page = list_page(src.s3, bucket, request).await?;
        pages += 1;
        for object in page.objects {
            let Some(record) = freed::parse(&deployment, &object.key) else { continue };
            if record.at_ms() < from.timestamp_millis() {
                break 'pages;
            }
            match record {
                Listed::One(one) => records.push(one),
                // A sweep's record over several locations: its body says each (one GetObject).
                Listed::Run { at_ms, .. } => {
                    // Gone between the listing and the read: expired, nothing to count.
                    let Some(body) = get_document(src.s3, bucket, &object.key).await? else { continue };
                    match freed::parse_body(at_ms, &body) {
                        Ok(each) => records.extend(each),
                        Err(why) => {
                            reading.notes.push(format!("the pruner's record {} is unreadable: {why}", object.key))
                        }
                    }
                }
            }
            reading.pruned_records += 1;
        }
        match page.next_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    if pages >= MAX_FREED_PAGES && token.is_some() {
        reading.notes.push(format!("only the newest {} of the pruner's records were read", reading.pruned_records));
    }
    Ok(freed::per_location(&records, from, to))
}

/// The keys of the guard's refusal markers (`refused/<project>/<cause>`).
async fn read_refusals(src: &Sources<'_>, bucket: &str) -> Result<HashSet<String>, AwsError> {
    let markers = Markers::new(src.s3.clone(), bucket, GUARD_NAMESPACE);
    let prefix = markers.key("refused/");
    let (keys, _, _) = list_keys(src.s3, bucket, &prefix, MAX_REFUSAL_PAGES).await?;
    Ok(keys.into_iter().collect())
}
