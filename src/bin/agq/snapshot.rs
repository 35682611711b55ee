//! `agq snapshot`: generates the gradient snapshots of AlexNet or VGG-16 on CIFAR-10.
//!
//! Trains the network twice from the same seed with the same settings, once in float
//! (method `none`) and once with in-training quantization (method `itq`), accumulating
//! `|grad|` over the whole run (the [`Session`] / `Trainer` code path of the page and of
//! `agq train`), and writes two `agq-snapshot/1` files in F16 storage; the ITQ one carries
//! `width/P`. Each snapshot's top-1 accuracy is measured on the given CIFAR-10 test file
//! with the weights exactly as stored (F16), the way `agq eval` measures it, and recorded
//! with the whole training setup in the `agq.provenance` metadata.

use super::device::{ChosenDevice, DeviceArgs};
use super::files::{read_cifar10_train, read_test_dir};
use super::flags::refused;
use super::training_args::TrainingArgs;
use crate::io::write_outputs;
use agq::config::{Method, RunConfig};
use agq::data::Dataset;
use super::eval::EVAL_BATCH;
use agq::choices::Net;
use agq::nn::NnError;
use agq::nn::load::{FROM_SNAPSHOT, evaluate, network_from, snapshot_weights};
use agq::nn::session::{Session, Trained};
use agq::snapshot::{Snapshot, StoreDtype};
use burn::tensor::Device;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

/// Settings take the page's link names (see docs/WORKER_PROTOCOL.md); unset ones keep the
/// page's defaults, except `--train-size` (default: all 50,000 CIFAR-10 training images).
#[derive(Args, Debug)]
pub struct SnapshotArgs {
    /// alexnet | vgg16
    #[arg(long)]
    net: Net,
    /// Folder with the CIFAR-10 training files data_batch_1.bin .. data_batch_5.bin (or .bin.gz)
    #[arg(long)]
    data: PathBuf,
    /// Folder with the CIFAR-10 test file: test_batch.bin(.gz) or test_batch_first1000.bin.gz
    #[arg(long)]
    test: PathBuf,
    #[command(flatten)]
    training: TrainingArgs,
    #[command(flatten)]
    device: DeviceArgs,
    /// Write the float-trained snapshot here (safetensors, agq-snapshot/1, F16); the page
    /// reads it as www/snapshots/NET.safetensors (`Net::snapshot_file`)
    #[arg(long = "out-float")]
    out_float: PathBuf,
    /// Write the ITQ-trained snapshot (with width/P) here; the page reads it as
    /// www/snapshots/NET-itq.safetensors
    #[arg(long = "out-itq")]
    out_itq: PathBuf,
}

impl SnapshotArgs {
    /// The run configuration (method `none`; each run sets its own).
    fn config(&self) -> Result<RunConfig, String> {
        let mut config = RunConfig { method: Method::None, train_size: 50_000, ..RunConfig::for_net(self.net) };
        self.training.apply(&mut config);
        config.check().map_err(|e| refused(&e))?;
        if !config.net.from_snapshot() {
            return Err(format!("--net: snapshots are generated for alexnet or vgg16 (CIFAR-10), not {}", config.net));
        }
        Ok(config)
    }
}

/// What the two runs share in their provenance.
struct Common {
    hardware: String,
    command: String,
    test_images: usize,
}

/// Runs `agq snapshot`.
pub fn run(args: SnapshotArgs) -> Result<(), crate::Failure> {
    let config = args.config()?;
    if args.out_float == args.out_itq {
        return Err(format!("{} is named as two outputs", args.out_float.display()).into());
    }
    let kind = config.net;
    let test = read_test_dir(&args.test, kind)?;
    let train = read_cifar10_train(&args.data, config.train_size as usize)?;
    let chosen = args.device.open()?;
    let common = Common { hardware: hardware(&chosen.name), command: command_line(), test_images: test.n };
    let float_config = RunConfig { method: Method::None, ..config.clone() };
    let itq_config = RunConfig { method: Method::Itq, ..config };
    let float_bytes = train_one(&float_config, kind, train.clone(), &test, &common, &chosen)?;
    let itq_bytes = train_one(&itq_config, kind, train, &test, &common, &chosen)?;
    write_outputs(&[(&args.out_float, &float_bytes), (&args.out_itq, &itq_bytes)])?;
    println!("wrote {} ({} bytes) and {} ({} bytes)", args.out_float.display(), float_bytes.len(),
        args.out_itq.display(), itq_bytes.len());
    Ok(())
}

/// Trains one run of `config`, measures the stored snapshot and returns its bytes.
fn train_one(
    config: &RunConfig,
    kind: Net,
    train: Dataset,
    test: &Dataset,
    common: &Common,
    chosen: &ChosenDevice,
) -> Result<Vec<u8>, crate::Failure> {
    let started = Instant::now();
    let device = &chosen.device;
    let images = train.n.min(config.train_size as usize);
    let mut session = Session::start(config, train, test.clone(), device)?;
    let steps = session.trainer.steps_per_epoch();
    println!("agq snapshot: {} {} on {images} CIFAR-10 images, {} epochs of {steps} steps ({})",
        config.net, config.method, config.epochs, chosen.name);
    let chunk = steps.div_ceil(10).max(1);
    loop {
        let epoch_started = Instant::now();
        let mut train_seconds = 0.0;
        let mut on_chunk = |t: &Trained| {
            let (done, steps) = (t.done_in_epoch, t.steps_per_epoch);
            if done < steps && steps >= 50 {
                println!("  step {done:>5}/{steps}  loss {:.4}  {:.0} s", mean(&t.losses), epoch_started.elapsed().as_secs_f64());
            }
            train_seconds = epoch_started.elapsed().as_secs_f64();
        };
        let epoch = pollster::block_on(session.run_epoch(chunk, &mut on_chunk, &mut |_: usize, _: usize| {}))?;
        let Some((info, losses)) = epoch else { break };
        println!("epoch {:>3}/{}  loss {:.4}  test accuracy {:.2}%  ratio {:.2}x  {:.1} s ({train_seconds:.1} s training)",
            info.epoch, config.epochs, mean(&losses), info.accuracy, info.ratio, epoch_started.elapsed().as_secs_f64());
    }
    let mut params = pollster::block_on(session.trainer.snapshot())?;
    drop(session);
    let low_fraction = low_fraction(&params);
    if config.method == Method::None {
        params.iter_mut().for_each(|p| p.width = None);
    }
    let mut snapshot = Snapshot { net: config.net.as_str().to_string(), params, metadata: Default::default() };
    // Measure the weights as stored: F16 rounding included, exactly as `agq eval` reads them.
    let stored = Snapshot::from_bytes(&snapshot.to_bytes(StoreDtype::F16)).map_err(|e| e.to_string())?;
    let accuracy = (stored_accuracy(kind, &stored, test, device)? * 100.0).round() / 100.0;
    let seconds = started.elapsed().as_secs_f64();
    println!("snapshot ({}): accuracy {accuracy:.2}% on {} test images, {seconds:.0} s", config.method, test.n);
    let mut provenance = serde_json::json!({
        "generator": "agq snapshot",
        "command": common.command,
        "config": config.to_query(),
        "method": config.method.as_str(),
        "epochs": config.epochs,
        "dataset": "CIFAR-10",
        "training_images": images,
        "training_data": format!("the first {images} of the 50,000 CIFAR-10 training images (data_batch_1..5), no augmentation"),
        "accuracy_percent": accuracy,
        "accuracy_on": accuracy_on(common.test_images),
        "hardware": common.hardware,
        "wall_time_seconds": (seconds * 10.0).round() / 10.0,
        "date": utc_date(),
    });
    if config.method == Method::Itq {
        provenance["itq_low_fraction"] = serde_json::json!((low_fraction * 1e4).round() / 1e4);
    }
    snapshot.set_provenance(&provenance);
    Ok(snapshot.to_bytes(StoreDtype::F16))
}

fn mean(v: &[f32]) -> f32 {
    v.iter().sum::<f32>() / v.len().max(1) as f32
}

/// Fraction of scalars below float width (quantized by ITQ).
fn low_fraction(params: &[agq::quant::tensor::ParamTensor]) -> f64 {
    let (mut low, mut all) = (0usize, 0usize);
    for p in params {
        if let Some(w) = &p.width {
            low += w.iter().filter(|&&b| b < 32).count();
        }
        all += p.len();
    }
    low as f64 / all.max(1) as f64
}

/// Top-1 accuracy (%) of `snapshot`'s weights on `test`, the same way as `agq eval`.
fn stored_accuracy(kind: Net, snapshot: &Snapshot, test: &Dataset, device: &Device) -> Result<f64, NnError> {
    let model = network_from(kind, &snapshot_weights(snapshot), FROM_SNAPSHOT, device)?;
    pollster::block_on(evaluate(&model, test, EVAL_BATCH, &mut |_: usize, _: usize| {}))
}

fn accuracy_on(n: usize) -> String {
    match n {
        10_000 => "the 10,000 official CIFAR-10 test images".to_string(),
        1_000 => "first 1,000 official CIFAR-10 test images".to_string(),
        n => format!("first {n} official CIFAR-10 test images"),
    }
}

/// CPU model from /proc/cpuinfo (when readable), threads and the device.
fn hardware(device: &str) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_string()));
    let threads = std::thread::available_parallelism().map_or(0, |n| n.get());
    match model {
        Some(model) => format!("{model}, {threads} threads, {device}"),
        None => format!("{threads} threads, {device}"),
    }
}

/// The command line as typed (arguments with spaces or shell characters single-quoted).
fn command_line() -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            let a = if i == 0 { "agq" } else { a.as_str() };
            let plain = !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c));
            if plain { a.to_string() } else { format!("'{}'", a.replace('\'', r"'\''")) }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Today's UTC date from the system clock, `YYYY-MM-DD`.
fn utc_date() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Proleptic Gregorian (year, month, day) of a count of days since 1970-01-01
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
    }
}
