//! `agq itq`: one epoch-end ITQ step applied to a gradient snapshot (what the trainers do
//! at an epoch end, and what the Python module's `itq_step` returns), written as a new
//! snapshot with the new widths and quantized values, plus each tensor's grid as JSON.

use crate::io::{read_input, write_outputs};
use agq::quant::itq::{itq_apply, schedule_width};
use super::flags::refused;
use agq::choices::Importance;
use agq::quant::settings::{ItqSettings, WidthList};
use agq::snapshot::{Snapshot, StoreDtype};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ItqArgs {
    /// Gradient snapshot: the importance so far and the current widths (width/P; float
    /// where absent)
    #[arg(long)]
    snapshot: PathBuf,
    /// 0-based index of the epoch that just ended
    #[arg(long)]
    epoch: usize,
    /// Fraction of the parameters in the low group, in (0.5, 1]
    #[arg(long, default_value_t = 0.9)]
    split: f64,
    /// Epochs trained before the first ITQ step
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Low-group width per epoch past the warm-up, the last one repeated
    #[arg(long, default_value = "8,6,4,2,0")]
    schedule: WidthList,
    /// What ranks the parameters: grad (the method's accumulated |grad|), grad-magnitude
    /// (|grad| sums times |w|), magnitude, random (seed 0), taylor
    #[arg(long, default_value = "grad")]
    importance: Importance,
    /// The snapshot to write: the new widths, the values quantized to them (f32)
    #[arg(long)]
    out: PathBuf,
    /// The grids as JSON: `{ "width": W, "grids": { P: [[width, frac], ...] } }`
    #[arg(long)]
    grids: Option<PathBuf>,
}

#[derive(Serialize)]
struct Grids<'a> {
    width: u8,
    grids: std::collections::BTreeMap<&'a str, &'a [(u8, i8)]>,
}

/// Runs `agq itq`.
pub fn run(args: ItqArgs) -> Result<(), String> {
    let settings = ItqSettings { split: args.split, warmup: args.warmup, schedule: args.schedule.0, ..ItqSettings::default() };
    settings.check().map_err(|e| refused(&e))?;
    let mut snapshot =
        Snapshot::from_bytes(&read_input(&args.snapshot)?).map_err(|e| format!("{}: {e}", args.snapshot.display()))?;
    let Some(width) = schedule_width(args.epoch, settings.warmup, &settings.schedule) else {
        return Err(format!("epoch {} is in the warm-up ({} epochs): no ITQ step", args.epoch, settings.warmup));
    };
    let applied = itq_apply(&snapshot.net, &snapshot.params, settings.split, width, &args.importance.source(0))
        .map_err(|e| format!("{}: {e}", args.snapshot.display()))?;
    for ((p, w), v) in snapshot.params.iter_mut().zip(&applied.widths).zip(&applied.values) {
        p.width = Some(w.clone());
        p.weight = v.clone();
    }
    let grids = Grids {
        width,
        grids: snapshot.params.iter().zip(&applied.grids).map(|(p, g)| (p.name.as_str(), g.as_slice())).collect(),
    };
    let json = serde_json::to_string_pretty(&grids).map_err(|e| e.to_string())? + "\n";
    let bytes = snapshot.to_bytes(StoreDtype::F32);
    let mut outputs = vec![(args.out.as_path(), bytes.as_slice())];
    if let Some(path) = &args.grids {
        outputs.push((path.as_path(), json.as_bytes()));
    }
    write_outputs(&outputs)?;
    let low = applied.widths.iter().flatten().filter(|&&b| b < 32).count();
    println!(
        "{}: ITQ step after epoch {} at {width} bits: {low} of {} values below 32 bits, written to {}",
        snapshot.net,
        args.epoch,
        snapshot.num_values(),
        args.out.display()
    );
    Ok(())
}
