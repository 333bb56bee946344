//! Who wrote an object of a shared location: the N newest are kept per live project, not per
//! location, so that a project that builds monthly keeps its cache in a location (or a
//! `cacheNamespace`) it shares with projects that build hourly.
//!
//! CodeBuild does not document the names of the objects it writes (keys are opaque), so an object
//! is attributed by the build records: it was written by the one project of the group whose build
//! that used this location was running when the object was last modified (S3's LastModified is
//! when the upload began, within the build). An object no build or several projects' builds could
//! have written is the group's: the group keeps N for each of its live projects of those.

use super::locations::location_in_bucket;
use crate::project::CacheSetting;
use std::collections::BTreeMap;

/// How many of a project's most recent builds are read (one ListBuildsForProject page and one
/// BatchGetBuilds call, 100 ids each): the builds that wrote its N newest objects.
pub const BUILDS_READ: usize = 100;

/// Clock difference allowed between CodeBuild's build times and S3's LastModified.
const SLACK_MS: i64 = 60_000;

/// A build, as the attribution needs it (from BatchGetBuilds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSpan {
    pub started_ms: Option<i64>,
    /// None while it runs.
    pub ended_ms: Option<i64>,
    /// The build's own cache (the project's, or the StartBuild override).
    pub cache: Option<CacheSetting>,
}

/// A shared location's live projects and the times their builds that used it ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writers {
    projects: Vec<String>,
    /// (start, end, project index), sorted by start.
    windows: Vec<(i64, i64, usize)>,
    /// The longest window: no window starting earlier than this before a time can contain it.
    longest: i64,
    /// Projects whose builds could not be read, and why.
    unread: BTreeMap<String, String>,
}

impl Writers {
    /// The writers of `prefix` in `bucket` from each live project's recent builds (Err: why they
    /// could not be read; that project's objects then stay the group's).
    pub fn from_builds(
        bucket: &str,
        prefix: &str,
        builds: Vec<(String, Result<Vec<BuildSpan>, String>)>,
        now_ms: i64,
    ) -> Self {
        let mut writers = Writers::default();
        for (i, (project, spans)) in builds.into_iter().enumerate() {
            match spans {
                Ok(spans) => {
                    for span in spans {
                        let here = span.cache.as_ref().and_then(|c| location_in_bucket(c, bucket));
                        let (Some(start), true) = (span.started_ms, here.as_deref() == Some(prefix)) else { continue };
                        let end = span.ended_ms.unwrap_or(now_ms).max(start);
                        writers.windows.push((start - SLACK_MS, end + SLACK_MS, i));
                    }
                }
                Err(why) => {
                    writers.unread.insert(project.clone(), why);
                }
            }
            writers.projects.push(project);
        }
        writers.windows.sort_unstable();
        writers.longest = writers.windows.iter().map(|w| w.1 - w.0).max().unwrap_or(0);
        writers
    }

    pub fn projects(&self) -> &[String] {
        &self.projects
    }

    /// The project (index in [`Writers::projects`]) that wrote an object last modified then: the
    /// only one whose build was running; None when none or several were.
    pub fn writer(&self, last_modified_ms: i64) -> Option<usize> {
        // Called for every object of a shared location: only the windows that can contain it
        // (starting at most `longest` before it) are looked at, not every build read.
        let end = self.windows.partition_point(|w| w.0 <= last_modified_ms);
        let begin = self.windows.partition_point(|w| w.0 < last_modified_ms.saturating_sub(self.longest));
        let mut found = None;
        for &(_, to, project) in &self.windows[begin..end] {
            if last_modified_ms <= to {
                match found {
                    None => found = Some(project),
                    Some(p) if p == project => {}
                    Some(_) => return None,
                }
            }
        }
        found
    }

    /// What the report says of the location: the rule applied and what could not be read.
    pub fn note(&self, keep: usize) -> String {
        let mut note = format!(
            "shared by {} live projects: the {keep} newest kept per project (attributed by the times of its builds), the rest {} newest kept for the group",
            self.projects.len(),
            keep * self.projects.len()
        );
        if let Some((project, why)) = self.unread.iter().next() {
            note.push_str(&format!(
                "; builds of {} project(s) unread ({project}: {why}): their objects count as the group's",
                self.unread.len()
            ));
        }
        note
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: i64, end: Option<i64>, location: &str) -> BuildSpan {
        BuildSpan { started_ms: Some(start), ended_ms: end, cache: Some(CacheSetting::s3(location)) }
    }

    const MIN: i64 = 60_000;

    #[test]
    fn an_object_is_its_only_running_builds_project() {
        let writers = Writers::from_builds(
            "b",
            "shared",
            vec![
                ("daily".into(), Ok(vec![span(100 * MIN, Some(110 * MIN), "b/shared")])),
                ("monthly".into(), Ok(vec![span(10 * MIN, Some(30 * MIN), "arn:aws:s3:::b/shared/")])),
                // Its build used another location (an override): never a writer here.
                ("other".into(), Ok(vec![span(10 * MIN, Some(30 * MIN), "b/elsewhere")])),
            ],
            1000 * MIN,
        );
        assert_eq!(writers.writer(20 * MIN), Some(1));
        assert_eq!(writers.writer(105 * MIN), Some(0));
        assert_eq!(writers.writer(110 * MIN + 30_000), Some(0), "within the clock slack");
        assert_eq!(writers.writer(60 * MIN), None, "no build was running");
        assert_eq!(writers.projects(), ["daily", "monthly", "other"]);
    }

    #[test]
    fn overlapping_builds_of_two_projects_attribute_nothing_and_a_running_build_reaches_now() {
        let writers = Writers::from_builds(
            "b",
            "s",
            vec![
                ("a".into(), Ok(vec![span(0, Some(50 * MIN), "b/s"), span(200 * MIN, None, "b/s")])),
                ("c".into(), Ok(vec![span(40 * MIN, Some(60 * MIN), "b/s")])),
                ("d".into(), Err("AccessDeniedException".into())),
            ],
            300 * MIN,
        );
        assert_eq!(writers.writer(45 * MIN), None, "both were running");
        assert_eq!(writers.writer(10 * MIN), Some(0));
        assert_eq!(writers.writer(55 * MIN), Some(1));
        assert_eq!(writers.writer(299 * MIN), Some(0), "the build still running");
        let note = writers.note(3);
        assert!(
            note.contains("3 live projects") && note.contains("9 newest") && note.contains("d: AccessDenied"),
            "{note}"
        );
    }
}
