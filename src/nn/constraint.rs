//! Keeping in-training-quantized parameters on their grid after every optimizer step.
//!
//! - `Freeze`: a quantized parameter gets no further update: after each step it is put
//!   back to its quantized value (selected exactly with `mask_where`, so it stays
//!   bit-identical).
//! - `Project`: it keeps training but is snapped back to its fixed-point grid after each
//!   step: `q = clamp(round(w * 2^f), lo, hi) * 2^-f` with the fractional length `f` fixed
//!   when the width was assigned (at the last epoch end). Rounding on the device is half to
//!   even; the final quantization at the end of training is done by the core quantizer.

use burn::tensor::{Bool, Device, Tensor, TensorData};

/// Device-side data for one parameter tensor (native flat layout, `[n]` each).
pub enum Constraint {
    /// `mask` true where the value is frozen at `values`.
    Freeze { mask: Tensor<1, Bool>, values: Tensor<1> },
    /// `mask` true where the value is projected; `scale = 2^f`, codes clamped to `[lo, hi]`.
    Project { mask: Tensor<1, Bool>, scale: Tensor<1>, lo: Tensor<1>, hi: Tensor<1> },
}

impl Constraint {
    /// A freeze constraint from host vectors (native layout).
    pub fn freeze(mask: Vec<bool>, values: Vec<f32>, device: &Device) -> Self {
        let n = mask.len();
        Self::Freeze {
            mask: Tensor::from_data(TensorData::new(mask, [n]), device),
            values: Tensor::from_data(TensorData::new(values, [n]), device),
        }
    }

    /// A projection constraint from host vectors (native layout): per element, whether it
    /// is projected, `2^f`, and the code range.
    pub fn project(mask: Vec<bool>, scale: Vec<f32>, lo: Vec<f32>, hi: Vec<f32>, device: &Device) -> Self {
        let n = mask.len();
        let t = |v: Vec<f32>| Tensor::from_data(TensorData::new(v, [n]), device);
        Self::Project {
            mask: Tensor::from_data(TensorData::new(mask, [n]), device),
            scale: t(scale),
            lo: t(lo),
            hi: t(hi),
        }
    }

    /// Applies the constraint to the flat parameter `w`.
    pub fn apply(&self, w: Tensor<1>) -> Tensor<1> {
        match self {
            Self::Freeze { mask, values } => w.mask_where(mask.clone(), values.clone()),
            Self::Project { mask, scale, lo, hi } => {
                let codes = (w.clone() * scale.clone()).round().max_pair(lo.clone()).min_pair(hi.clone());
                let snapped = codes / scale.clone();
                w.mask_where(mask.clone(), snapped)
            }
        }
    }
}
