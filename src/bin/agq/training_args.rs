//! The training flags shared by `agq train` and `agq snapshot`: the page link's names and
//! defaults (docs/WORKER_PROTOCOL.md), parsed into the settings' own types and checked with
//! the rest of the run configuration.

use agq::config::{ItqMode, LrSchedule, Optimizer, RunConfig};
use agq::quant::settings::WidthList;
use clap::Args;

/// Training and in-training quantization settings; an unset flag keeps the page's default.
#[derive(Args, Debug)]
pub struct TrainingArgs {
    #[arg(long)]
    epochs: Option<u32>,
    #[arg(long)]
    batch: Option<u32>,
    #[arg(long)]
    lr: Option<f64>,
    /// constant | cosine (decayed to 0 over the run)
    #[arg(long = "lr-schedule")]
    lr_schedule: Option<LrSchedule>,
    /// sgd | adam
    #[arg(long)]
    optimizer: Option<Optimizer>,
    #[arg(long)]
    momentum: Option<f64>,
    /// L2 weight decay
    #[arg(long)]
    decay: Option<f64>,
    /// Training images used (the first N of the training set)
    #[arg(long = "train-size")]
    pub train_size: Option<u32>,
    #[arg(long)]
    seed: Option<u64>,
    /// ITQ low-group fraction, in (0.5, 1]
    #[arg(long)]
    split: Option<f64>,
    /// ITQ warm-up epochs
    #[arg(long)]
    warmup: Option<u32>,
    /// ITQ low-group width per epoch, e.g. 8,6,4,2,0
    #[arg(long)]
    schedule: Option<WidthList>,
    /// ITQ: freeze | project
    #[arg(long)]
    mode: Option<ItqMode>,
}

impl TrainingArgs {
    /// Sets every given flag on `config` (unchecked).
    pub fn apply(&self, config: &mut RunConfig) {
        macro_rules! set {
            ($($field:ident),+) => { $(if let Some(v) = &self.$field { config.$field = v.clone(); })+ };
        }
        set!(epochs, batch, lr, lr_schedule, optimizer, momentum, decay, train_size, seed, split, warmup, mode);
        if let Some(WidthList(schedule)) = &self.schedule {
            config.schedule = schedule.clone();
        }
    }
}
