//! `agq inspect`: a readable table of a gradient snapshot or an `.agq` file.

use crate::io::read_input;
use agq::quant::codec::{CodecError, decode};
use agq::quant::encoding::{Encoding, account_with, encoding_of, gap_width_of};
use agq::quant::layout::{MAGIC, header_len};
use agq::quant::report::Report;
use agq::snapshot::{Snapshot, SnapshotError, WEIGHTS_FORMAT, weights_from_bytes};
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A gradient snapshot, a decoded weights file (.safetensors) or a quantized model
    /// (.agq); detected by content
    file: PathBuf,
    /// For an .agq file: also the size of the model in every encoding (csr, relative,
    /// entropy), one line each
    #[arg(long)]
    encodings: bool,
}

/// Runs `agq inspect`.
pub fn run(args: InspectArgs) -> Result<(), String> {
    let bytes = read_input(&args.file)?;
    let name = args.file.display();
    if bytes.starts_with(&MAGIC) {
        inspect_agq(&bytes, args.encodings).map_err(|e| format!("{name}: {e}"))
    } else if args.encodings {
        Err(format!("{name}: --encodings needs an .agq file"))
    } else {
        match Snapshot::from_bytes(&bytes) {
            Ok(snapshot) => inspect_snapshot(&snapshot, bytes.len()),
            Err(SnapshotError::WrongFormat(Some(f))) if f == WEIGHTS_FORMAT => {
                inspect_weights(&bytes).map_err(|e| format!("{name}: {e}"))?;
            }
            Err(e) => return Err(format!("{name}: {e}")),
        }
        Ok(())
    }
}

fn inspect_weights(bytes: &[u8]) -> Result<(), SnapshotError> {
    let (net, tensors) = weights_from_bytes(bytes)?;
    let params: usize = tensors.iter().map(|t| t.2.len()).sum();
    println!(
        "weights file ({WEIGHTS_FORMAT}), net {net}, {} tensors, {params} params, {} bytes",
        tensors.len(),
        bytes.len()
    );
    let rows: Vec<Vec<String>> = tensors
        .iter()
        .map(|(n, shape, v)| {
            let nnz = v.iter().filter(|&&x| x != 0.0).count();
            let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
            vec![n.clone(), format!("{shape:?}"), v.len().to_string(), nnz.to_string(), format!("{max:.4e}")]
        })
        .collect();
    print_table(&["tensor", "shape", "params", "nnz", "max |w|"], &rows);
    Ok(())
}

/// `w:count` pairs, ascending by width.
fn histogram(widths: impl Iterator<Item = u8>) -> String {
    let mut h = BTreeMap::new();
    widths.for_each(|w| *h.entry(w).or_insert(0u64) += 1);
    h.iter().map(|(w, n)| format!("{w}:{n}")).collect::<Vec<_>>().join(" ")
}

/// Prints rows under a header; the first two columns left-aligned, the rest right-aligned.
fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&width)
            .enumerate()
            .map(|(i, (c, &w))| if i < 2 { format!("{c:<w$}") } else { format!("{c:>w$}") })
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

fn inspect_snapshot(s: &Snapshot, file_bytes: usize) {
    println!(
        "gradient snapshot (agq-snapshot/1), net {}, {} tensors, {} params, {file_bytes} bytes",
        s.net,
        s.params.len(),
        s.num_values()
    );
    if let Some(p) = s.metadata.get(agq::snapshot::KEY_PROVENANCE) {
        println!("provenance: {p}");
    }
    let mut rows = Vec::new();
    for p in &s.params {
        let nnz = p.weight.iter().filter(|&&w| w != 0.0).count();
        let (lo, hi) = p.importance.iter().fold((f32::INFINITY, 0f32), |(a, b), &g| (a.min(g), b.max(g)));
        let mean = p.importance.iter().map(|&g| f64::from(g)).sum::<f64>() / p.importance.len().max(1) as f64;
        let widths = p.width.as_ref().map_or_else(|| "-".to_string(), |w| histogram(w.iter().copied()));
        rows.push(vec![
            p.name.clone(),
            format!("{:?}", p.shape),
            p.weight.len().to_string(),
            nnz.to_string(),
            format!("{lo:.3e}"),
            format!("{mean:.3e}"),
            format!("{hi:.3e}"),
            widths,
        ]);
    }
    print_table(&["tensor", "shape", "params", "nnz", "G min", "G mean", "G max", "ITQ widths (bits:count)"], &rows);
    let all = s.params.iter().filter_map(|p| p.width.as_ref()).flatten().copied();
    let with = s.params.iter().filter(|p| p.width.is_some()).count();
    match with {
        0 => println!("no ITQ widths (all float, {} bits)", 32 * s.num_values()),
        _ => println!("ITQ widths ({with} of {} tensors): {}", s.params.len(), histogram(all)),
    }
}

fn inspect_agq(bytes: &[u8], all_encodings: bool) -> Result<(), CodecError> {
    let model = decode(bytes)?;
    let encoding = encoding_of(bytes)?;
    let report = account_with(&model, encoding)?;
    let header = header_len(&model);
    println!(
        "quantized model (.agq, {encoding} encoding), net {}, {} tensors, {} params, {} stored, {} bits, ratio {:.2}x, {} bytes ({header} header)",
        model.net,
        model.tensors.len(),
        report.params,
        report.nnz,
        report.total_bits,
        report.ratio,
        bytes.len()
    );
    // the parts an encoding has: fillers only with relative indices, tables only entropy-coded
    let (fillers, tables) = (encoding == Encoding::Relative, encoding == Encoding::Entropy);
    let mut rows = Vec::new();
    for (t, r) in model.tensors.iter().zip(&report.tensors) {
        let b = &r.bits;
        let ratio = if r.total > 0 { 32.0 * r.params as f64 / r.total as f64 } else { 0.0 };
        let mut row = vec![
            t.name.clone(),
            format!("{:?}", t.shape),
            r.params.to_string(),
            r.nnz.to_string(),
            histogram(t.widths.iter().copied()),
            b.values.to_string(),
        ];
        if encoding != Encoding::Csr {
            row.push(gap_width_of(t, encoding).map_or_else(|| "-".to_string(), |g| g.to_string()));
        }
        row.push(b.indices.to_string());
        row.extend(fillers.then(|| b.fillers.to_string()));
        row.extend([b.tags.to_string(), b.row_ptr.to_string()]);
        row.extend(tables.then(|| b.tables.to_string()));
        row.extend([(b.meta + b.header).to_string(), r.total.to_string(), format!("{ratio:.2}x")]);
        rows.push(row);
    }
    let mut head = vec!["tensor", "shape", "params", "nnz", "widths (bits:count)", "values"];
    head.extend((encoding != Encoding::Csr).then_some("g"));
    head.push("indices");
    head.extend(fillers.then_some("fillers"));
    head.extend(["tags", "row_ptr"]);
    head.extend(tables.then_some("tables"));
    head.extend(["meta+hdr", "bits", "ratio"]);
    print_table(&head, &rows);
    let hist: Vec<String> = report.widths_histogram.iter().map(|(w, n)| format!("{w}:{n}")).collect();
    println!("widths (bits:count): {}", hist.join(" "));
    if all_encodings {
        print_encodings(&model)?;
    }
    Ok(())
}

/// One line per encoding: total bits, file bytes, ratio and the bits of each part.
fn print_encodings(model: &agq::quant::model::QuantModel) -> Result<(), CodecError> {
    let mut rows = Vec::new();
    for e in Encoding::ALL {
        let r: Report = account_with(model, e)?;
        let sum = |f: fn(&agq::quant::report::TensorBits) -> u64| r.tensors.iter().map(|t| f(&t.bits)).sum::<u64>();
        rows.push(vec![
            e.to_string(),
            String::new(),
            r.total_bits.to_string(),
            r.bytes.to_string(),
            format!("{:.2}x", r.ratio),
            sum(|b| b.values).to_string(),
            sum(|b| b.indices).to_string(),
            sum(|b| b.fillers).to_string(),
            sum(|b| b.tags).to_string(),
            sum(|b| b.row_ptr).to_string(),
            sum(|b| b.tables).to_string(),
            sum(|b| b.meta + b.header).to_string(),
        ]);
    }
    println!();
    let head = [
        "encoding", "", "bits", "bytes", "ratio", "values", "indices", "fillers", "tags", "row_ptr", "tables", "meta+hdr",
    ];
    print_table(&head, &rows);
    Ok(())
}
