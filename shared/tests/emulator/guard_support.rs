//! What the guard's emulator tests share: configuration, events, a sandbox with a service role,
//! and a CodeBuild client that counts (or alters) UpdateProject calls on their way to the emulator.

use aws_sdk_codebuild::error::SdkError;
use aws_sdk_codebuild::operation::create_fleet::{CreateFleetError, CreateFleetOutput};
use aws_sdk_codebuild::operation::update_project::UpdateProjectInput;
use aws_sdk_codebuild::types::{ComputeType, EnvironmentType, FleetOverflowBehavior};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextMut, BeforeSerializationInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use cache_sentinel::aws::Clients;
use cache_sentinel::guard::GuardConfig;
use cache_sentinel::project::CacheSetting;
use cache_sentinel::testing;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// CreateFleet of a one-host Linux fleet named `name`; `overflow` None leaves CodeBuild's default.
pub async fn create_fleet(
    clients: &Clients,
    name: &str,
    overflow: Option<FleetOverflowBehavior>,
) -> Result<CreateFleetOutput, SdkError<CreateFleetError>> {
    clients
        .codebuild
        .create_fleet()
        .name(name)
        .base_capacity(1)
        .environment_type(EnvironmentType::LinuxContainer)
        .compute_type(ComputeType::BuildGeneral1Small)
        .set_overflow_behavior(overflow)
        .send()
        .await
}

pub fn config(vars: &[(&str, &str)]) -> GuardConfig {
    let env: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    GuardConfig::from_env(&env).expect("config")
}

pub fn build_event(project: &str, status: &str) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../../events/build-in-progress.json")).unwrap();
    event["id"] = json!(testing::unique("evt"));
    event["region"] = json!(testing::region());
    event["detail"]["project-name"] = json!(project);
    event["detail"]["build-status"] = json!(status);
    event
}

pub fn sweep_event() -> Value {
    serde_json::from_str(include_str!("../../../events/scheduled-sweep.json")).unwrap()
}

pub async fn cache_of(clients: &Clients, project: &str) -> CacheSetting {
    let out = clients.codebuild.batch_get_projects().names(project).send().await.unwrap();
    cache_sentinel::aws::codebuild::cache_setting(out.projects()[0].cache().unwrap())
}

/// A sandbox (bucket, topic) and a CodeBuild service role that may use the bucket as its cache.
pub async fn setup() -> (testing::Sandbox, String) {
    let s = testing::Sandbox::new().await;
    let role = testing::cache_role(&s.clients, &s.bucket).await;
    (s, role)
}

/// Records every UpdateProject (the project named) and can send one project's update to a
/// project that does not exist, as if it were deleted between read and update.
#[derive(Debug, Clone, Default)]
pub struct UpdateProjectSpy {
    pub calls: Arc<Mutex<Vec<String>>>,
    pub vanish: Option<String>,
}

impl UpdateProjectSpy {
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// `clients` with a CodeBuild client that goes through this spy.
    pub fn clients(&self, clients: &Clients) -> Clients {
        let config = aws_sdk_codebuild::config::Builder::from(&clients.sdk).interceptor(self.clone()).build();
        Clients { codebuild: aws_sdk_codebuild::Client::from_conf(config), ..clients.clone() }
    }
}

impl Intercept for UpdateProjectSpy {
    fn name(&self) -> &'static str {
        "UpdateProjectSpy"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(input) = context.input().downcast_ref::<UpdateProjectInput>() {
            self.calls.lock().unwrap().push(input.name.clone().unwrap_or_default());
        }
        Ok(())
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let (Some(vanish), Some(input)) = (&self.vanish, context.input_mut().downcast_mut::<UpdateProjectInput>())
            && input.name.as_deref() == Some(vanish.as_str())
        {
            input.name = Some(format!("{vanish}-deleted"));
        }
        Ok(())
    }
}

/// A service role that may read the sandbox's cache bucket but not write it: the guard refuses to
/// heal a project that builds with it, naming the statement to add.
pub async fn read_only_role(s: &testing::Sandbox) -> String {
    let read_only = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}/*"}}]}}"#,
        s.bucket
    );
    testing::create_role(&s.clients, &testing::unique("read-only"), &[("cache", &read_only)]).await
}
