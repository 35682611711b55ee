//! `agq quantize`: a gradient snapshot in, an `.agq` file and a JSON report out.

use crate::io::{read_input, write_outputs};
use super::flags::quantize_refused;
use agq::choices::{Importance, Method};
use agq::quant::cluster::ClusterMethod;
use agq::quant::encoding::Encoding;
use agq::quant::settings::{WidthList, format_widths};
use agq::quantize::{QuantizeRequest, quantize_snapshot};
use agq::snapshot::Snapshot;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct QuantizeArgs {
    /// Gradient snapshot (safetensors, schema agq-snapshot/1; see docs/SNAPSHOT.md)
    #[arg(long)]
    snapshot: PathBuf,
    /// ptq | itq | combined (itq and combined take the snapshot's width/P as ITQ widths)
    #[arg(long, default_value = "combined")]
    method: Method,
    /// grad | grad-magnitude | magnitude | random | taylor (random draws from --seed; taylor
    /// needs the snapshot's taylor/P) [default: the page's default for the snapshot's network:
    /// grad, grad-magnitude for vgg16]
    #[arg(long)]
    importance: Option<Importance>,
    /// quantile:F1,F2,... (cumulative fractions) | kmeans:K [default: the page's default for
    /// the snapshot's network, e.g. quantile:0.5,0.8,0.95]
    #[arg(long)]
    clusters: Option<ClusterMethod>,
    /// One width in bits per cluster, least important first (0 = pruned, 32 = float)
    /// [default: the page's default for the snapshot's network, e.g. 0,4,6,8]
    #[arg(long)]
    widths: Option<WidthList>,
    /// Seed of the random importance
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The .agq encoding, and so the report's bits, bytes and ratio: csr (absolute column
    /// indices, the thesis's accounting) | relative (column gaps with fillers) | entropy
    /// (ANS-coded gaps, tags and values); see docs/FORMAT.md
    #[arg(long, default_value = "csr")]
    encoding: Encoding,
    /// The .agq file to write
    #[arg(long)]
    out: PathBuf,
    /// The JSON report to write
    #[arg(long)]
    report: Option<PathBuf>,
}

/// Runs `agq quantize`.
pub fn run(args: QuantizeArgs) -> Result<(), String> {
    let snapshot =
        Snapshot::from_bytes(&read_input(&args.snapshot)?).map_err(|e| format!("{}: {e}", args.snapshot.display()))?;
    let request = QuantizeRequest {
        method: args.method,
        importance: args.importance,
        clusters: args.clusters,
        widths: args.widths.map(|w| w.0),
        seed: args.seed,
        encoding: args.encoding,
    };
    let quantized = quantize_snapshot(&snapshot, &request).map_err(|e| quantize_refused(&e))?;
    let (full, file) = (&quantized.report, &quantized.compressed.bytes);
    let report = &full.report;
    let json = full.to_json();
    let mut outputs = vec![(args.out.as_path(), file.as_slice())];
    if let Some(path) = &args.report {
        outputs.push((path.as_path(), json.as_bytes()));
    }
    write_outputs(&outputs)?;

    let hist: Vec<String> = report.widths_histogram.iter().map(|(w, n)| format!("{w}b:{n}")).collect();
    println!(
        "{}: {} {} {} widths {}, {} encoding -> {} params, {} stored, {} bits, ratio {:.2}x, {} bytes written to {}",
        snapshot.net,
        full.method,
        full.importance,
        full.clusters,
        format_widths(&full.widths),
        full.encoding,
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
