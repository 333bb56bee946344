//! The pruner's state: one small JSON object per deployment under the reserved prefix
//! (`deployment`). It remembers every cache location that deployment has seen in use (and since
//! when one is missing), and the progress of a sweep too large for one run: which locations are
//! done, and for each one stopped part-way its resume point and N newest.

use super::locations::KnownLocation;
use super::rest::RestProgress;
use super::task::Progress;
use crate::aws::{s3_conditional, s3_documents};
use crate::error::{AwsError, AwsErrorKind};
use aws_sdk_s3::Client;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Where the state lived before each deployment had its own (`deployment::LEGACY_STATE_KEY`).
pub const STATE_KEY: &str = super::deployment::LEGACY_STATE_KEY;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrunerState {
    pub version: u32,
    /// The deployment that wrote it (`account/region`); absent in states of earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// This deployment's first run: nothing it remembers was seen in use before (`state_check`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Cache locations seen in use, by prefix ("" = the bucket root).
    #[serde(default)]
    pub locations: BTreeMap<String, KnownLocation>,
    /// The sweep in progress; None when the last sweep finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepProgress>,
    /// When the last sweep that listed every location finished (the report and the audit say it,
    /// so a sweep that keeps not finishing is seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_full_sweep: Option<DateTime<Utc>>,
}

impl PrunerState {
    pub const VERSION: u32 = 2;

    pub fn new() -> Self {
        PrunerState {
            version: Self::VERSION,
            deployment: None,
            since: None,
            locations: BTreeMap::new(),
            sweep: None,
            last_full_sweep: None,
        }
    }
}

impl Default for PrunerState {
    fn default() -> Self {
        Self::new()
    }
}

/// A sweep that did not finish in one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepProgress {
    pub started: DateTime<Utc>,
    /// Runs so far.
    pub runs: u32,
    /// Locations finished (or refused) in this sweep.
    #[serde(default)]
    pub done: BTreeSet<String>,
    /// Locations stopped part-way.
    #[serde(default)]
    pub partial: BTreeMap<String, Progress>,
    /// The rest of the bucket (root keys, unmanaged folders): done, or where it stopped.
    #[serde(default)]
    pub rest_done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest: Option<RestProgress>,
}

/// Reads and writes the state object.
#[derive(Debug, Clone)]
pub struct StateStore {
    client: Client,
    bucket: String,
    /// This deployment's key (`Deployment::state_key`).
    key: String,
    /// The ETag of the state this run read (None: there was none): the save is conditional on it,
    /// so a run whose lease lapsed never overwrites what a later run wrote.
    read: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

/// What reading the state found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    None,
    State(PrunerState),
    /// No state of this deployment's own, but the file all deployments shared before: to be
    /// migrated (`deployment::migrate`).
    Legacy(PrunerState),
    /// The object exists but cannot be used: the sweep starts over and missing locations are
    /// forgotten (safe: only progress and orphan clocks are lost, so orphans go later, not sooner).
    Unreadable(String),
}

impl Loaded {
    /// The state to work from.
    pub fn state(&self) -> PrunerState {
        match self {
            Loaded::State(state) => state.clone(),
            Loaded::None | Loaded::Unreadable(_) | Loaded::Legacy(_) => PrunerState::new(),
        }
    }
}

impl StateStore {
    pub fn new(client: Client, deployment: &super::deployment::Deployment) -> Self {
        StateStore { client, bucket: deployment.bucket.clone(), key: deployment.state_key(), read: Default::default() }
    }

    /// This deployment's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// This deployment's state; without one, the shared file of earlier versions (`Legacy`).
    pub async fn load(&self) -> Result<Loaded, AwsError> {
        let read = match s3_conditional::read_versioned(&self.client, &self.bucket, &self.key).await {
            Ok(Some(read)) => read,
            Ok(None) => return self.load_legacy().await,
            Err(e) if e.code == s3_documents::BODY_READ => return Ok(Loaded::Unreadable(e.message)),
            Err(e) => return Err(e),
        };
        if let Ok(mut etag) = self.read.lock() {
            *etag = Some(read.etag);
        }
        Ok(parse(&read.body))
    }

    async fn load_legacy(&self) -> Result<Loaded, AwsError> {
        match s3_documents::get_document(&self.client, &self.bucket, STATE_KEY).await {
            Ok(Some(bytes)) => Ok(match parse(&bytes) {
                Loaded::State(state) => Loaded::Legacy(state),
                _ => Loaded::None, // an unusable shared file: nothing to take from it
            }),
            Ok(None) => Ok(Loaded::None),
            Err(e) if e.code == s3_documents::BODY_READ => Ok(Loaded::None),
            Err(e) => Err(e),
        }
    }

    pub async fn save(&self, state: &PrunerState) -> Result<(), AwsError> {
        let body = serde_json::to_vec(state)
            .map_err(|e| AwsError::new("s3:PutObject", AwsErrorKind::InvalidInput, "Serialize", e.to_string()))?;
        let read = self.read.lock().ok().and_then(|e| e.clone());
        let written = match &read {
            Some(etag) => s3_conditional::replace_if_match(&self.client, &self.bucket, &self.key, body, etag).await?,
            None => s3_conditional::create_if_absent(&self.client, &self.bucket, &self.key, body).await?,
        };
        match written {
            Some(etag) => {
                if let Ok(mut read) = self.read.lock() {
                    *read = Some(etag);
                }
                Ok(())
            }
            None => Err(AwsError::new(
                "s3:PutObject",
                AwsErrorKind::Service,
                "StateChanged",
                format!(
                    "another run wrote {} after this one read it (this run's lease lapsed?): not overwritten",
                    self.key
                ),
            )),
        }
    }
}

/// The state to work from: this deployment's own, or (first run after the split) what it takes
/// from the shared file: the locations its projects use now (`deployment::migrate`, said in the
/// report's notes); every entry checked (`state_check`), the refused ones said in the notes.
pub fn state_of(
    loaded: &Loaded,
    projects: &[crate::project::ProjectSnapshot],
    deployment: &super::deployment::Deployment,
    now: DateTime<Utc>,
    report: &mut super::report::PruneReport,
) -> PrunerState {
    let state = match loaded {
        Loaded::Legacy(legacy) => {
            let live: BTreeSet<String> = projects
                .iter()
                .filter_map(|p| super::locations::location_in_bucket(&p.cache, &deployment.bucket))
                .collect();
            let (state, note) = super::deployment::migrate(legacy, &live);
            tracing::info!(action = "state", note = %note, "took this deployment's locations from the shared state");
            report.notes.push(note);
            state
        }
        // A first run: nothing it remembers later can have been seen in use before now.
        Loaded::None | Loaded::Unreadable(_) => PrunerState { since: Some(now), ..PrunerState::new() },
        Loaded::State(state) => state.clone(),
    };
    let (mut state, refused) = super::state_check::checked(state, deployment, now);
    for line in refused {
        tracing::warn!(action = "state", refused = %line, "state entry refused");
        report.notes.push(line);
    }
    state.deployment = Some(deployment.name());
    state
}

/// A state document, or why it cannot be used.
pub fn parse(bytes: &[u8]) -> Loaded {
    #[derive(Deserialize)]
    struct Version {
        version: u32,
    }
    match serde_json::from_slice::<Version>(bytes) {
        Ok(v) if v.version != PrunerState::VERSION => {
            return Loaded::Unreadable(format!(
                "state version {} (this pruner writes {})",
                v.version,
                PrunerState::VERSION
            ));
        }
        Err(e) => return Loaded::Unreadable(format!("invalid JSON: {e}")),
        Ok(_) => {}
    }
    match serde_json::from_slice::<PrunerState>(bytes) {
        Ok(state) => Loaded::State(state),
        Err(e) => Loaded::Unreadable(format!("invalid state: {e}")),
    }
}

/// What a deployment's state says of its sweeps (the audit shows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SweepStanding {
    /// The last sweep that listed every location finished `at`; one in progress since, if any.
    Finished { at: DateTime<Utc>, in_progress_since: Option<DateTime<Utc>> },
    /// No sweep has finished since the state began (or since a version that did not record it).
    NoneFinished { in_progress_since: Option<DateTime<Utc>> },
    /// No state: the pruner has not run for this account and region on this bucket.
    NoState,
    /// Not read, and why (an unknown account, a bucket that cannot be read, an unusable state).
    NotRead { reason: String },
}

impl SweepStanding {
    pub fn of(loaded: &Loaded) -> Self {
        match loaded {
            Loaded::State(state) | Loaded::Legacy(state) => {
                let in_progress_since = state.sweep.as_ref().map(|s| s.started);
                match state.last_full_sweep {
                    Some(at) => SweepStanding::Finished { at, in_progress_since },
                    None => SweepStanding::NoneFinished { in_progress_since },
                }
            }
            Loaded::None => SweepStanding::NoState,
            Loaded::Unreadable(why) => {
                SweepStanding::NotRead { reason: format!("the pruner state is unusable: {why}") }
            }
        }
    }

    /// As people read it, with how long ago at `now`; true when someone should look (no full sweep
    /// in the last two days, while the pruner runs daily).
    pub fn describe(&self, now: DateTime<Utc>) -> (String, bool) {
        let ago = |t: &DateTime<Utc>| {
            let hours = (now - *t).num_hours().max(0);
            if hours < 48 { format!("{hours} h ago") } else { format!("{} days ago", hours / 24) }
        };
        let since = |s: &Option<DateTime<Utc>>| {
            s.as_ref().map(|t| format!("; a sweep in progress since {}", ago(t))).unwrap_or_default()
        };
        match self {
            SweepStanding::Finished { at, in_progress_since } => (
                format!(
                    "last full sweep finished {} ({}){}",
                    at.format("%Y-%m-%d %H:%M UTC"),
                    ago(at),
                    since(in_progress_since)
                ),
                now - *at > chrono::Duration::days(2),
            ),
            SweepStanding::NoneFinished { in_progress_since } => {
                (format!("no full sweep has finished yet{}", since(in_progress_since)), true)
            }
            SweepStanding::NoState => ("the pruner has not run here (no state)".to_owned(), false),
            SweepStanding::NotRead { reason } => (format!("not read: {reason}"), false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_standing_says_when_the_last_full_sweep_finished_and_asks_for_a_look_after_two_days() {
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
        let mut state = PrunerState::new();
        let (line, look) = SweepStanding::of(&Loaded::State(state.clone())).describe(now);
        assert_eq!((line.as_str(), look), ("no full sweep has finished yet", true));
        state.last_full_sweep = Some(now - chrono::Duration::hours(9));
        let (line, look) = SweepStanding::of(&Loaded::State(state.clone())).describe(now);
        assert_eq!((line.as_str(), look), ("last full sweep finished 2026-12-04 03:00 UTC (9 h ago)", false));
        state.last_full_sweep = Some(now - chrono::Duration::days(5));
        let (line, look) = SweepStanding::of(&Loaded::State(state)).describe(now);
        assert!(look && line.ends_with("(5 days ago)"), "{line}");
        let round: PrunerState = serde_json::from_str(
            &serde_json::to_string(&PrunerState { last_full_sweep: Some(now), ..PrunerState::new() }).unwrap(),
        )
        .unwrap();
        assert_eq!(round.last_full_sweep, Some(now), "saved and read back");
        assert_eq!(SweepStanding::of(&Loaded::None), SweepStanding::NoState);
    }

    #[test]
    fn the_state_round_trips_and_other_versions_are_refused() {
        let mut state = PrunerState::new();
        let t = Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap();
        state.locations.insert(
            "tts".into(),
            KnownLocation {
                managed: true,
                last_seen_live: t,
                missing_since: None,
                projects: vec!["tts".into()],
                born: Some(t),
            },
        );
        state.sweep = Some(SweepProgress {
            started: t,
            runs: 2,
            done: BTreeSet::from(["a".to_owned()]),
            partial: BTreeMap::from([(
                "tts".to_owned(),
                Progress { start_after: Some("tts/k".into()), newest: vec![] },
            )]),
            rest_done: false,
            rest: Some(RestProgress::default()),
        });
        let bytes = serde_json::to_vec(&state).unwrap();
        assert_eq!(parse(&bytes), Loaded::State(state));
        assert!(
            matches!(parse(br#"{"version":1,"root":"","start_after":null}"#), Loaded::Unreadable(why) if why.contains("version 1"))
        );
        assert!(matches!(parse(b"not json"), Loaded::Unreadable(_)));
    }
}
