//! Plain-data models of CodeBuild projects as cache-sentinel sees them.

use serde::Serialize;
use std::fmt;

pub const CACHE_S3: &str = "S3";
pub const CACHE_LOCAL: &str = "LOCAL";
pub const CACHE_NONE: &str = "NO_CACHE";

/// A project's cache setting, as BatchGetProjects returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheSetting {
    #[serde(rename = "type")]
    pub cache_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modes: Vec<String>,
}

impl CacheSetting {
    pub fn none() -> Self {
        CacheSetting { cache_type: CACHE_NONE.into(), location: None, modes: vec![] }
    }

    pub fn s3(location: impl Into<String>) -> Self {
        CacheSetting { cache_type: CACHE_S3.into(), location: Some(location.into()), modes: vec![] }
    }

    pub fn local(modes: &[&str]) -> Self {
        CacheSetting { cache_type: CACHE_LOCAL.into(), location: None, modes: modes.iter().map(|m| (*m).into()).collect() }
    }

    pub fn is_s3(&self) -> bool {
        self.cache_type == CACHE_S3
    }

    /// The bucket of an S3 location (`bucket` or `bucket/prefix`).
    pub fn s3_bucket(&self) -> Option<&str> {
        self.location.as_deref().filter(|_| self.is_s3()).and_then(|l| l.split('/').next()).filter(|b| !b.is_empty())
    }
}

impl fmt::Display for CacheSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cache_type)?;
        if let Some(location) = &self.location {
            write!(f, " at {location}")?;
        }
        if !self.modes.is_empty() {
            write!(f, " ({})", self.modes.join(", "))?;
        }
        Ok(())
    }
}

/// What the guard needs to know of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectSnapshot {
    pub name: String,
    pub arn: Option<String>,
    pub cache: CacheSetting,
    pub tags: Vec<(String, String)>,
    /// The source's `buildspec`: inline YAML, a file name in the source, or None for buildspec.yml.
    pub buildspec: Option<String>,
    pub privileged_mode: bool,
    pub image: Option<String>,
}

impl ProjectSnapshot {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}
