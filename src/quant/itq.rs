//! In-training quantization: at every epoch end past the warm-up, the least important
//! `ceil(p * n)` parameters get `min(current width, b(epoch))`. Widths only go down.

use super::cluster::select_cuts;
use super::error::QuantError;
use super::importance::ImportanceSource;
use super::fixed_point::{MAX_FIXED_WIDTH, dequantize, frac_len, is_valid_width, quantize_code};
use super::model::quantize_model;
use super::tensor::ParamTensor;

/// The default low-group width schedule (then 0 for ever).
pub const DEFAULT_SCHEDULE: [u8; 5] = [8, 6, 4, 2, 0];

pub use crate::choices::ItqMode;

/// Width of the low group after the epoch with 0-based index `epoch`: `None` during the
/// `warmup` epochs, then `schedule[epoch - warmup]`, the last entry for ever after.
/// An empty schedule gives `None` (no ITQ).
pub fn schedule_width(epoch: usize, warmup: usize, schedule: &[u8]) -> Option<u8> {
    let step = epoch.checked_sub(warmup)?;
    schedule
        .get(step.min(schedule.len().checked_sub(1)?))
        .copied()
}

/// Size of the low group: `ceil(split * n)`, at most `n` (`split` in [0, 1]).
pub fn low_group_len(n: usize, split: f64) -> usize {
    ((split * n as f64).ceil().max(0.0) as usize).min(n)
}

/// One epoch-end step: the lowest `ceil(split * n)` parameters by importance (ties by flat
/// index) get width `min(current, width_now)`; the rest keep theirs. Returns the low-group
/// mask.
///
/// # Panics
/// If `importance.len() != widths.len()`.
pub fn itq_step(importance: &[f32], widths: &mut [u8], split: f64, width_now: u8) -> Vec<bool> {
    assert_eq!(importance.len(), widths.len());
    let cut = select_cuts(importance, &[low_group_len(importance.len(), split)])[0];
    importance
        .iter()
        .zip(widths.iter_mut())
        .enumerate()
        .map(|(i, (&g, w))| {
            let low = cut.is_below(g, i);
            if low {
                *w = (*w).min(width_now);
            }
            low
        })
        .collect()
}

/// Combined quantization: the elementwise minimum of the ITQ and PTQ widths.
///
/// # Panics
/// If the lengths differ.
pub fn combine(itq: &[u8], ptq: &[u8]) -> Vec<u8> {
    assert_eq!(itq.len(), ptq.len());
    itq.iter().zip(ptq).map(|(&a, &b)| a.min(b)).collect()
}

/// The fixed-point grid of one tensor whose values have `widths`: `(width, frac)` for every
/// fixed-point width (2..=16) that occurs, ascending, `frac` from the largest finite
/// magnitude among the values of that width ([`frac_len`]). Widths 0 and 32 have no grid.
///
/// # Panics
/// If the lengths differ.
pub fn grid(weight: &[f32], widths: &[u8]) -> Vec<(u8, i8)> {
    assert_eq!(weight.len(), widths.len());
    let mut max_abs = [None::<f32>; MAX_FIXED_WIDTH as usize + 1];
    for (&x, &b) in weight.iter().zip(widths) {
        if (2..=MAX_FIXED_WIDTH).contains(&b) {
            let m = max_abs[b as usize].get_or_insert(0.0);
            if x.abs() < f32::INFINITY && x.abs() > *m {
                *m = x.abs();
            }
        }
    }
    (2..=MAX_FIXED_WIDTH).filter_map(|b| max_abs[b as usize].map(|m| (b, frac_len(m, b)))).collect()
}

/// Values snapped onto a given grid (what projection does between two ITQ steps): a value
/// of fixed-point width `b` becomes `clamp(round(w * 2^f), lo, hi) * 2^-f` with `f` from
/// `grid`, rounding half away from zero ([`quantize_code`]); width 0 gives 0 and width 32
/// keeps the value. `Err(b)` names a width that is invalid or has no fraction in `grid`.
///
/// # Panics
/// If the lengths of `weight` and `widths` differ.
pub fn project(weight: &[f32], widths: &[u8], grid: &[(u8, i8)]) -> Result<Vec<f32>, u8> {
    assert_eq!(weight.len(), widths.len());
    let mut frac = [None::<i8>; 33];
    frac[0] = Some(0);
    frac[32] = Some(0);
    for &(b, f) in grid {
        if is_valid_width(b) {
            frac[b as usize] = Some(f);
        }
    }
    weight
        .iter()
        .zip(widths)
        .map(|(&x, &b)| {
            let f = frac.get(b as usize).copied().flatten().ok_or(b)?;
            Ok(dequantize(quantize_code(x, b, f), b, f))
        })
        .collect()
}

/// What one ITQ step did to a network, per tensor in order.
#[derive(Debug, Clone, PartialEq)]
pub struct ItqApplied {
    /// The new width of every value, row-major (32 = float).
    pub widths: Vec<Vec<u8>>,
    /// The values after the step: quantized to their width where it is below 32 (0 where
    /// pruned), unchanged elsewhere.
    pub values: Vec<Vec<f32>>,
    /// The grid of every fixed-point width of the tensor ([`grid`] of the values before the
    /// step): what training freezes at or projects onto until the next step.
    pub grids: Vec<Vec<(u8, i8)>>,
}

/// One epoch-end ITQ step over a whole network: [`itq_step`] on the flat importance from
/// `source` (the method's: [`ImportanceSource::Gradient`]) with the current widths
/// (`ParamTensor::width`, float when absent), then every value quantized to its new width
/// by the core quantizer ([`quantize_model`]).
///
/// An error when the parameters lack what `source` reads ([`ImportanceSource::check`]).
///
/// # Panics
/// If a tensor's importance or widths disagree with its size, or a width is invalid.
pub fn itq_apply(
    net: &str,
    params: &[ParamTensor],
    split: f64,
    width_now: u8,
    source: &ImportanceSource,
) -> Result<ItqApplied, QuantError> {
    let importance = source.try_compute(params)?;
    let mut flat: Vec<u8> = params.iter().flat_map(|p| p.width.clone().unwrap_or_else(|| vec![32; p.len()])).collect();
    itq_step(&importance, &mut flat, split, width_now);
    let values = quantize_model(net, params, &flat).dequantized();
    let mut offset = 0;
    let mut widths = Vec::with_capacity(params.len());
    let mut grids = Vec::with_capacity(params.len());
    for p in params {
        let w = flat[offset..offset + p.len()].to_vec();
        offset += p.len();
        grids.push(grid(&p.weight, &w));
        widths.push(w);
    }
    Ok(ItqApplied { widths, values, grids })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_waits_for_the_warmup_then_holds_its_last_width() {
        let s = DEFAULT_SCHEDULE;
        let got: Vec<Option<u8>> = (0..8).map(|e| schedule_width(e, 1, &s)).collect();
        assert_eq!(
            got,
            vec![
                None,
                Some(8),
                Some(6),
                Some(4),
                Some(2),
                Some(0),
                Some(0),
                Some(0)
            ]
        );
        assert_eq!(schedule_width(3, 0, &[]), None);
    }

    #[test]
    fn the_low_group_is_the_lowest_ceil_p_n() {
        let imp = [0.5f32, 0.1, 0.9, 0.3, 0.7];
        let mut w = [32u8; 5];
        let low = itq_step(&imp, &mut w, 0.5, 8); // ceil(2.5) = 3
        assert_eq!(low, vec![true, true, false, true, false]);
        assert_eq!(w, [8, 8, 32, 8, 32]);
    }

    #[test]
    fn itq_widths_only_go_down() {
        let imp = [0.5f32, 0.1, 0.9];
        let mut w = [4u8, 32, 2];
        itq_step(&imp, &mut w, 1.0, 6);
        assert_eq!(w, [4, 6, 2]);
    }

    #[test]
    fn combined_width_is_the_elementwise_minimum() {
        assert_eq!(combine(&[32, 4, 0, 8], &[6, 8, 4, 0]), vec![6, 4, 0, 0]);
    }

    #[test]
    fn the_grid_has_one_fraction_per_fixed_point_width() {
        let w = [1.0f32, -0.9, 0.3, 5.0, 100.0, 0.0];
        let b = [4u8, 4, 8, 32, 0, 2];
        assert_eq!(grid(&w, &b), vec![(2, frac_len(0.0, 2)), (4, 2), (8, frac_len(0.3, 8))]);
    }

    #[test]
    fn an_itq_step_quantizes_the_low_group_onto_its_grid() {
        let mut p = ParamTensor::new("fc.weight", vec![2, 2], vec![0.30, -0.70, 0.55, 0.90]);
        p.importance = vec![0.1, 0.2, 9.0, 0.3];
        let out = itq_apply("n", &[p], 0.75, 4, &ImportanceSource::Gradient).unwrap();
        assert_eq!(out.widths, vec![vec![4, 4, 32, 4]]);
        // 4 bits, max |w| 0.9 -> f = 3: 0.30 -> 2/8, -0.70 -> -6/8, 0.90 -> 7/8
        assert_eq!(out.grids, vec![vec![(4, 3)]]);
        assert_eq!(out.values, vec![vec![0.25, -0.75, 0.55, 0.875]]);
    }

    #[test]
    fn an_itq_step_by_grad_magnitude_ranks_g_times_w() {
        // G ranks -0.70 (G 0.2) second lowest; G*|w| = 0.03, 0.14, 0.55, 0.015 ranks 0.05 lowest
        let mut p = ParamTensor::new("fc.weight", vec![2, 2], vec![0.30, -0.70, 0.55, 0.05]);
        p.importance = vec![0.1, 0.2, 1.0, 0.3];
        let by_g = itq_apply("n", &[p.clone()], 0.5, 0, &ImportanceSource::Gradient).unwrap();
        assert_eq!(by_g.widths, vec![vec![0, 0, 32, 32]]);
        let by_gw = itq_apply("n", &[p], 0.5, 0, &ImportanceSource::GradMagnitude).unwrap();
        assert_eq!(by_gw.widths, vec![vec![0, 32, 32, 0]]);
    }

    #[test]
    fn projection_snaps_onto_the_given_grid_and_names_a_missing_width() {
        let got = project(&[0.30, -0.70, 5.0, 0.55, 9.0], &[4, 4, 4, 32, 0], &[(4, 3)]).unwrap();
        assert_eq!(got, vec![0.25, -0.75, 0.875, 0.55, 0.0]);
        assert_eq!(project(&[0.3], &[6], &[(4, 3)]), Err(6));
        assert_eq!(project(&[0.3], &[1], &[(1, 3)]), Err(1));
    }
}
