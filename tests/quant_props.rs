//! Property tests of the quantization core (proptest).
#![cfg(not(target_arch = "wasm32"))]

use agq::quant::cluster::{ClusterMethod, sort_order};
use agq::quant::codec::{decode, decode_with_limit, encode};
use agq::quant::csr::account;
use agq::quant::encoding::{Encoding, account_with, encode_with, encode_with_bits, encoding_of};
use agq::quant::fixed_point::{code_range, pow2};
use agq::quant::importance::ImportanceSource;
use agq::quant::itq::{itq_step, schedule_width};
use agq::quant::layout;
use agq::quant::model::{QuantModel, quantize_model};
use agq::quant::ptq::ptq_widths;
use agq::quant::settings::{ItqSettings, Method, PtqSettings, QuantSettings, SettingsError};
use agq::quant::tensor::ParamTensor;
use proptest::prelude::*;

const WIDTHS: [u8; 17] = [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 32];

fn weight() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => -4.0f32..4.0,
        1 => Just(0.0f32),
        1 => any::<f32>(),
        1 => -1e-30f32..1e-30,
    ]
}

/// Random tensors (0..=3 dims of 0..6) with a random valid width per value.
fn params_and_widths(finite: bool) -> impl Strategy<Value = (Vec<ParamTensor>, Vec<u8>)> {
    let w = if finite {
        (-100.0f32..100.0).boxed()
    } else {
        weight().boxed()
    };
    prop::collection::vec(prop::collection::vec(0usize..6, 0..=3), 1..5)
        .prop_flat_map(move |shapes| {
            let n: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
            (
                Just(shapes),
                prop::collection::vec(w.clone(), n),
                prop::collection::vec(prop::sample::select(WIDTHS.to_vec()), n),
            )
        })
        .prop_map(|(shapes, weights, widths)| {
            let mut at = 0;
            let params = shapes
                .into_iter()
                .enumerate()
                .map(|(i, shape)| {
                    let n: usize = shape.iter().product();
                    at += n;
                    ParamTensor::new(format!("t{i}"), shape, weights[at - n..at].to_vec())
                })
                .collect();
            (params, widths)
        })
}

fn model() -> impl Strategy<Value = QuantModel> {
    params_and_widths(false).prop_map(|(p, w)| quantize_model("net", &p, &w))
}

fn cluster_method() -> impl Strategy<Value = ClusterMethod> {
    prop_oneof![
        prop::collection::btree_set(1u32..1000, 0..5).prop_map(|s| ClusterMethod::Quantile(
            s.into_iter().map(|x| x as f64 / 1000.0).collect()
        )),
        (1usize..6).prop_map(|k| ClusterMethod::KMeans { k }),
    ]
}

fn importance(n: usize) -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(
        prop_oneof![0.0f32..1.0, (0u8..4).prop_map(|x| x as f32), Just(0.0)],
        n,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn decode_of_encode_is_the_model_bit_for_bit(m in model()) {
        let bytes = encode(&m).unwrap();
        let back = decode(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(encode(&back).unwrap(), bytes);
    }

    #[test]
    fn accounted_bits_equal_bits_written(m in model()) {
        let bytes = encode(&m).unwrap();
        let r = account(&m);
        let stream_bits = (bytes.len() - layout::header_len(&m)) as u64 * 8;
        prop_assert!(stream_bits >= r.total_bits && stream_bits - r.total_bits < 8);
        prop_assert_eq!(bytes.len() as u64, r.bytes);
        let per_tensor: u64 = r.tensors.iter().map(|t| t.bits.values + t.bits.indices + t.bits.tags
            + t.bits.row_ptr + t.bits.meta + t.bits.header).sum();
        prop_assert_eq!(per_tensor, r.total_bits);
    }

    #[test]
    fn ptq_widths_never_decrease_as_importance_rises(
        imp in (0usize..300).prop_flat_map(importance),
        method in cluster_method(),
    ) {
        let widths: Vec<u8> = WIDTHS[..method.k()].to_vec();
        let w = ptq_widths(&imp, &method, &widths);
        let order = sort_order(&imp);
        for pair in order.windows(2) {
            prop_assert!(w[pair[0] as usize] <= w[pair[1] as usize]);
        }
    }

    /// The pipeline finds each tensor's PTQ widths in the pass that quantizes it; the result
    /// is the step-by-step definition: importance, clusters, widths, the minimum with the
    /// ITQ widths, `quantize_model`, `encode`.
    #[test]
    fn the_pipeline_is_clusters_then_widths_then_codes(
        (mut params, itq) in params_and_widths(false),
        seed in any::<u64>(),
        method in cluster_method(),
        pipeline in prop::sample::select(vec![Method::None, Method::Ptq, Method::Itq, Method::Combined]),
        source in prop::sample::select(vec![ImportanceSource::Gradient, ImportanceSource::Magnitude, ImportanceSource::Random { seed: 3 }]),
    ) {
        let mut rng = agq::quant::importance::SplitMix64(seed);
        let mut at = 0;
        for p in &mut params {
            // ties, zeros and a wide range; ITQ widths on some tensors only
            p.importance = (0..p.len()).map(|_| [0.0, 1.0, (rng.next_u64() % 30) as f32 * 1e-3][rng.next_u64() as usize % 3]).collect();
            p.width = (rng.next_u64() % 3 != 0).then(|| itq[at..at + p.len()].to_vec());
            at += p.len();
        }
        let widths: Vec<u8> = WIDTHS.iter().cycle().skip(seed as usize % 17).take(method.k()).copied().collect();
        let settings = PtqSettings { importance: source, clusters: method.clone(), widths: widths.clone() };
        let got = agq::compress::compress_with("net", &params, pipeline, &settings).unwrap();
        let n: usize = params.iter().map(|p| p.len()).sum();
        let itq_flat: Vec<u8> = params.iter().flat_map(|p| p.width.clone().unwrap_or(vec![32; p.len()])).collect();
        let plan = agq::quant::ptq::ptq(&source.compute(&params), &method, &widths);
        let thresholds = if pipeline.uses_ptq() { plan.clustering.thresholds } else { vec![] };
        prop_assert_eq!(&got.boundaries, &thresholds);
        let want = match pipeline {
            Method::None => vec![32; n],
            Method::Ptq => plan.widths,
            Method::Itq => itq_flat,
            Method::Combined => agq::quant::itq::combine(&itq_flat, &plan.widths),
        };
        let model = quantize_model("net", &params, &want);
        prop_assert_eq!(&got.widths, &want);
        prop_assert_eq!(&got.bytes, &encode(&model).unwrap());
        prop_assert_eq!(got.model, model);
    }

    #[test]
    fn itq_widths_never_rise_across_epochs(
        epochs in prop::collection::vec(importance(200), 1..8),
        split in 0.51f64..=1.0,
        schedule in prop::collection::vec(prop::sample::select(WIDTHS.to_vec()), 1..6),
    ) {
        let mut widths = vec![32u8; 200];
        for (e, imp) in epochs.iter().enumerate() {
            let before = widths.clone();
            let low = match schedule_width(e, 1, &schedule) {
                Some(b) => itq_step(imp, &mut widths, split, b),
                None => vec![false; 200],
            };
            prop_assert!(widths.iter().zip(&before).all(|(a, b)| a <= b));
            let want = if e >= 1 { (split * 200.0).ceil() as usize } else { 0 };
            prop_assert_eq!(low.iter().filter(|&&l| l).count(), want);
        }
    }

    #[test]
    fn quantized_values_are_within_half_a_step_unless_saturated((p, w) in params_and_widths(true)) {
        let m = quantize_model("net", &p, &w);
        let mut at = 0;
        for (t, src) in m.tensors.iter().zip(&p) {
            let q = t.dequantized();
            for i in 0..src.weight.len() {
                let (width, x) = (w[at + i], src.weight[i]);
                if width == 0 { prop_assert_eq!(q[i], 0.0); continue; }
                if width == 32 { prop_assert_eq!(q[i], if x == 0.0 { 0.0 } else { x }); continue; }
                let f = if t.widths[i] == 0 {
                    // rounded to zero: its group's frac is not stored, recompute it
                    let max = src.weight.iter().zip(&w[at..]).filter(|&(_, &b)| b == width)
                        .fold(0f32, |m, (x, _)| m.max(x.abs()));
                    agq::quant::frac_len(max, width)
                } else { t.frac_of(width) };
                let step = pow2(-(f as i32));
                let k = t.codes[i];
                let (lo, hi) = code_range(width);
                let saturated = k == lo || k == hi;
                prop_assert!(saturated || ((q[i] as f64) - x as f64).abs() <= step / 2.0,
                    "x={} q={} width={} f={}", x, q[i], width, f);
                // with f chosen from the group maximum, nothing saturates past half a step
                if f > i8::MIN && f < i8::MAX {
                    prop_assert!(((q[i] as f64) - x as f64).abs() <= step / 2.0);
                }
            }
            at += src.weight.len();
        }
    }

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        prop_assert!(decode(&bytes).is_err());
        let mut framed = b"AGQ1\x01".to_vec();
        framed.extend(&bytes);
        if let Ok(m) = decode_with_limit(&framed, 1 << 16) {
            prop_assert_eq!(encode(&m).unwrap(), framed);
        }
    }

    #[test]
    fn decode_never_panics_on_damaged_files(
        m in model(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = encode(&m).unwrap();
        for (at, v) in edits {
            let i = at.index(bytes.len());
            bytes[i] ^= v;
        }
        bytes.truncate(cut.index(bytes.len() + 1).max(bytes.len() / 2));
        if let Ok(back) = decode_with_limit(&bytes, 1 << 16) {
            prop_assert_eq!(encode(&back).unwrap(), bytes);
        }
    }
}

/// One valid setting with exactly one fault, and the error it must give.
fn bad_setting() -> impl Strategy<Value = (QuantSettings, SettingsError)> {
    let base = |clusters: ClusterMethod, widths: Vec<u8>| QuantSettings {
        method: Method::Ptq,
        ptq: PtqSettings { importance: ImportanceSource::Magnitude, clusters, widths },
        encoding: Default::default(),
    };
    prop_oneof![
        (1usize..6, 0usize..6)
            .prop_filter("count differs", |(k, n)| k != n)
            .prop_map(move |(k, n)| (
                base(ClusterMethod::KMeans { k }, WIDTHS[..n].to_vec()),
                SettingsError::WidthCount {
                    widths: n,
                    clusters: k
                }
            )),
        (2usize..6, 1usize..6)
            .prop_filter("inside", |(k, at)| at < k)
            .prop_map(move |(k, at)| {
                let mut w = WIDTHS[..k].to_vec();
                w[at] = w[at - 1];
                (
                    base(ClusterMethod::KMeans { k }, w),
                    SettingsError::WidthsNotIncreasing { at },
                )
            }),
        prop::sample::select(vec![1u8, 17, 20, 31, 33, 64, 255]).prop_map(move |bad| {
            (
                base(ClusterMethod::KMeans { k: 2 }, vec![0, bad]),
                SettingsError::UnknownWidth(bad),
            )
        }),
        (1usize..4).prop_map(move |at| {
            let mut fr: Vec<f64> = (1..=4).map(|i| i as f64 / 5.0).collect();
            fr[at] = fr[at - 1];
            (
                base(ClusterMethod::Quantile(fr), WIDTHS[..5].to_vec()),
                SettingsError::FractionsNotIncreasing { at },
            )
        }),
        prop_oneof![
            Just(0.0f64),
            Just(1.0),
            Just(-0.5),
            Just(1.5),
            Just(f64::INFINITY)
        ]
        .prop_map(move |x| {
            (
                base(ClusterMethod::Quantile(vec![x]), vec![0, 8]),
                SettingsError::FractionOutOfRange(x),
            )
        }),
        Just((
            base(ClusterMethod::KMeans { k: 0 }, vec![]),
            SettingsError::NoClusters
        )),
        (18usize..300).prop_map(move |k| (
            base(ClusterMethod::KMeans { k }, vec![0]),
            SettingsError::TooManyClusters(k)
        )),
    ]
}

proptest! {
    #[test]
    fn every_bad_setting_gives_its_typed_error((s, want) in bad_setting()) {
        prop_assert_eq!(s.check().unwrap_err(), want);
    }

    #[test]
    fn every_bad_itq_split_gives_its_typed_error(p in prop_oneof![-2.0f64..=0.5, 1.0000001f64..3.0]) {
        let e = ItqSettings { split: p, ..Default::default() }.check().unwrap_err();
        prop_assert_eq!(e, SettingsError::SplitOutOfRange(p));
    }
}

/// A valid file of `m` in `e` with its bitstream replaced by arbitrary bytes.
fn with_stream(m: &QuantModel, e: Encoding, stream: &[u8]) -> Vec<u8> {
    let mut bytes = encode_with(m, e).unwrap()[..layout::header_len(m)].to_vec();
    bytes.extend(stream);
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_encoding_decodes_to_the_model_bit_for_bit(m in model()) {
        for e in Encoding::ALL {
            let bytes = encode_with(&m, e).unwrap();
            let back = decode(&bytes).unwrap();
            prop_assert_eq!(&back, &m, "{}", e);
            prop_assert_eq!(encode_with(&back, e).unwrap(), bytes);
        }
    }

    #[test]
    fn every_encodings_accounting_is_the_bits_it_writes(m in model()) {
        for e in Encoding::ALL {
            let (bytes, bits) = encode_with_bits(&m, e).unwrap();
            let r = account_with(&m, e).unwrap();
            prop_assert_eq!(bits, r.total_bits, "{}", e);
            prop_assert_eq!(bytes.len() as u64, layout::header_len(&m) as u64 + bits.div_ceil(8));
            prop_assert_eq!(bytes.len() as u64, r.bytes);
            prop_assert_eq!(r.tensors.iter().map(|t| t.bits.total()).sum::<u64>(), r.total_bits);
            prop_assert_eq!(r.tensors.iter().map(|t| t.total).sum::<u64>(), r.total_bits);
        }
        prop_assert_eq!(account_with(&m, Encoding::Csr).unwrap(), account(&m));
        prop_assert_eq!(encode_with(&m, Encoding::Csr).unwrap(), encode(&m).unwrap());
    }

    #[test]
    fn arbitrary_bytes_after_a_header_are_an_error_or_that_encodings_file(
        m in model(),
        stream in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        for e in Encoding::ALL {
            let bytes = with_stream(&m, e, &stream);
            if let Ok(back) = decode_with_limit(&bytes, 1 << 16) {
                prop_assert_eq!(encode_with(&back, e).unwrap(), bytes);
            }
        }
    }

    #[test]
    fn damaged_files_of_every_encoding_are_an_error_or_a_file_of_its_own(
        m in model(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        for e in Encoding::ALL {
            let mut bytes = encode_with(&m, e).unwrap();
            for (at, v) in &edits {
                let i = at.index(bytes.len());
                bytes[i] ^= v;
            }
            bytes.truncate(cut.index(bytes.len() + 1).max(bytes.len() / 2));
            if let Ok(back) = decode_with_limit(&bytes, 1 << 16) {
                let e = encoding_of(&bytes).unwrap();
                prop_assert_eq!(encode_with(&back, e).unwrap(), bytes);
            }
        }
    }
}

/// One sparse tensor large enough for coded streams: `rows x cols` with a share of the values
/// stored, skewed widths and small codes.
fn sparse_model() -> impl Strategy<Value = QuantModel> {
    (1usize..24, 1usize..300, 0.02f64..1.0, any::<u64>()).prop_map(|(rows, cols, density, seed)| {
        let mut rng = agq::quant::importance::SplitMix64(seed);
        let n = rows * cols;
        let weight: Vec<f32> =
            (0..n).map(|_| if (rng.next_f32() as f64) < density { (rng.next_f32() * 8.0).round() - 4.0 } else { 0.0 }).collect();
        let widths: Vec<u8> = (0..n).map(|_| [4, 4, 4, 6, 8, 16, 32][(rng.next_f32() * 6.99) as usize]).collect();
        quantize_model("sparse", &[ParamTensor::new("w", vec![rows, cols], weight)], &widths)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn sparse_tensors_round_trip_to_the_bit_and_damage_is_caught(
        m in sparse_model(),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        for e in [Encoding::Relative, Encoding::Entropy] {
            let (bytes, bits) = encode_with_bits(&m, e).unwrap();
            prop_assert_eq!(bits, account_with(&m, e).unwrap().total_bits);
            prop_assert_eq!(&decode(&bytes).unwrap(), &m);
            let mut damaged = bytes.clone();
            let i = at.index(damaged.len());
            damaged[i] ^= flip;
            if let Ok(back) = decode(&damaged) {
                prop_assert_eq!(encode_with(&back, e).unwrap(), damaged);
            }
        }
    }
}
