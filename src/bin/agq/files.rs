//! Reading the data folders of `train` and `eval`.

use crate::io::read_input as read_file;
use agq::choices::Net;
use agq::data::{Dataset, cifar10, mnist};
use std::path::Path;

/// `dir/name` or `dir/name.gz`, whichever exists.
fn read_either(dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    let plain = dir.join(name);
    if plain.exists() {
        return read_file(&plain);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.exists() {
        return read_file(&gz);
    }
    Err(format!("{}: neither {name} nor {name}.gz found", dir.display()))
}

/// MNIST training and test sets from a folder of IDX files.
pub fn read_mnist_dir(dir: &Path) -> Result<(Dataset, Dataset), String> {
    let train = mnist::load(&read_either(dir, "train-images-idx3-ubyte")?, &read_either(dir, "train-labels-idx1-ubyte")?)
        .map_err(|e| format!("MNIST training set: {e}"))?;
    Ok((train, read_mnist_test(dir)?))
}

fn read_mnist_test(dir: &Path) -> Result<Dataset, String> {
    mnist::load(&read_either(dir, "t10k-images-idx3-ubyte")?, &read_either(dir, "t10k-labels-idx1-ubyte")?)
        .map_err(|e| format!("MNIST test set: {e}"))
}

/// The test set the network `net` is evaluated on: MNIST `t10k-*` files, or the CIFAR-10
/// `test_batch.bin` (gzipped or not), else the committed `test_batch_first1000.bin.gz`.
pub fn read_test_dir(dir: &Path, net: Net) -> Result<Dataset, String> {
    if net.input_shape()[0] == 1 {
        return read_mnist_test(dir);
    }
    let bytes = match read_either(dir, "test_batch.bin") {
        Ok(bytes) => bytes,
        Err(e) => {
            let first = dir.join("test_batch_first1000.bin.gz");
            if !first.exists() {
                return Err(format!("{e}, nor test_batch_first1000.bin.gz"));
            }
            read_file(&first)?
        }
    };
    cifar10::load(&bytes).map_err(|e| format!("CIFAR-10 test set: {e}"))
}

/// The CIFAR-10 training set from `data_batch_1.bin` .. `data_batch_5.bin` (each gzipped or
/// not), reading only as many files as it takes to hold `at_least` images.
pub fn read_cifar10_train(dir: &Path, at_least: usize) -> Result<Dataset, String> {
    let mut all: Option<Dataset> = None;
    for i in 1..=5 {
        let name = format!("data_batch_{i}.bin");
        let part = cifar10::load(&read_either(dir, &name)?).map_err(|e| format!("CIFAR-10 {name}: {e}"))?;
        let set = match all.take() {
            None => part,
            Some(mut set) => {
                set.images.extend_from_slice(&part.images);
                set.labels.extend_from_slice(&part.labels);
                set.n += part.n;
                set
            }
        };
        let enough = set.n >= at_least;
        all = Some(set);
        if enough {
            break;
        }
    }
    all.ok_or_else(|| "no CIFAR-10 training file".to_string())
}
