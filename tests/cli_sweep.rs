//! `agq sweep` end to end: rows for every importance and kept fraction whose sizes are the
//! library's, Taylor only where the snapshot has it, accuracy with a test set.
#![cfg(all(feature = "cli", feature = "cpu"))]

use agq::quant::importance::{ImportanceSource, SplitMix64};
use agq::quant::sweep::{keep_fractions, sweep_point};
use agq::quant::tensor::ParamTensor;
use agq::snapshot::{Snapshot, StoreDtype};
use std::process::{Command, Output};

fn agq(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agq")).args(args).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// A random snapshot of `net` with these tensors; Taylor importances when asked.
fn snapshot(net: &str, shapes: &[(&str, Vec<usize>)], taylor: bool) -> Snapshot {
    let mut rng = SplitMix64(5);
    let params = shapes
        .iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let mut p = ParamTensor::new(*name, shape.clone(), (0..n).map(|_| (rng.next_f32() - 0.5) * 0.2).collect());
            p.importance = (0..n).map(|_| rng.next_f32().powi(2)).collect();
            if taylor {
                p.taylor = Some(p.importance.iter().zip(&p.weight).map(|(g, w)| g * w.abs()).collect());
            }
            p
        })
        .collect();
    Snapshot { net: net.into(), params, metadata: Default::default() }
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn sweep_writes_a_row_per_importance_and_kept_fraction_with_the_librarys_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot("tiny", &[("fc1.weight", vec![16, 12]), ("fc1.bias", vec![16]), ("fc2.weight", vec![4, 16])], true);
    let input = dir.path().join("tiny.safetensors");
    std::fs::write(&input, snap.to_bytes(StoreDtype::F32)).unwrap();
    let out = dir.path().join("sweep.json");
    let stdout = ok(&agq(&["sweep", "--snapshot", input.to_str().unwrap(), "--keep", "0.1,0.3", "--out", out.to_str().unwrap()]));
    assert!(stdout.contains("10 rows written"), "{stdout}");
    let r = read_json(&out);
    assert_eq!(r["net"], "tiny");
    assert_eq!(r["widths"], serde_json::json!([0, 4, 6, 8]));
    assert!(r["float_accuracy_percent"].is_null());
    let rows = r["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|row| row["importance"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["grad", "grad", "grad-magnitude", "grad-magnitude", "magnitude", "magnitude", "random", "random", "taylor", "taylor"]
    );
    let sources = [
        ImportanceSource::Gradient,
        ImportanceSource::GradMagnitude,
        ImportanceSource::Magnitude,
        ImportanceSource::Random { seed: 1 },
        ImportanceSource::Taylor,
    ];
    for (row, (source, keep)) in rows.iter().zip(sources.iter().flat_map(|s| [(s, 0.1), (s, 0.3)])) {
        let fractions = keep_fractions(&[0.5, 0.8, 0.95], keep).unwrap();
        assert_eq!(row["fractions"], serde_json::json!(fractions));
        let (_, sizes) = sweep_point("tiny", &snap.params, &source.compute(&snap.params), &fractions, &[0, 4, 6, 8]).unwrap();
        assert_eq!(row["bits_csr"].as_u64(), Some(sizes.bits_csr), "{row}");
        assert_eq!(row["bits_entropy"].as_u64(), Some(sizes.bits_entropy), "{row}");
        assert_eq!(row["ratio_relative"].as_f64(), Some(sizes.ratio_relative), "{row}");
        assert!(row["accuracy_percent"].is_null());
    }
}

#[test]
fn taylor_is_skipped_or_refused_on_a_snapshot_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("old.safetensors");
    std::fs::write(&input, snapshot("tiny", &[("w", vec![8, 8])], false).to_bytes(StoreDtype::F16)).unwrap();
    let out = dir.path().join("sweep.json");
    let stdout = ok(&agq(&["sweep", "--snapshot", input.to_str().unwrap(), "--keep", "0.5", "--out", out.to_str().unwrap()]));
    assert!(stdout.contains("skipped taylor"), "{stdout}");
    let r = read_json(&out);
    assert_eq!(r["rows"].as_array().unwrap().len(), 4, "grad, grad-magnitude, magnitude, random");
    assert!(r["skipped"][0].as_str().unwrap().contains("taylor/P"));

    let out2 = dir.path().join("none.json");
    let o = agq(&["sweep", "--snapshot", input.to_str().unwrap(), "--importances", "grad,taylor", "--out", out2.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("error: --importances: taylor importance: the snapshot has no taylor/w"), "{err}");
    assert!(!out2.exists());
}

#[test]
fn with_a_test_set_every_row_has_an_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let shapes = [
        ("fc1.weight", vec![300, 784]),
        ("fc1.bias", vec![300]),
        ("fc2.weight", vec![100, 300]),
        ("fc2.bias", vec![100]),
        ("fc3.weight", vec![10, 100]),
        ("fc3.bias", vec![10]),
    ];
    let input = dir.path().join("lenet300.safetensors");
    std::fs::write(&input, snapshot("lenet300", &shapes, false).to_bytes(StoreDtype::F32)).unwrap();
    let out = dir.path().join("sweep.json");
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/www/data/mnist");
    let args = ["sweep", "--snapshot", input.to_str().unwrap(), "--data", data, "--importances", "grad,magnitude", "--keep", "0.2,0.6", "--out", out.to_str().unwrap()];
    ok(&agq(&args));
    let r = read_json(&out);
    assert_eq!(r["images"], 10000);
    let float = r["float_accuracy_percent"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&float));
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for row in rows {
        let a = row["accuracy_percent"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&a), "{row}");
    }
}
