//! The resume state: one small JSON object under the reserved prefix, so that a sweep stopped by
//! the deadline or the deletion cap continues where it stopped on the next run.

use super::plan::Carry;
use crate::aws::s3_documents;
use crate::error::{AwsError, AwsErrorKind};
use aws_sdk_s3::Client;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where the state lives (never under the cache root's project prefixes; never pruned).
pub const STATE_KEY: &str = ".cache-sentinel/pruner/state.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepState {
    pub version: u32,
    /// The cache root the sweep walks; a state for another root is ignored.
    pub root: String,
    /// Continue the listing after this key; None = the last sweep finished.
    pub start_after: Option<String>,
    /// The project in progress at `start_after`, with its N newest objects so far.
    pub carry: Option<Carry>,
    /// When the sweep in progress started, and how many runs it has taken.
    pub sweep_started: DateTime<Utc>,
    pub runs: u32,
}

impl SweepState {
    pub const VERSION: u32 = 1;
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
    State(SweepState),
    /// The object exists but cannot be used: the sweep starts over (safe: only progress is lost).
    Unreadable(String),
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
        Ok(match serde_json::from_slice::<SweepState>(&bytes) {
            Ok(state) if state.version == SweepState::VERSION => Loaded::State(state),
            Ok(state) => Loaded::Unreadable(format!("unknown state version {}", state.version)),
            Err(e) => Loaded::Unreadable(format!("invalid JSON: {e}")),
        })
    }

    pub async fn save(&self, state: &SweepState) -> Result<(), AwsError> {
        let body = serde_json::to_vec(state).map_err(|e| AwsError {
            operation: "s3:PutObject",
            kind: AwsErrorKind::InvalidInput,
            code: "Serialize".into(),
            message: e.to_string(),
        })?;
        s3_documents::put_document(&self.client, &self.bucket, STATE_KEY, body).await
    }
}
