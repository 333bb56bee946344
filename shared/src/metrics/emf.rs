//! CloudWatch Embedded Metric Format, as AWS's specification describes it
//! (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
//! a JSON object with an `_aws` member holding `Timestamp` (milliseconds since the epoch) and
//! `CloudWatchMetrics`, a list of directives `{Namespace, Dimensions: [[names]], Metrics: [{Name,
//! Unit}]}`; each dimension's value and each metric's value are top-level members of the same
//! object (dimension values strings, metric values numbers). At most 100 metrics a directive and
//! 30 dimensions a dimension set. Other top-level members are plain log properties, searchable in
//! Logs Insights and never billed as metrics.

use super::catalogue::{MetricDef, NAMESPACE};
use serde_json::{Map, Value, json};

/// The specification's limits.
pub const MAX_METRICS: usize = 100;
pub const MAX_DIMENSIONS: usize = 30;

/// One EMF log line: one namespace, its dimension sets, the metrics and their values.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricLine {
    timestamp_ms: i64,
    /// Dimension name -> value, in the order first given.
    dimensions: Vec<(String, String)>,
    /// Each set names dimensions above; every metric is published once per set.
    dimension_sets: Vec<Vec<String>>,
    metrics: Vec<(&'static MetricDef, f64)>,
    properties: Map<String, Value>,
}

impl MetricLine {
    pub fn new(timestamp_ms: i64) -> Self {
        MetricLine { timestamp_ms, dimensions: vec![], dimension_sets: vec![], metrics: vec![], properties: Map::new() }
    }

    /// A dimension's value (a later value for the same name replaces it).
    pub fn dimension(mut self, name: &str, value: &str) -> Self {
        match self.dimensions.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = value.to_owned(),
            None => self.dimensions.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    /// A dimension set: the metrics are published for each set (names given by `dimension`).
    pub fn dimension_set(mut self, names: &[&str]) -> Self {
        self.dimension_sets.push(names.iter().map(|n| (*n).to_owned()).collect());
        self
    }

    /// A metric's value; a value that is not a finite number is left out (EMF needs numbers).
    pub fn metric(mut self, def: &'static MetricDef, value: f64) -> Self {
        if value.is_finite() {
            self.metrics.push((def, value));
        }
        self
    }

    /// A plain property (searchable in the log, not a metric).
    pub fn property(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.properties.insert(name.to_owned(), value.into());
        self
    }

    pub fn metrics(&self) -> impl Iterator<Item = (&'static MetricDef, f64)> + '_ {
        self.metrics.iter().copied()
    }

    pub fn dimension_sets(&self) -> &[Vec<String>] {
        &self.dimension_sets
    }

    /// The line, checked against the specification's limits: a metric past the 100th is dropped
    /// (never a line CloudWatch would refuse), as is a dimension set past 30 names or naming a
    /// dimension without a value.
    pub fn to_json(&self) -> Value {
        let mut root = self.properties.clone();
        let sets: Vec<&Vec<String>> = self
            .dimension_sets
            .iter()
            .filter(|set| {
                set.len() <= MAX_DIMENSIONS && set.iter().all(|n| self.dimensions.iter().any(|(d, _)| d == n))
            })
            .collect();
        for (name, value) in &self.dimensions {
            root.insert(name.clone(), Value::String(value.clone()));
        }
        let metrics: Vec<_> = self.metrics.iter().take(MAX_METRICS).collect();
        for (def, value) in &metrics {
            root.insert(def.name.to_owned(), json!(value));
        }
        let definitions: Vec<Value> =
            metrics.iter().map(|(def, _)| json!({"Name": def.name, "Unit": def.unit})).collect();
        root.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": self.timestamp_ms,
                "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": sets, "Metrics": definitions}],
            }),
        );
        Value::Object(root)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::metrics::catalogue::{BUILD_OWN_MINUTES, SLOW_BUILDS};

    /// The specification's rules, checked on a line as CloudWatch would read it.
    pub(crate) fn assert_valid_emf(line: &Value) {
        let aws = &line["_aws"];
        assert!(aws["Timestamp"].as_i64().is_some_and(|t| t > 0), "Timestamp in ms: {line}");
        let directives = aws["CloudWatchMetrics"].as_array().expect("CloudWatchMetrics is a list");
        assert!(!directives.is_empty());
        for d in directives {
            assert!(d["Namespace"].as_str().is_some_and(|n| !n.is_empty() && n.len() <= 1024), "{d}");
            for set in d["Dimensions"].as_array().expect("Dimensions is a list of lists") {
                let set = set.as_array().expect("a dimension set is a list");
                assert!(set.len() <= MAX_DIMENSIONS, "{set:?}");
                for name in set {
                    let name = name.as_str().expect("a dimension name");
                    assert!(line[name].is_string(), "dimension {name} has a string value: {line}");
                }
            }
            let metrics = d["Metrics"].as_array().expect("Metrics is a list");
            assert!(metrics.len() <= MAX_METRICS);
            for m in metrics {
                let name = m["Name"].as_str().expect("Name");
                assert!(!name.is_empty() && name.len() <= 255);
                assert!(line[name].is_number(), "metric {name} has a number value: {line}");
                let unit = m["Unit"].as_str().unwrap_or("None");
                assert!(super::super::catalogue::UNITS.contains(&unit), "unit {unit}");
            }
        }
    }

    #[test]
    fn a_line_is_what_the_specification_describes() {
        let line = MetricLine::new(1_764_000_000_000)
            .dimension("Function", "build-time-monitor")
            .dimension("Project", "tts")
            .dimension_set(&["Function"])
            .dimension_set(&["Function", "Project"])
            .metric(&BUILD_OWN_MINUTES, 32.5)
            .metric(&SLOW_BUILDS, 1.0)
            .metric(&SLOW_BUILDS, f64::NAN)
            .property("BuildId", "tts:1");
        let json = line.to_json();
        assert_valid_emf(&json);
        assert_eq!(json["_aws"]["Timestamp"], 1_764_000_000_000i64);
        let d = &json["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(d["Namespace"], NAMESPACE);
        assert_eq!(d["Dimensions"], json!([["Function"], ["Function", "Project"]]));
        assert_eq!(
            d["Metrics"],
            json!([{"Name": "BuildOwnMinutes", "Unit": "None"}, {"Name": "SlowBuilds", "Unit": "Count"}])
        );
        assert_eq!((json["BuildOwnMinutes"].as_f64(), json["SlowBuilds"].as_f64()), (Some(32.5), Some(1.0)));
        assert_eq!(json["Project"], "tts");
        assert_eq!(json["BuildId"], "tts:1");
        // A single line of JSON.
        assert!(!json.to_string().contains('\n'));
    }

    #[test]
    fn limits_are_kept_never_a_line_cloudwatch_refuses() {
        let mut line =
            MetricLine::new(1).dimension("Function", "f").dimension_set(&["Function"]).dimension_set(&["Missing"]);
        let names: Vec<String> = (0..31).map(|i| format!("D{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        for n in &refs {
            line = line.dimension(n, "v");
        }
        line = line.dimension_set(&refs);
        for _ in 0..120 {
            line = line.metric(&SLOW_BUILDS, 1.0);
        }
        let json = line.to_json();
        assert_valid_emf(&json);
        assert_eq!(
            json["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"]]),
            "31 names and an unknown one dropped"
        );
        assert_eq!(json["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().len(), MAX_METRICS);
    }
}
