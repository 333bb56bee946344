//! The guard's configuration.

use crate::config::{CommonConfig, ConfigError, Env, boolean, optional, parsed_or};
use serde::Serialize;

/// What the guard does with a project some tool deploys (`GUARD_OWNED_PROJECTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnedProjects {
    /// Heal it and tell the owner the change to make at the source (the default).
    Heal,
    /// Leave it as it is and tell the owner the change to make at the source.
    Tell,
}

#[derive(Debug, Clone)]
pub struct GuardConfig {
    pub common: CommonConfig,
    /// `GUARD_IGNORE_TAG`: a project tagged `<tag>=true` is left alone.
    pub ignore_tag: String,
    /// `GUARD_RELOCATE_CUSTOM_S3`: move projects already on S3 elsewhere to the managed location.
    pub relocate_custom_s3: bool,
    /// `GUARD_OWNED_PROJECTS` (`heal` or `tell`, default `heal`): a project CloudFormation or
    /// Terraform deploys (its tags say so) is healed and told, or only told.
    pub owned_projects: OwnedProjects,
    /// `GUARD_HEAL_LOOP_HEALS` (default 3, 0 = never stop): a project healed this many times within
    /// `GUARD_HEAL_LOOP_DAYS` and set back again is not healed again (a heal loop).
    pub heal_loop_heals: u32,
    /// `GUARD_HEAL_LOOP_DAYS` (default 7, 1-90): the window of the heal loop.
    pub heal_loop_days: u32,
}

impl GuardConfig {
    pub const VARIABLES: &'static [&'static str] = &[
        "GUARD_IGNORE_TAG",
        "GUARD_RELOCATE_CUSTOM_S3",
        "GUARD_OWNED_PROJECTS",
        "GUARD_HEAL_LOOP_HEALS",
        "GUARD_HEAL_LOOP_DAYS",
    ];
    pub const DEFAULT_IGNORE_TAG: &'static str = "cache-sentinel:ignore";

    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let ignore_tag = optional(env, "GUARD_IGNORE_TAG").unwrap_or_else(|| Self::DEFAULT_IGNORE_TAG.to_owned());
        if ignore_tag.len() > 128 {
            return Err(ConfigError::new("GUARD_IGNORE_TAG", "a tag key is at most 128 characters"));
        }
        let owned_projects = match optional(env, "GUARD_OWNED_PROJECTS").map(|v| v.trim().to_ascii_lowercase()) {
            None => OwnedProjects::Heal,
            Some(v) if v == "heal" => OwnedProjects::Heal,
            Some(v) if v == "tell" => OwnedProjects::Tell,
            Some(v) => return Err(ConfigError::new("GUARD_OWNED_PROJECTS", format!("{v:?} is not heal or tell"))),
        };
        let heal_loop_heals: u32 = parsed_or(env, "GUARD_HEAL_LOOP_HEALS", 3)?;
        if heal_loop_heals > 100 {
            return Err(ConfigError::new("GUARD_HEAL_LOOP_HEALS", format!("{heal_loop_heals} is outside 0-100")));
        }
        let heal_loop_days: u32 = parsed_or(env, "GUARD_HEAL_LOOP_DAYS", 7)?;
        if !(1..=90).contains(&heal_loop_days) {
            return Err(ConfigError::new("GUARD_HEAL_LOOP_DAYS", format!("{heal_loop_days} is outside 1-90")));
        }
        Ok(GuardConfig {
            common: CommonConfig::from_env(env)?,
            ignore_tag,
            relocate_custom_s3: boolean(env, "GUARD_RELOCATE_CUSTOM_S3", false)?,
            owned_projects,
            heal_loop_heals,
            heal_loop_days,
        })
    }

    /// Every variable the guard reads.
    pub fn variables() -> Vec<&'static str> {
        CommonConfig::VARIABLES.iter().chain(Self::VARIABLES).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_projects_and_the_heal_loop_are_read_and_checked() {
        let c = GuardConfig::from_env(&[("CACHE_BUCKET", "b-1")]).unwrap();
        assert_eq!((c.owned_projects, c.heal_loop_heals, c.heal_loop_days), (OwnedProjects::Heal, 3, 7));
        let vars = [("CACHE_BUCKET", "b-1"), ("GUARD_OWNED_PROJECTS", "Tell"), ("GUARD_HEAL_LOOP_HEALS", "0")];
        let c = GuardConfig::from_env(&vars).unwrap();
        assert_eq!((c.owned_projects, c.heal_loop_heals), (OwnedProjects::Tell, 0));
        for (name, value) in
            [("GUARD_OWNED_PROJECTS", "maybe"), ("GUARD_HEAL_LOOP_DAYS", "0"), ("GUARD_HEAL_LOOP_HEALS", "x")]
        {
            let err = GuardConfig::from_env(&[("CACHE_BUCKET", "b-1"), (name, value)]).unwrap_err();
            assert_eq!(err.variable, name);
        }
    }
}
