//! PTQ on VGG-16 for CIFAR-10 (15,245,130 parameters): quantile clustering of the full
//! parameter set, `quantize_model`, CSR `account` and `.agq` `encode`; `compress`, the
//! page's whole path for a snapshot (those plus the importance and its histogram).
//!
//! Shapes (weights `[out, in, 3, 3]` plus a bias `[out]` per conv, no batch norm):
//! conv 3->64, 64->64, 64->128, 128->128, 128->256, 256->256, 256->256, 256->512,
//! 512->512 (x2), 512->512 (x3); classifier 512->512->512->10 (weight `[out, in]`, bias).
//! Weights are uniform in `[-a, a]` with `a = 1/sqrt(fan_in)`, importances `u^4` with `u`
//! uniform in `[0, 1)`, from one splitmix64 stream (seed 2020; per tensor its weights, then
//! its importances). `bench/ptq_numpy.py` makes the same values bit for bit and does the
//! same work in numpy.
//!
//! `make bench` (scripts/bench.sh) runs this bench and the numpy script and prints both
//! times and their ratio; the measured numbers are in docs/BENCHMARKS.md. The compared
//! number is criterion's mean for `vgg16/ptq_quantize_account_encode`. With
//! `AGQ_BENCH_JSON=PATH` the bench also writes the parameter count, total bits, file bytes
//! and the CRC-32 of the bitstream after the byte header there, so that the script can check
//! that numpy produced the same bits.

use agq::choices::Method;
use agq::compress::compress;
use agq::quant::settings::{PtqSettings, QuantSettings};
use agq::quant::encoding::Encoding;
use agq::quant::ImportanceSource;
use agq::quant::cluster::ClusterMethod;
use agq::quant::layout::header_len;
use agq::quant::importance::SplitMix64;
use agq::quant::reaccount::{PtqPlan, Reaccounter};
use agq::quant::{ParamTensor, account, encode, ptq_widths, quantize_model};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

/// `(name, shape)` of every VGG-16 (CIFAR-10) parameter tensor, in order.
pub fn vgg16_shapes() -> Vec<(String, Vec<usize>)> {
    let convs = [
        (3, 64),
        (64, 64),
        (64, 128),
        (128, 128),
        (128, 256),
        (256, 256),
        (256, 256),
        (256, 512),
    ]
    .into_iter()
    .chain([(512, 512); 5]);
    let mut out = Vec::new();
    for (i, (cin, cout)) in convs.enumerate() {
        out.push((format!("conv{i}.weight"), vec![cout, cin, 3, 3]));
        out.push((format!("conv{i}.bias"), vec![cout]));
    }
    for (i, (fin, fout)) in [(512, 512), (512, 512), (512, 10)].into_iter().enumerate() {
        out.push((format!("fc{i}.weight"), vec![fout, fin]));
        out.push((format!("fc{i}.bias"), vec![fout]));
    }
    out
}

fn vgg16_params() -> Vec<ParamTensor> {
    let mut g = SplitMix64(2020);
    vgg16_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let fan_in = if shape.len() > 1 {
                n / shape[0]
            } else {
                shape[0]
            };
            let a = 1.0 / (fan_in as f32).sqrt();
            let weight = (0..n).map(|_| (g.next_f32() * 2.0 - 1.0) * a).collect();
            let mut p = ParamTensor::new(name, shape, weight);
            p.importance = (0..n).map(|_| g.next_f32().powi(4)).collect();
            p
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let params = vgg16_params();
    let imp: Vec<f32> = params
        .iter()
        .flat_map(|p| p.importance.iter().copied())
        .collect();
    let method = ClusterMethod::Quantile(vec![0.5, 0.8, 0.95]);
    let widths = [0u8, 4, 6, 8];
    eprintln!(
        "VGG-16 CIFAR-10: {} tensors, {} parameters",
        params.len(),
        imp.len()
    );
    let mut g = c.benchmark_group("vgg16");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("ptq_quantize_account_encode", |b| {
        b.iter(|| {
            let w = ptq_widths(black_box(&imp), &method, &widths);
            let m = quantize_model("vgg16", &params, &w);
            let r = account(&m);
            let bytes = encode(&m).unwrap();
            black_box((r.total_bits, bytes.len()))
        })
    });
    let w = ptq_widths(&imp, &method, &widths);
    let m = quantize_model("vgg16", &params, &w);
    g.bench_function("ptq_widths", |b| {
        b.iter(|| ptq_widths(black_box(&imp), &method, &widths))
    });
    g.bench_function("quantize_model", |b| {
        b.iter(|| quantize_model("vgg16", black_box(&params), &w))
    });
    // the page's path (`compressSnapshot`): importance, PTQ, codes, the `.agq` file, its
    // accounting and the importance histogram
    let ptq = PtqSettings { importance: ImportanceSource::Gradient, clusters: method.clone(), widths: widths.to_vec() };
    let settings = QuantSettings { method: Method::Ptq, ptq, encoding: Encoding::Csr }.check().expect("the bench's settings pass the rules");
    g.bench_function("compress", |b| {
        b.iter(|| compress("vgg16", black_box(&params), &settings).unwrap().bytes.len())
    });
    let kmeans = ClusterMethod::KMeans { k: 4 };
    g.bench_function("cluster_kmeans4", |b| {
        b.iter(|| agq::quant::cluster(black_box(&imp), &kmeans))
    });
    g.bench_function("account", |b| b.iter(|| account(black_box(&m))));
    g.bench_function("encode", |b| b.iter(|| encode(black_box(&m)).unwrap()));
    bench_reaccount(&mut g, &params, &imp, &method, &widths, &account(&m));
    g.finish();
    let r = account(&m);
    let bytes = encode(&m).unwrap();
    let stream = &bytes[header_len(&m)..];
    let mut crc = flate2::Crc::new();
    crc.update(stream);
    eprintln!(
        "ratio {:.2}x, {} total bits, {} bytes ({} of bitstream, crc32 {:08x})",
        r.ratio,
        r.total_bits,
        r.bytes,
        stream.len(),
        crc.sum()
    );
    if let Ok(path) = std::env::var("AGQ_BENCH_JSON") {
        let json = format!(
            "{{\"params\": {}, \"total_bits\": {}, \"bytes\": {}, \"stream_bytes\": {}, \"stream_crc32\": \"{:08x}\"}}\n",
            r.params,
            r.total_bits,
            r.bytes,
            stream.len(),
            crc.sum()
        );
        std::fs::write(&path, json).unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }
}

/// The page's re-accounting of a loaded snapshot (sort once, then prefix sums): building
/// the index (once per snapshot and importance), then one PTQ and one combined setting.
/// The peer is `ptq_quantize_account_encode` above, the full pipeline on the same values.
fn bench_reaccount(
    g: &mut criterion::BenchmarkGroup<criterion::measurement::WallTime>,
    params: &[ParamTensor],
    imp: &[f32],
    method: &ClusterMethod,
    widths: &[u8],
    full: &agq::quant::Report,
) {
    g.bench_function("reaccount_index", |b| {
        b.iter(|| Reaccounter::new("vgg16", black_box(params), imp).unwrap().params())
    });
    let plan = PtqPlan { clusters: method, widths };
    let index = Reaccounter::new("vgg16", params, imp).unwrap();
    let fast = index.account(Some(plan), false).unwrap().report;
    assert_eq!((fast.total_bits, fast.nnz), (full.total_bits, full.nnz), "the index must account exactly");
    g.bench_function("reaccount_ptq", |b| b.iter(|| index.account(Some(black_box(plan)), false).unwrap().report.total_bits));
    // ITQ state as after a run: about 30% of each tensor at 4 bits, 30% at 8, the rest float
    let mut rng = SplitMix64(7);
    let itq: Vec<ParamTensor> = params
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.width = Some((0..p.len()).map(|_| [4u8, 4, 4, 8, 8, 8, 32, 32, 32, 32][(rng.next_u64() % 10) as usize]).collect());
            p
        })
        .collect();
    let index = Reaccounter::new("vgg16", &itq, imp).unwrap();
    g.bench_function("reaccount_combined", |b| b.iter(|| index.account(Some(black_box(plan)), true).unwrap().report.total_bits));
}

criterion_group!(benches, bench);
criterion_main!(benches);
