//! The re-accounting index (sort once, then prefix sums) gives exactly the report of the
//! full pipeline (`compress_with`: cluster, quantize every value, account, encode) on
//! random networks: special values, ties, ITQ widths, both clusterings, every method.
#![cfg(not(target_arch = "wasm32"))]

use agq::compress::{PtqSettings, compress_with, width_counts};
use agq::config::Method;
use agq::quant::QuantError;
use agq::quant::cluster::ClusterMethod;
use agq::quant::importance::ImportanceSource;
use agq::quant::reaccount::{PtqPlan, Reaccounter};
use agq::quant::tensor::ParamTensor;
use agq::rng::SplitMix64;

const WIDTHS: [u8; 17] = [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 32];

fn pick<T: Copy>(g: &mut SplitMix64, items: &[T]) -> T {
    items[(g.next_u64() % items.len() as u64) as usize]
}

/// A weight: mostly ordinary, sometimes a value at an edge of the fixed-point rules.
fn weight(g: &mut SplitMix64, scale: f32) -> f32 {
    let sign = if g.next_u64().is_multiple_of(2) { 1.0 } else { -1.0 };
    let e = (g.next_u64() % 40) as i32 - 30;
    let special = match g.next_u64() % 40 {
        0 => 0.0,
        1 => -0.0,
        2 => (e as f32).exp2(),                                          // a power of two
        3 => (2.0 - (-((g.next_u64() % 17) as f32)).exp2()) * (e as f32).exp2(), // mantissa 1.11..1
        4 => f32::from_bits((g.next_u64() % 1000 + 1) as u32),           // subnormal
        5 if g.next_u64().is_multiple_of(8) => f32::INFINITY,
        6 if g.next_u64().is_multiple_of(8) => f32::NAN,
        _ => (g.next_f32() * 2.0 - 1.0) * scale,
    };
    if special.is_nan() { special } else { sign * special.abs() }
}

fn network(seed: u64) -> Vec<ParamTensor> {
    let mut g = SplitMix64(seed);
    let tensors = 1 + g.next_u64() % 4;
    let itq = g.next_u64().is_multiple_of(2);
    let itq_widths: Vec<u8> = if g.next_u64().is_multiple_of(2) { vec![0, 4, 8, 32, 32, 32] } else { WIDTHS.to_vec() };
    (0..tensors)
        .map(|i| {
            let shape = match g.next_u64() % 3 {
                0 => vec![1 + (g.next_u64() % 700) as usize],
                1 => vec![1 + (g.next_u64() % 40) as usize, 1 + (g.next_u64() % 120) as usize],
                _ => vec![1 + (g.next_u64() % 12) as usize, 1 + (g.next_u64() % 8) as usize, 3, 3],
            };
            let n: usize = shape.iter().product();
            let scale = (((g.next_u64() % 20) as f32) - 10.0).exp2();
            let weight = (0..n).map(|_| weight(&mut g, scale)).collect();
            let mut p = ParamTensor::new(format!("layer{i}.weight"), shape, weight);
            let ties = g.next_u64().is_multiple_of(3);
            p.importance = (0..n)
                .map(|_| match g.next_u64() % 10 {
                    0 => 0.0,
                    _ if ties => (g.next_u64() % 5) as f32 * 1e-3,
                    _ => g.next_f32().powi(3) * 1e-2,
                })
                .collect();
            if itq {
                p.width = Some((0..n).map(|_| pick(&mut g, &itq_widths)).collect());
            }
            p
        })
        .collect()
}

fn clusters(g: &mut SplitMix64) -> ClusterMethod {
    if g.next_u64().is_multiple_of(3) {
        ClusterMethod::KMeans { k: 1 + (g.next_u64() % 5) as usize }
    } else {
        let mut f: Vec<f64> = (0..g.next_u64() % 5).map(|_| f64::from(g.next_f32())).collect();
        f.sort_by(f64::total_cmp);
        if g.next_u64().is_multiple_of(5) {
            f.push(1.0); // a cut after the last element
        }
        ClusterMethod::Quantile(f)
    }
}

#[test]
fn reaccounting_equals_the_full_pipeline() {
    for seed in 0..400u64 {
        let params = network(seed);
        let importance = ImportanceSource::Gradient.compute(&params);
        let index = Reaccounter::new("net", &params, &importance).expect("indexable");
        let mut g = SplitMix64(seed ^ 0x5eed);
        for _ in 0..4 {
            let method = pick(&mut g, &[Method::None, Method::Ptq, Method::Itq, Method::Combined]);
            let clusters = clusters(&mut g);
            let widths: Vec<u8> = (0..clusters.k()).map(|_| pick(&mut g, &WIDTHS)).collect();
            let settings = PtqSettings { importance: ImportanceSource::Gradient, clusters: clusters.clone(), widths: widths.clone() };
            let full = compress_with("net", &params, method, &settings).unwrap();
            let plan = PtqPlan { clusters: &clusters, widths: &widths };
            let ptq = matches!(method, Method::Ptq | Method::Combined).then_some(plan);
            let itq = matches!(method, Method::Itq | Method::Combined);
            let fast = index.account(ptq, itq).unwrap();
            let context = format!("seed {seed}, {method:?}, {clusters:?}, widths {widths:?}");
            assert_eq!(fast.report, full.report, "{context}");
            let assigned: std::collections::BTreeMap<String, usize> =
                (0..=32).filter(|&w| fast.assigned[w] > 0).map(|w| (w.to_string(), fast.assigned[w] as usize)).collect();
            assert_eq!(assigned, width_counts(&full.widths), "{context}");
            if ptq.is_some() {
                let boundaries: Vec<f64> =
                    fast.thresholds.iter().filter(|b| b.is_finite() && **b > 0.0).map(|&b| f64::from(b).log10()).collect();
                assert_eq!(boundaries, full.importance_histogram(&[]).boundaries, "{context}");
            }
        }
    }
}

#[test]
fn a_big_tensor_crosses_checkpoints_and_blocks() {
    let mut g = SplitMix64(99);
    let n = 50_000;
    let mut p = ParamTensor::new("big.weight", vec![100, 500], (0..n).map(|_| weight(&mut g, 0.05)).collect());
    p.importance = (0..n).map(|_| g.next_f32()).collect();
    p.width = Some((0..n).map(|_| pick(&mut g, &[0, 4, 8, 32])).collect());
    let params = vec![p];
    let importance = ImportanceSource::Gradient.compute(&params);
    let index = Reaccounter::new("net", &params, &importance).unwrap();
    for f in [0.0, 0.3, 0.5001, 0.97] {
        let clusters = ClusterMethod::Quantile(vec![f, 0.99]);
        for widths in [[0u8, 3, 6], [2, 16, 32], [8, 4, 2]] {
            for method in [Method::Ptq, Method::Combined] {
                let settings = PtqSettings { importance: ImportanceSource::Gradient, clusters: clusters.clone(), widths: widths.to_vec() };
                let full = compress_with("net", &params, method, &settings).unwrap();
                let fast = index.account(Some(PtqPlan { clusters: &clusters, widths: &widths }), method == Method::Combined).unwrap();
                assert_eq!(fast.report, full.report, "{f} {widths:?} {method:?}");
            }
        }
    }
}

#[test]
fn a_width_count_other_than_k_is_an_error() {
    let params = network(1);
    let importance = ImportanceSource::Gradient.compute(&params);
    let index = Reaccounter::new("net", &params, &importance).unwrap();
    let clusters = ClusterMethod::Quantile(vec![0.5]);
    let err = index.account(Some(PtqPlan { clusters: &clusters, widths: &[0, 4, 8] }), false).unwrap_err();
    assert_eq!(err, QuantError::WidthCount { clusters: 2, widths: 3 });
    assert_eq!(err.to_string(), "2 clusters need 2 widths, got 3");
    let err = index.account(Some(PtqPlan { clusters: &clusters, widths: &[0, 17] }), false).unwrap_err();
    assert_eq!(err, QuantError::InvalidWidth(17));
    assert_eq!(err.field(), Some("widths"));
    let none = ClusterMethod::KMeans { k: 0 };
    assert!(index.account(Some(PtqPlan { clusters: &none, widths: &[] }), false).is_err());
}

#[test]
fn a_positive_nan_importance_is_not_indexed() {
    let mut params = network(2);
    params[0].importance[0] = f32::NAN;
    let importance = ImportanceSource::Gradient.compute(&params);
    assert!(Reaccounter::new("net", &params, &importance).is_none());
}
