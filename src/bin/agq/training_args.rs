//! The training flags shared by `agq train` and `agq snapshot`: the page link's names and
//! defaults (docs/WORKER_PROTOCOL.md), checked like link fields.

use clap::Args;

/// Training and in-training quantization settings; an unset flag keeps the page's default.
#[derive(Args, Debug)]
pub struct TrainingArgs {
    #[arg(long)]
    epochs: Option<String>,
    #[arg(long)]
    batch: Option<String>,
    #[arg(long)]
    lr: Option<String>,
    /// sgd | adam
    #[arg(long)]
    optimizer: Option<String>,
    #[arg(long)]
    momentum: Option<String>,
    /// L2 weight decay
    #[arg(long)]
    decay: Option<String>,
    /// Training images used (the first N of the training set)
    #[arg(long = "train-size")]
    pub train_size: Option<String>,
    #[arg(long)]
    seed: Option<String>,
    /// ITQ low-group fraction, in (0.5, 1)
    #[arg(long)]
    split: Option<String>,
    /// ITQ warm-up epochs
    #[arg(long)]
    warmup: Option<String>,
    /// ITQ low-group width per epoch, e.g. 8,6,4,2,0
    #[arg(long)]
    schedule: Option<String>,
    /// ITQ: freeze | project
    #[arg(long)]
    mode: Option<String>,
}

impl TrainingArgs {
    /// `(link key, value)` of every flag.
    pub fn fields(&self) -> Vec<(&'static str, Option<&String>)> {
        vec![
            ("epochs", self.epochs.as_ref()), ("batch", self.batch.as_ref()), ("lr", self.lr.as_ref()),
            ("optimizer", self.optimizer.as_ref()), ("momentum", self.momentum.as_ref()),
            ("decay", self.decay.as_ref()), ("train_size", self.train_size.as_ref()), ("seed", self.seed.as_ref()),
            ("split", self.split.as_ref()), ("warmup", self.warmup.as_ref()),
            ("schedule", self.schedule.as_ref()), ("mode", self.mode.as_ref()),
        ]
    }
}
