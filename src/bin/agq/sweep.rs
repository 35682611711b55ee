//! `agq sweep`: every importance source at a range of kept fractions (PTQ, the network's
//! default cluster shape and widths), each point accounted in three encodings and, with
//! `--data`, evaluated: the importance comparison at equal size (issue 12).

use super::device::DeviceArgs;
use super::files::read_test_dir;
use crate::io::{read_input, write_outputs};
use agq::config::RunConfig;
use agq::quant::cluster::ClusterMethod;
use super::flags::refused;
use agq::choices::{Importance, Net};
use agq::quant::settings::parse_word;
use crate::Failure;
use agq::nn::NnError;
use agq::nn::load::{FROM_AGQ, FROM_SNAPSHOT, Named, decoded_tensors, evaluate, load_into, network_from, snapshot_weights};
use agq::nn::models::Model;
use agq::nn::params::{ParamInfo, param_infos};
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
    clusters: Option<ClusterMethod>,
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
    /// The network with the snapshot's weights.
    model: Model,
    infos: Vec<ParamInfo>,
    test: agq::data::Dataset,
    batch: usize,
}

impl Evaluator {
    fn new(snapshot: &Snapshot, data: &std::path::Path, device: &DeviceArgs, batch: usize) -> Result<Self, Failure> {
        let kind = snapshot.net.parse::<Net>().ok().ok_or_else(|| format!("--data: no built-in network named {:?} to evaluate", snapshot.net))?;
        let device = device.open()?.device;
        let model = network_from(kind, &snapshot_weights(snapshot), FROM_SNAPSHOT, &device)?;
        let infos = param_infos(&model);
        let test = read_test_dir(data, kind)?;
        Ok(Self { model, infos, test, batch })
    }

    /// Top-1 accuracy (%) with `tensors` as the parameters (the snapshot's weights: `None`).
    fn accuracy(&self, tensors: Option<&[Named<'_>]>) -> Result<f64, NnError> {
        let model = match tensors {
            Some(t) => load_into(self.model.clone(), &self.infos, t, FROM_AGQ)?,
            None => self.model.clone(),
        };
        pollster::block_on(evaluate(&model, &self.test, self.batch, &mut |_: usize, _: usize| {}))
    }
}

fn parse_list(what: &str, text: &str) -> Result<Vec<f64>, String> {
    text.split(',').map(|s| s.trim().parse::<f64>().map_err(|_| format!("--{what}: {s:?} is not a number"))).collect()
}

/// Runs `agq sweep`.
pub fn run(args: SweepArgs) -> Result<(), Failure> {
    let snapshot =
        Snapshot::from_bytes(&read_input(&args.snapshot)?).map_err(|e| format!("{}: {e}", args.snapshot.display()))?;
    let defaults = RunConfig::for_net(snapshot.net.parse().unwrap_or(Net::LeNet300));
    let shape = args.clusters.clone().unwrap_or(defaults.clusters);
    let widths = args.widths.clone().map_or(defaults.widths, |w| w.0);
    let keeps = match &args.keep {
        None => DEFAULT_KEEP.to_vec(),
        Some(k) => parse_list("keep", k)?,
    };
    let plan = SweepPlan::new(&shape, &widths, &keeps).map_err(|e| format!("--clusters/--widths/--keep: {e}"))?;

    let has_taylor = snapshot.params.iter().all(|p| p.taylor.is_some());
    let mut skipped = Vec::new();
    let names: Vec<String> = match &args.importances {
        Some(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
        None => {
            let mut v: Vec<String> = ["grad", "grad-magnitude", "magnitude", "random"].map(String::from).to_vec();
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
        Some(e) => Some(e.accuracy(None)?),
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
                Some(e) => Some(e.accuracy(Some(&decoded_tensors(&model, &model.dequantized())))?),
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
        "clusters_base": match &shape { ClusterMethod::Quantile(base) => base.clone(), ClusterMethod::KMeans { .. } => Vec::new() },
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
