//! The training loop: mini-batch SGD (momentum) or Adam on cross-entropy, accumulating the
//! absolute gradient of every parameter on the device, with in-training quantization (ITQ)
//! at epoch ends. Hand-written so that it runs the same natively and in a browser.

use super::accumulate::{ImportanceSums, accumulate_importances};
use super::batches::Batches;
use super::constraint::Constraint;
use super::error::NnError;
use super::models::Model;
use crate::choices::Net;
use super::params::{ParamInfo, map_params, param_infos, read_all, read_params, write_params};
use crate::data::Dataset;
use crate::choices::{ItqMode, LrSchedule, Optimizer};
use crate::quant::importance::ImportanceSource;
use crate::quant::itq::{itq_apply, schedule_width};
use crate::quant::settings::CheckedItqSettings;
use crate::quant::tensor::ParamTensor;
use burn::nn::loss::CrossEntropyLoss;
use burn::optim::momentum::MomentumConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Tensor};

/// Everything the trainer needs besides data.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSettings {
    pub net: Net,
    /// Images per step.
    pub batch: usize,
    /// Learning rate (the first step's, under a decaying schedule).
    pub lr: f64,
    pub lr_schedule: LrSchedule,
    /// Epochs of the whole run (what a decaying schedule spans).
    pub epochs: usize,
    pub optimizer: Optimizer,
    /// SGD momentum, in [0, 1) (not used by Adam).
    pub momentum: f64,
    /// L2 penalty added to the gradient by the optimizer (not part of the accumulated
    /// importance, which is the gradient of the mini-batch loss alone).
    pub weight_decay: f64,
    /// Seeds the initial weights and the data order.
    pub seed: u64,
    /// In-training quantization (METHOD.md, "In-training quantization"); `None` trains in float.
    pub itq: Option<CheckedItqSettings>,
}

/// A training run in progress.
pub struct Trainer {
    settings: TrainSettings,
    /// The autodiff device training runs on.
    device: Device,
    /// The same device without autodiff (constraints and parameter writes live there).
    inner_device: Device,
    model: Model,
    optim: ModuleOptimizer,
    infos: Vec<ParamInfo>,
    /// Accumulated `|grad|` and `|w · grad|` per parameter tensor, native flat `[n]`.
    importance: ImportanceSums,
    /// Current ITQ width of every scalar, per tensor, output-major (32 = float).
    widths: Vec<Vec<u8>>,
    constraints: Vec<Option<Constraint>>,
    batches: Batches,
    pending_losses: Vec<Tensor<1>>,
    /// Completed epochs.
    pub epoch: usize,
    /// Completed optimizer steps.
    pub step: usize,
}

impl Trainer {
    /// A fresh network on `device` (an autodiff device is made from it) to train on `train`.
    pub fn new(settings: TrainSettings, train: Dataset, device: &Device) -> Self {
        let inner_device = device.clone();
        let device = device.clone().autodiff();
        device.seed(settings.seed);
        let model = Model::new(settings.net, &device);
        let infos = param_infos(&model);
        let decay = (settings.weight_decay > 0.0).then(|| WeightDecayConfig::new(settings.weight_decay as f32));
        let optim = match settings.optimizer {
            Optimizer::Sgd => SgdConfig::new()
                .with_momentum(Some(MomentumConfig::new().with_momentum(settings.momentum).with_dampening(0.0)))
                .with_weight_decay(decay)
                .init(),
            Optimizer::Adam => AdamConfig::new().with_weight_decay(decay).init(),
        };
        let widths = infos.iter().map(|info| vec![32u8; info.len()]).collect();
        let constraints = infos.iter().map(|_| None).collect();
        let batches = Batches::new(train, settings.batch, settings.seed);
        Self {
            settings,
            device,
            inner_device,
            model,
            optim,
            infos,
            importance: ImportanceSums::default(),
            widths,
            constraints,
            batches,
            pending_losses: Vec::new(),
            epoch: 0,
            step: 0,
        }
    }

    /// Parameter names and output-major shapes, in order.
    pub fn infos(&self) -> &[ParamInfo] {
        &self.infos
    }

    /// Optimizer steps in one epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.batches.steps_per_epoch()
    }

    /// The network being trained (autodiff device).
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Current ITQ widths, per tensor, output-major (32 = float).
    pub fn widths(&self) -> &[Vec<u8>] {
        &self.widths
    }

    /// Runs up to `max_steps` optimizer steps without any read-back; stops early at the end
    /// of the epoch. Returns the number of steps run (0 when the epoch is already done).
    pub fn train_steps(&mut self, max_steps: usize) -> usize {
        let mut done = 0;
        while done < max_steps {
            let Some((images, labels)) = self.batches.next_batch(&self.device) else {
                break;
            };
            let logits = self.model.forward(images);
            let loss = CrossEntropyLoss::new(None, &self.device).forward(logits, labels);
            let grads = GradientsParams::from_grads(loss.backward(), &self.model);
            accumulate_importances(&self.model, &grads, &mut self.importance);
            self.model = self.optim.step(self.lr_now(), self.model.clone(), grads);
            self.apply_constraints();
            self.pending_losses.push(loss.detach());
            self.step += 1;
            done += 1;
        }
        done
    }

    /// The learning rate of the next step: `lr`, or under `cosine`
    /// `lr · (1 + cos(π · step / steps_of_the_run)) / 2`.
    pub fn lr_now(&self) -> f64 {
        match self.settings.lr_schedule {
            LrSchedule::Constant => self.settings.lr,
            LrSchedule::Cosine => {
                let total = (self.settings.epochs * self.steps_per_epoch()).max(1);
                let t = (self.step as f64 / total as f64).min(1.0);
                0.5 * self.settings.lr * (1.0 + (std::f64::consts::PI * t).cos())
            }
        }
    }

    /// Whether the current epoch has no step left.
    pub fn epoch_done(&self) -> bool {
        self.batches.epoch_done()
    }

    /// The mini-batch losses of the steps run since the last call, in one read-back.
    pub async fn take_losses(&mut self) -> Result<Vec<f32>, NnError> {
        if self.pending_losses.is_empty() {
            return Ok(Vec::new());
        }
        let all = Tensor::cat(std::mem::take(&mut self.pending_losses), 0);
        Ok(read_all(vec![all]).await?.remove(0))
    }

    fn apply_constraints(&mut self) {
        if self.constraints.iter().all(Option::is_none) {
            return;
        }
        let constraints = &self.constraints;
        self.model = map_params(self.model.clone(), |i, w| match &constraints[i] {
            Some(c) => c.apply(w),
            None => w,
        });
    }

    /// Ends the epoch: counts it, applies the ITQ step when due, and reshuffles the data.
    /// Returns whether an ITQ step was applied.
    pub async fn end_epoch(&mut self) -> Result<bool, NnError> {
        self.epoch += 1;
        self.batches.next_epoch();
        let Some(itq) = self.settings.itq.as_ref().map(|i| i.get().clone()) else {
            return Ok(false);
        };
        let Some(width_now) = schedule_width(self.epoch - 1, itq.warmup, &itq.schedule) else {
            return Ok(false);
        };
        let params = self.snapshot().await?;
        let applied = itq_apply(self.settings.net.as_str(), &params, itq.split, width_now, &ImportanceSource::Gradient)?;
        self.model = write_params(self.model.clone(), &self.infos, &applied.values);
        self.widths = applied.widths;
        self.constraints = self.build_constraints(itq.mode, &applied.values, &applied.grids);
        Ok(true)
    }

    fn build_constraints(&self, mode: ItqMode, quantized: &[Vec<f32>], grids: &[Vec<(u8, i8)>]) -> Vec<Option<Constraint>> {
        let mut out = Vec::with_capacity(self.infos.len());
        for (i, info) in self.infos.iter().enumerate() {
            let widths = &self.widths[i];
            let mask: Vec<bool> = widths.iter().map(|&w| w < 32).collect();
            if !mask.iter().any(|&m| m) {
                out.push(None);
                continue;
            }
            let constraint = match mode {
                ItqMode::Freeze => Constraint::freeze(info.to_native(&mask), info.to_native(&quantized[i]), &self.inner_device),
                ItqMode::Project => {
                    let (scale, lo, hi) = per_value_grid(widths, &grids[i]);
                    Constraint::project(info.to_native(&mask), info.to_native(&scale), info.to_native(&lo), info.to_native(&hi), &self.inner_device)
                }
            };
            out.push(Some(constraint));
        }
        out
    }

    /// Weights, accumulated importances (gradient and Taylor) and ITQ widths of every
    /// parameter, output-major.
    pub async fn snapshot(&self) -> Result<Vec<ParamTensor>, NnError> {
        let weights = read_params(&self.model).await?;
        let (importance, taylor) = if self.importance.is_empty() {
            let zeros: Vec<Vec<f32>> = self.infos.iter().map(|i| vec![0.0; i.len()]).collect();
            (zeros.clone(), zeros)
        } else {
            let both = self.importance.gradient.iter().chain(&self.importance.taylor).cloned().collect();
            let mut both = read_all(both).await?;
            let taylor = both.split_off(self.importance.gradient.len());
            (both, taylor)
        };
        Ok(self
            .infos
            .iter()
            .zip(weights)
            .zip(importance.into_iter().zip(taylor))
            .zip(&self.widths)
            .map(|(((info, weight), (imp, taylor)), widths)| ParamTensor {
                name: info.name.clone(),
                shape: info.shape.clone(),
                weight,
                importance: info.to_output_major(imp),
                width: Some(widths.clone()),
                taylor: Some(info.to_output_major(taylor)),
            })
            .collect())
    }
}

/// Per-value fixed-point grid (`2^f`, lowest and highest code) of a tensor whose values
/// have `widths`, from its `(width, f)` grid ([`crate::quant::itq::grid`]). Widths 0 and 32
/// get a grid that leaves the value alone (they are masked out anyway).
fn per_value_grid(widths: &[u8], grid: &[(u8, i8)]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut frac = [0i8; 33];
    for &(b, f) in grid {
        frac[b as usize] = f;
    }
    let mut scale = Vec::with_capacity(widths.len());
    let mut lo = Vec::with_capacity(widths.len());
    let mut hi = Vec::with_capacity(widths.len());
    for &b in widths {
        if b == 0 || b == 32 {
            scale.push(1.0);
            lo.push(0.0);
            hi.push(0.0);
        } else {
            scale.push(2f32.powi(i32::from(frac[b as usize])));
            lo.push(-(2f32.powi(i32::from(b) - 1)));
            hi.push(2f32.powi(i32::from(b) - 1) - 1.0);
        }
    }
    (scale, lo, hi)
}
