//! The guard's configuration.

use crate::config::{CommonConfig, ConfigError, Env, boolean, optional};

#[derive(Debug, Clone)]
pub struct GuardConfig {
    pub common: CommonConfig,
    /// `GUARD_IGNORE_TAG`: a project tagged `<tag>=true` is left alone.
    pub ignore_tag: String,
    /// `GUARD_RELOCATE_CUSTOM_S3`: move projects already on S3 elsewhere to the managed location.
    pub relocate_custom_s3: bool,
}

impl GuardConfig {
    pub const VARIABLES: &'static [&'static str] = &["GUARD_IGNORE_TAG", "GUARD_RELOCATE_CUSTOM_S3"];
    pub const DEFAULT_IGNORE_TAG: &'static str = "cache-sentinel:ignore";

    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let ignore_tag = optional(env, "GUARD_IGNORE_TAG").unwrap_or_else(|| Self::DEFAULT_IGNORE_TAG.to_owned());
        if ignore_tag.len() > 128 {
            return Err(ConfigError::new("GUARD_IGNORE_TAG", "a tag key is at most 128 characters"));
        }
        Ok(GuardConfig {
            common: CommonConfig::from_env(env)?,
            ignore_tag,
            relocate_custom_s3: boolean(env, "GUARD_RELOCATE_CUSTOM_S3", false)?,
        })
    }

    /// Every variable the guard reads.
    pub fn variables() -> Vec<&'static str> {
        CommonConfig::VARIABLES.iter().chain(Self::VARIABLES).copied().collect()
    }
}
