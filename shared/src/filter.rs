//! Which projects a deployment looks after: include and exclude name patterns (`*` and `?` globs).

/// Include/exclude patterns over project names. No include pattern means every project.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFilter {
    include: Vec<String>,
    exclude: Vec<String>,
}

/// Why a project is out of scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutOfScope {
    NotIncluded,
    Excluded(String),
}

impl std::fmt::Display for OutOfScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutOfScope::NotIncluded => f.write_str("matches no PROJECT_INCLUDE pattern"),
            OutOfScope::Excluded(p) => write!(f, "excluded by PROJECT_EXCLUDE pattern {p:?}"),
        }
    }
}

impl ProjectFilter {
    /// Builds a filter; an invalid pattern is reported with the variable it came from.
    pub fn new(include: Vec<String>, exclude: Vec<String>) -> Result<Self, (&'static str, String)> {
        for (var, patterns) in [("PROJECT_INCLUDE", &include), ("PROJECT_EXCLUDE", &exclude)] {
            if let Some(bad) = patterns.iter().find(|p| p.chars().any(|c| c.is_whitespace() || c.is_control())) {
                return Err((var, format!("pattern {bad:?} contains white space")));
            }
        }
        Ok(ProjectFilter { include, exclude })
    }

    pub fn check(&self, project: &str) -> Result<(), OutOfScope> {
        if let Some(p) = self.exclude.iter().find(|p| glob_match(p, project)) {
            return Err(OutOfScope::Excluded(p.clone()));
        }
        if self.include.is_empty() || self.include.iter().any(|p| glob_match(p, project)) {
            Ok(())
        } else {
            Err(OutOfScope::NotIncluded)
        }
    }
}

/// Matches `*` (any run, also empty) and `?` (one character); everything else literally.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("tts-*", "tts-service-build"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*-build", "tts-service-build"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(!glob_match("tts-*", "web-build"));
        assert!(glob_match("*a*b*", "xxaxxbxx"));
        assert!(!glob_match("exact", "exactly"));
    }

    #[test]
    fn exclude_wins_over_include() {
        let f = ProjectFilter::new(vec!["tts-*".into()], vec!["*-sandbox".into()]).unwrap();
        assert_eq!(f.check("tts-service-build"), Ok(()));
        assert_eq!(f.check("tts-sandbox"), Err(OutOfScope::Excluded("*-sandbox".into())));
        assert_eq!(f.check("web"), Err(OutOfScope::NotIncluded));
        assert_eq!(ProjectFilter::default().check("anything"), Ok(()));
    }
}
