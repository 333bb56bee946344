//! CodeBuild adapter: list and read projects, update a project's cache, read builds.

use crate::build::{BuildFacts, LogsLocation, PhaseTime, arn_region_account, short_build_id};
use crate::error::AwsError;
use crate::event::BuildStatus;
use crate::project::{CacheSetting, ProjectSnapshot};
use crate::pruner::writers::BuildSpan;
use aws_sdk_codebuild::Client;
use aws_sdk_codebuild::types::{Build, CacheMode, CacheType, Project, ProjectCache, SortOrderType};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// BatchGetProjects and BatchGetBuilds take at most 100 names or ids per call.
pub const BATCH_LIMIT: usize = 100;

#[derive(Debug, Clone)]
pub struct CodeBuildProjects {
    client: Client,
}

impl CodeBuildProjects {
    pub fn new(client: Client) -> Self {
        CodeBuildProjects { client }
    }

    /// Every project name in the account and region, following all ListProjects pages.
    pub async fn list_names(&self) -> Result<Vec<String>, AwsError> {
        let mut names = Vec::new();
        let mut pages = self.client.list_projects().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("codebuild:ListProjects", e))?;
            names.extend(page.projects().iter().cloned());
        }
        Ok(names)
    }

    /// Reads projects in batches of 100. Names CodeBuild does not know are returned apart.
    pub async fn get(&self, names: &[String]) -> Result<(Vec<ProjectSnapshot>, Vec<String>), AwsError> {
        let mut found = Vec::with_capacity(names.len());
        let mut missing = Vec::new();
        for chunk in names.chunks(BATCH_LIMIT) {
            let out = self
                .client
                .batch_get_projects()
                .set_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("codebuild:BatchGetProjects", e))?;
            found.extend(out.projects().iter().map(snapshot));
            missing.extend(out.projects_not_found().iter().cloned());
        }
        // Emulators may omit projectsNotFound; derive it from what came back.
        for name in names {
            if !found.iter().any(|p: &ProjectSnapshot| &p.name == name) && !missing.contains(name) {
                missing.push(name.clone());
            }
        }
        Ok((found, missing))
    }

    /// Sets the project's cache and nothing else: UpdateProject replaces only the fields it is given.
    /// Returns the cache as CodeBuild reports it after the update.
    pub async fn update_cache(&self, project: &str, cache: &CacheSetting) -> Result<CacheSetting, AwsError> {
        let mut builder = ProjectCache::builder().r#type(CacheType::from(cache.cache_type.as_str()));
        if let Some(location) = &cache.location {
            builder = builder.location(location);
        }
        for mode in &cache.modes {
            builder = builder.modes(CacheMode::from(mode.as_str()));
        }
        if let Some(namespace) = &cache.namespace {
            builder = builder.cache_namespace(namespace);
        }
        let project_cache = builder.build().map_err(|e| {
            AwsError::new(
                "codebuild:UpdateProject",
                crate::error::AwsErrorKind::InvalidInput,
                "BuildError",
                e.to_string(),
            )
        })?;
        let out = self
            .client
            .update_project()
            .name(project)
            .cache(project_cache)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("codebuild:UpdateProject", e))?;
        Ok(out.project().and_then(|p| p.cache()).map(cache_setting).unwrap_or_else(CacheSetting::none))
    }
}

/// A reserved-capacity fleet as the guard needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetInfo {
    pub arn: String,
    pub name: String,
    /// `overflowBehavior`: QUEUE or ON_DEMAND (None when CodeBuild does not say).
    pub overflow_behavior: Option<String>,
}

impl CodeBuildProjects {
    /// BatchGetFleets for fleet names or ARNs (at most 100 a call); unknown ones are left out.
    pub async fn get_fleets(&self, names: &[String]) -> Result<Vec<FleetInfo>, AwsError> {
        let mut fleets = Vec::with_capacity(names.len());
        for chunk in names.chunks(BATCH_LIMIT) {
            let out = self
                .client
                .batch_get_fleets()
                .set_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("codebuild:BatchGetFleets", e))?;
            fleets.extend(out.fleets().iter().map(|f| FleetInfo {
                arn: f.arn().unwrap_or_default().to_owned(),
                name: f.name().unwrap_or_default().to_owned(),
                overflow_behavior: f.overflow_behavior().map(|o| o.as_str().to_owned()),
            }));
        }
        Ok(fleets)
    }
}

impl CodeBuildProjects {
    /// The ids of a project's most recent builds, newest first as CodeBuild sorts them, at most
    /// `limit` (ListBuildsForProject pages of up to 100, stopping once `limit` ids are in). No
    /// sortOrder: descending by build number is the default, and the API refuses a sort order for
    /// a project with more than 100 builds.
    pub async fn recent_build_ids(&self, project: &str, limit: usize) -> Result<Vec<String>, AwsError> {
        let mut ids = Vec::new();
        let mut pages = self.client.list_builds_for_project().project_name(project).into_paginator().send();
        while ids.len() < limit {
            let Some(page) = pages.next().await else { break };
            let page = page.map_err(|e| AwsError::from_sdk("codebuild:ListBuildsForProject", e))?;
            ids.extend(page.ids().iter().cloned());
        }
        ids.truncate(limit);
        Ok(ids)
    }

    /// A project's most recent builds (at most `limit`, up to 100: one ListBuildsForProject page and
    /// one BatchGetBuilds call), as the pruner attributes a shared location's objects by them.
    pub async fn cache_builds(&self, project: &str, limit: usize) -> Result<Vec<BuildSpan>, AwsError> {
        let ids = self.recent_build_ids(project, limit).await?;
        let builds = self.get_builds(&ids).await?;
        Ok(builds
            .iter()
            .map(|b| BuildSpan {
                started_ms: b.start_time().and_then(|t| t.to_millis().ok()),
                ended_ms: b.end_time().and_then(|t| t.to_millis().ok()),
                cache: b.cache().map(cache_setting),
            })
            .collect())
    }

    /// Reads builds in batches of 100 (BatchGetBuilds); ids CodeBuild does not know are left out.
    pub async fn get_builds(&self, ids: &[String]) -> Result<Vec<Build>, AwsError> {
        Ok(self.get_builds_reporting(ids).await?.0)
    }

    /// Reads builds in batches of 100, and names the ids CodeBuild does not know (buildsNotFound).
    pub async fn get_builds_reporting(&self, ids: &[String]) -> Result<(Vec<Build>, Vec<String>), AwsError> {
        let mut builds = Vec::with_capacity(ids.len());
        let mut not_found = Vec::new();
        for chunk in ids.chunks(BATCH_LIMIT) {
            let out = self
                .client
                .batch_get_builds()
                .set_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("codebuild:BatchGetBuilds", e))?;
            builds.extend(out.builds().iter().cloned());
            not_found.extend(out.builds_not_found().iter().cloned());
        }
        Ok((builds, not_found))
    }

    /// The job identifier of every build of these batch builds (BatchGetBuildBatches, 100 a call):
    /// build id -> its build group's `identifier`, from each group's current and prior builds.
    /// Batches CodeBuild no longer knows are left out.
    pub async fn batch_jobs(&self, batch_arns: &[String]) -> Result<BTreeMap<String, String>, AwsError> {
        // BatchGetBuildBatches takes batch ids (`project:uuid`), the end of the ARN.
        let ids: Vec<String> = batch_arns
            .iter()
            .map(|a| a.rsplit_once("build-batch/").map_or(a.as_str(), |(_, id)| id).to_owned())
            .collect();
        let mut jobs = BTreeMap::new();
        for chunk in ids.chunks(BATCH_LIMIT) {
            let out = self
                .client
                .batch_get_build_batches()
                .set_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("codebuild:BatchGetBuildBatches", e))?;
            for group in out.build_batches().iter().flat_map(|b| b.build_groups()) {
                let Some(identifier) = group.identifier() else { continue };
                let builds = group.current_build_summary().into_iter().chain(group.prior_build_summary_list());
                for arn in builds.filter_map(|b| b.arn()) {
                    jobs.insert(short_build_id(arn), identifier.to_owned());
                }
            }
        }
        Ok(jobs)
    }

    /// One page of the account's build ids, newest first (ListBuilds, DESCENDING: up to 100 ids),
    /// and the token of the next page.
    pub async fn list_build_ids_page(&self, token: Option<String>) -> Result<(Vec<String>, Option<String>), AwsError> {
        let out = self
            .client
            .list_builds()
            .sort_order(SortOrderType::Descending)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("codebuild:ListBuilds", e))?;
        Ok((out.ids().to_vec(), out.next_token().map(str::to_owned)))
    }
}

/// Converts a BatchGetBuilds build into the plain build model.
pub fn build_facts(build: &Build) -> BuildFacts {
    let status =
        build.build_status().map(|s| BuildStatus::parse(s.as_str())).unwrap_or(BuildStatus::Other("UNKNOWN".into()));
    let mut facts = BuildFacts::new(build.project_name().unwrap_or_default(), status);
    facts.build_id = build.id().map(str::to_owned);
    facts.build_number = build.build_number().and_then(|n| u64::try_from(n).ok());
    facts.start = build.start_time().and_then(to_chrono);
    facts.end = build.end_time().and_then(to_chrono).filter(|_| facts.status.is_final());
    // A phase can appear more than once (retries, and emulators); the latest entry of each wins.
    for phase in build.phases() {
        let name = phase.phase_type().map(|t| t.as_str().to_owned()).unwrap_or_default();
        let entry = PhaseTime {
            phase: name.clone(),
            seconds: phase.duration_in_seconds().and_then(|s| u64::try_from(s).ok()),
            status: phase.phase_status().map(|s| s.as_str().to_owned()),
        };
        match facts.phases.iter_mut().find(|p| p.phase == name) {
            Some(existing) => *existing = entry,
            None => facts.phases.push(entry),
        }
    }
    facts.cache = build.cache().map(cache_setting);
    facts.timeout_minutes = build.timeout_in_minutes().and_then(|m| u64::try_from(m).ok()).filter(|m| *m > 0);
    facts.queued_timeout_minutes =
        build.queued_timeout_in_minutes().and_then(|m| u64::try_from(m).ok()).filter(|m| *m > 0);
    facts.compute_type = build.environment().map(|e| e.compute_type().as_str().to_owned());
    facts.environment_type = build.environment().map(|e| e.r#type().as_str().to_owned());
    facts.source_version = build.resolved_source_version().or(build.source_version()).map(str::to_owned);
    facts.exported = build
        .exported_environment_variables()
        .iter()
        .filter_map(|v| Some((v.name()?.to_owned(), v.value().unwrap_or_default().to_owned())))
        .collect();
    facts.batch = build.build_batch_arn().map(str::to_owned);
    facts.logs = build.logs().map(|l| LogsLocation {
        group: l.group_name().map(str::to_owned),
        stream: l.stream_name().map(str::to_owned),
        cloudwatch_enabled: l.cloud_watch_logs().map(|c| c.status().as_str() == "ENABLED"),
        s3_enabled: l.s3_logs().map(|s| s.status().as_str() == "ENABLED"),
    });
    if let Some((region, account)) = build.arn().and_then(arn_region_account) {
        facts.region = Some(region);
        facts.account = Some(account);
    }
    facts
}

fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// Converts the SDK's project into the plain snapshot the planner works on.
pub fn snapshot(project: &Project) -> ProjectSnapshot {
    ProjectSnapshot {
        name: project.name().unwrap_or_default().to_owned(),
        arn: project.arn().map(str::to_owned),
        cache: project.cache().map(cache_setting).unwrap_or_else(CacheSetting::none),
        tags: project
            .tags()
            .iter()
            .map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned()))
            .collect(),
        buildspec: project.source().and_then(|s| s.buildspec()).map(str::to_owned),
        privileged_mode: project.environment().and_then(|e| e.privileged_mode()).unwrap_or(false),
        image: project.environment().map(|e| e.image().to_owned()),
        environment_type: project.environment().map(|e| e.r#type().as_str().to_owned()),
        compute_type: project.environment().map(|e| e.compute_type().as_str().to_owned()),
        fleet_arn: project.environment().and_then(|e| e.fleet()).and_then(|f| f.fleet_arn()).map(str::to_owned),
        docker_server: project.environment().and_then(|e| e.docker_server()).is_some(),
        service_role: project.service_role().map(str::to_owned).filter(|r| !r.is_empty()),
        vpc: project.vpc_config().is_some_and(|v| !v.subnets().is_empty()),
        last_modified: project.last_modified().and_then(|t| t.to_millis().ok()),
        created: project.created().and_then(|t| t.to_millis().ok()),
    }
}

pub fn cache_setting(cache: &ProjectCache) -> CacheSetting {
    CacheSetting {
        cache_type: cache.r#type().as_str().to_owned(),
        location: cache.location().map(str::to_owned).filter(|l| !l.is_empty()),
        modes: cache.modes().iter().map(|m| m.as_str().to_owned()).collect(),
        namespace: cache.cache_namespace().map(str::to_owned).filter(|n| !n.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_codebuild::types::{
        BuildPhase, BuildPhaseType, ComputeType, EnvironmentType, ExportedEnvironmentVariable, ProjectEnvironment,
        StatusType,
    };
    use aws_smithy_types::DateTime as SmithyTime;

    #[test]
    fn batch_get_builds_output_becomes_build_facts() {
        let phase = |t: BuildPhaseType, secs: i64| {
            BuildPhase::builder().phase_type(t).phase_status(StatusType::Succeeded).duration_in_seconds(secs).build()
        };
        let build = Build::builder()
            .id("tts:abc")
            .arn("arn:aws:codebuild:ap-south-1:123456789012:build/tts:abc")
            .project_name("tts")
            .build_number(7)
            .build_status(StatusType::Succeeded)
            .start_time(SmithyTime::from_secs(1_700_000_000))
            .end_time(SmithyTime::from_secs(1_700_000_600))
            .phases(phase(BuildPhaseType::PreBuild, 100))
            .phases(phase(BuildPhaseType::Build, 300))
            // A phase listed twice (emulators, retries): the last entry wins.
            .phases(phase(BuildPhaseType::Build, 400))
            .cache(ProjectCache::builder().r#type(CacheType::S3).location("bucket/tts").build().unwrap())
            .environment(
                ProjectEnvironment::builder()
                    .r#type(EnvironmentType::LinuxContainer)
                    .image("aws/codebuild/standard:7.0")
                    .compute_type(ComputeType::BuildGeneral1Large)
                    .build()
                    .unwrap(),
            )
            .source_version("refs/heads/main")
            .resolved_source_version("0123abc")
            .exported_environment_variables(
                ExportedEnvironmentVariable::builder().name("CACHE_SENTINEL_SCENARIO").value("requirements").build(),
            )
            .build();
        let f = build_facts(&build);
        assert_eq!(f.project, "tts");
        assert_eq!(f.build_id.as_deref(), Some("tts:abc"));
        assert_eq!(f.build_number, Some(7));
        assert_eq!(f.status, BuildStatus::Succeeded);
        assert_eq!(f.duration_seconds(Utc::now()), Some(600));
        assert_eq!(f.phase_seconds("BUILD"), Some(400));
        assert_eq!(f.phases.len(), 2);
        assert_eq!(f.cache, Some(crate::project::CacheSetting::s3("bucket/tts")));
        assert_eq!(f.compute_type.as_deref(), Some("BUILD_GENERAL1_LARGE"));
        assert_eq!(f.source_version.as_deref(), Some("0123abc"), "the resolved commit, not the branch");
        assert_eq!(f.exported.get("CACHE_SENTINEL_SCENARIO").map(String::as_str), Some("requirements"));
        assert_eq!((f.region.as_deref(), f.account.as_deref()), (Some("ap-south-1"), Some("123456789012")));

        let running = Build::builder()
            .id("tts:run")
            .project_name("tts")
            .build_status(StatusType::InProgress)
            .start_time(SmithyTime::from_secs(1_700_000_000))
            .build();
        let f = build_facts(&running);
        assert_eq!(f.status, BuildStatus::InProgress);
        assert_eq!(f.end, None);
    }
}
