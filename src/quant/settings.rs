//! Quantization settings: unchecked structs, one `check()` each, a typed error, and the
//! CLI/link syntax (`quantile:0.5,0.8,0.95`, `kmeans:4`, `0,4,6,8`, `gradient`,
//! `magnitude`, `random:SEED`, `ptq`/`itq`/`combined`, `freeze`/`project`).

use super::cluster::ClusterMethod;
use super::fixed_point::is_valid_width;
use super::importance::ImportanceSource;
use super::itq::{DEFAULT_SCHEDULE, ItqMode};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Most clusters: one per valid width (0, 2..=16, 32).
pub const MAX_CLUSTERS: usize = 17;

/// Which quantization the run applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum QuantMethod {
    /// Post-training only (default).
    #[default]
    Ptq,
    /// In-training only (final widths = the ITQ widths).
    Itq,
    /// ITQ during training, then PTQ; final width = min of both.
    Combined,
}

/// Post-training settings as they arrive (from the CLI, a link or JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantSettings {
    pub method: QuantMethod,
    pub importance: ImportanceSource,
    pub cluster: ClusterMethod,
    /// One width per cluster, strictly increasing (cluster 0 = least important).
    pub widths: Vec<u8>,
}

impl Default for QuantSettings {
    /// PTQ, gradient importance, quantile `[0.5, 0.8, 0.95]`, widths `[0, 4, 6, 8]`.
    fn default() -> Self {
        QuantSettings {
            method: QuantMethod::Ptq,
            importance: ImportanceSource::Gradient,
            cluster: ClusterMethod::Quantile(vec![0.5, 0.8, 0.95]),
            widths: vec![0, 4, 6, 8],
        }
    }
}

/// In-training settings as they arrive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItqSettings {
    /// Fraction `p` of parameters in the low group, in (0.5, 1].
    pub split: f64,
    /// Epochs trained before the first ITQ step.
    pub warmup: usize,
    /// Low-group width per epoch past the warm-up, the last one repeated (non-empty).
    pub schedule: Vec<u8>,
    pub mode: ItqMode,
}

impl Default for ItqSettings {
    /// `p = 0.9`, 1 warm-up epoch, schedule `8,6,4,2,0`, freeze.
    fn default() -> Self {
        ItqSettings {
            split: 0.9,
            warmup: 1,
            schedule: DEFAULT_SCHEDULE.to_vec(),
            mode: ItqMode::Freeze,
        }
    }
}

/// Why settings are rejected or could not be parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsError {
    /// The number of widths differs from the number of clusters.
    WidthCount { widths: usize, clusters: usize },
    /// `widths[at]` is not above `widths[at - 1]`.
    WidthsNotIncreasing { at: usize },
    /// A width other than 0, 2..=16 or 32.
    UnknownWidth(u8),
    /// `fractions[at]` is not above `fractions[at - 1]`.
    FractionsNotIncreasing { at: usize },
    /// A quantile fraction outside (0, 1) (or NaN).
    FractionOutOfRange(f64),
    /// k-means with k = 0.
    NoClusters,
    /// More clusters than [`MAX_CLUSTERS`].
    TooManyClusters(usize),
    /// ITQ split outside (0.5, 1] (or NaN).
    SplitOutOfRange(f64),
    /// ITQ schedule with no width.
    EmptySchedule,
    /// Text that is not in the expected syntax.
    Parse { what: &'static str, input: String },
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use SettingsError::*;
        match self {
            WidthCount { widths, clusters } => write!(f, "{widths} widths for {clusters} clusters"),
            WidthsNotIncreasing { at } => {
                write!(f, "widths must increase strictly (at position {at})")
            }
            UnknownWidth(w) => write!(f, "unknown width {w} (use 0, 2..=16 or 32)"),
            FractionsNotIncreasing { at } => write!(
                f,
                "quantile fractions must increase strictly (at position {at})"
            ),
            FractionOutOfRange(x) => write!(f, "quantile fraction {x} is not in (0, 1)"),
            NoClusters => write!(f, "k-means needs at least one cluster"),
            TooManyClusters(k) => write!(f, "{k} clusters (at most {MAX_CLUSTERS})"),
            SplitOutOfRange(x) => write!(f, "ITQ split {x} is not in (0.5, 1]"),
            EmptySchedule => write!(f, "ITQ schedule is empty"),
            Parse { what, input } => write!(f, "cannot read {what} from {input:?}"),
        }
    }
}

impl std::error::Error for SettingsError {}

/// Settings that passed [`QuantSettings::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSettings(QuantSettings);

impl CheckedSettings {
    pub fn get(&self) -> &QuantSettings {
        &self.0
    }
    pub fn into_inner(self) -> QuantSettings {
        self.0
    }
}

/// Settings that passed [`ItqSettings::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedItqSettings(ItqSettings);

impl CheckedItqSettings {
    pub fn get(&self) -> &ItqSettings {
        &self.0
    }
}

impl QuantSettings {
    /// Validate: cluster method (k >= 1, k <= 17, fractions in (0, 1) strictly increasing),
    /// then widths (known, strictly increasing), then one width per cluster.
    pub fn check(&self) -> Result<CheckedSettings, SettingsError> {
        match &self.cluster {
            ClusterMethod::KMeans { k: 0 } => return Err(SettingsError::NoClusters),
            ClusterMethod::KMeans { .. } => {}
            ClusterMethod::Quantile(fr) => {
                if let Some(&x) = fr.iter().find(|&&x| !(x > 0.0 && x < 1.0)) {
                    return Err(SettingsError::FractionOutOfRange(x));
                }
                if let Some(at) = (1..fr.len()).find(|&i| fr[i] <= fr[i - 1]) {
                    return Err(SettingsError::FractionsNotIncreasing { at });
                }
            }
        }
        let k = self.cluster.k();
        if k > MAX_CLUSTERS {
            return Err(SettingsError::TooManyClusters(k));
        }
        check_widths(&self.widths)?;
        if let Some(at) = (1..self.widths.len()).find(|&i| self.widths[i] <= self.widths[i - 1]) {
            return Err(SettingsError::WidthsNotIncreasing { at });
        }
        if self.widths.len() != k {
            return Err(SettingsError::WidthCount {
                widths: self.widths.len(),
                clusters: k,
            });
        }
        Ok(CheckedSettings(self.clone()))
    }
}

impl ItqSettings {
    /// Validate: split in (0.5, 1], a non-empty schedule of known widths.
    pub fn check(&self) -> Result<CheckedItqSettings, SettingsError> {
        if !(self.split > 0.5 && self.split <= 1.0) {
            return Err(SettingsError::SplitOutOfRange(self.split));
        }
        if self.schedule.is_empty() {
            return Err(SettingsError::EmptySchedule);
        }
        check_widths(&self.schedule)?;
        Ok(CheckedItqSettings(self.clone()))
    }
}

fn check_widths(widths: &[u8]) -> Result<(), SettingsError> {
    match widths.iter().find(|&&w| !is_valid_width(w)) {
        Some(&w) => Err(SettingsError::UnknownWidth(w)),
        None => Ok(()),
    }
}

fn parse_err(what: &'static str, input: &str) -> SettingsError {
    SettingsError::Parse {
        what,
        input: input.to_string(),
    }
}

/// Parse a comma-separated width list, e.g. `"0,4,6,8"` (spaces allowed; syntax only).
pub fn parse_widths(s: &str) -> Result<Vec<u8>, SettingsError> {
    s.split(',')
        .map(|x| x.trim().parse::<u8>().map_err(|_| parse_err("widths", s)))
        .collect()
}

/// Format widths as [`parse_widths`] reads them.
pub fn format_widths(widths: &[u8]) -> String {
    widths
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl FromStr for ClusterMethod {
    type Err = SettingsError;
    /// `quantile:F1,F2,...` (`quantile:` alone = one cluster) or `kmeans:K`.
    fn from_str(s: &str) -> Result<Self, SettingsError> {
        let err = || parse_err("cluster method", s);
        let (kind, args) = s.trim().split_once(':').ok_or_else(err)?;
        match kind.trim() {
            "quantile" if args.trim().is_empty() => Ok(ClusterMethod::Quantile(vec![])),
            "quantile" => args
                .split(',')
                .map(|x| x.trim().parse::<f64>().map_err(|_| err()))
                .collect::<Result<_, _>>()
                .map(ClusterMethod::Quantile),
            "kmeans" => args
                .trim()
                .parse()
                .map(|k| ClusterMethod::KMeans { k })
                .map_err(|_| err()),
            _ => Err(err()),
        }
    }
}

impl fmt::Display for ClusterMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterMethod::Quantile(fr) => {
                let parts: Vec<String> = fr.iter().map(f64::to_string).collect();
                write!(f, "quantile:{}", parts.join(","))
            }
            ClusterMethod::KMeans { k } => write!(f, "kmeans:{k}"),
        }
    }
}

impl FromStr for ImportanceSource {
    type Err = SettingsError;
    /// `gradient`, `magnitude`, `random` (seed 0), `random:SEED` or `taylor`.
    fn from_str(s: &str) -> Result<Self, SettingsError> {
        match s.trim().split_once(':') {
            None if s.trim() == "gradient" => Ok(ImportanceSource::Gradient),
            None if s.trim() == "magnitude" => Ok(ImportanceSource::Magnitude),
            None if s.trim() == "taylor" => Ok(ImportanceSource::Taylor),
            None if s.trim() == "random" => Ok(ImportanceSource::Random { seed: 0 }),
            Some(("random", seed)) => seed
                .trim()
                .parse()
                .map(|seed| ImportanceSource::Random { seed })
                .map_err(|_| parse_err("importance source", s)),
            _ => Err(parse_err("importance source", s)),
        }
    }
}

macro_rules! word_enum {
    ($t:ty, $what:literal, $($v:path => $w:literal),+) => {
        impl FromStr for $t {
            type Err = SettingsError;
            fn from_str(s: &str) -> Result<Self, SettingsError> {
                match s.trim() { $($w => Ok($v),)+ _ => Err(parse_err($what, s)) }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $($v => $w,)+ })
            }
        }
    };
}
word_enum!(QuantMethod, "method", QuantMethod::Ptq => "ptq", QuantMethod::Itq => "itq", QuantMethod::Combined => "combined");
word_enum!(ItqMode, "ITQ mode", ItqMode::Freeze => "freeze", ItqMode::Project => "project");

#[cfg(test)]
mod tests {
    use super::*;
    use SettingsError::*;

    fn with(cluster: &str, widths: &[u8]) -> Result<CheckedSettings, SettingsError> {
        QuantSettings {
            cluster: cluster.parse().unwrap(),
            widths: widths.to_vec(),
            ..Default::default()
        }
        .check()
    }

    #[test]
    fn the_defaults_pass_their_checks() {
        assert!(QuantSettings::default().check().is_ok());
        assert!(ItqSettings::default().check().is_ok());
    }

    #[test]
    fn a_width_count_other_than_the_cluster_count_is_rejected() {
        assert_eq!(
            with("kmeans:3", &[0, 4]),
            Err(WidthCount {
                widths: 2,
                clusters: 3
            })
        );
    }

    #[test]
    fn widths_that_do_not_increase_strictly_are_rejected() {
        assert_eq!(
            with("kmeans:3", &[0, 4, 4]),
            Err(WidthsNotIncreasing { at: 2 })
        );
    }

    #[test]
    fn widths_one_seventeen_to_thirty_one_and_above_thirty_two_are_unknown() {
        for w in [1, 17, 31, 33, 255] {
            assert_eq!(with("kmeans:2", &[0, w]), Err(UnknownWidth(w)));
        }
    }

    #[test]
    fn fractions_must_increase_strictly() {
        assert_eq!(
            with("quantile:0.5,0.5", &[0, 4, 8]),
            Err(FractionsNotIncreasing { at: 1 })
        );
    }

    #[test]
    fn fractions_must_lie_strictly_between_zero_and_one() {
        assert_eq!(
            with("quantile:0,0.5", &[0, 4, 8]),
            Err(FractionOutOfRange(0.0))
        );
        assert_eq!(
            with("quantile:0.5,1", &[0, 4, 8]),
            Err(FractionOutOfRange(1.0))
        );
        assert!(matches!(with("quantile:NaN", &[0, 4]), Err(FractionOutOfRange(x)) if x.is_nan()));
    }

    #[test]
    fn kmeans_needs_at_least_one_cluster() {
        assert_eq!(with("kmeans:0", &[]), Err(NoClusters));
    }

    #[test]
    fn more_than_seventeen_clusters_is_rejected() {
        assert_eq!(with("kmeans:18", &[0]), Err(TooManyClusters(18)));
    }

    #[test]
    fn the_itq_split_must_be_above_one_half_and_at_most_one() {
        for p in [0.5, 1.01, f64::NAN] {
            let e = ItqSettings {
                split: p,
                ..Default::default()
            }
            .check()
            .unwrap_err();
            assert!(matches!(e, SplitOutOfRange(_)));
        }
        assert!(
            ItqSettings {
                split: 1.0,
                ..Default::default()
            }
            .check()
            .is_ok()
        );
    }

    #[test]
    fn the_itq_schedule_must_be_non_empty_known_widths() {
        assert_eq!(
            ItqSettings {
                schedule: vec![],
                ..Default::default()
            }
            .check(),
            Err(EmptySchedule)
        );
        assert_eq!(
            ItqSettings {
                schedule: vec![8, 1],
                ..Default::default()
            }
            .check(),
            Err(UnknownWidth(1))
        );
    }

    #[test]
    fn the_cli_syntax_parses_and_prints_back() {
        for s in ["quantile:0.5,0.8,0.95", "kmeans:4", "quantile:"] {
            assert_eq!(s.parse::<ClusterMethod>().unwrap().to_string(), s);
        }
        assert_eq!(parse_widths("0, 4,6,8").unwrap(), vec![0, 4, 6, 8]);
        assert_eq!(format_widths(&[0, 4, 6, 8]), "0,4,6,8");
        for s in ["gradient", "magnitude", "random:7", "taylor"] {
            assert_eq!(s.parse::<ImportanceSource>().unwrap().to_string(), s);
        }
        assert_eq!(
            "combined".parse::<QuantMethod>().unwrap(),
            QuantMethod::Combined
        );
        assert_eq!("project".parse::<ItqMode>().unwrap().to_string(), "project");
    }

    #[test]
    fn malformed_text_is_a_parse_error() {
        for s in ["quantile", "kmeans:x", "median:3", "quantile:0.5,,0.8"] {
            assert!(
                matches!(s.parse::<ClusterMethod>(), Err(Parse { .. })),
                "{s}"
            );
        }
        assert!(matches!(parse_widths("0,4,256"), Err(Parse { .. })));
        assert!(matches!(
            "random:-1".parse::<ImportanceSource>(),
            Err(Parse { .. })
        ));
        assert!(matches!("ptq2".parse::<QuantMethod>(), Err(Parse { .. })));
    }
}
