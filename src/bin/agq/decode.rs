//! `agq decode`: an `.agq` file in, a safetensors file of the decoded weights out.

use crate::io::{read_input, write_outputs};
use agq::quant::codec::decode;
use agq::snapshot::weights_to_bytes;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// The .agq file
    input: PathBuf,
    /// The safetensors file to write: weight/P (f32) per tensor, metadata
    /// agq.format = agq-weights/1, agq.net, agq.params (the network order)
    #[arg(long)]
    out: PathBuf,
}

/// Runs `agq decode`.
pub fn run(args: DecodeArgs) -> Result<(), String> {
    let model = decode(&read_input(&args.input)?).map_err(|e| format!("{}: {e}", args.input.display()))?;
    let values = model.dequantized();
    let tensors: Vec<(&str, &[usize], &[f32])> =
        model.tensors.iter().zip(&values).map(|(t, v)| (t.name.as_str(), t.shape.as_slice(), v.as_slice())).collect();
    let bytes = weights_to_bytes(&model.net, &tensors);
    write_outputs(&[(args.out.as_path(), bytes.as_slice())])?;
    println!(
        "{}: {} tensors, {} params decoded to {}",
        model.net,
        model.tensors.len(),
        model.params(),
        args.out.display()
    );
    Ok(())
}
