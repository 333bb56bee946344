//! What a project's buildspec tells about its cache: does it list `cache: paths:`, does it build
//! Docker images. A small line scanner, enough for these two questions without a YAML parser.

/// Where the buildspec comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildspecSource<'a> {
    /// YAML stored in the project itself.
    Inline(&'a str),
    /// A file in the source repository (we cannot read it from here).
    File(&'a str),
    /// Not set: `buildspec.yml` at the source root.
    Default,
}

pub fn classify(buildspec: Option<&str>) -> BuildspecSource<'_> {
    match buildspec.map(str::trim) {
        None | Some("") => BuildspecSource::Default,
        Some(text) if text.contains('\n') || text.starts_with("version") => {
            BuildspecSource::Inline(buildspec.unwrap_or_default())
        }
        Some(file) => BuildspecSource::File(file),
    }
}

/// The entries under the top-level `cache:` → `paths:` of an inline buildspec.
pub fn cache_paths(yaml: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut in_cache = false;
    let mut paths_indent: Option<usize> = None;
    for line in yaml.lines() {
        let content = line.split(" #").next().unwrap_or("").trim_end();
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = content.len() - trimmed.len();
        if indent == 0 {
            in_cache = trimmed.starts_with("cache:");
            paths_indent = None;
            continue;
        }
        if !in_cache {
            continue;
        }
        match paths_indent {
            Some(p) if indent > p || (indent == p && trimmed.starts_with("- ")) => {
                if let Some(item) = trimmed.strip_prefix("- ") {
                    paths.push(item.trim().trim_matches(|c| c == '\'' || c == '"').to_owned());
                }
            }
            _ => {
                paths_indent = None;
                if let Some(rest) = trimmed.strip_prefix("paths:") {
                    paths_indent = Some(indent);
                    // Flow style: `paths: ['/root/.cache/pip/**/*']`
                    let rest = rest.trim();
                    if rest.starts_with('[') {
                        paths.extend(
                            rest.trim_matches(|c| c == '[' || c == ']')
                                .split(',')
                                .map(|p| p.trim().trim_matches(|c| c == '\'' || c == '"').to_owned())
                                .filter(|p| !p.is_empty()),
                        );
                    }
                }
            }
        }
    }
    paths
}

/// Whether the buildspec runs Docker image builds.
pub fn builds_docker_images(yaml: &str) -> bool {
    yaml.lines().any(|l| {
        let l = l.trim();
        !l.starts_with('#')
            && (l.contains("docker build") || l.contains("docker buildx build") || l.contains("docker image build"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "version: 0.2\nphases:\n  build:\n    commands:\n      - docker build -t app .\ncache:\n  paths:\n    - '/root/.cache/pip/**/*'\n    - /root/.docker-cache/**/*\n";

    #[test]
    fn finds_block_and_flow_paths() {
        assert_eq!(cache_paths(SPEC), vec!["/root/.cache/pip/**/*", "/root/.docker-cache/**/*"]);
        assert_eq!(cache_paths("version: 0.2\ncache:\n  paths: ['/a/**/*', \"/b\"]\n"), vec!["/a/**/*", "/b"]);
        assert_eq!(
            cache_paths("version: 0.2\ncache:\n  key: k\n  paths:\n  - /a\n  - /b\nphases: {}\n"),
            vec!["/a", "/b"]
        );
    }

    #[test]
    fn no_cache_section_means_no_paths() {
        assert!(cache_paths("version: 0.2\nphases:\n  build:\n    commands:\n      - make\n").is_empty());
        assert!(cache_paths("version: 0.2\nphases:\n  build:\n    commands:\n      - echo 'cache:'\n").is_empty());
    }

    #[test]
    fn detects_docker_and_source() {
        assert!(builds_docker_images(SPEC));
        assert!(!builds_docker_images("version: 0.2\nphases:\n  build:\n    commands:\n      - cargo build\n"));
        assert_eq!(classify(Some("ci/buildspec.yml")), BuildspecSource::File("ci/buildspec.yml"));
        assert_eq!(classify(None), BuildspecSource::Default);
        assert!(matches!(classify(Some(SPEC)), BuildspecSource::Inline(_)));
    }
}
