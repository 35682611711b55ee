//! `agq train`: trains LeNet-300-100 or LeNet-5 on MNIST natively (burn CPU backend) with
//! the page's settings, then quantizes and writes the `.agq` file, report and snapshot.

use super::files::read_mnist_dir;
use super::flags::refused;
use super::device::DeviceArgs;
use super::training_args::TrainingArgs;
use crate::io::write_outputs;
use agq::summary::RunReport;
use agq::config::{Importance, Method, Net, RunConfig};
use agq::quant::cluster::ClusterMethod;
use agq::quant::settings::WidthList;
use agq::nn::session::Session;
use agq::snapshot::{Snapshot, StoreDtype};
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

/// Settings take the page's link names and defaults (see docs/WORKER_PROTOCOL.md).
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// lenet300 | lenet5
    #[arg(long)]
    net: Option<Net>,
    /// none | ptq | itq | combined
    #[arg(long)]
    method: Option<Method>,
    /// grad | magnitude | random | taylor (PTQ importance)
    #[arg(long)]
    importance: Option<Importance>,
    /// quantile:F1,F2,... | kmeans:K
    #[arg(long)]
    clusters: Option<ClusterMethod>,
    /// PTQ widths per cluster, e.g. 0,4,6,8
    #[arg(long)]
    widths: Option<WidthList>,
    #[command(flatten)]
    training: TrainingArgs,
    #[command(flatten)]
    device: DeviceArgs,
    /// Folder with the MNIST IDX files (gzipped or not)
    #[arg(long)]
    data: PathBuf,
    /// Write the trained gradient snapshot (safetensors, agq-snapshot/1) here
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// Write the quantized model (.agq) here
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the JSON report here
    #[arg(long)]
    report: Option<PathBuf>,
}

impl TrainArgs {
    /// The run configuration: the network's defaults with the given flags, checked.
    fn config(&self) -> Result<RunConfig, String> {
        let mut config = RunConfig::for_net(self.net.unwrap_or(Net::LeNet300));
        config.method = self.method.unwrap_or(config.method);
        config.importance = self.importance.unwrap_or(config.importance);
        if let Some(clusters) = &self.clusters {
            config.clusters = clusters.clone();
        }
        if let Some(WidthList(widths)) = &self.widths {
            config.widths = widths.clone();
        }
        self.training.apply(&mut config);
        config.check().map_err(|e| refused(&e))?;
        Ok(config)
    }
}

/// The JSON report of `agq train --report`: the page's result report, the link of the
/// run and each epoch's wall time (s).
#[derive(serde::Serialize)]
struct TrainReport<'a> {
    #[serde(flatten)]
    run: RunReport<'a>,
    config: String,
    seconds_per_epoch: &'a [f64],
}

/// Runs `agq train`.
pub fn run(args: TrainArgs) -> Result<(), crate::Failure> {
    let config = args.config()?;
    let (train, test) = read_mnist_dir(&args.data)?;
    let chosen = args.device.open()?;
    let mut session = Session::start(&config, train, test, &chosen.device)?;
    let steps = session.trainer.steps_per_epoch();
    println!("agq train: {} {} on {} images, {} epochs of {steps} steps ({})",
        config.net, config.method, config.train_size.min(60_000), config.epochs, chosen.name);
    let mut epoch_seconds = Vec::new();
    let mut trained_accuracy = 0.0;
    let mut started = Instant::now();
    while let Some((info, losses)) =
        pollster::block_on(session.run_epoch(usize::MAX, &mut |_| {}, &mut |_: usize, _: usize| {}))?
    {
        let seconds = started.elapsed().as_secs_f64();
        epoch_seconds.push(seconds);
        trained_accuracy = info.accuracy;
        let mean_loss = losses.iter().sum::<f32>() / losses.len().max(1) as f32;
        println!("epoch {:>3}/{}  loss {mean_loss:.4}  accuracy {:.2}%  ratio {:.2}x  {seconds:.1} s",
            info.epoch, config.epochs, info.accuracy, info.ratio);
        started = Instant::now();
    }
    let outcome = pollster::block_on(session.finish(&config.checked_quant()?, &mut |_: usize, _: usize| {}))?;
    let report = TrainReport {
        run: RunReport::of_file(&outcome.compressed, &config, Some(outcome.accuracy)),
        config: config.to_query(),
        seconds_per_epoch: &epoch_seconds,
    };
    // through a JSON value: its keys are written sorted, as in the committed reports
    let report_text = serde_json::to_string_pretty(&serde_json::to_value(&report)?)?;
    let mut snapshot_bytes = Vec::new();
    if args.snapshot.is_some() {
        let mut metadata = std::collections::BTreeMap::new();
        let unix_time = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let provenance = serde_json::json!({
            "trainer": format!("agq train ({})", chosen.name), "config": config.to_query(),
            "epochs": config.epochs, "dataset": format!("MNIST, first {} of the 60,000 training images", config.train_size.min(60_000)),
            "test_accuracy_percent": trained_accuracy, "accuracy_of": "the network as trained (ITQ parts quantized), MNIST test set",
            "seconds": epoch_seconds.iter().sum::<f64>(), "unix_time": unix_time,
        });
        metadata.insert("agq.provenance".to_string(), provenance.to_string());
        let snapshot = Snapshot { net: config.net.as_str().to_string(), params: outcome.params.clone(), metadata };
        snapshot_bytes = snapshot.to_bytes(StoreDtype::F32);
    }
    let mut outputs: Vec<(&std::path::Path, &[u8])> = Vec::new();
    if let Some(path) = &args.out {
        outputs.push((path, &outcome.compressed.bytes));
    }
    if let Some(path) = &args.report {
        outputs.push((path, report_text.as_bytes()));
    }
    if let Some(path) = &args.snapshot {
        outputs.push((path, &snapshot_bytes));
    }
    write_outputs(&outputs)?;
    println!("method {}: accuracy {:.2}%  ratio {:.2}x  {} bytes", config.method, outcome.accuracy,
        outcome.compressed.report.ratio, outcome.compressed.bytes.len());
    Ok(())
}
