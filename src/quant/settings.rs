//! Quantization settings: unchecked structs, one `check()` each, the typed
//! [`SettingsError`] of every setting (these and the run's, `crate::config`), and the
//! CLI/link syntax of clusters (`quantile:0.5,0.8,0.95`, `kmeans:4`) and width lists
//! (`0,4,6,8`). The words (method, importance, ITQ mode, ...) are `crate::choices`.

use super::cluster::ClusterMethod;
use super::encoding::Encoding;
use super::reaccount::PtqPlan;
use super::fixed_point::is_valid_width;
use super::importance::ImportanceSource;
use super::itq::{DEFAULT_SCHEDULE, ItqMode};
pub use crate::choices::Method;
use crate::choices::UnknownWord;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Most clusters: one per valid width (0, 2..=16, 32).
pub const MAX_CLUSTERS: usize = 17;

/// The PTQ half of a quantization as it arrives: where the importance comes from, the
/// clusters, and one width per cluster (least important first). Unchecked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PtqSettings {
    pub importance: ImportanceSource,
    pub clusters: ClusterMethod,
    /// One width per cluster, strictly increasing (cluster 0 = least important).
    pub widths: Vec<u8>,
}

impl Default for PtqSettings {
    /// Gradient importance, quantile `[0.5, 0.8, 0.95]`, widths `[0, 4, 6, 8]`.
    fn default() -> Self {
        PtqSettings {
            importance: ImportanceSource::Gradient,
            clusters: ClusterMethod::Quantile(vec![0.5, 0.8, 0.95]),
            widths: vec![0, 4, 6, 8],
        }
    }
}

/// Everything one quantization needs, as it arrives (from a link, the command line,
/// Python or JSON): unchecked. [`QuantSettings::check`] is the one way to the
/// [`CheckedSettings`] that the pipeline (`compress`, `LiveAccount`, the snapshots, the
/// session's result) accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantSettings {
    /// `none` keeps every value in float; `quantize` refuses it before it gets here.
    pub method: Method,
    /// Used by `ptq` and `combined`, checked for every method.
    pub ptq: PtqSettings,
    /// The `.agq` file's encoding (and its report's).
    pub encoding: Encoding,
}

impl Default for QuantSettings {
    /// PTQ with the default [`PtqSettings`], CSR.
    fn default() -> Self {
        QuantSettings { method: Method::Ptq, ptq: PtqSettings::default(), encoding: Encoding::Csr }
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

/// A setting that is refused: unreadable text, or a broken rule. [`SettingsError::fields`]
/// names the link keys (= command-line flags, Python arguments) at fault; `Display` writes
/// `field: rule`, [`SettingsError::rule`] the rule alone (for a caller that names the field
/// its own way: the link reader's issues, the command line's `--flag: rule`).
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsError {
    /// A word that is not in the field's list.
    NotOneOf { field: &'static str, words: &'static [&'static str] },
    /// Text that is not in the field's syntax (the text itself is not echoed).
    Unreadable { field: &'static str, expected: &'static str },
    /// A quantile fraction outside (0, 1) (or NaN).
    FractionOutOfRange(f64),
    /// `fractions[at]` is not above `fractions[at - 1]`.
    FractionsNotIncreasing { at: usize },
    /// k-means with k = 0.
    NoClusters,
    /// More clusters than [`MAX_CLUSTERS`].
    TooManyClusters(usize),
    /// A PTQ width other than 0, 2..=16 or 32.
    UnknownWidth(u8),
    /// `widths[at]` is not above `widths[at - 1]`.
    WidthsNotIncreasing { at: usize },
    /// The number of widths differs from the number of clusters.
    WidthCount { widths: usize, clusters: usize },
    /// ITQ split outside (0.5, 1] (or NaN).
    SplitOutOfRange(f64),
    /// ITQ schedule with no width.
    EmptySchedule,
    /// An ITQ schedule width other than 0, 2..=16 or 32.
    UnknownScheduleWidth(u8),
    /// A run's ITQ schedule longer than 64 widths.
    ScheduleTooLong(usize),
    /// A run's ITQ schedule whose widths go up.
    ScheduleIncreasing,
    /// A run's warm-up outside 0..=100 epochs.
    WarmupOutOfRange(u32),
    EpochsOutOfRange(u32),
    BatchOutOfRange(u32),
    LrOutOfRange(f64),
    MomentumOutOfRange(f64),
    DecayOutOfRange(f64),
    TrainSizeOutOfRange(u32),
}

impl SettingsError {
    /// The link keys of the settings at fault (two for a width count that disagrees with
    /// the cluster count).
    pub fn fields(&self) -> &[&'static str] {
        use SettingsError::*;
        match self {
            NotOneOf { field, .. } | Unreadable { field, .. } => std::slice::from_ref(field),
            FractionOutOfRange(_) | FractionsNotIncreasing { .. } | NoClusters | TooManyClusters(_) => &["clusters"],
            UnknownWidth(_) | WidthsNotIncreasing { .. } => &["widths"],
            WidthCount { .. } => &["clusters", "widths"],
            SplitOutOfRange(_) => &["split"],
            EmptySchedule | UnknownScheduleWidth(_) | ScheduleTooLong(_) | ScheduleIncreasing => &["schedule"],
            WarmupOutOfRange(_) => &["warmup"],
            EpochsOutOfRange(_) => &["epochs"],
            BatchOutOfRange(_) => &["batch"],
            LrOutOfRange(_) => &["lr"],
            MomentumOutOfRange(_) => &["momentum"],
            DecayOutOfRange(_) => &["decay"],
            TrainSizeOutOfRange(_) => &["train_size"],
        }
    }

    /// The broken rule without the field names.
    pub fn rule(&self) -> Rule<'_> {
        Rule(self)
    }
}

/// The rule part of a [`SettingsError`]'s message.
pub struct Rule<'a>(&'a SettingsError);

impl fmt::Display for Rule<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use SettingsError::*;
        match self.0 {
            NotOneOf { words, .. } => write!(f, "not one of {}", words.join(", ")),
            Unreadable { expected, .. } => write!(f, "expected {expected}"),
            FractionOutOfRange(x) => write!(f, "quantile fraction {x} is not in (0, 1)"),
            FractionsNotIncreasing { at } => write!(f, "quantile fractions must increase strictly (at position {at})"),
            NoClusters => write!(f, "k-means needs at least one cluster"),
            TooManyClusters(k) => write!(f, "{k} clusters: at most {MAX_CLUSTERS}, one per width"),
            UnknownWidth(w) | UnknownScheduleWidth(w) => write!(f, "unknown width {w} (use 0, 2..=16 or 32)"),
            WidthsNotIncreasing { at } => {
                write!(f, "widths must increase strictly from the least important cluster on (at position {at})")
            }
            WidthCount { widths, clusters } => write!(f, "{widths} widths for {clusters} clusters"),
            SplitOutOfRange(x) => write!(f, "{x} is not in (0.5, 1]"),
            EmptySchedule => write!(f, "needs at least one width"),
            ScheduleTooLong(n) => write!(f, "needs 1 to 64 widths, not {n}"),
            ScheduleIncreasing => write!(f, "widths must not increase"),
            WarmupOutOfRange(x) => write!(f, "{x} is not in 0..=100"),
            EpochsOutOfRange(x) => write!(f, "{x} is not in 1..=200"),
            BatchOutOfRange(x) => write!(f, "{x} is not in 1..=4096"),
            LrOutOfRange(x) => write!(f, "{x} is not in (0, 10]"),
            MomentumOutOfRange(x) => write!(f, "{x} is not in [0, 1)"),
            DecayOutOfRange(x) => write!(f, "{x} is not in [0, 0.1]"),
            TrainSizeOutOfRange(x) => write!(f, "{x} is not in 100..=60000"),
        }
    }
}

impl fmt::Display for SettingsError {
    /// `field: rule` (`clusters/widths: rule` for both).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.fields().join("/"), self.rule())
    }
}

impl std::error::Error for SettingsError {}

/// Settings that passed [`QuantSettings::check`]: the PTQ rules ([`check_ptq`]) hold.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSettings(QuantSettings);

impl CheckedSettings {
    pub fn get(&self) -> &QuantSettings {
        &self.0
    }
    pub fn into_inner(self) -> QuantSettings {
        self.0
    }
    pub fn method(&self) -> Method {
        self.0.method
    }
    pub fn ptq(&self) -> &PtqSettings {
        &self.0.ptq
    }
    pub fn encoding(&self) -> Encoding {
        self.0.encoding
    }
    /// The same settings with another encoding (every encoding is valid).
    pub fn with_encoding(mut self, encoding: Encoding) -> Self {
        self.0.encoding = encoding;
        self
    }
    /// The clusters and widths for re-accounting, when the method clusters (`ptq`, `combined`).
    pub fn ptq_plan(&self) -> Option<PtqPlan<'_>> {
        let p = &self.0.ptq;
        self.0.method.uses_ptq().then_some(PtqPlan { clusters: &p.clusters, widths: &p.widths })
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
    /// The one check of quantization settings: the PTQ rules ([`check_ptq`]).
    pub fn check(&self) -> Result<CheckedSettings, SettingsError> {
        self.ptq.check()?;
        Ok(CheckedSettings(self.clone()))
    }
}

impl PtqSettings {
    /// The PTQ rules ([`check_ptq`]) of these clusters and widths.
    pub fn check(&self) -> Result<(), SettingsError> {
        check_ptq(&self.clusters, &self.widths)
    }
}

/// The PTQ rules: the cluster method (k >= 1, k <= [`MAX_CLUSTERS`], fractions in (0, 1)
/// strictly increasing), then the widths (known, strictly increasing), then one width per
/// cluster; the first broken one.
pub fn check_ptq(cluster: &ClusterMethod, widths: &[u8]) -> Result<(), SettingsError> {
    match cluster {
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
    let k = cluster.k();
    if k > MAX_CLUSTERS {
        return Err(SettingsError::TooManyClusters(k));
    }
    if let Some(w) = check_widths(widths) {
        return Err(SettingsError::UnknownWidth(w));
    }
    if let Some(at) = (1..widths.len()).find(|&i| widths[i] <= widths[i - 1]) {
        return Err(SettingsError::WidthsNotIncreasing { at });
    }
    if widths.len() != k {
        return Err(SettingsError::WidthCount { widths: widths.len(), clusters: k });
    }
    Ok(())
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
        if let Some(w) = check_widths(&self.schedule) {
            return Err(SettingsError::UnknownScheduleWidth(w));
        }
        Ok(CheckedItqSettings(self.clone()))
    }
}

fn check_widths(widths: &[u8]) -> Option<u8> {
    widths.iter().copied().find(|&w| !is_valid_width(w))
}

/// Reads a word of `T`'s list (`crate::choices`) as the setting `field`.
pub fn parse_word<T: FromStr<Err = UnknownWord>>(field: &'static str, text: &str) -> Result<T, SettingsError> {
    text.parse().map_err(|e: UnknownWord| SettingsError::NotOneOf { field, words: e.words })
}

/// What a width list looks like, for [`SettingsError::Unreadable`].
const WIDTH_LIST: &str = "comma-separated widths in bits";

/// Reads a comma-separated width list such as `0,4,6,8` (bits; spaces allowed; syntax
/// only) as the setting `field` (`widths` or `schedule`).
pub fn parse_widths(field: &'static str, s: &str) -> Result<Vec<u8>, SettingsError> {
    s.parse::<WidthList>().map(|w| w.0).map_err(|_| SettingsError::Unreadable { field, expected: WIDTH_LIST })
}

/// A width list as one command-line value (`--widths 0,4,6,8`, `--schedule 8,6,4,2,0`):
/// bits, syntax only; the rules are checked with the rest of the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidthList(pub Vec<u8>);

/// Text that is not a width list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnreadableWidths;

impl fmt::Display for UnreadableWidths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {WIDTH_LIST}")
    }
}

impl std::error::Error for UnreadableWidths {}

impl FromStr for WidthList {
    type Err = UnreadableWidths;
    fn from_str(s: &str) -> Result<Self, UnreadableWidths> {
        s.split(',').map(|x| x.trim().parse::<u8>().map_err(|_| UnreadableWidths)).collect::<Result<_, _>>().map(WidthList)
    }
}

/// Format widths as [`parse_widths`] reads them.
pub fn format_widths(widths: &[u8]) -> String {
    widths.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
}

impl FromStr for ClusterMethod {
    type Err = SettingsError;
    /// `quantile:F1,F2,...` (`quantile:` alone = one cluster) or `kmeans:K`.
    fn from_str(s: &str) -> Result<Self, SettingsError> {
        let err = || SettingsError::Unreadable { field: "clusters", expected: "quantile:F1,F2,... or kmeans:K" };
        let (kind, args) = s.trim().split_once(':').ok_or_else(err)?;
        match kind.trim() {
            "quantile" if args.trim().is_empty() => Ok(ClusterMethod::Quantile(vec![])),
            "quantile" => args
                .split(',')
                .map(|x| x.trim().parse::<f64>().map_err(|_| err()))
                .collect::<Result<_, _>>()
                .map(ClusterMethod::Quantile),
            "kmeans" => args.trim().parse().map(|k| ClusterMethod::KMeans { k }).map_err(|_| err()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use SettingsError::*;

    fn with(cluster: &str, widths: &[u8]) -> Result<CheckedSettings, SettingsError> {
        let ptq = PtqSettings { clusters: cluster.parse().unwrap(), widths: widths.to_vec(), ..Default::default() };
        QuantSettings { ptq, ..Default::default() }.check()
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
            Err(UnknownScheduleWidth(1))
        );
    }

    #[test]
    fn the_cli_syntax_parses_and_prints_back() {
        for s in ["quantile:0.5,0.8,0.95", "kmeans:4", "quantile:"] {
            assert_eq!(s.parse::<ClusterMethod>().unwrap().to_string(), s);
        }
        assert_eq!(parse_widths("widths", "0, 4,6,8").unwrap(), vec![0, 4, 6, 8]);
        assert_eq!(format_widths(&[0, 4, 6, 8]), "0,4,6,8");
    }

    #[test]
    fn malformed_text_names_its_field_and_is_not_echoed() {
        for s in ["quantile", "kmeans:x", "median:3", "quantile:0.5,,0.8"] {
            let e = s.parse::<ClusterMethod>().unwrap_err();
            assert_eq!(e.to_string(), "clusters: expected quantile:F1,F2,... or kmeans:K", "{s}");
        }
        let e = parse_widths("schedule", "0,4,256").unwrap_err();
        assert_eq!(e.to_string(), "schedule: expected comma-separated widths in bits");
    }

    #[test]
    fn a_width_count_names_both_fields() {
        let e = WidthCount { widths: 3, clusters: 4 };
        assert_eq!(e.fields(), ["clusters", "widths"]);
        assert_eq!(e.to_string(), "clusters/widths: 3 widths for 4 clusters");
        assert_eq!(e.rule().to_string(), "3 widths for 4 clusters");
    }
}
