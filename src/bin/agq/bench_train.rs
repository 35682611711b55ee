//! `agq bench-train`: images per second of one training step of a built-in network —
//! forward, backward, |grad| accumulation and the SGD update, exactly the trainer's step —
//! on random data, after a warm-up. Its PyTorch counterpart is `bench/train_step.py`; both
//! are run side by side by `scripts/bench_engines.sh` (docs/BENCHMARKS.md).

use super::device::DeviceArgs;
use agq::data::Dataset;
use agq::choices::{LrSchedule, Net, Optimizer};
use agq::nn::train::{TrainSettings, Trainer};
use agq::rng::SplitMix64;
use clap::Args;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct BenchTrainArgs {
    /// lenet300 | lenet5 | alexnet | vgg16
    #[arg(long)]
    net: Net,
    /// Images per step
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Timed steps
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Untimed steps first (kernel selection, allocator warm-up)
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    #[command(flatten)]
    device: DeviceArgs,
}

/// Runs the bench; the last line is one JSON object
/// `{"engine", "net", "batch", "steps", "seconds", "images_per_s"}`.
pub fn run(args: BenchTrainArgs) -> Result<(), crate::Failure> {
    let net = args.net;
    if args.batch == 0 || args.steps == 0 {
        return Err("--batch and --steps must be at least 1".into());
    }
    let chosen = args.device.open()?;
    let settings = TrainSettings {
        net,
        batch: args.batch,
        lr: 0.01,
        lr_schedule: LrSchedule::Constant,
        epochs: 1,
        optimizer: Optimizer::Sgd,
        momentum: 0.9,
        weight_decay: 5e-4,
        seed: 1,
        itq: None,
    };
    let mut trainer = Trainer::new(settings, random_data(net, args.batch * (args.warmup + args.steps)), &chosen.device);
    trainer.train_steps(args.warmup);
    pollster::block_on(trainer.take_losses())?;
    let started = Instant::now();
    let run = trainer.train_steps(args.steps);
    pollster::block_on(trainer.take_losses())?;
    let seconds = started.elapsed().as_secs_f64();
    let images_per_s = (run * args.batch) as f64 / seconds;
    println!(
        "{}",
        serde_json::json!({
            "engine": chosen.name, "net": args.net, "batch": args.batch, "steps": run,
            "seconds": seconds, "images_per_s": images_per_s,
        })
    );
    Ok(())
}

/// `n` images of the network's input shape, values uniform in [-1, 1), random labels.
fn random_data(net: Net, n: usize) -> Dataset {
    let (channels, side) = match net {
        Net::LeNet300 | Net::LeNet5 => (1, 28),
        Net::AlexNet | Net::Vgg16 => (3, 32),
    };
    let mut rng = SplitMix64::new(7);
    let images = (0..n * channels * side * side).map(|_| rng.next_f32() * 2.0 - 1.0).collect();
    let labels = (0..n).map(|_| (rng.next_u64() % 10) as u8).collect();
    Dataset { images, labels, n, channels, height: side, width: side }
}
