//! Where a network looks: the accumulated importance of its first layer laid out on a
//! 2-D grid for the page's heat map. Works for any network whose first weight tensor reads
//! an image: a fully connected first layer gives one value per input pixel, a
//! convolutional one one value per kernel offset (its weights are shared over positions,
//! so the importance has no per-pixel map).

use crate::quant::tensor::ParamTensor;
use serde::Serialize;

/// What the cells of a [`PixelMap`] are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grid {
    /// Input pixels: a `[out, c * h * w]` first layer summed over its `out` rows and the
    /// `c` channels (PyTorch's flattening: channel-major, then row-major).
    Pixels,
    /// Kernel offsets: a `[out, c, kh, kw]` first convolution summed over its output and
    /// input channels; cell `(y, x)` is the offset `(y, x)` within the receptive field.
    Kernel,
}

/// The importance of the first layer on a `height x width` grid.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PixelMap {
    /// The first weight tensor's name, e.g. `fc1.weight` or `conv1.weight`.
    pub tensor: String,
    pub grid: Grid,
    pub width: usize,
    pub height: usize,
    /// `height * width` summed importances, row-major (sent to the page as a typed array).
    #[serde(skip)]
    pub values: Vec<f32>,
}

/// The pixel map of `params` (network order): the first tensor with two or more
/// dimensions, when it reads an image (see [`Grid`]). A fully connected layer must read a
/// square image of 1 or 3 channels (`in` = `s * s` or `3 * s * s`, `s` >= 2); `None` otherwise.
pub fn pixel_map(params: &[ParamTensor]) -> Option<PixelMap> {
    let first = params.iter().find(|p| p.shape.len() >= 2)?;
    if first.importance.len() != first.len() || first.len() == 0 {
        return None;
    }
    let (grid, height, width) = match *first.shape.as_slice() {
        [_, inputs] => {
            let side = [1, 3].iter().find_map(|&c| square_side(inputs / c).filter(|s| c * s * s == inputs))?;
            (Grid::Pixels, side, side)
        }
        [_, _, kh, kw] => (Grid::Kernel, kh, kw),
        _ => return None,
    };
    let cells = height * width;
    let mut values = vec![0.0f32; cells];
    // both layouts end in the grid: fold every run of `cells` values onto it
    for run in first.importance.chunks(cells) {
        for (m, g) in values.iter_mut().zip(run) {
            *m += g;
        }
    }
    Some(PixelMap { tensor: first.name.clone(), grid, width, height, values })
}

/// `s` when `n = s * s` with `s >= 2`.
fn square_side(n: usize) -> Option<usize> {
    let s = (n as f64).sqrt().round() as usize;
    (s >= 2 && s * s == n).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, shape: Vec<usize>) -> ParamTensor {
        let n: usize = shape.iter().product();
        let mut p = ParamTensor::new(name, shape, vec![0.0; n]);
        p.importance = (0..n).map(|i| i as f32).collect();
        p
    }

    #[test]
    fn a_fully_connected_first_layer_maps_its_input_pixels() {
        let m = pixel_map(&[tensor("fc1.weight", vec![3, 16]), tensor("fc1.bias", vec![3])]).unwrap();
        assert_eq!((m.grid, m.width, m.height, m.tensor.as_str()), (Grid::Pixels, 4, 4, "fc1.weight"));
        // pixel j: j + (16 + j) + (32 + j)
        assert_eq!(m.values, (0..16).map(|j| (48 + 3 * j) as f32).collect::<Vec<_>>());
        // three channels fold onto one grid
        let rgb = pixel_map(&[tensor("fc.weight", vec![2, 3 * 9])]).unwrap();
        assert_eq!((rgb.width, rgb.height), (3, 3));
        assert_eq!(rgb.values.iter().sum::<f32>(), (0..54).sum::<i32>() as f32);
    }

    #[test]
    fn a_convolution_maps_its_kernel_offsets() {
        let m = pixel_map(&[tensor("conv1.weight", vec![2, 1, 5, 5]), tensor("conv1.bias", vec![2])]).unwrap();
        assert_eq!((m.grid, m.width, m.height), (Grid::Kernel, 5, 5));
        assert_eq!(m.values[0], 25.0);
        assert_eq!(m.values.iter().sum::<f32>(), (0..50).sum::<i32>() as f32);
    }

    #[test]
    fn other_first_layers_have_no_map() {
        assert!(pixel_map(&[tensor("fc.weight", vec![4, 10])]).is_none());
        assert!(pixel_map(&[tensor("bias", vec![4])]).is_none());
        assert!(pixel_map(&[tensor("x", vec![2, 2, 2])]).is_none());
        assert!(pixel_map(&[]).is_none());
    }
}
