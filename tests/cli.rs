//! The `agq` binary end to end: quantize, decode, inspect, and every bad input.
#![cfg(feature = "cli")]

use agq::quant::codec::decode;
use agq::quant::importance::{ImportanceSource, SplitMix64};
use agq::quant::itq::combine;
use agq::quant::layout::header_len;
use agq::quant::model::quantize_model;
use agq::quant::ptq::ptq_widths;
use agq::quant::tensor::ParamTensor;
use agq::snapshot::{Snapshot, StoreDtype};
use safetensors::SafeTensors;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A random 3-tensor network (fc1 [16,12], fc1 bias [16], fc2 [4,16]); with ITQ widths if asked.
fn network(with_widths: bool) -> Snapshot {
    let mut rng = SplitMix64(7);
    let mut param = |name: &str, shape: Vec<usize>| {
        let n: usize = shape.iter().product();
        let weight = (0..n).map(|_| rng.next_f32() * 2.0 - 1.0).collect();
        let importance = (0..n).map(|_| rng.next_f32().powi(3) * 10.0).collect();
        let width = with_widths.then(|| (0..n).map(|i| [32, 8, 4, 2, 0][i % 5]).collect());
        ParamTensor { name: name.into(), shape, weight, importance, width, taylor: None }
    };
    let params = vec![param("fc1.weight", vec![16, 12]), param("fc1.bias", vec![16]), param("fc2.weight", vec![4, 16])];
    Snapshot { net: "tiny".into(), params, metadata: Default::default() }
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
    fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.0.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

fn agq<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agq")).args(args).output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The library's own pipeline for the default settings (gradient, quantile 0.5,0.8,0.95, 0,4,6,8).
fn expected_widths(snap: &Snapshot, combined: bool) -> Vec<u8> {
    let imp = ImportanceSource::Gradient.compute(&snap.params);
    let ptq = ptq_widths(&imp, &"quantile:0.5,0.8,0.95".parse().unwrap(), &[0, 4, 6, 8]);
    if !combined {
        return ptq;
    }
    let itq: Vec<u8> = snap.params.iter().flat_map(|p| p.width.clone().unwrap()).collect();
    combine(&itq, &ptq)
}

#[test]
fn quantize_writes_an_agq_file_and_a_report_that_agree_with_the_library() {
    let d = Dir::new();
    let snap = network(false);
    let input = d.write("net.safetensors", &snap.to_bytes(StoreDtype::F32));
    let (out, report) = (d.path("net.agq"), d.path("net.json"));
    let stdout =
        ok(&agq(&["quantize", "--snapshot", s(&input), "--method", "ptq", "--out", s(&out), "--report", s(&report)]));
    assert!(stdout.contains("ratio"), "{stdout}");

    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!((r["method"].as_str(), r["importance"].as_str()), (Some("ptq"), Some("grad")));
    assert_eq!(r["clusters"], "quantile:0.5,0.8,0.95");
    assert_eq!(r["widths"], serde_json::json!([0, 4, 6, 8]));
    assert_eq!(r["params"], 16 * 12 + 16 + 64);
    assert_eq!(r["tensors"].as_array().unwrap().len(), 3);
    let mut total = 0;
    for t in r["tensors"].as_array().unwrap() {
        let b = &t["bits"];
        let parts = ["values", "indices", "tags", "row_ptr", "meta", "header"].map(|k| b[k].as_u64().unwrap());
        assert_eq!(parts.iter().sum::<u64>(), t["total"].as_u64().unwrap());
        total += t["total"].as_u64().unwrap();
    }
    assert_eq!(r["total_bits"].as_u64().unwrap(), total);
    assert!((r["ratio"].as_f64().unwrap() - 32.0 * 272.0 / total as f64).abs() < 1e-9);

    let file = std::fs::read(&out).unwrap();
    let model = decode(&file).unwrap();
    assert_eq!(file.len() as u64, r["bytes"].as_u64().unwrap());
    assert_eq!(file.len() as u64, total.div_ceil(8) + header_len(&model) as u64);
    assert_eq!(model, quantize_model("tiny", &snap.params, &expected_widths(&snap, false)));
    assert_eq!(d.files(), ["net.agq", "net.json", "net.safetensors"]);
}

#[test]
fn decode_writes_the_dequantized_model_bit_for_bit() {
    let d = Dir::new();
    let snap = network(true);
    let input = d.write("net.safetensors", &snap.to_bytes(StoreDtype::F32));
    let (q, w) = (d.path("net.agq"), d.path("decoded.safetensors"));
    ok(&agq(&["quantize", "--snapshot", s(&input), "--method", "combined", "--out", s(&q)]));
    ok(&agq(&["decode", s(&q), "--out", s(&w)]));

    let expected = quantize_model("tiny", &snap.params, &expected_widths(&snap, true)).dequantized();
    let bytes = std::fs::read(&w).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!((meta["agq.net"].as_str(), meta["agq.params"].as_str()), ("tiny", "fc1.weight,fc1.bias,fc2.weight"));
    for (p, want) in snap.params.iter().zip(&expected) {
        let t = st.tensor(&format!("weight/{}", p.name)).unwrap();
        assert_eq!(t.shape(), p.shape.as_slice());
        let got: Vec<u32> = t.data().chunks(4).map(|b| u32::from_le_bytes(b.try_into().unwrap())).collect();
        assert_eq!(got, want.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), "{}", p.name);
    }
    let text = ok(&agq(&["inspect", s(&w)]));
    assert!(text.contains("weights file") && text.contains("fc2.weight"), "{text}");
}

#[test]
fn combined_never_gives_a_wider_width_than_the_snapshot() {
    let d = Dir::new();
    let snap = network(true);
    let input = d.write("net.safetensors", &snap.to_bytes(StoreDtype::F16));
    let q = d.path("net.agq");
    ok(&agq(&[
        "quantize",
        "--snapshot",
        s(&input),
        "--method",
        "combined",
        "--clusters",
        "kmeans:3",
        "--widths",
        "2,8,32",
        "--out",
        s(&q),
    ]));
    let model = decode(&std::fs::read(&q).unwrap()).unwrap();
    for (t, p) in model.tensors.iter().zip(&snap.params) {
        assert!(t.widths.iter().zip(p.width.as_ref().unwrap()).all(|(a, b)| a <= b));
    }
}

#[test]
fn inspect_shows_a_snapshot_and_an_agq_file() {
    let d = Dir::new();
    let input = d.write("net.safetensors", &network(true).to_bytes(StoreDtype::F32));
    let text = ok(&agq(&["inspect", s(&input)]));
    assert!(text.contains("gradient snapshot") && text.contains("fc2.weight") && text.contains("[16, 12]"), "{text}");
    let q = d.path("net.agq");
    ok(&agq(&["quantize", "--snapshot", s(&input), "--importance", "random", "--seed", "3", "--out", s(&q)]));
    let text = ok(&agq(&["inspect", s(&q)]));
    assert!(text.contains("quantized model") && text.contains("fc1.bias") && text.contains("ratio"), "{text}");
}

/// A safetensors file from raw `(name, dtype, shape, f32 values)` with snapshot metadata.
fn raw_snapshot(tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
    use safetensors::tensor::{Dtype, TensorView};
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, s, v)| (n.to_string(), s.clone(), v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, TensorView)> =
        data.iter().map(|(n, s, b)| (n.clone(), TensorView::new(Dtype::F32, s.clone(), b).unwrap())).collect();
    let meta = [("agq.format", "agq-snapshot/1"), ("agq.net", "tiny")].map(|(k, v)| (k.to_string(), v.to_string()));
    safetensors::tensor::serialize(views, Some(meta.into_iter().collect())).unwrap()
}

/// Expects exit code 2, one `error: ...` line mentioning `needle`, and no new file in `d`.
fn fails<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(d: &Dir, args: &[S], needle: &str) {
    let before = d.files();
    let out = agq(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("error: ") && err.to_lowercase().contains(needle), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}");
    assert_eq!(d.files(), before, "{args:?} left a file behind");
}

#[test]
fn every_bad_input_exits_2_with_one_line_and_no_output_file() {
    let d = Dir::new();
    let good = d.write("good.safetensors", &network(false).to_bytes(StoreDtype::F32));
    let full = network(false).to_bytes(StoreDtype::F32);
    let mut bad_snapshots: Vec<(&str, Vec<u8>, &str)> = vec![
        ("text", b"this is not a safetensors file at all".to_vec(), "not a safetensors"),
        ("cut", full[..full.len() - 3].to_vec(), "truncated"),
        ("lonely", raw_snapshot(&[("weight/a", vec![2], vec![1.0, 2.0])]), "no importance"),
        (
            "orphan",
            raw_snapshot(&[
                ("weight/a", vec![1], vec![1.0]),
                ("importance/a", vec![1], vec![1.0]),
                ("importance/b", vec![1], vec![1.0]),
            ]),
            "no matching weight",
        ),
        (
            "shape",
            raw_snapshot(&[("weight/a", vec![2, 3], vec![0.0; 6]), ("importance/a", vec![3, 2], vec![0.0; 6])]),
            "shape",
        ),
    ];
    let mut edit = |name, f: &dyn Fn(&mut ParamTensor), needle| {
        let mut n = network(true);
        f(&mut n.params[1]);
        bad_snapshots.push((name, n.to_bytes(StoreDtype::F32), needle));
    };
    edit("nan", &|p| p.importance[3] = f32::NAN, "nan");
    edit("inf", &|p| p.weight[0] = f32::INFINITY, "infinite");
    edit("negative", &|p| p.importance[2] = -1.0, "negative importance");
    edit("width17", &|p| p.width.as_mut().unwrap()[4] = 17, "not a width");
    for (name, bytes, needle) in &bad_snapshots {
        let input = d.write(&format!("{name}.safetensors"), bytes);
        let (out, report) = (d.path("o.agq"), d.path("o.json"));
        fails(
            &d,
            &["quantize", "--snapshot", s(&input), "--method", "ptq", "--out", s(&out), "--report", s(&report)],
            needle,
        );
        fails(&d, &["inspect", s(&input)], needle);
    }
    let (out, report) = (d.path("o.agq"), d.path("o.json"));
    let base = ["quantize", "--snapshot", s(&good), "--out", s(&out), "--report", s(&report)];
    let q = |extra: &[&'static str]| -> Vec<String> { base.iter().chain(extra).map(|x| x.to_string()).collect() };
    fails(&d, &q(&["--method", "ptq", "--clusters", "quantile:0.8,0.5"]), "increase");
    fails(&d, &q(&["--method", "ptq", "--widths", "0,4,8"]), "3 widths for 4 clusters");
    fails(&d, &q(&["--method", "ptq", "--widths", "0,4,6,99"]), "unknown width");
    fails(&d, &q(&["--method", "ptq", "--importance", "hessian"]), "--importance");
    fails(&d, &q(&["--method", "qat"]), "--method");
    fails(&d, &q(&["--method", "combined"]), "no width/p");
    fails(&d, &q(&["--method", "ptq", "--seed=-1"]), "--seed");
    fails(&d, &["quantize", "--snapshot", s(&d.path("missing.safetensors")), "--out", s(&out)], "cannot read");
    fails(
        &d,
        &["quantize", "--snapshot", s(&good), "--method", "ptq", "--out", s(&out), "--report", s(&out)],
        "two outputs",
    );

    // unreadable .agq files
    ok(&agq(&["quantize", "--snapshot", s(&good), "--method", "ptq", "--out", s(&d.path("good.agq"))]));
    let agq_bytes = std::fs::read(d.path("good.agq")).unwrap();
    let decoded = d.path("d.safetensors");
    for (name, bytes, needle) in [
        ("garbage.agq", b"AGQ1 but then nonsense".to_vec(), "good"),
        ("cut.agq", agq_bytes[..agq_bytes.len() - 2].to_vec(), "good"),
        ("magic.agq", b"NOPE".to_vec(), "magic"),
    ] {
        let path = d.write(name, &bytes);
        let out = agq(&["decode", s(&path), "--out", s(&decoded)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!((out.status.code(), err.lines().count()), (Some(2), 1), "{name}: {err}");
        assert!(err.starts_with("error: ") && (needle == "good" || err.contains(needle)), "{name}: {err}");
        assert!(!decoded.exists(), "{name}");
        if name != "magic.agq" {
            fails(&d, &["inspect", s(&path)], "error");
        }
    }
}

#[test]
fn a_bad_command_line_is_one_error_line_with_exit_code_2() {
    for args in [
        &["quantize"][..],
        &["frobnicate"],
        &["decode", "x.agq"],
        &["quantize", "--snapshot", "a", "--out", "b", "--bogus"],
    ] {
        let out = agq(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!((out.status.code(), err.lines().count()), (Some(2), 1), "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
}

#[test]
fn itq_writes_the_cores_step_and_refuses_a_warmup_epoch() {
    let d = Dir::new();
    let snap = network(false);
    let input = d.write("in.safetensors", &snap.to_bytes(StoreDtype::F32));
    let (out, grids) = (d.path("out.safetensors"), d.path("grids.json"));
    let text = ok(&agq(&["itq", "--snapshot", s(&input), "--epoch", "2", "--split", "0.75", "--out", s(&out), "--grids", s(&grids)]));
    assert!(text.contains("at 6 bits"), "{text}");
    let by_grad = agq::quant::itq::itq_apply("tiny", &snap.params, 0.75, 6, &ImportanceSource::Gradient).unwrap();
    let written = Snapshot::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    for ((p, w), v) in written.params.iter().zip(&by_grad.widths).zip(&by_grad.values) {
        assert_eq!((p.width.as_ref().unwrap(), &p.weight), (w, v), "{}", p.name);
    }
    // --importance grad-magnitude: the core's step ranked by G * |w|, which differs here
    let gw_out = d.path("gw.safetensors");
    let args = ["itq", "--snapshot", s(&input), "--epoch", "2", "--split", "0.75", "--importance", "grad-magnitude", "--out", s(&gw_out)];
    ok(&agq(&args));
    let by_gw = agq::quant::itq::itq_apply("tiny", &snap.params, 0.75, 6, &ImportanceSource::GradMagnitude).unwrap();
    assert_ne!(by_gw.widths, by_grad.widths, "the two rankings differ on this network");
    let written = Snapshot::from_bytes(&std::fs::read(&gw_out).unwrap()).unwrap();
    for ((p, w), v) in written.params.iter().zip(&by_gw.widths).zip(&by_gw.values) {
        assert_eq!((p.width.as_ref().unwrap(), &p.weight), (w, v), "{}", p.name);
    }
    let applied = by_grad;
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&grids).unwrap()).unwrap();
    assert_eq!(json["width"], 6);
    assert_eq!(json["grids"]["fc1.weight"], serde_json::json!(applied.grids[0]));
    fails(&d, &["itq", "--snapshot", s(&input), "--epoch", "0", "--out", s(&d.path("x.safetensors"))], "warm-up");
    fails(&d, &["itq", "--snapshot", s(&input), "--epoch", "3", "--split", "0.2", "--out", s(&d.path("x.safetensors"))], "split");
}

#[test]
fn quantize_writes_every_encoding_and_inspect_and_decode_read_it() {
    let d = Dir::new();
    let snap = network(true);
    let input = d.write("net.safetensors", &snap.to_bytes(StoreDtype::F32));
    let want = quantize_model("tiny", &snap.params, &expected_widths(&snap, true));
    let mut totals = Vec::new();
    let mut decoded = Vec::new();
    for e in ["csr", "relative", "entropy"] {
        let (out, report) = (d.path(&format!("{e}.agq")), d.path(&format!("{e}.json")));
        let args = ["quantize", "--snapshot", s(&input), "--encoding", e, "--out", s(&out), "--report", s(&report)];
        let stdout = ok(&agq(&args));
        assert!(stdout.contains(&format!("{e} encoding")), "{stdout}");
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        assert_eq!(r["encoding"], e);
        let file = std::fs::read(&out).unwrap();
        assert_eq!(decode(&file).unwrap(), want, "{e}");
        let total = r["total_bits"].as_u64().unwrap();
        assert_eq!(file.len() as u64, r["bytes"].as_u64().unwrap());
        assert_eq!(file.len() as u64, total.div_ceil(8) + header_len(&want) as u64);
        let parts = ["values", "indices", "tags", "row_ptr", "meta", "header", "fillers", "tables"];
        let sum: u64 = r["tensors"].as_array().unwrap().iter().flat_map(|t| parts.map(|k| t["bits"][k].as_u64().unwrap_or(0))).sum();
        assert_eq!(sum, total, "{e}");
        totals.push(total);

        let text = ok(&agq(&["inspect", s(&out)]));
        assert!(text.contains(&format!("(.agq, {e} encoding)")) && text.contains(&total.to_string()), "{text}");
        assert_eq!(text.contains("fillers"), e == "relative", "{text}");
        assert_eq!(text.contains("tables"), e == "entropy", "{text}");
        let w = d.path(&format!("{e}.safetensors"));
        ok(&agq(&["decode", s(&out), "--out", s(&w)]));
        decoded.push(std::fs::read(&w).unwrap());
    }
    let weights = |bytes: &[u8]| -> Vec<Vec<u8>> {
        let st = SafeTensors::deserialize(bytes).unwrap();
        snap.params.iter().map(|p| st.tensor(&format!("weight/{}", p.name)).unwrap().data().to_vec()).collect()
    };
    assert!(decoded.iter().all(|b| weights(b) == weights(&decoded[0])));
    let text = ok(&agq(&["inspect", "--encodings", s(&d.path("relative.agq"))]));
    let lines: Vec<&str> = text.lines().filter(|l| ["csr ", "relative ", "entropy "].iter().any(|p| l.starts_with(p))).collect();
    assert_eq!(lines.len(), 3, "{text}");
    for (line, total) in lines.iter().zip(&totals) {
        assert!(line.split_whitespace().nth(1) == Some(total.to_string().as_str()), "{line}");
    }
    let out = d.path("x.agq");
    fails(&d, &["quantize", "--snapshot", s(&input), "--encoding", "huffman", "--out", s(&out)], "--encoding");
    fails(&d, &["inspect", "--encodings", s(&input)], "needs an .agq file");
}
