//! The pruner's state: one small JSON object under the reserved prefix. It remembers every cache
//! location seen in use (and since when one is missing), and the progress of a sweep too large for
//! one run: which locations are done, and for each one stopped part-way its resume point and N newest.

use super::locations::KnownLocation;
use super::rest::RestProgress;
use super::task::Progress;
use crate::aws::s3_documents;
use crate::error::{AwsError, AwsErrorKind};
use aws_sdk_s3::Client;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Where the state lives (never inside a cache location; never pruned).
pub const STATE_KEY: &str = ".cache-sentinel/pruner/state.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrunerState {
    pub version: u32,
    /// Cache locations seen in use, by prefix ("" = the bucket root).
    #[serde(default)]
    pub locations: BTreeMap<String, KnownLocation>,
    /// The sweep in progress; None when the last sweep finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepProgress>,
}

impl PrunerState {
    pub const VERSION: u32 = 2;

    pub fn new() -> Self {
        PrunerState { version: Self::VERSION, locations: BTreeMap::new(), sweep: None }
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
}

/// What reading the state found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    None,
    State(PrunerState),
    /// The object exists but cannot be used: the sweep starts over and missing locations are
    /// forgotten (safe: only progress and orphan clocks are lost, so orphans go later, not sooner).
    Unreadable(String),
}

impl Loaded {
    /// The state to work from.
    pub fn state(&self) -> PrunerState {
        match self {
            Loaded::State(state) => state.clone(),
            Loaded::None | Loaded::Unreadable(_) => PrunerState::new(),
        }
    }
}

impl StateStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        StateStore { client, bucket: bucket.into() }
    }

    pub async fn load(&self) -> Result<Loaded, AwsError> {
        let bytes = match s3_documents::get_document(&self.client, &self.bucket, STATE_KEY).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(Loaded::None),
            Err(e) if e.code == s3_documents::BODY_READ => return Ok(Loaded::Unreadable(e.message)),
            Err(e) => return Err(e),
        };
        Ok(parse(&bytes))
    }

    pub async fn save(&self, state: &PrunerState) -> Result<(), AwsError> {
        let body = serde_json::to_vec(state).map_err(|e| AwsError {
            operation: "s3:PutObject",
            kind: AwsErrorKind::InvalidInput,
            code: "Serialize".into(),
            message: e.to_string(),
        })?;
        s3_documents::put_document(&self.client, &self.bucket, STATE_KEY, body).await
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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
