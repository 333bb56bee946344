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
    /// `cacheNamespace`: projects with the same bucket, prefix, namespace and buildspec cache key
    /// share one cache.
    #[serde(rename = "cacheNamespace", skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl CacheSetting {
    pub fn none() -> Self {
        CacheSetting { cache_type: CACHE_NONE.into(), location: None, modes: vec![], namespace: None }
    }

    pub fn s3(location: impl Into<String>) -> Self {
        CacheSetting { cache_type: CACHE_S3.into(), location: Some(location.into()), modes: vec![], namespace: None }
    }

    pub fn local(modes: &[&str]) -> Self {
        CacheSetting {
            cache_type: CACHE_LOCAL.into(),
            location: None,
            modes: modes.iter().map(|m| (*m).into()).collect(),
            namespace: None,
        }
    }

    /// The same setting with this `cacheNamespace` (a heal or relocation never drops one).
    pub fn with_namespace(mut self, namespace: Option<String>) -> Self {
        self.namespace = namespace;
        self
    }

    pub fn is_s3(&self) -> bool {
        self.cache_type == CACHE_S3
    }

    /// The bucket of an S3 location (`bucket` or `bucket/prefix`, also as an S3 ARN).
    pub fn s3_bucket(&self) -> Option<&str> {
        let location = self.location.as_deref().filter(|_| self.is_s3())?;
        s3_path(location).split('/').next().filter(|b| !b.is_empty())
    }
}

/// The `bucket/prefix` of an S3 cache location, also when written as an S3 ARN of any partition
/// (`arn:aws:s3:::`, `arn:aws-cn:s3:::`, `arn:aws-us-gov:s3:::`, `arn:aws-iso:s3:::`...: CodeBuild
/// accepts both forms, and a partition is `aws` or `aws-<name>`).
pub fn s3_path(location: &str) -> &str {
    let arn = location.strip_prefix("arn:").and_then(|rest| rest.split_once(':'));
    arn.filter(|(partition, _)| *partition == "aws" || partition.starts_with("aws-"))
        .and_then(|(_, rest)| rest.strip_prefix("s3:::"))
        .unwrap_or(location)
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
        if let Some(namespace) = &self.namespace {
            write!(f, " namespace {namespace}")?;
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
    /// `environment.type` and `environment.computeType` (LINUX_GPU_CONTAINER, BUILD_GENERAL1_2XLARGE...).
    pub environment_type: Option<String>,
    pub compute_type: Option<String>,
    /// `environment.fleet.fleetArn`: the project builds on a reserved-capacity fleet.
    pub fleet_arn: Option<String>,
    /// `environment.dockerServer` is set: Docker layers persist on the project's Docker server.
    pub docker_server: bool,
    /// The service role the project's builds run as (what needs access to the cache location).
    pub service_role: Option<String>,
    /// The project builds in a VPC (`vpcConfig` with subnets): S3 must be reachable from them.
    pub vpc: bool,
    /// `lastModified` (epoch milliseconds): any change to the project moves it.
    pub last_modified: Option<i64>,
    /// `created` (epoch milliseconds): nothing in its cache location can be older.
    pub created: Option<i64>,
}

impl ProjectSnapshot {
    /// A project with this name and cache and nothing else set (fixtures, tests).
    pub fn new(name: &str, cache: CacheSetting) -> Self {
        ProjectSnapshot {
            name: name.to_owned(),
            arn: None,
            cache,
            tags: vec![],
            buildspec: None,
            privileged_mode: false,
            image: None,
            environment_type: None,
            compute_type: None,
            fleet_arn: None,
            docker_server: false,
            service_role: None,
            vpc: false,
            last_modified: None,
            created: None,
        }
    }

    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}
