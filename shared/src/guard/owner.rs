//! Who owns a project's definition, read from its tags, and the change to make there so that the
//! next deployment keeps the S3 cache instead of setting the old one back. Pure.
//!
//! CloudFormation (and so the CDK, which deploys through it) tags the resources it manages with
//! `aws:cloudformation:stack-name` and `aws:cloudformation:logical-id`. Terraform adds no tag of
//! its own; teams mark its resources by convention (`ManagedBy = "terraform"`, `terraform:*`).

use crate::project::CacheSetting;
use serde::Serialize;

pub const STACK_NAME_TAG: &str = "aws:cloudformation:stack-name";
pub const LOGICAL_ID_TAG: &str = "aws:cloudformation:logical-id";

/// The tool a project's definition lives in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Owner {
    /// A CloudFormation stack (or a CDK app deployed as one).
    CloudFormation {
        stack: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        logical_id: Option<String>,
    },
    /// Terraform (or OpenTofu), as a tag says (`tag` is `key=value`).
    Terraform { tag: String },
}

impl Owner {
    /// A few words: "CloudFormation stack tts (TtsBuild)", "Terraform (ManagedBy=terraform)".
    pub fn describe(&self) -> String {
        match self {
            Owner::CloudFormation { stack, logical_id: Some(id) } => format!("CloudFormation stack {stack} ({id})"),
            Owner::CloudFormation { stack, logical_id: None } => format!("CloudFormation stack {stack}"),
            Owner::Terraform { tag } => format!("Terraform (tag {tag})"),
        }
    }

    /// For a table: "CloudFormation", "Terraform".
    pub fn label(&self) -> &'static str {
        match self {
            Owner::CloudFormation { .. } => "CloudFormation",
            Owner::Terraform { .. } => "Terraform",
        }
    }
}

/// The owner the tags name, if any.
pub fn owner_of(tags: &[(String, String)]) -> Option<Owner> {
    let tag = |key: &str| tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
    if let Some(stack) = tag(STACK_NAME_TAG) {
        return Some(Owner::CloudFormation { stack, logical_id: tag(LOGICAL_ID_TAG) });
    }
    tags.iter().find(|(k, v)| says_terraform(k, v)).map(|(k, v)| Owner::Terraform { tag: format!("{k}={v}") })
}

/// `ManagedBy=terraform`, `managed-by=Terraform Cloud`, `Provisioner=opentofu`, `terraform:workspace=...`.
fn says_terraform(key: &str, value: &str) -> bool {
    let key: String = key.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    let value = value.to_ascii_lowercase();
    let tool = value.contains("terraform") || value.contains("opentofu");
    let marker = ["managedby", "provisioner", "provisionedby", "createdby", "deployedby", "iac", "tool"];
    key.starts_with("terraform") || (tool && marker.contains(&key.as_str()))
}

/// The notice's advice for a healed project with an owner: the source change, ready to paste,
/// for the S3 cache at `after`.
pub fn source_change(owner: &Owner, after: &CacheSetting) -> String {
    let location = after.location.as_deref().unwrap_or_default();
    let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
    let namespace = after.namespace.as_deref();
    let mut text = format!(
        "the project is defined by {}: its next deployment sets the old cache back and the guard heals it again. Make the change at the source:\n",
        owner.describe()
    );
    match owner {
        Owner::CloudFormation { logical_id, .. } => {
            let id = logical_id.as_deref().unwrap_or("the AWS::CodeBuild::Project");
            text.push_str(&format!(
                "CloudFormation ({id}, Properties):\n  Cache:\n    Type: S3\n    Location: {location}\n"
            ));
            if let Some(ns) = namespace {
                text.push_str(&format!("    CacheNamespace: {ns}\n"));
            }
            let options = match (prefix.is_empty(), namespace) {
                (true, None) => String::new(),
                (false, None) => format!(", {{ prefix: '{prefix}' }}"),
                (true, Some(ns)) => format!(", {{ cacheNamespace: '{ns}' }}"),
                (false, Some(ns)) => format!(", {{ prefix: '{prefix}', cacheNamespace: '{ns}' }}"),
            };
            text.push_str(&format!(
                "CDK (a stack the CDK deploys):\n  cache: codebuild.Cache.bucket(s3.Bucket.fromBucketName(this, 'CacheBucket', '{bucket}'){options}),\n"
            ));
        }
        Owner::Terraform { .. } => {
            text.push_str(&format!(
                "Terraform (resource \"aws_codebuild_project\"):\n  cache {{\n    type     = \"S3\"\n    location = \"{location}\"\n  }}\n"
            ));
            if let Some(ns) = namespace {
                text.push_str(&format!(
                    "  (the provider has no cacheNamespace: set {ns} outside Terraform, or expect a diff)\n"
                ));
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn owners_are_read_from_their_tags() {
        let cfn = tags(&[(STACK_NAME_TAG, "tts"), (LOGICAL_ID_TAG, "TtsBuild"), ("team", "speech")]);
        assert_eq!(
            owner_of(&cfn),
            Some(Owner::CloudFormation { stack: "tts".into(), logical_id: Some("TtsBuild".into()) })
        );
        for (k, v) in [
            ("ManagedBy", "terraform"),
            ("managed-by", "Terraform Cloud"),
            ("Provisioner", "OpenTofu"),
            ("terraform:workspace", "prod"),
        ] {
            let owner = owner_of(&tags(&[(k, v)]));
            assert_eq!(owner, Some(Owner::Terraform { tag: format!("{k}={v}") }), "{k}={v}");
        }
        for none in [tags(&[]), tags(&[("team", "terraform-fans-but-not-a-marker")]), tags(&[("ManagedBy", "pulumi")])]
        {
            assert_eq!(owner_of(&none), None, "{none:?}");
        }
    }

    #[test]
    fn the_source_change_names_this_projects_location() {
        let after = CacheSetting::s3("codebuild-cache-123456789012-ap-south-1/tts-service-build");
        let cfn = Owner::CloudFormation { stack: "tts".into(), logical_id: Some("TtsBuild".into()) };
        let text = source_change(&cfn, &after);
        assert!(text.contains("CloudFormation stack tts (TtsBuild)"), "{text}");
        assert!(
            text.contains(
                "  Cache:\n    Type: S3\n    Location: codebuild-cache-123456789012-ap-south-1/tts-service-build\n"
            ),
            "{text}"
        );
        assert!(text.contains("codebuild.Cache.bucket(s3.Bucket.fromBucketName(this, 'CacheBucket', 'codebuild-cache-123456789012-ap-south-1'), { prefix: 'tts-service-build' })"), "{text}");
        let tf = Owner::Terraform { tag: "ManagedBy=terraform".into() };
        let text = source_change(&tf, &after.clone().with_namespace(Some("speech".into())));
        assert!(text.contains("  cache {\n    type     = \"S3\"\n    location = \"codebuild-cache-123456789012-ap-south-1/tts-service-build\"\n  }\n"), "{text}");
        assert!(text.contains("no cacheNamespace"), "{text}");
    }
}
