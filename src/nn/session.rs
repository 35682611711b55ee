//! A whole run from a [`RunConfig`]: train with the configured method, report each epoch,
//! and quantize at the end. Shared by the command line (`agq train`, `agq snapshot`) and
//! the page: both drive the epochs through [`Session::advance`].

use super::error::NnError;
use super::eval::Progress;
use super::load::{FROM_AGQ, Named, decoded_tensors, evaluate, load_into};
use super::models::Model;
use crate::choices::Net;
use super::train::{TrainSettings, Trainer};
use crate::compress::{Compressed, ImportanceHistogram, compress};
use crate::config::RunConfig;
use crate::data::Dataset;
use crate::quant::importance::ImportanceSource;
use crate::quant::settings::CheckedSettings;
use crate::quant::sweep::{SweepPlan, SweepRow, source_name, sweep_point};
use crate::quant::tensor::ParamTensor;
use burn::tensor::Device;

/// Images per evaluation batch.
const EVAL_BATCH: usize = 500;

/// What one epoch end reports.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EpochInfo {
    /// Completed epochs.
    pub epoch: usize,
    /// Test accuracy (%) of the network as it trains (ITQ-quantized parts included).
    pub accuracy: f64,
    /// Compression ratio if the configured method quantized the network now.
    pub ratio: f64,
    /// The compressed state behind `ratio`.
    #[serde(skip)]
    pub compressed: Compressed,
}

/// What one [`Session::advance`] call did.
#[derive(Clone, Debug)]
pub enum Advance {
    /// Training steps of the current epoch ran.
    Trained(Trained),
    /// The epoch ended: ITQ step when due, test-set evaluation, accounting.
    EpochEnded(EpochInfo),
    /// Every configured epoch had already run; nothing was done.
    Finished,
}

/// The training steps of one [`Session::advance`] call.
#[derive(Clone, Debug)]
pub struct Trained {
    /// Optimizer steps (mini-batches) run by this call.
    pub steps: usize,
    /// Index of the first of them since the run started (0-based, over all epochs).
    pub first_step: usize,
    /// Steps of the current epoch run so far, this call's included; equal to
    /// `steps_per_epoch` when the next call ends the epoch.
    pub done_in_epoch: usize,
    /// Steps in one epoch (training images / batch size, rounded up).
    pub steps_per_epoch: usize,
    /// Mini-batch cross-entropy losses of the `steps` steps, in order.
    pub losses: Vec<f32>,
}

/// The result of quantizing a trained state.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Test accuracy (%) of the network as quantized (decoded from the `.agq` bitstream).
    pub accuracy: f64,
    pub compressed: Compressed,
    /// The importances the network was quantized by, binned, with the PTQ boundaries.
    pub importance: ImportanceHistogram,
    /// The trained parameters with their importances and ITQ widths.
    pub params: Vec<ParamTensor>,
}

/// Why `data` cannot feed a network of `kind`, if it cannot (wrong image shape). The page
/// loads MNIST only, so this is also what keeps it from training AlexNet or VGG-16.
pub fn check_data(kind: Net, data: &Dataset) -> Result<(), NnError> {
    let shape = [data.channels, data.height, data.width];
    if shape == kind.input_shape() {
        return Ok(());
    }
    Err(NnError::DataShape { net: kind, data: shape })
}

/// Trainer settings of a configuration (ITQ for methods `itq` and `combined`).
pub fn train_settings(config: &RunConfig) -> Result<TrainSettings, NnError> {
    config.check()?;
    let itq = config.method.uses_itq().then(|| config.itq_settings().check()).transpose()?;
    Ok(TrainSettings {
        net: config.net,
        batch: config.batch as usize,
        lr: config.lr,
        lr_schedule: config.lr_schedule,
        epochs: config.epochs as usize,
        optimizer: config.optimizer,
        momentum: config.momentum,
        seed: config.seed,
        weight_decay: config.decay,
        itq,
    })
}

/// A run in progress.
pub struct Session {
    pub config: RunConfig,
    /// `config`'s quantization settings (what each epoch end accounts).
    quant: CheckedSettings,
    pub trainer: Trainer,
    test: Dataset,
}

impl Session {
    /// Starts a run on `device`; `train` is cut to `config.train_size` images.
    pub fn start(config: &RunConfig, mut train: Dataset, test: Dataset, device: &Device) -> Result<Self, NnError> {
        let settings = train_settings(config)?;
        let quant = config.checked_quant()?;
        check_data(settings.net, &train)?;
        check_data(settings.net, &test)?;
        train.truncate(config.train_size as usize);
        Ok(Self { config: config.clone(), quant, trainer: Trainer::new(settings, train, device), test })
    }

    /// Whether every configured epoch has run.
    pub fn finished(&self) -> bool {
        self.trainer.epoch >= self.config.epochs as usize
    }

    /// The epoch driver, one bounded piece of work per call, so that a caller can do its
    /// own work between calls (the page's worker answers its messages and `stop`):
    /// - while the epoch has batches left, runs up to `max_steps` (at least 1) training
    ///   steps, stopping at the epoch's end: [`Advance::Trained`] with their losses;
    /// - once the epoch has none left, ends it (ITQ step when due, test-set evaluation
    ///   followed by `progress(done, total)`, accounting): [`Advance::EpochEnded`];
    /// - after the last configured epoch: [`Advance::Finished`], doing nothing.
    pub async fn advance(&mut self, max_steps: usize, progress: &mut dyn Progress) -> Result<Advance, NnError> {
        if self.finished() {
            return Ok(Advance::Finished);
        }
        if self.trainer.epoch_done() {
            return Ok(Advance::EpochEnded(self.end_epoch(progress).await?));
        }
        let steps = self.trainer.train_steps(max_steps.max(1));
        let losses = self.trainer.take_losses().await?;
        let steps_per_epoch = self.trainer.steps_per_epoch();
        let step = self.trainer.step;
        Ok(Advance::Trained(Trained {
            steps,
            first_step: step - steps,
            done_in_epoch: step - self.trainer.epoch * steps_per_epoch,
            steps_per_epoch,
            losses,
        }))
    }

    /// One whole epoch through [`Session::advance`] (the command line's `agq train` and
    /// `agq snapshot`): `chunk` steps per call, `on_chunk` after each with its
    /// [`Trained`]. Returns the epoch's report and all its mini-batch losses, or `None`
    /// when every configured epoch has already run.
    pub async fn run_epoch(
        &mut self,
        chunk: usize,
        on_chunk: &mut dyn FnMut(&Trained),
        progress: &mut dyn Progress,
    ) -> Result<Option<(EpochInfo, Vec<f32>)>, NnError> {
        let mut losses = Vec::new();
        loop {
            match self.advance(chunk, progress).await? {
                Advance::Trained(trained) => {
                    on_chunk(&trained);
                    losses.extend(trained.losses);
                }
                Advance::EpochEnded(info) => return Ok(Some((info, losses))),
                Advance::Finished => return Ok(None),
            }
        }
    }

    /// Ends the epoch (ITQ step when due), evaluates, and accounts the current state.
    /// `progress(done, total)` follows the evaluation. Only [`Session::advance`] calls it.
    async fn end_epoch(&mut self, progress: &mut dyn Progress) -> Result<EpochInfo, NnError> {
        self.trainer.end_epoch().await?;
        let accuracy = self.evaluate(self.trainer.model().clone(), progress).await?;
        let params = self.trainer.snapshot().await?;
        let compressed = compress(self.config.net.as_str(), &params, &self.quant)?;
        Ok(EpochInfo { epoch: self.trainer.epoch, accuracy, ratio: compressed.report.ratio, compressed })
    }

    /// Quantizes the trained state as `settings` say (the run's own, or any other) and
    /// measures the accuracy of the decoded `.agq` file.
    pub async fn finish(&self, settings: &CheckedSettings, progress: &mut dyn Progress) -> Result<Outcome, NnError> {
        let params = self.trainer.snapshot().await?;
        let compressed = compress(self.config.net.as_str(), &params, settings)?;
        let decoded = crate::quant::codec::decode(&compressed.bytes)?;
        let values = decoded.dequantized();
        let model = self.with_tensors(&decoded_tensors(&decoded, &values))?;
        let accuracy = self.evaluate(model, progress).await?;
        let importance = compressed.importance_histogram(&settings.ptq().importance.try_compute(&params)?);
        Ok(Outcome { accuracy, compressed, importance, params })
    }

    /// One point of the importance sweep of the trained state (`agq sweep` on it, live):
    /// PTQ by `source` at the kept fraction `keep`, scaled from the network's default
    /// cluster shape and widths ([`SweepPlan`]), sized in the three encodings and evaluated
    /// on the test set. `progress(done, total)` follows the evaluation.
    pub async fn sweep_point(
        &self,
        source: &ImportanceSource,
        keep: f64,
        progress: &mut dyn Progress,
    ) -> Result<SweepRow, NnError> {
        let defaults = RunConfig::for_net(self.config.net);
        let mut plan = SweepPlan::new(&defaults.clusters, &defaults.widths, &[keep])?;
        let (_, fractions) = plan.points.remove(0); // one point per kept fraction
        let params = self.trainer.snapshot().await?;
        let importance = source.try_compute(&params)?;
        let (quantized, sizes) = sweep_point(self.config.net.as_str(), &params, &importance, &fractions, &plan.widths)?;
        let values = quantized.dequantized();
        let model = self.with_tensors(&decoded_tensors(&quantized, &values))?;
        let accuracy = self.evaluate(model, progress).await?;
        Ok(SweepRow {
            importance: source_name(source).into(),
            keep,
            fractions,
            widths: plan.widths,
            sizes,
            accuracy_percent: Some(accuracy),
        })
    }

    /// The trained network with the parameters of `tensors` (a quantized copy of its own).
    fn with_tensors(&self, tensors: &[Named<'_>]) -> Result<Model, NnError> {
        load_into(self.trainer.model().clone(), self.trainer.infos(), tensors, FROM_AGQ)
    }

    async fn evaluate(&self, model: Model, progress: &mut dyn Progress) -> Result<f64, NnError> {
        evaluate(&model, &self.test, EVAL_BATCH, progress).await
    }
}
