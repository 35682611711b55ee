//! The accounting the page shows while the clusters or widths of a loaded snapshot move:
//! the parameters are indexed once per importance source ([`Reaccounter`]: sort once),
//! and every setting is then accounted from prefix sums in about a millisecond for
//! VGG-16, with exactly the report that quantizing and encoding would give.

use crate::compress::{Compressed, ImportanceHistogram, compress, histogram, width_counts};
use crate::quant::QuantError;
use crate::quant::encoding::Encoding;
use crate::quant::importance::ImportanceSource;
use crate::quant::reaccount::Reaccounter;
use crate::quant::settings::CheckedSettings;
use crate::quant::report::Report;
use crate::quant::tensor::ParamTensor;
use std::collections::BTreeMap;

/// An accounted setting: what the page charts before it evaluates anything.
#[derive(Clone, Debug, PartialEq)]
pub struct Accounted {
    /// CSR accounting; `bytes` is the size the `.agq` file will have.
    pub report: Report,
    /// Parameters per assigned width (keyed by the width as text).
    pub widths: BTreeMap<String, usize>,
    pub importance_histogram: ImportanceHistogram,
}

impl Accounted {
    /// The accounting of a compressed network, with the histogram of `importance` (flat,
    /// what it was quantized by).
    pub fn of(c: &Compressed, importance: &[f32]) -> Self {
        Accounted {
            report: c.report.clone(),
            widths: width_counts(&c.widths),
            importance_histogram: c.importance_histogram(importance),
        }
    }
}

/// The index of one network for one importance source.
struct Index {
    net: String,
    source: ImportanceSource,
    reaccounter: Reaccounter,
    /// The importance histogram without boundaries.
    histogram: ImportanceHistogram,
}

/// Accounts settings of one network's parameters, re-indexing only when the importance
/// source changes. Falls back to the full pipeline when the parameters cannot be indexed
/// (a NaN importance, an invalid ITQ width).
#[derive(Default)]
pub struct LiveAccount {
    index: Option<Index>,
}

impl LiveAccount {
    /// Accounts `params` of a network named `net` (any name: the `.agq` header holds it, so
    /// it counts in `bytes`) quantized as `settings` say, in CSR.
    pub fn account(&mut self, net: &str, params: &[ParamTensor], settings: &CheckedSettings) -> Result<Accounted, QuantError> {
        let source = &settings.ptq().importance;
        let Some(index) = self.index_for(net, params, source)? else {
            let csr = settings.clone().with_encoding(Encoding::Csr);
            return Ok(Accounted::of(&compress(net, params, &csr)?, &source.try_compute(params)?));
        };
        let itq = settings.method().uses_itq();
        let accounting = index.reaccounter.account(settings.ptq_plan(), itq)?;
        let widths = (0..=32usize)
            .filter(|&w| accounting.assigned[w] > 0)
            .map(|w| (w.to_string(), accounting.assigned[w] as usize))
            .collect();
        let mut importance_histogram = index.histogram.clone();
        importance_histogram.boundaries = histogram(&[], &accounting.thresholds).boundaries;
        Ok(Accounted { report: accounting.report, widths, importance_histogram })
    }

    /// The importance histogram of `params` under `source`, marked with `boundaries`: the
    /// bins of the index when it is of network `net` and this source (no pass over the
    /// parameters: the page's result for a loaded snapshot), else computed.
    pub fn histogram(
        &self,
        net: &str,
        params: &[ParamTensor],
        source: &ImportanceSource,
        boundaries: &[f32],
    ) -> Result<ImportanceHistogram, QuantError> {
        match &self.index {
            Some(i) if &i.source == source && i.net == net => {
                Ok(ImportanceHistogram { boundaries: histogram(&[], boundaries).boundaries, ..i.histogram.clone() })
            }
            _ => Ok(histogram(&source.try_compute(params)?, boundaries)),
        }
    }

    /// The index of `params` under `source`, built anew when the network or the source
    /// changed; `None` when the parameters cannot be indexed.
    fn index_for(&mut self, net: &str, params: &[ParamTensor], source: &ImportanceSource) -> Result<Option<&Index>, QuantError> {
        if self.index.as_ref().is_none_or(|i| &i.source != source || i.net != net) {
            self.index = None; // the old index is freed before the new one is built
            let importance = source.try_compute(params)?;
            self.index = Reaccounter::new(net, params, &importance).map(|reaccounter| Index {
                net: net.to_string(),
                source: source.clone(),
                reaccounter,
                histogram: histogram(&importance, &[]),
            });
        }
        Ok(self.index.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Net, RunConfig};

    fn params() -> Vec<ParamTensor> {
        let mut g = crate::rng::SplitMix64(3);
        (0..3)
            .map(|i| {
                let n = 300 + 100 * i;
                let mut p = ParamTensor::new(format!("t{i}"), vec![n / 10, 10], (0..n).map(|_| g.next_f32() - 0.5).collect());
                p.importance = (0..n).map(|_| g.next_f32()).collect();
                p.width = Some((0..n).map(|j| [4, 8, 32][j % 3]).collect());
                p
            })
            .collect()
    }

    #[test]
    fn every_method_and_source_accounts_as_the_full_pipeline() {
        let params = params();
        let mut live = LiveAccount::default();
        for importance in ["grad", "magnitude", "random", "grad"] {
            for method in ["ptq", "itq", "combined", "none"] {
                for (clusters, widths) in [("quantile:0.3,0.6,0.9", "0,4,6,8"), ("kmeans:3", "2,5,16")] {
                    let query = format!("net=lenet300&method={method}&importance={importance}&clusters={clusters}&widths={widths}");
                    let parsed = RunConfig::parse_query(&query);
                    assert!(parsed.issues.is_empty(), "{query}");
                    let config = parsed.config;
                    assert_eq!(config.net, Net::LeNet300);
                    let settings = config.checked_quant().unwrap();
                    let importance = settings.ptq().importance.try_compute(&params).unwrap();
                    let full = Accounted::of(&compress("lenet300", &params, &settings).unwrap(), &importance);
                    assert_eq!(live.account("lenet300", &params, &settings).unwrap(), full, "{query}");
                }
            }
        }
    }

    #[test]
    fn the_histogram_of_the_index_is_the_computed_one() {
        let params = params();
        let mut live = LiveAccount::default();
        for importance in ["grad", "magnitude", "grad"] {
            let query = format!("net=lenet300&method=ptq&importance={importance}&clusters=quantile:0.3,0.6,0.9&widths=0,4,6,8");
            let settings = RunConfig::parse_query(&query).config.checked_quant().unwrap();
            let source = &settings.ptq().importance;
            let c = compress("lenet300", &params, &settings).unwrap();
            let computed = c.importance_histogram(&source.try_compute(&params).unwrap());
            assert_eq!(live.histogram("lenet300", &params, source, &c.boundaries).unwrap(), computed, "{query}, no index");
            live.account("lenet300", &params, &settings).unwrap();
            assert_eq!(live.histogram("lenet300", &params, source, &c.boundaries).unwrap(), computed, "{query}, indexed");
            assert_eq!(computed.boundaries.len(), 3);
        }
    }

    #[test]
    fn a_nan_importance_falls_back_to_the_full_pipeline() {
        let mut params = params();
        params[1].importance[5] = f32::NAN;
        let config = RunConfig::for_net(crate::config::Net::LeNet300);
        let settings = config.checked_quant().unwrap();
        let importance = settings.ptq().importance.try_compute(&params).unwrap();
        let full = Accounted::of(&compress("lenet300", &params, &settings).unwrap(), &importance);
        assert_eq!(LiveAccount::default().account("lenet300", &params, &settings).unwrap(), full);
    }
}
