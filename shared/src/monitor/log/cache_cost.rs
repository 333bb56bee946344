//! What the cache itself costs, from the log's own times: CodeBuild's S3 cache restore (download and
//! unpacking, `build_log`) and upload (`Uploading S3 cache...` to CodeBuild's next line, or the last
//! line of the log), BuildKit's cache import and export (`#4 importing cache manifest from ...`,
//! `#19 exporting cache to registry`, each until its `#N DONE 41.3s`), and the `docker load` and
//! `docker save` commands a buildspec runs to keep images in a cached path (CodeBuild's `Running
//! command docker load ...` to its next line). Pure and streaming.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Seconds spent on the cache, by part (None: not in the log).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CacheCost {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub save_seconds: Option<u64>,
}

impl CacheCost {
    /// The parts the log shows, in the order a build runs them: ("S3 restore", 300).
    pub fn parts(&self) -> Vec<(&'static str, u64)> {
        [
            ("S3 restore", self.restore_seconds),
            ("docker load", self.load_seconds),
            ("cache import", self.import_seconds),
            ("cache export", self.export_seconds),
            ("docker save", self.save_seconds),
            ("S3 upload", self.upload_seconds),
        ]
        .into_iter()
        .filter_map(|(name, s)| s.map(|s| (name, s)))
        .collect()
    }

    pub fn total_seconds(&self) -> u64 {
        self.parts().iter().map(|(_, s)| s).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.parts().is_empty()
    }

    /// Adds what the end of a long log showed.
    pub fn absorb(&mut self, tail: &CacheCost) {
        let add = |a: &mut Option<u64>, b: Option<u64>| {
            if let Some(b) = b {
                *a = Some(a.unwrap_or(0) + b);
            }
        };
        add(&mut self.restore_seconds, tail.restore_seconds);
        add(&mut self.upload_seconds, tail.upload_seconds);
        add(&mut self.import_seconds, tail.import_seconds);
        add(&mut self.export_seconds, tail.export_seconds);
        add(&mut self.load_seconds, tail.load_seconds);
        add(&mut self.save_seconds, tail.save_seconds);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Upload,
    Import,
    Export,
    Load,
    Save,
    /// Not the cache's: a `docker pull` of the base image, kept apart (`CostScan::slowest_pull`).
    Pull,
}

/// The streaming reader.
#[derive(Debug, Default)]
pub struct CostScan {
    cost: CacheCost,
    /// A CodeBuild action running since then, closed by CodeBuild's next line.
    open: Option<(Part, DateTime<Utc>)>,
    /// BuildKit cache steps by number, until their `DONE`.
    steps: BTreeMap<u32, Part>,
    last: Option<DateTime<Utc>>,
    /// The slowest `docker pull` command: its line and seconds.
    pull: Option<(String, u64)>,
    /// The command line of the action open (for a pull).
    command: String,
}

impl CostScan {
    /// The time of any line (CloudWatch's), so an upload that ends the log ends there.
    pub fn time(&mut self, time: Option<DateTime<Utc>>) {
        if time.is_some() {
            self.last = time;
        }
    }

    /// One of CodeBuild's own lines, with its time.
    pub fn codebuild(&mut self, time: Option<DateTime<Utc>>, text: &str) {
        self.time(time);
        if let (Some((part, start)), Some(end)) = (self.open, time) {
            self.close(part, start, end);
        }
        self.open = None;
        let Some(time) = time else { return };
        if text.starts_with("Uploading S3 cache...") {
            self.open = Some((Part::Upload, time));
        } else if let Some(command) = text.strip_prefix("Running command ") {
            if runs(command, &["docker", "load"]) || runs(command, &["docker", "image", "load"]) {
                self.open = Some((Part::Load, time));
            } else if runs(command, &["docker", "save"]) || runs(command, &["docker", "image", "save"]) {
                self.open = Some((Part::Save, time));
            } else if runs(command, &["docker", "pull"]) || runs(command, &["docker", "image", "pull"]) {
                self.open = Some((Part::Pull, time));
                self.command = text.to_owned();
            }
        }
    }

    /// One line of Docker's output (BuildKit's `#N ...`).
    pub fn docker(&mut self, line: &str) {
        let Some((number, text)) = line.strip_prefix('#').and_then(|r| r.split_once(' ')) else { return };
        let Ok(number) = number.parse::<u32>() else { return };
        if text.starts_with("importing cache manifest from") {
            self.steps.insert(number, Part::Import);
        } else if text.starts_with("exporting cache") {
            self.steps.insert(number, Part::Export);
        } else if let Some(done) = text.strip_prefix("DONE ") {
            let Some(part) = self.steps.remove(&number) else { return };
            let seconds = done.trim().trim_end_matches('s').parse::<f64>().ok().map(|s| s.max(0.0).round() as u64);
            if let Some(seconds) = seconds {
                self.add(part, seconds);
            }
        }
    }

    fn close(&mut self, part: Part, start: DateTime<Utc>, end: DateTime<Utc>) {
        self.add(part, (end - start).num_seconds().max(0) as u64);
    }

    fn add(&mut self, part: Part, seconds: u64) {
        if part == Part::Pull {
            if self.pull.as_ref().is_none_or(|(_, s)| seconds > *s) {
                self.pull = Some((std::mem::take(&mut self.command), seconds));
            }
            return;
        }
        let c = &mut self.cost;
        let field = match part {
            Part::Upload => &mut c.upload_seconds,
            Part::Import => &mut c.import_seconds,
            Part::Export => &mut c.export_seconds,
            Part::Load => &mut c.load_seconds,
            Part::Save => &mut c.save_seconds,
            Part::Pull => return,
        };
        *field = Some(field.unwrap_or(0) + seconds);
    }

    /// The slowest `docker pull` command so far (its line and seconds).
    pub fn slowest_pull(&self) -> Option<(String, u64)> {
        self.pull.clone()
    }

    /// The cost, with the restore `build_log` timed; an action still open ends at the last line.
    pub fn finish(mut self, restore_seconds: Option<u64>) -> CacheCost {
        // CloudWatch's time of the last line, only where it agrees with CodeBuild's own (a log
        // replayed or copied elsewhere carries other times): within a build's longest run, 36 h.
        let agrees =
            |start: DateTime<Utc>, end: DateTime<Utc>| end >= start && end - start <= chrono::Duration::hours(36);
        if let (Some((part, start)), Some(end)) = (self.open.take(), self.last)
            && agrees(start, end)
        {
            self.close(part, start, end);
        }
        self.cost.restore_seconds = restore_seconds;
        self.cost
    }
}

/// Whether the command line runs `words` (as whole words in a row: `docker loaded` is not `docker
/// load`).
fn runs(command: &str, words: &[&str]) -> bool {
    let tokens: Vec<&str> = command.split_whitespace().collect();
    tokens.windows(words.len()).any(|w| w == words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: u32, sec: u32) -> Option<DateTime<Utc>> {
        Some(Utc.with_ymd_and_hms(2026, 11, 20, 9, min, sec).unwrap())
    }

    #[test]
    fn upload_load_and_save_run_to_codebuilds_next_line() {
        let mut s = CostScan::default();
        s.codebuild(at(10, 0), "Running command docker load -i /root/.docker-cache/tts.tar || true");
        s.codebuild(at(12, 30), "Running command docker build --cache-from tts-service:latest -t tts-service:latest .");
        s.codebuild(at(20, 0), "Running command docker save tts-service:latest -o /root/.docker-cache/tts.tar");
        s.codebuild(at(21, 15), "Phase complete: POST_BUILD State: SUCCEEDED");
        s.codebuild(at(21, 20), "Uploading S3 cache...");
        s.codebuild(at(25, 20), "Phase complete: POST_BUILD State: SUCCEEDED");
        s.codebuild(at(30, 0), "Running command docker pull pytorch/pytorch:2.1.0");
        s.codebuild(at(36, 48), "Running command docker build .");
        assert_eq!(s.slowest_pull(), Some(("Running command docker pull pytorch/pytorch:2.1.0".to_owned(), 408)));
        let cost = s.finish(Some(300));
        assert_eq!((cost.load_seconds, cost.save_seconds, cost.upload_seconds), (Some(150), Some(75), Some(240)));
        assert_eq!(cost.total_seconds(), 300 + 150 + 75 + 240);
        assert_eq!(cost.parts(), [("S3 restore", 300), ("docker load", 150), ("docker save", 75), ("S3 upload", 240)]);
    }

    #[test]
    fn buildkit_cache_steps_take_their_done_times() {
        let mut s = CostScan::default();
        for line in [
            "#4 importing cache manifest from 1234.dkr.ecr.ap-south-1.amazonaws.com/tts:cache",
            "#4 inferred cache manifest type: application/vnd.oci.image.manifest.v1+json done",
            "#4 DONE 12.4s",
            "#6 [2/8] WORKDIR /app",
            "#6 DONE 0.1s",
            "#19 exporting cache to registry",
            "#19 preparing build cache for export 151.3s done",
            "#19 DONE 160.2s",
        ] {
            s.docker(line);
        }
        let cost = s.finish(None);
        assert_eq!((cost.import_seconds, cost.export_seconds), (Some(12), Some(160)));
        assert_eq!(cost.restore_seconds, None);
    }

    #[test]
    fn a_log_without_cache_work_costs_nothing() {
        let mut s = CostScan::default();
        s.codebuild(at(1, 0), "Running command docker build -t x .");
        s.docker("#6 [2/8] RUN echo exporting cache");
        s.docker("#6 DONE 3.0s");
        s.codebuild(at(9, 0), "Running command echo docker loaded");
        let cost = s.finish(None);
        assert!(cost.is_empty(), "{cost:?}");
        // An upload that ends the log ends at its last line, unless that line's time is not the
        // build's (a replayed log).
        let mut s = CostScan::default();
        s.codebuild(at(21, 20), "Uploading S3 cache...");
        s.time(Some(Utc.with_ymd_and_hms(2026, 12, 24, 0, 0, 0).unwrap()));
        assert_eq!(s.finish(None).upload_seconds, None);
        let mut head = CacheCost { upload_seconds: Some(10), ..CacheCost::default() };
        head.absorb(&CacheCost { upload_seconds: Some(5), save_seconds: Some(3), ..CacheCost::default() });
        assert_eq!((head.upload_seconds, head.save_seconds), (Some(15), Some(3)));
    }
}
