//! `agq quantize`: a gradient snapshot in, an `.agq` file and a JSON report out.

use crate::io::{read_input, write_outputs};
use agq::compress::{PtqSettings, compress_with};
use agq::config::Method;
use agq::quant::importance::ImportanceSource;
use agq::quant::report::Report;
use agq::quant::settings::{QuantMethod, QuantSettings, format_widths, parse_widths};
use agq::snapshot::Snapshot;
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct QuantizeArgs {
    /// Gradient snapshot (safetensors, schema agq-snapshot/1; see docs/SNAPSHOT.md)
    #[arg(long)]
    snapshot: PathBuf,
    /// ptq | itq | combined (itq and combined take the snapshot's width/P as ITQ widths)
    #[arg(long, default_value = "combined")]
    method: String,
    /// grad | magnitude | random (random draws from --seed)
    #[arg(long, default_value = "grad")]
    importance: String,
    /// quantile:F1,F2,... (cumulative fractions) | kmeans:K [default: the page's default for
    /// the snapshot's network, e.g. quantile:0.5,0.8,0.95]
    #[arg(long)]
    clusters: Option<String>,
    /// One width in bits per cluster, least important first (0 = pruned, 32 = float)
    /// [default: the page's default for the snapshot's network, e.g. 0,4,6,8]
    #[arg(long)]
    widths: Option<String>,
    /// Seed of the random importance
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The .agq file to write
    #[arg(long)]
    out: PathBuf,
    /// The JSON report to write
    #[arg(long)]
    report: Option<PathBuf>,
}

/// The JSON report: the core's [`Report`] plus the settings that produced it.
#[derive(Serialize)]
struct QuantizeReport<'a> {
    #[serde(flatten)]
    report: &'a Report,
    method: String,
    importance: String,
    clusters: String,
    widths: &'a [u8],
    seed: u64,
}

/// `args`' settings; missing clusters / widths take the page's defaults for `net`.
fn settings(args: &QuantizeArgs, net: &str) -> Result<QuantSettings, String> {
    let defaults = agq::config::RunConfig::for_net(net.parse().unwrap_or(agq::config::Net::Lenet300));
    let clusters = args.clusters.clone().unwrap_or_else(|| defaults.clusters.to_string());
    let widths = args.widths.clone().unwrap_or_else(|| format_widths(&defaults.widths));
    let importance = match args.importance.trim() {
        "grad" | "gradient" => ImportanceSource::Gradient,
        "magnitude" => ImportanceSource::Magnitude,
        "random" => ImportanceSource::Random { seed: args.seed },
        other => return Err(format!("--importance {other:?}: expected grad, magnitude or random")),
    };
    let settings = QuantSettings {
        method: args.method.parse().map_err(|e| format!("--method: {e} (expected ptq, itq or combined)"))?,
        importance,
        cluster: clusters.parse().map_err(|e| format!("--clusters: {e}"))?,
        widths: parse_widths(&widths).map_err(|e| format!("--widths: {e}"))?,
    };
    settings.check().map_err(|e| format!("--clusters/--widths: {e}"))?;
    Ok(settings)
}

/// Checks that the snapshot has ITQ widths (`width/P`), which `itq` and `combined` need.
fn require_itq_widths(snapshot: &Snapshot) -> Result<(), String> {
    if snapshot.params.iter().all(|p| p.width.is_none()) {
        return Err(
            "the snapshot has no width/P tensors, which --method itq and combined need (use --method ptq)".into()
        );
    }
    Ok(())
}

/// Runs `agq quantize`.
pub fn run(args: QuantizeArgs) -> Result<(), String> {
    let snapshot =
        Snapshot::from_bytes(&read_input(&args.snapshot)?).map_err(|e| format!("{}: {e}", args.snapshot.display()))?;
    let s = settings(&args, &snapshot.net)?;
    let method = match s.method {
        QuantMethod::Ptq => Method::Ptq,
        QuantMethod::Itq => Method::Itq,
        QuantMethod::Combined => Method::Combined,
    };
    if method != Method::Ptq {
        require_itq_widths(&snapshot)?;
    }
    let ptq_settings = PtqSettings { importance: s.importance, clusters: s.cluster.clone(), widths: s.widths.clone() };
    let compressed = compress_with(&snapshot.net, &snapshot.params, method, &ptq_settings)?;
    let (report, file) = (&compressed.report, &compressed.bytes);
    let full = QuantizeReport {
        report,
        method: s.method.to_string(),
        importance: match s.importance {
            ImportanceSource::Gradient => "grad",
            ImportanceSource::Magnitude => "magnitude",
            ImportanceSource::Random { .. } => "random",
        }
        .to_string(),
        clusters: s.cluster.to_string(),
        widths: &s.widths,
        seed: args.seed,
    };
    let json = serde_json::to_string_pretty(&full).map_err(|e| e.to_string())? + "\n";
    let mut outputs = vec![(args.out.as_path(), file.as_slice())];
    if let Some(path) = &args.report {
        outputs.push((path.as_path(), json.as_bytes()));
    }
    write_outputs(&outputs)?;

    let hist: Vec<String> = report.widths_histogram.iter().map(|(w, n)| format!("{w}b:{n}")).collect();
    println!(
        "{}: {} {} {} widths {} -> {} params, {} stored, {} bits, ratio {:.2}x, {} bytes written to {}",
        snapshot.net,
        s.method,
        full.importance,
        full.clusters,
        format_widths(&s.widths),
        report.params,
        report.nnz,
        report.total_bits,
        report.ratio,
        file.len(),
        args.out.display()
    );
    println!("widths: {}", hist.join(" "));
    Ok(())
}
