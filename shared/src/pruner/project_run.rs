//! A SUCCEEDED build prunes its project's cache location, right after the build wrote fresh cache:
//! the location it shares with its group, under the live rules (no orphans, no total budget), after
//! learning every location of the bucket so that the locations inside it are skipped. It reads the
//! state (locations no longer used stay claimed) but never writes it.

use super::calls::ApiCalls;
use super::deployment::Deployment;
use super::lease::RunKind;
use super::locations::{ScopeInputs, discover, location_in_bucket};
use super::outcome;
use super::report::PruneReport;
use super::rest::RestTask;
use super::scope::{LocationState, Scope};
use super::service::{CachePruner, PruneError, Turn};
use super::state::{StateStore, state_of};
use super::task::{Ending, LocationRun, LocationTask};
use crate::event::{BuildStateChange, BuildStatus};
use std::sync::Arc;
use tracing::info;

/// One build event's run.
pub struct ProjectRun<'a> {
    pub pruner: &'a CachePruner,
    pub deployment: &'a Deployment,
    pub change: &'a BuildStateChange,
    pub limits: super::RunLimits,
    pub calls: Arc<ApiCalls>,
}

impl ProjectRun<'_> {
    pub async fn run(self, report: &mut PruneReport) -> Result<(), PruneError> {
        let Some(scope) = self.scope(report).await? else {
            if let Some(why) = &report.ignored {
                info!(action = "ignore", reason = %why, "event ignored");
            }
            return Ok(());
        };
        let Turn::Ours(lease) =
            Box::pin(self.pruner.take_lease(self.deployment, RunKind::Build, &self.limits, &self.calls, report))
                .await?
        else {
            return Ok(());
        };
        let result = self.prune(scope, report).await;
        self.pruner.give_back(self.deployment, lease, &self.calls).await;
        result
    }

    /// The scope, with only the project's location managed; None (and `report.ignored`) when this
    /// event calls for no pruning.
    async fn scope(&self, report: &mut PruneReport) -> Result<Option<Scope>, PruneError> {
        let config = &self.pruner.config;
        let project = &self.change.project;
        if self.change.status != BuildStatus::Succeeded {
            report.ignored =
                Some(format!("build status {}: only SUCCEEDED builds trigger pruning", self.change.status));
            return Ok(None);
        }
        if let Err(why) = config.common.projects.check(project) {
            report.ignored = Some(format!("out of scope: {why}"));
            return Ok(None);
        }
        let bucket = self.deployment.bucket.as_str();
        let store = StateStore::new(self.pruner.s3.clone(), self.deployment);
        self.calls.add("s3:GetObject", 1);
        let loaded = store.load().await.map_err(PruneError::State)?;
        let projects = self.pruner.all_projects(&self.calls).await.map_err(PruneError::Discovery)?;
        let state = state_of(&loaded, &projects, self.deployment, self.pruner.clock.now(), report);
        report.last_full_sweep = state.last_full_sweep;
        let Some(prefix) =
            projects.iter().find(|p| &p.name == project).and_then(|p| location_in_bucket(&p.cache, bucket))
        else {
            report.ignored = Some(format!("{project} has no S3 cache location in {}", bucket));
            return Ok(None);
        };
        let discovered = discover(&ScopeInputs {
            bucket,
            key_prefix: &config.common.layout.key_prefix,
            filter: &config.common.projects,
            projects: &projects,
            known: &state.locations,
            now: self.pruner.clock.now(),
            grace: config.orphan_grace,
            delete_orphans: false,
        });
        let scope = discovered.scope;
        if let Some(excluded) = scope.excluded().iter().find(|e| e.prefix == prefix) {
            report.ignored = Some(format!(
                "its cache location {:?} is excluded: {}",
                report.location_name(&prefix),
                excluded.reason
            ));
            return Ok(None);
        }
        // Only this location is managed: the others stay claimed (skipped), never pruned by this run.
        let (mine, others): (Vec<_>, Vec<_>) = scope.managed().iter().cloned().partition(|m| m.prefix == prefix);
        let others = others
            .into_iter()
            .map(|m| super::scope::ExcludedLocation {
                prefix: m.prefix,
                reason: "another location".into(),
                projects: m.projects,
            })
            .chain(scope.excluded().iter().cloned())
            .collect();
        Ok(Some(Scope::new(mine, others)))
    }

    async fn prune(&self, mut scope: Scope, report: &mut PruneReport) -> Result<(), PruneError> {
        let Some(location) = scope.managed().first().cloned() else { return Ok(()) };
        outcome::add_locations(report, scope.managed());
        Box::pin(self.pruner.read_writers(&mut scope, &self.deployment.bucket, &self.calls, |_| true)).await;
        outcome::record_writers(report, &scope, self.pruner.config.keep_newest);
        let scope = Arc::new(scope);
        let policy = super::plan::PrunePolicy { total_budget: None, ..self.pruner.policy() };
        let kit = self.pruner.kit(&self.deployment.bucket, &scope, &self.calls, &self.limits, policy);
        let shared = kit.shared();
        let run: LocationRun = if location.prefix.is_empty() {
            // The bucket root: its keys come from the root listing; unmanaged folders are not listed.
            let rest = RestTask { scope: &scope, resume: Default::default(), folders: false }.run(&shared).await;
            if let Some(why) = rest.root_left_alone {
                outcome::leave_alone(report, "", why);
            }
            match rest.root {
                Some(run) => run,
                None => {
                    drop(shared);
                    kit.queue.finish().await;
                    report.finished = true;
                    return Ok(());
                }
            }
        } else {
            let task = LocationTask {
                prefix: &location.prefix,
                orphaned: matches!(location.state, LocationState::Orphaned { .. }),
                born: location.born,
                skip: scope.claimed_inside(&location.prefix),
                writers: scope.writers_of(&location.prefix),
                resume: Default::default(),
            };
            task.run(&shared).await
        };
        drop(shared);
        outcome::record_run(report, &location.prefix, &run);
        report.finished = matches!(run.ending, Ending::Finished(_));
        let deleted = kit.queue.finish().await;
        let transient = deleted.transient.clone();
        outcome::record_deletes(report, deleted);
        match (run.ending, transient) {
            (Ending::Failed { error, .. }, _) if Ending::transient(&error) => {
                Err(PruneError::Transient { failed: 1, first: error })
            }
            (_, Some(error)) => Err(PruneError::Transient { failed: 1, first: error }),
            _ => Ok(()),
        }
    }
}
