//! CodeBuild's on-demand compute types: one table of sizes and per-minute prices, each figure with
//! its source, and the compute advice a slow-build email gives from it (pure).
//!
//! Sources:
//! - vCPU and memory: the CodeBuild API reference, `ProjectEnvironment.computeType` and
//!   `Fleet.computeType` (docs.aws.amazon.com/codebuild/latest/APIReference, read 2026-12-04):
//!   BUILD_GENERAL1_SMALL 2 vCPU / 4 GiB, MEDIUM 4 / 8, LARGE 8 / 16, XLARGE 36 / 72, 2XLARGE 72 /
//!   144 with 824 GB of SSD; the user guide's "Build environment compute types" for the ARM sizes
//!   (SMALL 2 / 4, LARGE 8 / 16) and for 2XLARGE having no LOCAL cache.
//! - Prices: the AWS CodeBuild pricing page (aws.amazon.com/codebuild/pricing), on-demand, Linux,
//!   US East (N. Virginia), as listed in 2026: general1.small $0.005 a build minute, general1.medium
//!   $0.01, general1.large $0.02, general1.2xlarge $0.20; arm1.small $0.0034, arm1.large $0.015.
//!   general1.xlarge's price was not in the sources we checked: it is left unknown (never
//!   guessed), and `MONITOR_COMPUTE_PRICES` sets it, or any other (another region, a discount).
//!   The pricing page bills "from the time you submit your build until your build is terminated,
//!   rounded up to the nearest minute".
//!
//! The seed write-up's "2XLARGE (16 vCPU, 32 GB), about twice the cost" is wrong on both counts:
//! 2XLARGE is 72 vCPU / 144 GiB and costs ten times LARGE a minute.

use std::collections::BTreeMap;

/// One on-demand compute type of one environment family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComputeSpec {
    /// `LINUX_CONTAINER` or `ARM_CONTAINER`.
    pub environment: &'static str,
    /// `BUILD_GENERAL1_LARGE`...
    pub compute_type: &'static str,
    /// The pricing page's name: `general1.large`, `arm1.small`...
    pub price_name: &'static str,
    pub vcpus: u32,
    pub memory_gib: u32,
    /// US dollars a build minute (us-east-1 on-demand); None where no source gave it.
    pub usd_per_minute: Option<f64>,
    /// Whether a LOCAL cache works on it (2XLARGE: no).
    pub local_cache: bool,
}

const fn spec(
    environment: &'static str,
    compute_type: &'static str,
    price_name: &'static str,
    vcpus: u32,
    memory_gib: u32,
    usd_per_minute: Option<f64>,
) -> ComputeSpec {
    ComputeSpec { environment, compute_type, price_name, vcpus, memory_gib, usd_per_minute, local_cache: true }
}

/// Smallest first within each environment family (the order "the next size up" follows).
pub const TABLE: &[ComputeSpec] = &[
    spec("LINUX_CONTAINER", "BUILD_GENERAL1_SMALL", "general1.small", 2, 4, Some(0.005)),
    spec("LINUX_CONTAINER", "BUILD_GENERAL1_MEDIUM", "general1.medium", 4, 8, Some(0.01)),
    spec("LINUX_CONTAINER", "BUILD_GENERAL1_LARGE", "general1.large", 8, 16, Some(0.02)),
    spec("LINUX_CONTAINER", "BUILD_GENERAL1_XLARGE", "general1.xlarge", 36, 72, None),
    ComputeSpec {
        local_cache: false,
        ..spec("LINUX_CONTAINER", "BUILD_GENERAL1_2XLARGE", "general1.2xlarge", 72, 144, Some(0.20))
    },
    spec("ARM_CONTAINER", "BUILD_GENERAL1_SMALL", "arm1.small", 2, 4, Some(0.0034)),
    spec("ARM_CONTAINER", "BUILD_GENERAL1_LARGE", "arm1.large", 8, 16, Some(0.015)),
];

/// Per-minute prices set by `MONITOR_COMPUTE_PRICES` (pricing-page name -> US dollars), over the
/// table's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prices {
    overrides: BTreeMap<String, f64>,
}

impl Prices {
    pub const EMPTY: Prices = Prices { overrides: BTreeMap::new() };

    /// `{"general1.xlarge": 0.04, "general1.large": 0.0225}`: names from the table, prices above 0
    /// and at most $100 a minute.
    pub fn parse_json(text: &str) -> Result<Self, String> {
        let map: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| format!("not a JSON object of name -> price: {e}"))?;
        let mut overrides = BTreeMap::new();
        for (name, value) in map {
            if !TABLE.iter().any(|s| s.price_name == name) {
                let known: Vec<_> = TABLE.iter().map(|s| s.price_name).collect();
                return Err(format!("unknown compute type {name:?} (known: {})", known.join(", ")));
            }
            let price = value.as_f64().filter(|p| p.is_finite() && *p > 0.0 && *p <= 100.0);
            let Some(price) = price else {
                return Err(format!("{name}: {value} is not a price in US dollars a minute (above 0, at most 100)"));
            };
            overrides.insert(name, price);
        }
        Ok(Prices { overrides })
    }

    /// The price a minute of `spec`, and whether it was set by the variable.
    pub fn of(&self, spec: &ComputeSpec) -> Option<(f64, bool)> {
        match self.overrides.get(spec.price_name) {
            Some(p) => Some((*p, true)),
            None => spec.usd_per_minute.map(|p| (p, false)),
        }
    }
}

/// The price a minute a cost was taken at, and where it came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PriceUsed {
    /// The pricing page's name (`general1.large`).
    pub name: String,
    pub usd_per_minute: f64,
    /// Set by `MONITOR_COMPUTE_PRICES` rather than the table.
    pub from_variable: bool,
}

/// The price a minute of an environment and compute type, or why it is not known.
pub fn price_of(environment: Option<&str>, compute_type: Option<&str>, prices: &Prices) -> Result<PriceUsed, String> {
    let compute_type = compute_type.ok_or("the compute type is not known")?;
    let spec =
        lookup(environment, compute_type).ok_or_else(|| format!("{compute_type} is not in the compute table"))?;
    let (usd_per_minute, from_variable) = prices
        .of(spec)
        .ok_or_else(|| format!("no source gave {}'s price: set MONITOR_COMPUTE_PRICES", spec.price_name))?;
    Ok(PriceUsed { name: spec.price_name.to_owned(), usd_per_minute, from_variable })
}

/// The table's entry for a build's environment and compute type; an unknown environment type is
/// taken as Linux x86 (`LINUX_CONTAINER`) only when it was not reported at all.
pub fn lookup(environment: Option<&str>, compute_type: &str) -> Option<&'static ComputeSpec> {
    let environment = environment.unwrap_or("LINUX_CONTAINER");
    TABLE.iter().find(|s| s.environment == environment && s.compute_type == compute_type)
}

/// The sizes above `spec` in its family, smallest first.
pub fn larger(spec: &ComputeSpec) -> impl Iterator<Item = &'static ComputeSpec> + '_ {
    TABLE.iter().filter(move |s| s.environment == spec.environment && s.vcpus > spec.vcpus)
}

/// Build minutes as CodeBuild bills them: the whole duration, rounded up to the minute.
pub fn billed_minutes(duration_seconds: u64) -> u64 {
    duration_seconds.div_ceil(60)
}

/// "$0.020" under ten cents (a per-minute price keeps its third digit), else "$6.60".
fn usd(amount: f64) -> String {
    if amount < 0.1 { format!("${amount:.3}") } else { format!("${amount:.2}") }
}

fn describe(spec: &ComputeSpec) -> String {
    format!("{} ({} vCPU, {} GiB)", spec.compute_type, spec.vcpus, spec.memory_gib)
}

/// What a bigger compute type would cost for this build, from the table: the build's own price,
/// the next size up, and the next one with a known price when that one's is not known. None for a
/// type not in the table or the largest of its family.
pub fn advice(
    environment: Option<&str>,
    compute_type: &str,
    duration_seconds: u64,
    finished: bool,
    prices: &Prices,
) -> Option<String> {
    let current = lookup(environment, compute_type)?;
    let next = larger(current).next()?;
    let minutes = billed_minutes(duration_seconds);
    let source = |set: bool| if set { "MONITOR_COMPUTE_PRICES" } else { "on-demand, us-east-1" };
    let mut text = format!("Compute type is {}", describe(current));
    let own = prices.of(current);
    match own {
        Some((price, set)) => text.push_str(&format!(
            ", {} a minute ({}): this build's {minutes} billed minutes{} cost about {}.",
            usd(price),
            source(set),
            if finished { "" } else { " so far" },
            usd(price * minutes as f64)
        )),
        None => text.push_str(&format!(
            ": its price is not in cache-sentinel's table (MONITOR_COMPUTE_PRICES sets {}).",
            current.price_name
        )),
    }
    let compare = |spec: &ComputeSpec| -> String {
        let mut s = describe(spec);
        if let Some((price, set)) = prices.of(spec) {
            s.push_str(&format!(
                " costs {} a minute ({}): {} for as many minutes",
                usd(price),
                source(set),
                usd(price * minutes as f64)
            ));
            if let Some((own, _)) = own {
                s.push_str(&format!(", {:.1}x as much", price / own));
            }
        } else {
            s.push_str(&format!(
                " has no price in cache-sentinel's table (MONITOR_COMPUTE_PRICES sets {})",
                spec.price_name
            ));
        }
        if !spec.local_cache {
            s.push_str(", and has no LOCAL cache");
        }
        s
    };
    text.push_str(&format!(" The next size up, {}.", compare(next)));
    if prices.of(next).is_none()
        && let Some(priced) = larger(next).find(|s| prices.of(s).is_some())
    {
        text.push_str(&format!(" After it, {}.", compare(priced)));
    }
    text.push_str(
        " A bigger type speeds up only the CPU-bound steps: it saves money only if it cuts the minutes by as much.",
    );
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_the_api_references_sizes_and_the_pricing_pages_prices() {
        let large = lookup(Some("LINUX_CONTAINER"), "BUILD_GENERAL1_LARGE").unwrap();
        assert_eq!((large.vcpus, large.memory_gib, large.usd_per_minute), (8, 16, Some(0.02)));
        let xxl = lookup(None, "BUILD_GENERAL1_2XLARGE").unwrap();
        assert_eq!((xxl.vcpus, xxl.memory_gib, xxl.local_cache), (72, 144, false));
        // Ten times LARGE a minute, not "about twice" as the seed write-up says.
        assert_eq!((xxl.usd_per_minute.unwrap() / large.usd_per_minute.unwrap()).round(), 10.0);
        assert_eq!(lookup(Some("LINUX_CONTAINER"), "BUILD_GENERAL1_XLARGE").unwrap().usd_per_minute, None);
        assert_eq!(lookup(Some("ARM_CONTAINER"), "BUILD_GENERAL1_LARGE").unwrap().price_name, "arm1.large");
        assert_eq!(lookup(Some("LINUX_GPU_CONTAINER"), "BUILD_GENERAL1_LARGE"), None);
        // Each family smallest first: "the next size up" is the next row.
        for family in ["LINUX_CONTAINER", "ARM_CONTAINER"] {
            let sizes: Vec<_> = TABLE.iter().filter(|s| s.environment == family).map(|s| s.vcpus).collect();
            assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{family}: {sizes:?}");
        }
    }

    #[test]
    fn large_names_xlarge_then_the_priced_2xlarge_for_the_builds_minutes() {
        // 33 min 36 s: 34 billed minutes.
        let text =
            advice(Some("LINUX_CONTAINER"), "BUILD_GENERAL1_LARGE", 33 * 60 + 36, true, &Prices::default()).unwrap();
        assert!(text.starts_with("Compute type is BUILD_GENERAL1_LARGE (8 vCPU, 16 GiB), $0.020 a minute (on-demand, us-east-1): this build's 34 billed minutes cost about $0.68."), "{text}");
        assert!(text.contains("The next size up, BUILD_GENERAL1_XLARGE (36 vCPU, 72 GiB) has no price in cache-sentinel's table (MONITOR_COMPUTE_PRICES sets general1.xlarge)."), "{text}");
        assert!(text.contains("After it, BUILD_GENERAL1_2XLARGE (72 vCPU, 144 GiB) costs $0.20 a minute (on-demand, us-east-1): $6.80 for as many minutes, 10.0x as much, and has no LOCAL cache."), "{text}");
    }

    #[test]
    fn a_price_set_by_the_variable_is_used_and_named() {
        let prices = Prices::parse_json(r#"{"general1.xlarge": 0.04}"#).unwrap();
        let text = advice(None, "BUILD_GENERAL1_LARGE", 600, false, &prices).unwrap();
        assert!(text.contains("BUILD_GENERAL1_XLARGE (36 vCPU, 72 GiB) costs $0.040 a minute (MONITOR_COMPUTE_PRICES): $0.40 for as many minutes, 2.0x as much."), "{text}");
        assert!(!text.contains("After it"), "{text}");
        assert!(text.contains("this build's 10 billed minutes so far cost about $0.20"), "a running build: {text}");
        let medium = advice(None, "BUILD_GENERAL1_MEDIUM", 61, true, &Prices::default()).unwrap();
        assert!(
            medium.contains("2 billed minutes cost about $0.020")
                && medium.contains("BUILD_GENERAL1_LARGE (8 vCPU, 16 GiB) costs $0.020 a minute"),
            "{medium}"
        );
    }

    #[test]
    fn no_advice_for_the_largest_or_an_unknown_type() {
        assert_eq!(advice(None, "BUILD_GENERAL1_2XLARGE", 600, true, &Prices::default()), None);
        assert_eq!(advice(Some("ARM_CONTAINER"), "BUILD_GENERAL1_LARGE", 600, true, &Prices::default()), None);
        assert_eq!(advice(Some("LINUX_GPU_CONTAINER"), "BUILD_GENERAL1_LARGE", 600, true, &Prices::default()), None);
        assert_eq!(advice(None, "BUILD_LAMBDA_1GB", 600, true, &Prices::default()), None);
    }

    #[test]
    fn bad_prices_are_refused_naming_the_cause() {
        assert!(Prices::parse_json("[1]").unwrap_err().contains("not a JSON object"));
        assert!(
            Prices::parse_json(r#"{"general1.huge": 1}"#)
                .unwrap_err()
                .contains("unknown compute type \"general1.huge\"")
        );
        for bad in [
            r#"{"general1.large": 0}"#,
            r#"{"general1.large": -1}"#,
            r#"{"general1.large": "cheap"}"#,
            r#"{"general1.large": 1000}"#,
        ] {
            assert!(Prices::parse_json(bad).unwrap_err().contains("not a price"), "{bad}");
        }
        assert_eq!(billed_minutes(0), 0);
        assert_eq!(billed_minutes(60), 1);
        assert_eq!(billed_minutes(61), 2);
    }
}
