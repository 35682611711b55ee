//! The flat parameter list of a network.
//!
//! All parameters are one ordered list of tensors (every weight AND bias); a "flat
//! index" runs over all tensors in order, row-major inside a tensor.

/// One parameter tensor with its accumulated importance and (optional) current widths.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParamTensor {
    /// Unique name, e.g. `"features.0.weight"` (at most 255 bytes of UTF-8 to be encodable).
    pub name: String,
    /// Shape, outermost first (PyTorch order: `[out, in, kh, kw]` for a conv weight).
    pub shape: Vec<usize>,
    /// Values, row-major, `len()` of them.
    pub weight: Vec<f32>,
    /// Accumulated `sum_t |dL/dθ(t)|`, one per value (empty if unknown).
    pub importance: Vec<f32>,
    /// Current width per value (ITQ state); `None` = all 32 (float).
    pub width: Option<Vec<u8>>,
    /// Accumulated Taylor importance `sum_t |θ(t) · dL/dθ(t)|`, one per value, summed over
    /// the same steps as `importance`; `None` when the trainer did not record it.
    pub taylor: Option<Vec<f32>>,
}

impl ParamTensor {
    /// A tensor with zero importance and no width state.
    pub fn new(name: impl Into<String>, shape: Vec<usize>, weight: Vec<f32>) -> Self {
        let importance = vec![0.0; weight.len()];
        ParamTensor {
            name: name.into(),
            shape,
            weight,
            importance,
            width: None,
            taylor: None,
        }
    }

    /// Rows of the 2-D view: `shape[0]`, or 1 for a 0-D or 1-D tensor.
    pub fn rows(&self) -> usize {
        rows_of(&self.shape)
    }

    /// Columns of the 2-D view: product of all but the first dimension (`n` for 1-D).
    pub fn cols(&self) -> usize {
        cols_of(&self.shape)
    }

    /// Number of values (product of the shape).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Rows of the 2-D view of `shape`: `shape[0]` when it has 2 or more dimensions, else 1.
pub fn rows_of(shape: &[usize]) -> usize {
    if shape.len() >= 2 { shape[0] } else { 1 }
}

/// Columns of the 2-D view of `shape`: the product of the rest (a 1-D tensor is `1 x n`).
pub fn cols_of(shape: &[usize]) -> usize {
    if shape.len() >= 2 {
        shape[1..].iter().product()
    } else {
        shape.iter().product()
    }
}

/// Total number of values over all tensors (the flat length).
pub fn total_len(params: &[ParamTensor]) -> usize {
    params.iter().map(|p| p.weight.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conv_weight_is_out_channels_by_the_rest() {
        let t = ParamTensor::new("c", vec![64, 3, 3, 3], vec![0.0; 64 * 27]);
        assert_eq!((t.rows(), t.cols(), t.len()), (64, 27, 1728));
    }

    #[test]
    fn a_bias_is_one_row() {
        let t = ParamTensor::new("b", vec![10], vec![0.0; 10]);
        assert_eq!((t.rows(), t.cols()), (1, 10));
    }

    #[test]
    fn a_scalar_is_one_by_one() {
        assert_eq!((rows_of(&[]), cols_of(&[])), (1, 1));
    }
}
