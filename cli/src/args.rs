//! The command line: four commands and the options they share.

use clap::{Args, Parser, Subcommand};

/// Exit codes: 0 nothing needs attention, 1 something does, 2 an error stopped the command
/// (130: a prune interrupted with Ctrl-C, its resume state saved).
#[derive(Debug, Parser)]
#[command(
    name = "cache-sentinel",
    version,
    about = "Keep AWS CodeBuild projects on a working S3 cache: audit, heal, prune, report."
)]
#[command(after_help = "Configuration: the same environment variables as the Lambda functions (CACHE_BUCKET, \
CACHE_KEY_PREFIX, PROJECT_INCLUDE, PRUNE_KEEP_NEWEST, MONITOR_EXPECTED_TIMES, ...); flags override them. \
AWS: the standard chain (AWS_PROFILE, AWS_REGION, ~/.aws/config, SSO, AWS_ENDPOINT_URL for an emulator).\n\
Exit codes: 0 nothing needs attention, 1 something does, 2 error, 130 interrupted.")]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Named profile from ~/.aws/config (overrides AWS_PROFILE).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region (overrides AWS_REGION and the profile's region).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// The cache bucket (overrides CACHE_BUCKET; default codebuild-cache-<account>-<region>).
    #[arg(long, global = true, value_name = "BUCKET")]
    pub bucket: Option<String>,
    /// Set a configuration variable for this run, as the Lambdas read it (repeatable):
    /// --set PRUNE_KEEP_NEWEST=5.
    #[arg(long = "set", global = true, value_name = "VARIABLE=VALUE")]
    pub set: Vec<String>,
    /// Log what the library does to stderr (-v info, -vv debug; RUST_LOG wins).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The time to judge ages and running builds by (RFC 3339), instead of the clock: for replays
    /// and reproducible output.
    #[arg(long, global = true, hide = true, value_name = "RFC3339")]
    pub now: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every project: cache now, what the guard would do and why, last build vs its expected time.
    Audit {
        #[command(flatten)]
        projects: ProjectArgs,
        /// `table` (default), `json` (as --json), or `asff`: what needs attention as AWS Security
        /// Finding Format findings, for a hand import (`aws securityhub batch-import-findings`).
        #[arg(long, value_enum, default_value_t = AuditFormat::Table, value_name = "FORMAT")]
        format: AuditFormat,
        #[command(flatten)]
        across: AcrossArgs,
    },
    /// The guard's plans for every project; a dry run unless --apply.
    Heal {
        #[command(flatten)]
        projects: ProjectArgs,
        /// Change the projects (UpdateProject) and send the guard's notices.
        #[arg(long)]
        apply: bool,
    },
    /// The pruner's plan: what it would delete, by reason and cache location, and what it leaves
    /// alone; deletes with --apply.
    Prune {
        /// Delete (Ctrl-C stops cleanly at the next listing page, the resume state saved; the next
        /// run continues there).
        #[arg(long)]
        apply: bool,
        /// Stop listing after this many minutes, the resume state saved (the pruner's lease is
        /// renewed while the command runs, and lapses within six minutes if it dies).
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u16).range(1..=1440), value_name = "MINUTES")]
        max_minutes: u16,
    },
    /// Recent builds per project: duration, scenario, queue time, p50/p90, which exceeded their range.
    Report {
        #[command(flatten)]
        projects: ProjectArgs,
        /// Builds read per project (10; 100 with --since).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=100), value_name = "N")]
        builds: Option<u16>,
        /// Only the builds that started within this long before now: `7d`, `24h`, `90m`.
        #[arg(long, value_parser = parse_since, value_name = "DURATION")]
        since: Option<chrono::Duration>,
        /// Also read each shown build's log (CloudWatch Logs, within MONITOR_LOG_MAX_PAGES and
        /// MONITOR_LOG_MAX_BYTES): the causes it names and what the cache's own work took.
        #[arg(long)]
        logs: bool,
    },
}

/// `7d`, `24h`, `90m`: a whole number of days, hours or minutes, at most 90 days.
fn parse_since(text: &str) -> Result<chrono::Duration, String> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| format!("{text:?} is not a duration like 7d, 24h or 90m"))?;
    let span = match unit {
        "d" => chrono::Duration::days(n),
        "h" => chrono::Duration::hours(n),
        "m" => chrono::Duration::minutes(n),
        _ => return Err(format!("{text:?}: the unit is d, h or m (7d, 24h, 90m)")),
    };
    if n < 1 || span > chrono::Duration::days(90) {
        return Err(format!("{text:?}: between 1 minute and 90 days"));
    }
    Ok(span)
}

/// How `audit` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    Table,
    Json,
    Asff,
}

/// The cross-account audit: which accounts and regions (none of these: the caller's account in
/// its region, as before).
#[derive(Debug, Args, Default)]
pub struct AcrossArgs {
    /// Audit these accounts (12-digit ids, comma-separated or repeated) through the role
    /// `cache-sentinel-audit` the stack creates in each; the caller's own account with its own
    /// credentials.
    #[arg(long, value_name = "ID,...", conflicts_with = "organization")]
    pub accounts: Vec<String>,
    /// Audit every account of the organisation (Organizations ListAccounts: run it from the
    /// management account or a delegated administrator).
    #[arg(long)]
    pub organization: bool,
    /// Regions to audit in each account (comma-separated or repeated; default: --region, else the
    /// profile's region).
    #[arg(long, value_name = "REGION,...", value_delimiter = ',')]
    pub regions: Vec<String>,
}

impl AcrossArgs {
    /// Whether the audit goes beyond the caller's account in its region.
    pub fn any(&self) -> bool {
        !self.accounts.is_empty() || self.organization || !self.regions.is_empty()
    }
}

#[derive(Debug, Args, Default)]
pub struct ProjectArgs {
    /// Only projects matching this glob (`*`, `?`; repeatable). Overrides PROJECT_INCLUDE;
    /// PROJECT_EXCLUDE still applies.
    #[arg(long = "project", value_name = "GLOB")]
    pub patterns: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_days_hours_or_minutes_up_to_90_days() {
        assert_eq!(parse_since("7d"), Ok(chrono::Duration::days(7)));
        assert_eq!(parse_since("24h"), Ok(chrono::Duration::hours(24)));
        assert_eq!(parse_since("90m"), Ok(chrono::Duration::minutes(90)));
        for bad in ["", "7", "d", "0d", "-1h", "91d", "1w", "7 d"] {
            assert!(parse_since(bad).is_err(), "{bad:?}");
        }
    }
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    /// docs/cli.md names every command and flag `--help` shows (and the hidden `--now`), and no
    /// flag the command line does not have.
    #[test]
    fn docs_cli_md_names_every_command_and_flag_and_no_other() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md");
        let docs = std::fs::read_to_string(&path).expect("docs/cli.md");
        let cli = Cli::command();
        let mut longs = std::collections::BTreeSet::new();
        let commands = std::iter::once(&cli).chain(cli.get_subcommands());
        for command in commands {
            if command.get_name() != cli.get_name() {
                let usage = format!("cache-sentinel {}", command.get_name());
                assert!(docs.contains(&usage), "docs/cli.md does not show `{usage}`");
            }
            for arg in command.get_arguments() {
                let Some(long) = arg.get_long() else { continue };
                if ["help", "version"].contains(&long) {
                    continue;
                }
                longs.insert(long.to_owned());
                assert!(docs.contains(&format!("--{long}")), "docs/cli.md does not name --{long}");
            }
        }
        // The other way: a flag in the page that is not ours, but for the build command it shows.
        let theirs = ["--release"];
        let mut rest = docs.as_str();
        while let Some(at) = rest.find("--") {
            rest = &rest[at + 2..];
            let flag: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '-').collect();
            if !flag.is_empty() && !longs.contains(&flag) {
                assert!(
                    theirs.contains(&format!("--{flag}").as_str()),
                    "docs/cli.md names --{flag}, which cache-sentinel does not have"
                );
            }
        }
        for code in ["0 nothing needs attention", "1 something does", "2 an error", "130"] {
            assert!(docs.contains(code), "docs/cli.md does not give the exit code `{code}`");
        }
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::parse_from([
            "cache-sentinel",
            "heal",
            "--project",
            "tts-*",
            "--project",
            "web",
            "--apply",
            "--region",
            "ap-south-1",
        ]);
        match cli.command {
            Command::Heal { projects, apply } => {
                assert_eq!(projects.patterns, vec!["tts-*", "web"]);
                assert!(apply);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(cli.global.region.as_deref(), Some("ap-south-1"));
        assert!(Cli::try_parse_from(["cache-sentinel", "report", "--builds", "0"]).is_err());
        assert!(Cli::try_parse_from(["cache-sentinel", "prune", "--project", "x"]).is_err());
        assert!(Cli::try_parse_from(["cache-sentinel", "prune", "--max-minutes", "0"]).is_err());
        let audit = Cli::parse_from([
            "cache-sentinel",
            "audit",
            "--accounts",
            "111111111111,222222222222",
            "--regions",
            "eu-west-1,us-east-1",
            "--regions",
            "ap-south-1",
        ]);
        match audit.command {
            Command::Audit { across, .. } => {
                assert_eq!(
                    across.accounts,
                    vec!["111111111111,222222222222"],
                    "split by the library, which checks each id"
                );
                assert_eq!(across.regions, vec!["eu-west-1", "us-east-1", "ap-south-1"]);
                assert!(across.any() && !across.organization);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            Cli::try_parse_from(["cache-sentinel", "audit", "--accounts", "111111111111", "--organization"]).is_err()
        );
        let prune = Cli::parse_from(["cache-sentinel", "prune", "--apply"]);
        assert!(matches!(prune.command, Command::Prune { apply: true, max_minutes: 60 }), "{prune:?}");
    }
}
