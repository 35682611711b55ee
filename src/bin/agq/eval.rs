//! `agq eval`: top-1 accuracy of a snapshot, or of an `.agq` file decoded onto it, on a test
//! set, so that any accuracy claim can be re-checked.

use super::files::read_test_dir;
use crate::io::read_input as read_file;
use crate::Failure;
use agq::choices::Net;
use agq::nn::load::{FROM_AGQ, FROM_SNAPSHOT, decoded_tensors, evaluate, network_from, snapshot_weights};
use agq::quant::codec::decode;
use agq::snapshot::Snapshot;
use super::device::DeviceArgs;
use clap::Args;
use std::path::PathBuf;

/// Images per evaluation batch (`agq snapshot` measures its accuracy the same way).
pub const EVAL_BATCH: usize = 500;

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The gradient snapshot (safetensors, agq-snapshot/1) giving the network and weights
    #[arg(long)]
    snapshot: PathBuf,
    /// Evaluate this quantized model (decoded) instead of the snapshot's weights
    #[arg(long)]
    quantized: Option<PathBuf>,
    /// Folder with the test set: MNIST t10k IDX files, or a CIFAR-10 test_batch.bin(.gz)
    #[arg(long)]
    data: PathBuf,
    #[command(flatten)]
    device: DeviceArgs,
}

/// Runs `agq eval`; the last line printed is `accuracy: NN.NN%`.
pub fn run(args: EvalArgs) -> Result<(), Failure> {
    let snapshot = Snapshot::from_bytes(&read_file(&args.snapshot)?)?;
    let kind = snapshot.net.parse::<Net>().ok().ok_or_else(|| format!("no built-in network named {:?}", snapshot.net))?;
    let device = args.device.open()?.device;
    let model = match &args.quantized {
        Some(path) => {
            let decoded = decode(&read_file(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
            let values = decoded.dequantized();
            network_from(kind, &decoded_tensors(&decoded, &values), FROM_AGQ, &device)?
        }
        None => network_from(kind, &snapshot_weights(&snapshot), FROM_SNAPSHOT, &device)?,
    };
    let test = read_test_dir(&args.data, kind)?;
    let accuracy = pollster::block_on(evaluate(&model, &test, EVAL_BATCH, &mut |_: usize, _: usize| {}))?;
    println!("images: {}", test.n);
    println!("accuracy: {accuracy:.2}%");
    Ok(())
}
