//! IAM adapter: asks IAM's policy simulator (SimulatePrincipalPolicy) what a principal may do.

use crate::error::AwsError;
use aws_sdk_iam::Client;
use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, EvaluationResult, PolicyEvaluationDecisionType};

/// IAM's answer for one action on one resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Simulated {
    pub action: String,
    pub resource: String,
    pub decision: Decision,
    /// The policies whose statements decided it (for a Deny, only the denying ones).
    pub matched_policies: Vec<String>,
    /// Condition keys the policies use that the simulation had no value for.
    pub missing_context: Vec<String>,
}

/// IAM's evaluation decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    Allowed,
    ExplicitDeny,
    ImplicitDeny,
}

#[derive(Debug, Clone)]
pub struct PolicySimulator {
    client: Client,
}

impl PolicySimulator {
    pub fn new(client: Client) -> Self {
        PolicySimulator { client }
    }

    /// SimulatePrincipalPolicy for `actions` on one `resource` with the principal's own policies
    /// (inline, attached, groups', permissions boundary), all result pages.
    pub async fn simulate(
        &self,
        principal: &str,
        actions: &[&str],
        resource: &str,
    ) -> Result<Vec<Simulated>, AwsError> {
        self.simulate_in(principal, actions, resource, &[]).await
    }

    /// As [`Self::simulate`], with condition keys the request would carry (`context`: key, value),
    /// such as `kms:ViaService` for a KMS call S3 makes on the role's behalf.
    pub async fn simulate_in(
        &self,
        principal: &str,
        actions: &[&str],
        resource: &str,
        context: &[(&str, &str)],
    ) -> Result<Vec<Simulated>, AwsError> {
        let entries: Vec<ContextEntry> = context
            .iter()
            .map(|(key, value)| {
                ContextEntry::builder()
                    .context_key_name(*key)
                    .context_key_values(*value)
                    .context_key_type(ContextKeyTypeEnum::String)
                    .build()
            })
            .collect();
        let mut out = Vec::with_capacity(actions.len());
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .simulate_principal_policy()
                .policy_source_arn(principal)
                .set_action_names(Some(actions.iter().map(|a| (*a).to_owned()).collect()))
                .resource_arns(resource)
                .set_context_entries((!entries.is_empty()).then(|| entries.clone()))
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("iam:SimulatePrincipalPolicy", e))?;
            out.extend(page.evaluation_results().iter().map(|r| simulated(r, resource)));
            match page.marker() {
                Some(next) if page.is_truncated() => marker = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }
}

/// The result for `resource`: its ResourceSpecificResults entry when IAM gives one, else the
/// action's overall result.
fn simulated(result: &EvaluationResult, resource: &str) -> Simulated {
    let specific = result.resource_specific_results().iter().find(|r| r.eval_resource_name() == resource);
    let (decision, statements, missing) = match specific {
        Some(r) => (r.eval_resource_decision(), r.matched_statements(), r.missing_context_values()),
        None => (result.eval_decision(), result.matched_statements(), result.missing_context_values()),
    };
    let mut matched_policies: Vec<String> =
        statements.iter().filter_map(|s| s.source_policy_id().map(str::to_owned)).collect();
    matched_policies.dedup();
    Simulated {
        action: result.eval_action_name().to_owned(),
        resource: resource.to_owned(),
        decision: match decision {
            PolicyEvaluationDecisionType::Allowed => Decision::Allowed,
            PolicyEvaluationDecisionType::ExplicitDeny => Decision::ExplicitDeny,
            _ => Decision::ImplicitDeny,
        },
        matched_policies,
        missing_context: missing.to_vec(),
    }
}
