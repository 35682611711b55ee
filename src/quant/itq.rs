//! In-training quantization: at every epoch end past the warm-up, the least important
//! `ceil(p * n)` parameters get `min(current width, b(epoch))`. Widths only go down.

use super::cluster::select_cuts;
use serde::{Deserialize, Serialize};

/// The default low-group width schedule (then 0 for ever).
pub const DEFAULT_SCHEDULE: [u8; 5] = [8, 6, 4, 2, 0];

/// What happens to quantized parameters during the rest of training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ItqMode {
    /// No further updates (default).
    #[default]
    Freeze,
    /// They keep training and are re-quantized to their width after every step.
    Project,
}

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
}
