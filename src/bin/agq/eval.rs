//! `agq eval`: top-1 accuracy of a snapshot, or of an `.agq` file decoded onto it, on a test
//! set, so that any accuracy claim can be re-checked.

use super::files::read_test_dir;
use crate::io::read_input as read_file;
use agq::nn::eval::accuracy;
use agq::choices::Net;
use agq::nn::models::Model;
use agq::nn::params::{param_infos, write_params};
use agq::quant::codec::decode;
use agq::snapshot::Snapshot;
use super::device::DeviceArgs;
use clap::Args;
use std::path::PathBuf;

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
pub fn run(args: EvalArgs) -> Result<(), String> {
    let snapshot = Snapshot::from_bytes(&read_file(&args.snapshot)?).map_err(|e| e.to_string())?;
    let kind = snapshot.net.parse::<Net>().ok().ok_or_else(|| format!("no built-in network named {:?}", snapshot.net))?;
    let device = args.device.open()?.device;
    let model = Model::new(kind, &device);
    let infos = param_infos(&model);
    let mut values: Vec<Vec<f32>> = Vec::with_capacity(infos.len());
    let decoded = match &args.quantized {
        Some(path) => Some(decode(&read_file(path)?).map_err(|e| format!("{}: {e}", path.display()))?),
        None => None,
    };
    let decoded_values = decoded.as_ref().map(|m| m.dequantized());
    for info in &infos {
        let (shape, weight) = match (&decoded, &decoded_values) {
            (Some(m), Some(v)) => {
                let i = m.tensors.iter().position(|t| t.name == info.name)
                    .ok_or_else(|| format!("the .agq file has no tensor {}", info.name))?;
                (m.tensors[i].shape.clone(), v[i].clone())
            }
            _ => {
                let p = snapshot.params.iter().find(|p| p.name == info.name)
                    .ok_or_else(|| format!("the snapshot has no tensor {}", info.name))?;
                (p.shape.clone(), p.weight.clone())
            }
        };
        if shape != info.shape {
            return Err(format!("{}: shape {shape:?}, the network needs {:?}", info.name, info.shape));
        }
        values.push(weight);
    }
    let model = write_params(model, &infos, &values);
    let test = read_test_dir(&args.data, kind)?;
    let accuracy = pollster::block_on(accuracy(&model, &test, 500))?;
    println!("images: {}", test.n);
    println!("accuracy: {accuracy:.2}%");
    Ok(())
}
