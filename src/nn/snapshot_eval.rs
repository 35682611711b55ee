//! Quantizing a loaded gradient snapshot (no training) and measuring the accuracy of the
//! decoded `.agq` file: what the page does for AlexNet and VGG-16, whose snapshots are
//! trained offline (`agq snapshot`).

use super::eval::Evaluation;
use super::models::{Model, NetKind};
use super::params::{param_infos, write_params};
use super::session::Outcome;
use crate::compress::compress;
use crate::live_account::{Accounted, LiveAccount};
use crate::config::RunConfig;
use crate::data::Dataset;
use crate::quant::tensor::ParamTensor;
use crate::snapshot::Snapshot;
use burn::tensor::Device;

/// Images per evaluation batch (CIFAR-10 networks: smaller batches than the LeNets).
const EVAL_BATCH: usize = 100;

/// A snapshot of a built-in network, ready to quantize.
pub struct LoadedSnapshot {
    pub kind: NetKind,
    pub snapshot: Snapshot,
    /// The re-accounting index of the snapshot (built on the first `account`).
    live: LiveAccount,
}

impl LoadedSnapshot {
    /// Checks that `snapshot` is a built-in network whose tensors match its shapes.
    pub fn new(snapshot: Snapshot, device: &Device) -> Result<Self, String> {
        let kind = NetKind::parse(&snapshot.net)
            .ok_or_else(|| format!("the snapshot is of {:?}, not a built-in network", snapshot.net))?;
        let infos = param_infos(&Model::new(kind, device));
        for info in &infos {
            let p = find(&snapshot.params, &info.name)
                .ok_or_else(|| format!("the snapshot has no tensor {}", info.name))?;
            if p.shape != info.shape {
                return Err(format!("{}: shape {:?}, {} needs {:?}", info.name, p.shape, kind.name(), info.shape));
            }
        }
        if snapshot.params.len() != infos.len() {
            return Err(format!("the snapshot has {} tensors, {} has {}", snapshot.params.len(), kind.name(), infos.len()));
        }
        Ok(Self { kind, snapshot, live: LiveAccount::default() })
    }

    /// Accounts `config`'s method and PTQ settings without quantizing (no evaluation): the
    /// first call for an importance source sorts the parameters once (about a second for
    /// VGG-16), every later one takes milliseconds. Run on every change of the clusters or
    /// widths.
    pub fn account(&mut self, config: &RunConfig) -> Result<Accounted, String> {
        self.live.account(&self.snapshot.params, config)
    }

    /// Quantizes, decodes the `.agq` file into a fresh network and measures its top-1
    /// accuracy on `test`; `progress(done, total)` follows the evaluation.
    pub async fn finish(
        &self,
        config: &RunConfig,
        test: &Dataset,
        device: &Device,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Outcome, String> {
        super::session::check_data(self.kind, test)?;
        let compressed = compress(&self.snapshot.params, config, config.method)?;
        let decoded = crate::quant::codec::decode(&compressed.bytes).map_err(|e| e.to_string())?;
        let values = decoded.dequantized();
        let model = Model::new(self.kind, device);
        let infos = param_infos(&model);
        let mut ordered = Vec::with_capacity(infos.len());
        for info in &infos {
            let i = decoded
                .tensors
                .iter()
                .position(|t| t.name == info.name)
                .ok_or_else(|| format!("the .agq file has no tensor {}", info.name))?;
            ordered.push(values[i].clone());
        }
        let model = write_params(model, &infos, &ordered);
        let mut evaluation = Evaluation::new(&model, test, EVAL_BATCH);
        loop {
            let finished = evaluation.advance(1);
            let (done, total) = evaluation.progress();
            progress(done, total);
            if finished {
                break;
            }
        }
        let accuracy = evaluation.finish().await?;
        // `params` stays empty: the snapshot is kept by `self` (no copy of a large network).
        Ok(Outcome { accuracy, compressed, params: Vec::new() })
    }
}

fn find<'a>(params: &'a [ParamTensor], name: &str) -> Option<&'a ParamTensor> {
    params.iter().find(|p| p.name == name)
}
