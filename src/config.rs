//! `RunConfig`: the page's whole run configuration and its link encoding.
//!
//! The link is a query string, versioned with `v=1`, every field under the same
//! key as its serde name: `v=1&net=lenet300&method=combined&...&seed=1` (plus an
//! optional `run=1` asking the page to start at once). One table, [`FIELDS`], reads and
//! writes every field. Reading a link never fails as a whole: an invalid or unknown field
//! is named in a [`FieldIssue`] and the field keeps its default. A config deserialized
//! from JSON, or set from command-line flags, arrives unchecked and becomes trusted only
//! through [`RunConfig::check`]; every refusal is a [`SettingsError`] naming its field.

pub use crate::choices::{Importance, ItqMode, LrSchedule, Method, Net, Optimizer};
use crate::quant::cluster::ClusterMethod;
use crate::quant::encoding::Encoding;
use crate::quant::importance::ImportanceSource;
use crate::quant::settings::{CheckedSettings, ItqSettings, PtqSettings, QuantSettings, SettingsError, check_ptq, format_widths, parse_widths, parse_word};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The link format version written by [`RunConfig::to_query`].
pub const LINK_VERSION: u32 = 1;

/// Serde of the clusters as the link text `quantile:0.5,0.8,0.95` or `kmeans:4`.
mod cluster_text {
    use crate::quant::cluster::ClusterMethod;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(c: &ClusterMethod, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(c)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ClusterMethod, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
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
            Importance::GradMagnitude => ImportanceSource::GradMagnitude,
        }
    }
}

/// Serde of a width list as the link text `"0,4,6,8"`; also reads a JSON array.
mod width_list {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(w: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_widths(w))
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
            Either::Text(t) => super::parse_widths("widths", &t).map_err(serde::de::Error::custom),
        }
    }
}

/// The run configuration. Field names are the link keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub net: Net,
    pub method: Method,
    pub importance: Importance,
    /// PTQ clusters, at most 17 (one per width); `clusters.k()` must equal `widths.len()`.
    /// Serialized as the link text `quantile:0.5,0.8,0.95` or `kmeans:4`.
    #[serde(with = "cluster_text")]
    pub clusters: ClusterMethod,
    /// PTQ width (bits) per cluster, least important first; each 0, 2..=16 or 32, increasing.
    /// Serialized as the link text `"0,4,6,8"`.
    #[serde(with = "width_list")]
    pub widths: Vec<u8>,
    /// ITQ: fraction of parameters in the low group, in (0.5, 1].
    pub split: f64,
    /// ITQ: epochs trained before the first quantization step, 0..=100.
    pub warmup: u32,
    /// ITQ: low-group width (bits) per epoch after the warm-up, non-increasing; the last
    /// repeats. Serialized as the link text `"8,6,4,2,0"`.
    #[serde(with = "width_list")]
    pub schedule: Vec<u8>,
    pub mode: ItqMode,
    /// Training epochs, 1..=200.
    pub epochs: u32,
    /// Mini-batch size, 1..=4096.
    pub batch: u32,
    /// Learning rate, in (0, 10].
    pub lr: f64,
    /// How the learning rate moves over the run. A link without it means `constant`.
    #[serde(default)]
    pub lr_schedule: LrSchedule,
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
    /// The defaults for `net`, the one place they are set: the PTQ clusters and widths
    /// depend on the network (chosen by measurement, docs/METHOD_NOTES.md); every other
    /// default is the same for all.
    pub fn for_net(net: Net) -> RunConfig {
        let base = RunConfig { net, ..RunConfig::default() };
        match net {
            Net::LeNet5 => RunConfig { clusters: ClusterMethod::Quantile(vec![0.65, 0.85, 0.95]), widths: vec![0, 3, 4, 6], ..base },
            Net::AlexNet => RunConfig { widths: vec![0, 3, 5, 7], ..base },
            Net::Vgg16 => RunConfig {
                importance: Importance::GradMagnitude,
                clusters: ClusterMethod::Quantile(vec![0.8, 0.92, 0.98]),
                widths: vec![0, 4, 5, 8],
                ..base
            },
            Net::LeNet300 => base,
        }
    }
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            net: Net::LeNet300,
            method: Method::Combined,
            importance: Importance::Grad,
            clusters: ClusterMethod::Quantile(vec![0.5, 0.8, 0.95]),
            widths: vec![0, 4, 6, 8],
            split: 0.95,
            warmup: 1,
            schedule: vec![8, 6, 4, 2, 0],
            mode: ItqMode::Freeze,
            epochs: 10,
            batch: 64,
            lr: 0.01,
            lr_schedule: LrSchedule::Constant,
            optimizer: Optimizer::Sgd,
            momentum: 0.9,
            decay: 0.002,
            train_size: 60000,
            seed: 1,
            encoding: Encoding::Csr,
        }
    }
}

/// One field of the link: its key, how its text is read into a config, and how it is written.
pub struct Field {
    /// The link key (= the serde name, the command-line flag with `-` for `_`, the Python argument).
    pub key: &'static str,
    read: fn(&mut RunConfig, &str) -> Result<(), SettingsError>,
    write: fn(&RunConfig) -> String,
}

/// A number as the setting `field`; `expected` says what kind.
fn number<T: FromStr>(field: &'static str, v: &str, expected: &'static str) -> Result<T, SettingsError> {
    v.trim().parse().map_err(|_| SettingsError::Unreadable { field, expected })
}

/// A [`Field`] entry: `field!(key, read(field, text) -> Result<value>, write(&value) -> String)`.
macro_rules! field {
    ($key:ident, $read:expr, $write:expr) => {
        Field {
            key: stringify!($key),
            read: |c, v| {
                c.$key = ($read)(stringify!($key), v)?;
                Ok(())
            },
            write: |c| ($write)(&c.$key),
        }
    };
}

/// Every field, in link order.
pub const FIELDS: [Field; 19] = [
    field!(net, parse_word, ToString::to_string),
    field!(method, parse_word, ToString::to_string),
    field!(importance, parse_word, ToString::to_string),
    field!(clusters, |_, v: &str| v.parse(), ToString::to_string),
    field!(widths, parse_widths, |w: &Vec<u8>| format_widths(w)),
    field!(split, |f, v| number(f, v, "a number"), ToString::to_string),
    field!(warmup, |f, v| number(f, v, "a whole number of epochs"), ToString::to_string),
    field!(schedule, parse_widths, |w: &Vec<u8>| format_widths(w)),
    field!(mode, parse_word, ToString::to_string),
    field!(epochs, |f, v| number(f, v, "a whole number of epochs"), ToString::to_string),
    field!(batch, |f, v| number(f, v, "a whole number of images"), ToString::to_string),
    field!(lr, |f, v| number(f, v, "a number"), ToString::to_string),
    field!(lr_schedule, parse_word, ToString::to_string),
    field!(optimizer, parse_word, ToString::to_string),
    field!(momentum, |f, v| number(f, v, "a number"), ToString::to_string),
    field!(decay, |f, v| number(f, v, "a number"), ToString::to_string),
    field!(train_size, |f, v| number(f, v, "a whole number of images"), ToString::to_string),
    field!(seed, |f, v| number(f, v, "a whole number in 0..2^64"), ToString::to_string),
    field!(
        encoding,
        |field, v: &str| v.parse().map_err(|_| SettingsError::NotOneOf { field, words: &["csr", "relative", "entropy"] }),
        ToString::to_string
    ),
];

/// The field with link key `key`.
fn field(key: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.key == key)
}

impl RunConfig {
    /// Every broken rule, in field order (empty when the config is valid): the PTQ rules
    /// of [`check_ptq`] and the ITQ rules of [`ItqSettings::check`] (the first broken one
    /// of each), then the run's limits.
    pub fn errors(&self) -> Vec<SettingsError> {
        use SettingsError::*;
        let mut e = Vec::new();
        e.extend(check_ptq(&self.clusters, &self.widths).err());
        e.extend(self.itq_settings().check().err());
        if self.warmup > 100 {
            e.push(WarmupOutOfRange(self.warmup));
        }
        if self.schedule.len() > 64 {
            e.push(ScheduleTooLong(self.schedule.len()));
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
        if !(self.momentum >= 0.0 && self.momentum < 1.0) {
            e.push(MomentumOutOfRange(self.momentum));
        }
        if !(self.decay >= 0.0 && self.decay <= 0.1) {
            e.push(DecayOutOfRange(self.decay));
        }
        if !(100..=60000).contains(&self.train_size) {
            e.push(TrainSizeOutOfRange(self.train_size));
        }
        e
    }

    /// `Ok` when every rule holds, else the first broken one.
    pub fn check(&self) -> Result<(), SettingsError> {
        self.errors().into_iter().next().map_or(Ok(()), Err)
    }

    /// The quantization settings of this run, unchecked: method, importance (`random`
    /// draws from `seed`), clusters, widths and encoding.
    pub fn quant_settings(&self) -> QuantSettings {
        let ptq = PtqSettings {
            importance: self.importance.source(self.seed),
            clusters: self.clusters.clone(),
            widths: self.widths.clone(),
        };
        QuantSettings { method: self.method, ptq, encoding: self.encoding }
    }

    /// The whole configuration checked ([`RunConfig::check`]), then its quantization
    /// settings as the pipeline takes them.
    pub fn checked_quant(&self) -> Result<CheckedSettings, SettingsError> {
        self.check()?;
        self.quant_settings().check()
    }

    /// The core's in-training settings (used by methods `itq` and `combined`).
    pub fn itq_settings(&self) -> ItqSettings {
        ItqSettings { split: self.split, warmup: self.warmup as usize, schedule: self.schedule.clone(), mode: self.mode }
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

impl RunConfig {
    /// Resets `field` to its default for the config's network.
    fn reset(&mut self, field: &Field) {
        let default = (field.write)(&RunConfig::for_net(self.net));
        (field.read)(self, &default).expect("defaults read back");
    }

    /// The link: `v=1` then every field in [`FIELDS`] order (no leading `?`).
    pub fn to_query(&self) -> String {
        let mut q = format!("v={LINK_VERSION}");
        for f in &FIELDS {
            q.push_str(&format!("&{}={}", f.key, percent_encode(&(f.write)(self))));
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
        let query = query.trim_start_matches('?');
        let pairs: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .map(|(k, v)| (percent_decode(k), percent_decode(v)))
            .collect();
        let query_net = pairs.iter().filter(|(k, _)| k == "net").filter_map(|(_, v)| v.parse::<Net>().ok()).next_back();
        let mut config = RunConfig::for_net(query_net.unwrap_or(Net::LeNet300));
        let mut issues = Vec::new();
        let mut run = false;
        let mut seen: Vec<&str> = Vec::new();
        let mut issue = |field: &str, message: String| issues.push(FieldIssue { field: sanitize(field), message });
        for (k, v) in &pairs {
            if seen.contains(&k.as_str()) {
                issue(k, "given more than once; the last value is used".into());
            }
            seen.push(k);
            match (k.as_str(), field(k)) {
                ("v", _) if v == "1" => {}
                ("v", _) => issue("v", format!("unsupported link version; read as v={LINK_VERSION}")),
                ("run", _) => match v.as_str() {
                    "1" | "true" => run = true,
                    "0" | "false" => run = false,
                    _ => issue("run", "expected 1 or 0; ignored".into()),
                },
                (_, Some(f)) => {
                    if let Err(e) = (f.read)(&mut config, v) {
                        config.reset(f);
                        issue(k, format!("{}; using the default {}", e.rule(), (f.write)(&config)));
                    }
                }
                (_, None) => issue(k, "unknown field; ignored".into()),
            }
        }
        // Rule violations: reset the named fields until none is left (each pass resets at
        // least one field to its default, and the defaults pass).
        for _ in 0..FIELDS.len() {
            let errors = config.errors();
            if errors.is_empty() {
                break;
            }
            for e in errors {
                for f in e.fields().iter().filter_map(|k| field(k)) {
                    config.reset(f);
                    issue(f.key, format!("{}; using the default {}", e.rule(), (f.write)(&config)));
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
            clusters: ClusterMethod::KMeans { k: 3 },
            widths: vec![0, 4, 32],
            split: 0.75,
            warmup: 0,
            schedule: vec![16, 8, 8, 2],
            mode: ItqMode::Project,
            epochs: 3,
            batch: 128,
            lr: 0.001,
            lr_schedule: LrSchedule::Cosine,
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
             &split=0.95&warmup=1&schedule=8,6,4,2,0&mode=freeze&epochs=10&batch=64&lr=0.01&lr_schedule=constant&optimizer=sgd\
             &momentum=0.9&decay=0.002&train_size=60000&seed=1&encoding=csr"
        );
    }

    #[test]
    fn a_link_without_a_learning_rate_schedule_holds_it_and_the_schedule_travels() {
        let (c, fields) = issue_fields("epochs=3");
        assert_eq!((c.lr_schedule, fields.len()), (LrSchedule::Constant, 0));
        let c = RunConfig { lr_schedule: LrSchedule::Cosine, ..RunConfig::default() };
        assert!(c.to_query().contains("&lr=0.01&lr_schedule=cosine&"));
        assert_eq!(RunConfig::from_query(&c.to_query()), (c, vec![]));
        let (c, fields) = issue_fields("lr_schedule=step&epochs=3");
        assert_eq!((c.lr_schedule, c.epochs, fields), (LrSchedule::Constant, 3, vec!["lr_schedule".to_string()]));
        let mut json = serde_json::to_value(RunConfig::default()).unwrap();
        json.as_object_mut().unwrap().remove("lr_schedule");
        assert_eq!(serde_json::from_value::<RunConfig>(json).unwrap().lr_schedule, LrSchedule::Constant);
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
        assert_eq!(p.config, RunConfig { method: Method::Ptq, ..RunConfig::for_net(Net::LeNet5) });
        assert_eq!(p.config.widths, vec![0, 3, 4, 6]);
        let bad = RunConfig::parse_query("net=lenet5&widths=0,3");
        assert_eq!(bad.config.widths, vec![0, 3, 4, 6], "reset to lenet5's default");
        let vgg = RunConfig::parse_query("net=vgg16&method=ptq").config;
        assert_eq!((vgg.clusters.to_string(), vgg.widths), ("quantile:0.8,0.92,0.98".to_string(), vec![0, 4, 5, 8]));
        assert_eq!(vgg.importance, Importance::GradMagnitude);
        let by_grad = RunConfig::parse_query("net=vgg16&method=ptq&importance=grad").config;
        assert_eq!(by_grad.importance, Importance::Grad, "a link's importance wins over the network's default");
        assert!(by_grad.to_query().contains("importance=grad"), "{}", by_grad.to_query());
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
            ("split", "1.01"),
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
    fn a_split_of_one_is_read_and_an_issue_states_the_rule_once() {
        let (c, fields) = issue_fields("split=1");
        assert_eq!((c.split, fields), (1.0, vec![]));
        let (_, issues) = RunConfig::from_query("split=0.5&epochs=x&optimizer=rmsprop");
        let messages: Vec<String> = issues.iter().map(|i| format!("{}: {}", i.field, i.message)).collect();
        assert_eq!(
            messages,
            [
                "epochs: expected a whole number of epochs; using the default 10",
                "optimizer: not one of sgd, adam; using the default sgd",
                "split: 0.5 is not in (0.5, 1]; using the default 0.95",
            ]
        );
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
        assert_eq!((c.clusters, c.widths), (ClusterMethod::KMeans { k: 3 }, vec![0, 4, 8]));
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
        assert_eq!((c.clusters, c.widths, c.net), (ClusterMethod::Quantile(vec![0.6, 0.9]), vec![0, 4, 8], Net::LeNet5));
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
        assert_eq!(c.check(), Err(SettingsError::EpochsOutOfRange(0)));
        assert_eq!(c.errors().len(), 2);
        let c = RunConfig { widths: vec![0, 4, 6], ..RunConfig::default() };
        assert_eq!(c.check(), Err(SettingsError::WidthCount { widths: 3, clusters: 4 }));
    }

    #[test]
    fn a_checked_config_converts_into_checked_quant_settings() {
        let c = RunConfig {
            importance: Importance::Random,
            seed: 9,
            clusters: ClusterMethod::KMeans { k: 2 },
            widths: vec![0, 8],
            ..RunConfig::default()
        };
        let q = c.checked_quant().unwrap();
        assert_eq!(
            (q.method(), &q.ptq().importance, &q.ptq().clusters, q.encoding()),
            (Method::Combined, &ImportanceSource::Random { seed: 9 }, &ClusterMethod::KMeans { k: 2 }, Encoding::Csr)
        );
        assert!(c.itq_settings().check().is_ok());
        assert_eq!(RunConfig { method: Method::None, ..c.clone() }.checked_quant().unwrap().method(), Method::None);
        let bad = RunConfig { widths: vec![0, 4, 8], ..c };
        assert_eq!(bad.checked_quant(), Err(SettingsError::WidthCount { widths: 3, clusters: 2 }));
        let k = crate::quant::settings::MAX_CLUSTERS + 1;
        let too_many = RunConfig { clusters: ClusterMethod::KMeans { k }, widths: vec![0; k], ..RunConfig::default() };
        assert_eq!(too_many.check(), Err(SettingsError::TooManyClusters(k)));
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn any_link_gives_a_config_that_passes_check(
            pairs in proptest::collection::vec((0..FIELDS.len() + 2, "[-a-z0-9.,:%<>+]{0,12}"), 0..8),
        ) {
            let keys: Vec<&str> = FIELDS.iter().map(|f| f.key).chain(["v", "run"]).collect();
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
