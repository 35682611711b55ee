//! Reading the data folders of `train` and `eval`.

use crate::io::read_input as read_file;
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

/// The test set a network of `kind` is evaluated on.
pub fn read_test_dir(dir: &Path, kind: agq::nn::models::NetKind) -> Result<Dataset, String> {
    if kind.input_shape()[0] == 1 {
        return read_mnist_test(dir);
    }
    cifar10::load(&read_either(dir, "test_batch.bin")?).map_err(|e| format!("CIFAR-10 test set: {e}"))
}
