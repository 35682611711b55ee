//! Subnormal floats on the CPU: x86 computes with them in microcode, 10 to 100 times slower
//! than with normal ones. Long training runs produce them (Adam's second moment of a weight
//! whose gradient is (nearly) always 0 decays by 0.999 a step, about 16,000 steps through
//! the subnormal range), so the command line flushes them to zero, as PyTorch's `set_flush_denormal` does.

/// Sets flush-to-zero and denormals-are-zero on this thread's SSE unit (x86-64 only).
pub fn flush_on_this_thread() {
    #[cfg(target_arch = "x86_64")]
    {
        #[allow(deprecated)]
        // SAFETY: MXCSR bits 15 (FTZ) and 6 (DAZ) only change how subnormals are treated.
        unsafe {
            use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
            _mm_setcsr(_mm_getcsr() | 0x8040);
        }
    }
}

/// Flushes subnormals on this thread and on every thread of rayon's global pool (burn's CPU
/// backend computes there); call before the first tensor operation.
pub fn flush_everywhere() {
    flush_on_this_thread();
    // An error means the pool exists already (a second call): its threads keep their mode.
    let _ = rayon::ThreadPoolBuilder::new().start_handler(|_| flush_on_this_thread()).build_global();
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use std::hint::black_box;

    #[test]
    fn a_subnormal_result_is_zero_after_flushing() {
        // in a fresh thread, so the test's own thread keeps its mode
        let before = std::thread::spawn(|| black_box(1e-30_f32) * black_box(1e-10_f32)).join().unwrap();
        assert!(before > 0.0 && !before.is_normal(), "without flushing the product is subnormal: {before:e}");
        let (product, input) = std::thread::spawn(|| {
            super::flush_on_this_thread();
            (black_box(1e-30_f32) * black_box(1e-10_f32), black_box(1e-40_f32) * black_box(1e30_f32))
        })
        .join()
        .unwrap();
        assert_eq!(product, 0.0, "flush to zero: a subnormal result becomes 0");
        assert_eq!(input, 0.0, "denormals are zero: a subnormal operand counts as 0");
    }
}
