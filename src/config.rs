//! `RunConfig`: the page's whole run configuration and its link encoding.
//!
//! The link is a query string, versioned with `v=1`, every field under the same
//! key as its serde name: `v=1&net=lenet300&method=combined&...&seed=1` (plus an
//! optional `run=1` asking the page to start at once). Reading a link never fails
//! as a whole: an invalid or unknown field is named in a [`FieldIssue`] and the
//! field keeps its default. A config deserialized from JSON arrives unchecked and
//! becomes trusted only through [`RunConfig::check`].

use crate::quant::cluster::ClusterMethod;
use crate::quant::encoding::Encoding;
use crate::quant::fixed_point::is_valid_width;
use crate::quant::importance::ImportanceSource;
use crate::quant::itq::ItqMode;
use crate::quant::settings::{ItqSettings, MAX_CLUSTERS, QuantMethod, QuantSettings};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The link format version written by [`RunConfig::to_query`].
pub const LINK_VERSION: u32 = 1;

macro_rules! choice {
    ($(#[$m:meta])* $name:ident { $($var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $s)] $var),+ }
        impl $name {
            /// Every value, in link order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// The link / serde name.
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $s),+ } }
        }
        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $($s => Ok($name::$var),)+ _ => Err(format!("not one of {}", [$($s),+].join(", "))) }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

choice!(/// The network (and with it the data set: MNIST for LeNets, CIFAR-10 otherwise).
    Net { Lenet300 = "lenet300", Lenet5 = "lenet5", Alexnet = "alexnet", Vgg16 = "vgg16" });
choice!(/// Which quantization runs: none, post-training, in-training, or both.
    Method { None = "none", Ptq = "ptq", Itq = "itq", Combined = "combined" });
choice!(/// Where the importance of a parameter comes from.
    Importance { Grad = "grad", Magnitude = "magnitude", Random = "random", Taylor = "taylor" });
choice!(/// ITQ: quantized parameters are frozen, or keep training and are re-projected.
    Mode { Freeze = "freeze", Project = "project" });
choice!(/// The optimizer (SGD uses `momentum`).
    Optimizer { Sgd = "sgd", Adam = "adam" });

/// PTQ clustering, written `quantile:f1,f2,...` (cumulative fractions) or `kmeans:K`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Clusters {
    /// Boundaries at these cumulative fractions of the sorted importances: `len + 1` clusters.
    Quantile(Vec<f64>),
    /// 1-D k-means on `log(G + eps)` with `K` clusters.
    KMeans(usize),
}

impl Clusters {
    /// Number of clusters (= number of widths needed).
    pub fn count(&self) -> usize {
        match self {
            Clusters::Quantile(f) => f.len() + 1,
            Clusters::KMeans(k) => *k,
        }
    }
}

impl fmt::Display for Clusters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Clusters::Quantile(q) => write!(f, "quantile:{}", join(q)),
            Clusters::KMeans(k) => write!(f, "kmeans:{k}"),
        }
    }
}

impl FromStr for Clusters {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || "expected quantile:F1,F2,... or kmeans:K".to_string();
        match s.split_once(':') {
            Some(("quantile", list)) => list
                .split(',')
                .map(|x| x.trim().parse().map_err(|_| bad()))
                .collect::<Result<_, _>>()
                .map(Clusters::Quantile),
            Some(("kmeans", k)) => k.trim().parse().map(Clusters::KMeans).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl TryFrom<String> for Clusters {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Clusters> for String {
    fn from(c: Clusters) -> String {
        c.to_string()
    }
}

impl From<&Clusters> for ClusterMethod {
    fn from(c: &Clusters) -> ClusterMethod {
        match c {
            Clusters::Quantile(f) => ClusterMethod::Quantile(f.clone()),
            Clusters::KMeans(k) => ClusterMethod::KMeans { k: *k },
        }
    }
}

impl Importance {
    /// The core's importance source (`random` draws from `seed`).
    pub fn source(self, seed: u64) -> ImportanceSource {
        match self {
            Importance::Grad => ImportanceSource::Gradient,
            Importance::Magnitude => ImportanceSource::Magnitude,
            Importance::Random => ImportanceSource::Random { seed },
            Importance::Taylor => ImportanceSource::Taylor,
        }
    }
}

impl From<Mode> for ItqMode {
    fn from(m: Mode) -> ItqMode {
        match m {
            Mode::Freeze => ItqMode::Freeze,
            Mode::Project => ItqMode::Project,
        }
    }
}

/// Serde of a width list as the link text `"0,4,6,8"`; also reads a JSON array.
mod width_list {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(w: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::join(w))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        List(Vec<u8>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        match Either::deserialize(d)? {
            Either::List(v) => Ok(v),
            Either::Text(t) if t.trim().is_empty() => Ok(Vec::new()),
            Either::Text(t) => super::parse_list(&t).map_err(serde::de::Error::custom),
        }
    }
}

fn join<T: fmt::Display>(xs: &[T]) -> String {
    xs.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")
}

/// The run configuration. Field names are the link keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub net: Net,
    pub method: Method,
    pub importance: Importance,
    /// PTQ clusters; `clusters.count()` must equal `widths.len()`.
    pub clusters: Clusters,
    /// PTQ width (bits) per cluster, least important first; each 0, 2..=16 or 32, increasing.
    /// Serialized as the link text `"0,4,6,8"`.
    #[serde(with = "width_list")]
    pub widths: Vec<u8>,
    /// ITQ: fraction of parameters in the low group, in (0.5, 1).
    pub split: f64,
    /// ITQ: epochs trained before the first quantization step, 0..=100.
    pub warmup: u32,
    /// ITQ: low-group width (bits) per epoch after the warm-up, non-increasing; the last
    /// repeats. Serialized as the link text `"8,6,4,2,0"`.
    #[serde(with = "width_list")]
    pub schedule: Vec<u8>,
    pub mode: Mode,
    /// Training epochs, 1..=200.
    pub epochs: u32,
    /// Mini-batch size, 1..=4096.
    pub batch: u32,
    /// Learning rate, in (0, 10].
    pub lr: f64,
    pub optimizer: Optimizer,
    /// SGD momentum, in [0, 1).
    pub momentum: f64,
    /// L2 weight decay added by the optimizer, in [0, 0.1] (not part of the importance).
    pub decay: f64,
    /// Training images used, 100..=60000.
    pub train_size: u32,
    /// Seed of every random source of the run.
    pub seed: u64,
    /// The storage encoding of the `.agq` file: `csr` (the thesis's accounting, the default),
    /// `relative` or `entropy` (docs/FORMAT.md section 5). A link without it means `csr`.
    #[serde(default)]
    pub encoding: Encoding,
}

impl RunConfig {
    /// The defaults for `net`: the PTQ clusters and widths depend on the network (chosen by
    /// measurement, docs/METHOD_NOTES.md); every other default is the same for all.
    pub fn for_net(net: Net) -> RunConfig {
        let base = RunConfig { net, ..RunConfig::default() };
        match net {
            Net::Lenet5 => RunConfig { clusters: Clusters::Quantile(vec![0.65, 0.85, 0.95]), widths: vec![0, 3, 4, 6], ..base },
            Net::Alexnet => RunConfig { widths: vec![0, 4, 5, 7], ..base },
            Net::Vgg16 => RunConfig { clusters: Clusters::Quantile(vec![0.8, 0.92, 0.98]), widths: vec![0, 4, 5, 6], ..base },
            Net::Lenet300 => base,
        }
    }
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            net: Net::Lenet300,
            method: Method::Combined,
            importance: Importance::Grad,
            clusters: Clusters::Quantile(vec![0.5, 0.8, 0.95]),
            widths: vec![0, 4, 6, 8],
            split: 0.95,
            warmup: 1,
            schedule: vec![8, 6, 4, 2, 0],
            mode: Mode::Freeze,
            epochs: 10,
            batch: 64,
            lr: 0.01,
            optimizer: Optimizer::Sgd,
            momentum: 0.9,
            decay: 0.002,
            train_size: 60000,
            seed: 1,
            encoding: Encoding::Csr,
        }
    }
}

/// The link keys of the fields, in link order.
pub const FIELDS: [&str; 18] = [
    "net",
    "method",
    "importance",
    "clusters",
    "widths",
    "split",
    "warmup",
    "schedule",
    "mode",
    "epochs",
    "batch",
    "lr",
    "optimizer",
    "momentum",
    "decay",
    "train_size",
    "seed",
    "encoding",
];

/// A broken rule of [`RunConfig::check`].
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// Quantile fractions must be strictly increasing, each in (0, 1).
    FractionsNotIncreasing,
    /// k-means needs 1..=17 clusters (one per valid width at most).
    KMeansCount(usize),
    /// A PTQ width that is not 0, 2..=16 or 32.
    InvalidWidth(u8),
    /// PTQ widths must increase from the least important cluster on.
    WidthsNotIncreasing,
    /// One PTQ width per cluster.
    WidthCount {
        widths: usize,
        clusters: usize,
    },
    SplitOutOfRange(f64),
    WarmupOutOfRange(u32),
    /// The schedule must name 1..=64 widths.
    ScheduleLength(usize),
    InvalidScheduleWidth(u8),
    /// Widths only ever go down.
    ScheduleIncreasing,
    EpochsOutOfRange(u32),
    BatchOutOfRange(u32),
    LrOutOfRange(f64),
    MomentumOutOfRange(f64),
    DecayOutOfRange(f64),
    TrainSizeOutOfRange(u32),
}

impl ConfigError {
    /// The link keys of the fields this error is about.
    pub fn fields(&self) -> &'static [&'static str] {
        use ConfigError::*;
        match self {
            FractionsNotIncreasing | KMeansCount(_) => &["clusters"],
            InvalidWidth(_) | WidthsNotIncreasing => &["widths"],
            WidthCount { .. } => &["clusters", "widths"],
            SplitOutOfRange(_) => &["split"],
            WarmupOutOfRange(_) => &["warmup"],
            ScheduleLength(_) | InvalidScheduleWidth(_) | ScheduleIncreasing => &["schedule"],
            EpochsOutOfRange(_) => &["epochs"],
            BatchOutOfRange(_) => &["batch"],
            LrOutOfRange(_) => &["lr"],
            MomentumOutOfRange(_) => &["momentum"],
            DecayOutOfRange(_) => &["decay"],
            TrainSizeOutOfRange(_) => &["train_size"],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ConfigError::*;
        match self {
            FractionsNotIncreasing => write!(f, "clusters: quantile fractions must increase strictly, each in (0, 1)"),
            KMeansCount(k) => write!(f, "clusters: kmeans needs 1 to {MAX_CLUSTERS} clusters, not {k}"),
            InvalidWidth(w) => write!(f, "widths: {w} is not a width (0, 2..=16 or 32)"),
            WidthsNotIncreasing => write!(f, "widths: must increase from the least important cluster on"),
            WidthCount { widths, clusters } => write!(f, "widths: {widths} widths for {clusters} clusters"),
            SplitOutOfRange(x) => write!(f, "split: {x} is not in (0.5, 1)"),
            WarmupOutOfRange(x) => write!(f, "warmup: {x} is not in 0..=100"),
            ScheduleLength(n) => write!(f, "schedule: needs 1 to 64 widths, not {n}"),
            InvalidScheduleWidth(w) => write!(f, "schedule: {w} is not a width (0, 2..=16 or 32)"),
            ScheduleIncreasing => write!(f, "schedule: widths must not increase"),
            EpochsOutOfRange(x) => write!(f, "epochs: {x} is not in 1..=200"),
            BatchOutOfRange(x) => write!(f, "batch: {x} is not in 1..=4096"),
            LrOutOfRange(x) => write!(f, "lr: {x} is not in (0, 10]"),
            MomentumOutOfRange(x) => write!(f, "momentum: {x} is not in [0, 1)"),
            DecayOutOfRange(x) => write!(f, "decay: {x} is not in [0, 0.1]"),
            TrainSizeOutOfRange(x) => write!(f, "train_size: {x} is not in 100..=60000"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl RunConfig {
    /// Every broken rule, in field order (empty when the config is valid).
    pub fn errors(&self) -> Vec<ConfigError> {
        use ConfigError::*;
        let mut e = Vec::new();
        match &self.clusters {
            Clusters::Quantile(q) => {
                let inside = q.iter().all(|&x| x > 0.0 && x < 1.0);
                if !inside || q.windows(2).any(|w| w[0] >= w[1]) {
                    e.push(FractionsNotIncreasing);
                }
            }
            Clusters::KMeans(k) if !(1..=MAX_CLUSTERS).contains(k) => e.push(KMeansCount(*k)),
            Clusters::KMeans(_) => {}
        }
        if let Some(&w) = self.widths.iter().find(|&&w| !is_valid_width(w)) {
            e.push(InvalidWidth(w));
        } else if self.widths.windows(2).any(|w| w[0] >= w[1]) {
            e.push(WidthsNotIncreasing);
        }
        if self.widths.len() != self.clusters.count() {
            e.push(WidthCount { widths: self.widths.len(), clusters: self.clusters.count() });
        }
        if !(self.split > 0.5 && self.split < 1.0) {
            e.push(SplitOutOfRange(self.split));
        }
        if self.warmup > 100 {
            e.push(WarmupOutOfRange(self.warmup));
        }
        if !(1..=64).contains(&self.schedule.len()) {
            e.push(ScheduleLength(self.schedule.len()));
        } else if let Some(&w) = self.schedule.iter().find(|&&w| !is_valid_width(w)) {
            e.push(InvalidScheduleWidth(w));
        } else if self.schedule.windows(2).any(|w| w[1] > w[0]) {
            e.push(ScheduleIncreasing);
        }
        if !(1..=200).contains(&self.epochs) {
            e.push(EpochsOutOfRange(self.epochs));
        }
        if !(1..=4096).contains(&self.batch) {
            e.push(BatchOutOfRange(self.batch));
        }
        if !(self.lr > 0.0 && self.lr <= 10.0) {
            e.push(LrOutOfRange(self.lr));
        }
        if !(self.decay >= 0.0 && self.decay <= 0.1) {
            e.push(DecayOutOfRange(self.decay));
        }
        if !(self.momentum >= 0.0 && self.momentum < 1.0) {
            e.push(MomentumOutOfRange(self.momentum));
        }
        if !(100..=60000).contains(&self.train_size) {
            e.push(TrainSizeOutOfRange(self.train_size));
        }
        e
    }

    /// `Ok` when every rule holds, else the first broken one.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.errors().into_iter().next().map_or(Ok(()), Err)
    }

    /// The core's post-training settings (`None` for method `none`); `random`
    /// importance draws from `seed`. A config that passes `check()` gives settings
    /// that pass `QuantSettings::check()`.
    pub fn quant_settings(&self) -> Option<QuantSettings> {
        let method = match self.method {
            Method::None => return None,
            Method::Ptq => QuantMethod::Ptq,
            Method::Itq => QuantMethod::Itq,
            Method::Combined => QuantMethod::Combined,
        };
        Some(QuantSettings {
            method,
            importance: self.importance.source(self.seed),
            cluster: ClusterMethod::from(&self.clusters),
            widths: self.widths.clone(),
        })
    }

    /// The core's in-training settings (used by methods `itq` and `combined`).
    pub fn itq_settings(&self) -> ItqSettings {
        ItqSettings {
            split: self.split,
            warmup: self.warmup as usize,
            schedule: self.schedule.clone(),
            mode: self.mode.into(),
        }
    }
}

/// One field of a link that was invalid or unknown and was ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldIssue {
    /// The link key (sanitized: only `[A-Za-z0-9_.-]`, at most 32 characters).
    pub field: String,
    /// What was wrong and what was used instead (never echoes the raw value).
    pub message: String,
}

/// Everything read from a link.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedQuery {
    /// The configuration; every invalid field holds its default, so it passes `check()`.
    pub config: RunConfig,
    /// One entry per invalid, unknown or repeated field.
    pub issues: Vec<FieldIssue>,
    /// `run=1`: the page should start the run at once.
    pub run: bool,
}

/// Keeps a key printable and harmless in HTML: `[A-Za-z0-9_.-]`, others become `?`.
fn sanitize(key: &str) -> String {
    key.chars().take(32).map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '?' }).collect()
}

/// Decodes `%XX` escapes and `+` (space); a broken escape stays literal.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Escapes every byte outside `[A-Za-z0-9_.~,:-]` as `%XX`.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|c| {
            if c.is_ascii_alphanumeric() || b"_.~,:-".contains(&c) {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

fn parse_list(v: &str) -> Result<Vec<u8>, String> {
    v.split(',')
        .map(|x| x.trim().parse::<u8>().map_err(|_| "expected comma-separated widths in bits".to_string()))
        .collect()
}

fn num<T: FromStr>(v: &str, what: &str) -> Result<T, String> {
    v.trim().parse().map_err(|_| format!("expected {what}"))
}

impl RunConfig {
    /// Sets the field with link key `key` from its text; `Err` names the problem.
    fn set(&mut self, key: &str, v: &str) -> Result<(), String> {
        match key {
            "net" => self.net = v.parse()?,
            "method" => self.method = v.parse()?,
            "importance" => self.importance = v.parse()?,
            "clusters" => self.clusters = v.parse()?,
            "widths" => self.widths = parse_list(v)?,
            "split" => self.split = num(v, "a number")?,
            "warmup" => self.warmup = num(v, "a whole number of epochs")?,
            "schedule" => self.schedule = parse_list(v)?,
            "mode" => self.mode = v.parse()?,
            "epochs" => self.epochs = num(v, "a whole number of epochs")?,
            "batch" => self.batch = num(v, "a whole number of images")?,
            "lr" => self.lr = num(v, "a number")?,
            "optimizer" => self.optimizer = v.parse()?,
            "momentum" => self.momentum = num(v, "a number")?,
            "decay" => self.decay = num(v, "a number")?,
            "train_size" => self.train_size = num(v, "a whole number of images")?,
            "seed" => self.seed = num(v, "a whole number in 0..2^64")?,
            "encoding" => self.encoding = v.parse().map_err(|_| "not one of csr, relative, entropy".to_string())?,
            _ => return Err("unknown field".into()),
        }
        Ok(())
    }

    /// Resets the field with link key `key` to its default.
    fn reset(&mut self, key: &str) {
        let d = RunConfig::for_net(self.net);
        let v = d.value(key);
        self.set(key, &v).expect("defaults parse");
    }

    /// The link text of the field with link key `key`.
    fn value(&self, key: &str) -> String {
        match key {
            "net" => self.net.to_string(),
            "method" => self.method.to_string(),
            "importance" => self.importance.to_string(),
            "clusters" => self.clusters.to_string(),
            "widths" => join(&self.widths),
            "split" => self.split.to_string(),
            "warmup" => self.warmup.to_string(),
            "schedule" => join(&self.schedule),
            "mode" => self.mode.to_string(),
            "epochs" => self.epochs.to_string(),
            "batch" => self.batch.to_string(),
            "lr" => self.lr.to_string(),
            "optimizer" => self.optimizer.to_string(),
            "momentum" => self.momentum.to_string(),
            "decay" => self.decay.to_string(),
            "train_size" => self.train_size.to_string(),
            "seed" => self.seed.to_string(),
            "encoding" => self.encoding.to_string(),
            _ => unreachable!("not a field: {key}"),
        }
    }

    /// The link: `v=1` then every field in [`FIELDS`] order (no leading `?`).
    pub fn to_query(&self) -> String {
        let mut q = format!("v={LINK_VERSION}");
        for key in FIELDS {
            q.push_str(&format!("&{key}={}", percent_encode(&self.value(key))));
        }
        q
    }

    /// Reads a link (with or without a leading `?`); see [`RunConfig::parse_query`].
    pub fn from_query(query: &str) -> (RunConfig, Vec<FieldIssue>) {
        let p = RunConfig::parse_query(query);
        (p.config, p.issues)
    }

    /// Reads a link: missing fields keep their defaults; every invalid, unknown or
    /// repeated field is named in `issues` and the invalid ones are reset to their
    /// defaults (both `clusters` and `widths` when their counts disagree). The
    /// result always passes [`RunConfig::check`].
    pub fn parse_query(query: &str) -> ParsedQuery {
        let query_net = query
            .trim_start_matches('?')
            .split('&')
            .filter_map(|p| p.split_once('='))
            .filter(|(k, _)| percent_decode(k) == "net")
            .filter_map(|(_, v)| percent_decode(v).parse::<Net>().ok())
            .next_back();
        let mut config = RunConfig::for_net(query_net.unwrap_or(Net::Lenet300));
        let mut issues = Vec::new();
        let mut run = false;
        let mut seen: Vec<String> = Vec::new();
        let mut issue = |field: &str, message: String| issues.push(FieldIssue { field: sanitize(field), message });
        let query = query.trim_start_matches('?');
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (percent_decode(k), percent_decode(v));
            if seen.contains(&k) {
                issue(&k, "given more than once; the last value is used".into());
            }
            seen.push(k.clone());
            match k.as_str() {
                "v" if v == "1" => {}
                "v" => issue("v", format!("unsupported link version; read as v={LINK_VERSION}")),
                "run" => match v.as_str() {
                    "1" | "true" => run = true,
                    "0" | "false" => run = false,
                    _ => issue("run", "expected 1 or 0; ignored".into()),
                },
                _ => {
                    if let Err(m) = config.set(&k, &v) {
                        if FIELDS.contains(&k.as_str()) {
                            config.reset(&k);
                            issue(&k, format!("{m}; using the default {}", config.value(&k)));
                        } else {
                            issue(&k, "unknown field; ignored".into());
                        }
                    }
                }
            }
        }
        // Rule violations: reset the named fields until none is left (cross-field
        // rules can only fire once more after the first resets).
        for _ in 0..3 {
            let errors = config.errors();
            if errors.is_empty() {
                break;
            }
            for e in errors {
                for &f in e.fields() {
                    config.reset(f);
                    let m = e.to_string();
                    let m = m.split_once(": ").filter(|(k, _)| FIELDS.contains(k)).map_or(m.as_str(), |(_, r)| r);
                    issue(f, format!("{m}; using the default {}", config.value(f)));
                }
            }
        }
        ParsedQuery { config, issues, run }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue_fields(q: &str) -> (RunConfig, Vec<String>) {
        let (c, issues) = RunConfig::from_query(q);
        (c, issues.into_iter().map(|i| i.field).collect())
    }

    #[test]
    fn the_default_config_passes_check() {
        assert_eq!(RunConfig::default().check(), Ok(()));
    }

    #[test]
    fn a_config_survives_a_trip_through_its_link() {
        let c = RunConfig {
            net: Net::Vgg16,
            method: Method::Itq,
            importance: Importance::Random,
            clusters: Clusters::KMeans(3),
            widths: vec![0, 4, 32],
            split: 0.75,
            warmup: 0,
            schedule: vec![16, 8, 8, 2],
            mode: Mode::Project,
            epochs: 3,
            batch: 128,
            lr: 0.001,
            optimizer: Optimizer::Adam,
            momentum: 0.0,
            decay: 0.0,
            train_size: 1000,
            seed: u64::MAX,
            encoding: Encoding::Entropy,
        };
        let q = c.to_query();
        assert!(q.starts_with("v=1&net=vgg16&method=itq&"), "{q}");
        assert_eq!(RunConfig::from_query(&q), (c, vec![]));
        let d = RunConfig::default();
        assert_eq!(RunConfig::from_query(&format!("?{}", d.to_query())), (d, vec![]));
    }

    #[test]
    fn the_default_link_reads_as_expected() {
        assert_eq!(
            RunConfig::default().to_query(),
            "v=1&net=lenet300&method=combined&importance=grad&clusters=quantile:0.5,0.8,0.95&widths=0,4,6,8\
             &split=0.95&warmup=1&schedule=8,6,4,2,0&mode=freeze&epochs=10&batch=64&lr=0.01&optimizer=sgd\
             &momentum=0.9&decay=0.002&train_size=60000&seed=1&encoding=csr"
        );
    }

    #[test]
    fn a_link_from_before_the_encodings_reads_as_csr_and_the_encoding_travels() {
        let old = "v=1&net=lenet300&method=combined&importance=grad&clusters=quantile:0.5,0.8,0.95&widths=0,4,6,8\
                   &split=0.95&warmup=1&schedule=8,6,4,2,0&mode=freeze&epochs=10&batch=64&lr=0.01&optimizer=sgd\
                   &momentum=0.9&decay=0.002&train_size=60000&seed=1";
        assert_eq!(RunConfig::parse_query(old), ParsedQuery { config: RunConfig::default(), issues: vec![], run: false });
        for e in Encoding::ALL {
            let c = RunConfig { encoding: e, ..RunConfig::default() };
            assert!(c.to_query().ends_with(&format!("&encoding={e}")));
            assert_eq!(RunConfig::from_query(&c.to_query()), (c, vec![]));
        }
        let (c, fields) = issue_fields("encoding=huffman&epochs=3");
        assert_eq!((c.encoding, c.epochs, fields), (Encoding::Csr, 3, vec!["encoding".to_string()]));
        // a JSON config without the field (a page or script from before) is csr as well
        let mut json = serde_json::to_value(RunConfig::default()).unwrap();
        assert_eq!(json["encoding"], "csr");
        json.as_object_mut().unwrap().remove("encoding");
        assert_eq!(serde_json::from_value::<RunConfig>(json).unwrap().encoding, Encoding::Csr);
    }

    #[test]
    fn a_link_without_ptq_settings_gets_its_networks_defaults() {
        let p = RunConfig::parse_query("v=1&net=lenet5&method=ptq");
        assert_eq!(p.issues, vec![]);
        assert_eq!(p.config, RunConfig { method: Method::Ptq, ..RunConfig::for_net(Net::Lenet5) });
        assert_eq!(p.config.widths, vec![0, 3, 4, 6]);
        let bad = RunConfig::parse_query("net=lenet5&widths=0,3");
        assert_eq!(bad.config.widths, vec![0, 3, 4, 6], "reset to lenet5's default");
        let vgg = RunConfig::parse_query("net=vgg16&method=ptq").config;
        assert_eq!((vgg.clusters.to_string(), vgg.widths), ("quantile:0.8,0.92,0.98".to_string(), vec![0, 4, 5, 6]));
    }

    #[test]
    fn an_empty_link_gives_the_default_config() {
        assert_eq!(
            RunConfig::parse_query(""),
            ParsedQuery { config: RunConfig::default(), issues: vec![], run: false }
        );
    }

    #[test]
    fn every_bad_field_is_named_and_replaced_by_its_default() {
        let bad = [
            ("net", "resnet"),
            ("method", "qat"),
            ("importance", "hessian"),
            ("clusters", "quantile:0.8,0.5"),
            ("clusters", "kmeans:0"),
            ("clusters", "median"),
            ("widths", "0,4,6,99"),
            ("widths", "8,6,4,0"),
            ("widths", "0,4"),
            ("split", "0.5"),
            ("split", "1"),
            ("split", "NaN"),
            ("warmup", "101"),
            ("warmup", "-1"),
            ("schedule", "8,6,1"),
            ("schedule", "2,4"),
            ("schedule", ""),
            ("mode", "thaw"),
            ("epochs", "0"),
            ("epochs", "201"),
            ("batch", "0"),
            ("batch", "4097"),
            ("lr", "0"),
            ("lr", "10.5"),
            ("lr", "inf"),
            ("optimizer", "rmsprop"),
            ("momentum", "1"),
            ("decay", "0.5"),
            ("decay", "-1"),
            ("momentum", "-0.1"),
            ("train_size", "99"),
            ("train_size", "60001"),
            ("seed", "-3"),
            ("seed", "18446744073709551616"),
        ];
        for (key, value) in bad {
            let (c, fields) = issue_fields(&format!("v=1&seed=7&{key}={value}"));
            assert!(fields.contains(&key.to_string()), "{key}={value}: {fields:?}");
            let mut expected = RunConfig { seed: 7, ..RunConfig::default() };
            if key == "seed" {
                expected.seed = 1;
            }
            assert_eq!(c, expected, "{key}={value}");
            assert_eq!(c.check(), Ok(()));
        }
    }

    #[test]
    fn a_cluster_count_that_disagrees_with_the_widths_resets_both() {
        let (c, fields) = issue_fields("clusters=kmeans:3");
        assert_eq!(fields, ["clusters", "widths"]);
        assert_eq!(c, RunConfig::default());
    }

    #[test]
    fn matching_kmeans_clusters_and_widths_are_kept() {
        let (c, fields) = issue_fields("clusters=kmeans:3&widths=0,4,8");
        assert!(fields.is_empty());
        assert_eq!((c.clusters, c.widths), (Clusters::KMeans(3), vec![0, 4, 8]));
    }

    #[test]
    fn an_unknown_field_is_named_and_ignored() {
        let (c, issues) = RunConfig::from_query("colour=blue&epochs=3");
        assert_eq!(c.epochs, 3);
        assert_eq!(issues, vec![FieldIssue { field: "colour".into(), message: "unknown field; ignored".into() }]);
    }

    #[test]
    fn a_repeated_field_is_named_and_the_last_value_wins() {
        let (c, fields) = issue_fields("epochs=3&epochs=4");
        assert_eq!((c.epochs, fields), (4, vec!["epochs".to_string()]));
    }

    #[test]
    fn percent_encoded_values_are_decoded() {
        let (c, fields) = issue_fields("clusters=quantile%3A0.6%2C0.9&widths=0%2C4%2c8&net=lenet%35");
        assert!(fields.is_empty(), "{fields:?}");
        assert_eq!((c.clusters, c.widths, c.net), (Clusters::Quantile(vec![0.6, 0.9]), vec![0, 4, 8], Net::Lenet5));
    }

    #[test]
    fn a_broken_percent_escape_is_kept_literally() {
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("a%zz+b"), "a%zz b");
        assert_eq!(percent_encode("a b<"), "a%20b%3C");
    }

    #[test]
    fn a_hostile_value_is_just_an_invalid_value_and_is_not_echoed() {
        let (c, issues) = RunConfig::from_query("net=%3Cscript%3Ealert(1)%3C/script%3E&%3Cimg%20src=x%3E=1");
        assert_eq!(c, RunConfig::default());
        assert_eq!(issues.len(), 2);
        assert_eq!(issues[0].field, "net");
        for i in &issues {
            assert!(!i.field.contains('<') && !i.message.contains('<') && !i.message.contains("script"), "{i:?}");
        }
    }

    #[test]
    fn run_and_version_are_recognised() {
        let p = RunConfig::parse_query("v=1&run=1");
        assert!(p.run && p.issues.is_empty());
        let p = RunConfig::parse_query("v=2&run=maybe");
        assert!(!p.run);
        assert_eq!(p.issues.iter().map(|i| i.field.as_str()).collect::<Vec<_>>(), ["v", "run"]);
    }

    #[test]
    fn check_names_the_first_broken_rule() {
        let c = RunConfig { lr: 0.0, epochs: 0, ..RunConfig::default() };
        assert_eq!(c.check(), Err(ConfigError::EpochsOutOfRange(0)));
        assert_eq!(c.errors().len(), 2);
        let c = RunConfig { widths: vec![0, 4, 6], ..RunConfig::default() };
        assert_eq!(c.check(), Err(ConfigError::WidthCount { widths: 3, clusters: 4 }));
    }

    #[test]
    fn a_checked_config_converts_into_checked_quant_settings() {
        let c = RunConfig {
            importance: Importance::Random,
            seed: 9,
            clusters: Clusters::KMeans(2),
            widths: vec![0, 8],
            ..RunConfig::default()
        };
        let q = c.quant_settings().unwrap();
        assert_eq!(
            (q.method, q.importance, q.cluster.clone()),
            (QuantMethod::Combined, ImportanceSource::Random { seed: 9 }, ClusterMethod::KMeans { k: 2 })
        );
        assert!(q.check().is_ok());
        assert!(c.itq_settings().check().is_ok());
        assert_eq!(RunConfig { method: Method::None, ..c }.quant_settings(), None);
        let k = MAX_CLUSTERS + 1;
        let too_many = RunConfig { clusters: Clusters::KMeans(k), widths: vec![0; k], ..RunConfig::default() };
        assert_eq!(too_many.check(), Err(ConfigError::KMeansCount(k)));
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn any_link_gives_a_config_that_passes_check(
            pairs in proptest::collection::vec((0..FIELDS.len() + 2, "[-a-z0-9.,:%<>+]{0,12}"), 0..8),
        ) {
            let keys: Vec<&str> = FIELDS.iter().copied().chain(["v", "run"]).collect();
            let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={v}", keys[*k])).collect();
            let p = RunConfig::parse_query(&q.join("&"));
            proptest::prop_assert_eq!(p.config.check(), Ok(()));
            let (again, issues) = RunConfig::from_query(&p.config.to_query());
            proptest::prop_assert_eq!((again, issues), (p.config, vec![]));
        }
    }

    #[test]
    fn serde_json_uses_the_link_keys() {
        let json = serde_json::to_value(RunConfig::default()).unwrap();
        assert_eq!(json["clusters"], "quantile:0.5,0.8,0.95");
        assert_eq!(json["widths"], "0,4,6,8");
        assert_eq!(json["schedule"], "8,6,4,2,0");
        let mut arrays = json.clone();
        arrays["widths"] = serde_json::json!([0, 4, 6, 8]);
        assert_eq!(serde_json::from_value::<RunConfig>(arrays).unwrap(), RunConfig::default());
        assert_eq!(json["train_size"], 60000);
        assert_eq!(json["net"], "lenet300");
        let back: RunConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, RunConfig::default());
    }
}
