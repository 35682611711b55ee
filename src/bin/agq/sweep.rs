//! `agq sweep`: every importance source at a range of kept fractions (PTQ, the network's
//! default cluster shape and widths), each point accounted in three encodings and, with
//! `--data`, evaluated: the importance comparison at equal size (issue 12).

use super::device::DeviceArgs;
use super::files::read_test_dir;
use crate::io::{read_input, write_outputs};
use agq::config::{Clusters, RunConfig};
use agq::nn::eval::accuracy;
use super::flags::refused;
use agq::choices::{Importance, Net};
use agq::quant::settings::parse_word;
use agq::nn::models::Model;
use agq::nn::params::{param_infos, write_params};
use agq::quant::settings::WidthList;
use agq::quant::sweep::{DEFAULT_KEEP, SweepPlan, SweepRow, source_name, sweep_point};
use agq::snapshot::Snapshot;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Gradient snapshot (agq-snapshot/1); taylor needs its taylor/P tensors
    #[arg(long)]
    snapshot: PathBuf,
    /// Test set folder (as for agq eval); without it only the sizes are computed
    #[arg(long)]
    data: Option<PathBuf>,
    /// The results file (JSON) to write
    #[arg(long)]
    out: PathBuf,
    /// Importances, comma-separated [default: grad,magnitude,random and taylor when the
    /// snapshot has it]; an importance named here that the snapshot lacks is an error
    #[arg(long)]
    importances: Option<String>,
    /// Kept fractions of the parameters, comma-separated [default: 0.03 .. 0.6]
    #[arg(long)]
    keep: Option<String>,
    /// Cluster shape quantile:F1,...: F1 pruned, the kept split as the rest split it
    /// [default: the page's default for the network]
    #[arg(long)]
    clusters: Option<Clusters>,
    /// One width per cluster, least important first, the first 0 [default: the page's]
    #[arg(long)]
    widths: Option<WidthList>,
    /// Seed of the random importance
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Images per evaluation batch
    #[arg(long, default_value_t = 500)]
    batch: usize,
    #[command(flatten)]
    device: DeviceArgs,
}

/// Evaluates parameter values of a built-in network (the weight-loading path of `agq eval`).
struct Evaluator {
    model: Model,
    infos: Vec<agq::nn::params::ParamInfo>,
    /// Index into the snapshot's parameters of each network tensor.
    order: Vec<usize>,
    test: agq::data::Dataset,
    batch: usize,
}

impl Evaluator {
    fn new(snapshot: &Snapshot, data: &std::path::Path, device: &DeviceArgs, batch: usize) -> Result<Self, String> {
        let kind = snapshot.net.parse::<Net>().ok().ok_or_else(|| format!("--data: no built-in network named {:?} to evaluate", snapshot.net))?;
        let device = device.open()?.device;
        let model = Model::new(kind, &device);
        let infos = param_infos(&model);
        let mut order = Vec::with_capacity(infos.len());
        for info in &infos {
            let i = snapshot.params.iter().position(|p| p.name == info.name)
                .ok_or_else(|| format!("the snapshot has no tensor {}", info.name))?;
            if snapshot.params[i].shape != info.shape {
                return Err(format!("{}: shape {:?}, the network needs {:?}", info.name, snapshot.params[i].shape, info.shape));
            }
            order.push(i);
        }
        let test = read_test_dir(data, kind)?;
        Ok(Self { model, infos, order, test, batch })
    }

    /// Top-1 accuracy (%) with `values[i]` (snapshot order) as the parameters.
    fn accuracy(&self, values: &[Vec<f32>]) -> Result<f64, String> {
        let ordered: Vec<Vec<f32>> = self.order.iter().map(|&i| values[i].clone()).collect();
        let model = write_params(self.model.clone(), &self.infos, &ordered);
        pollster::block_on(accuracy(&model, &self.test, self.batch))
    }
}

fn parse_list(what: &str, text: &str) -> Result<Vec<f64>, String> {
    text.split(',').map(|s| s.trim().parse::<f64>().map_err(|_| format!("--{what}: {s:?} is not a number"))).collect()
}

/// Runs `agq sweep`.
pub fn run(args: SweepArgs) -> Result<(), String> {
    let snapshot =
        Snapshot::from_bytes(&read_input(&args.snapshot)?).map_err(|e| format!("{}: {e}", args.snapshot.display()))?;
    let defaults = RunConfig::for_net(snapshot.net.parse().unwrap_or(Net::LeNet300));
    let shape = args.clusters.clone().unwrap_or(defaults.clusters);
    let widths = args.widths.clone().map_or(defaults.widths, |w| w.0);
    let keeps = match &args.keep {
        None => DEFAULT_KEEP.to_vec(),
        Some(k) => parse_list("keep", k)?,
    };
    let plan = SweepPlan::new(&(&shape).into(), &widths, &keeps).map_err(|e| format!("--clusters/--widths/--keep: {e}"))?;

    let has_taylor = snapshot.params.iter().all(|p| p.taylor.is_some());
    let mut skipped = Vec::new();
    let names: Vec<String> = match &args.importances {
        Some(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
        None => {
            let mut v: Vec<String> = ["grad", "magnitude", "random"].map(String::from).to_vec();
            if has_taylor {
                v.push("taylor".into());
            } else {
                skipped.push("taylor: the snapshot has no taylor/P tensors".to_string());
            }
            v
        }
    };
    let mut sources = Vec::with_capacity(names.len());
    for name in &names {
        let importance: Importance = parse_word("importances", name).map_err(|e| refused(&e))?;
        let source = importance.source(args.seed);
        source.check(&snapshot.params).map_err(|e| format!("--importances: {e}"))?;
        sources.push(source);
    }

    let evaluator = match &args.data {
        Some(dir) => Some(Evaluator::new(&snapshot, dir, &args.device, args.batch)?),
        None => None,
    };
    let started = Instant::now();
    let float_accuracy = match &evaluator {
        Some(e) => Some(e.accuracy(&snapshot.params.iter().map(|p| p.weight.clone()).collect::<Vec<_>>())?),
        None => None,
    };
    if let Some(a) = float_accuracy {
        println!("{}: float snapshot {a:.2}% on {} images", snapshot.net, evaluator.as_ref().map_or(0, |e| e.test.n));
    }
    let mut rows = Vec::new();
    for source in &sources {
        let importance = source.try_compute(&snapshot.params)?;
        for (keep, fractions) in &plan.points {
            let (model, sizes) = sweep_point(&snapshot.net, &snapshot.params, &importance, fractions, &plan.widths)?;
            let accuracy_percent = match &evaluator {
                Some(e) => Some(e.accuracy(&model.dequantized())?),
                None => None,
            };
            println!(
                "{:<9} keep {:<5} ratio csr {:>7.2}x relative {:>7.2}x entropy {:>7.2}x  accuracy {}  ({:.0} s)",
                source_name(source),
                keep,
                sizes.ratio_csr,
                sizes.ratio_relative,
                sizes.ratio_entropy,
                accuracy_percent.map_or("-".to_string(), |a| format!("{a:.2}%")),
                started.elapsed().as_secs_f64()
            );
            rows.push(SweepRow {
                importance: source_name(source).into(),
                keep: *keep,
                fractions: fractions.clone(),
                widths: plan.widths.clone(),
                sizes,
                accuracy_percent,
            });
        }
    }
    for s in &skipped {
        println!("skipped {s}");
    }
    let json = serde_json::json!({
        "net": snapshot.net,
        "snapshot": args.snapshot.display().to_string(),
        "provenance": snapshot.provenance(),
        "images": evaluator.as_ref().map(|e| e.test.n),
        "float_accuracy_percent": float_accuracy,
        "params": snapshot.num_values(),
        "clusters_base": match &shape { Clusters::Quantile(base) => base.clone(), Clusters::KMeans(_) => Vec::new() },
        "widths": widths,
        "seed": args.seed,
        "skipped": skipped,
        "rows": rows,
    });
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())? + "\n";
    write_outputs(&[(args.out.as_path(), text.as_bytes())])?;
    println!("{} rows written to {}", rows.len(), args.out.display());
    Ok(())
}
