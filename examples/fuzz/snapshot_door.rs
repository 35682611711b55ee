//! The snapshot door: a gradient snapshot file (safetensors, `agq-snapshot/1`) opened by
//! the user, read by `OpenedSnapshot::from_bytes`, then described, accounted and quantized
//! as the page does; plus the plain weights reader `weights_from_bytes`. Properties checked
//! beside "no panic": an accepted snapshot writes back to a file that reads back the same,
//! and the `.agq` file quantized from it decodes to its model.

use crate::Door;
use crate::mutate::{INTERESTING, Pick, mutate_bytes, number, random_bytes};
use agq::config::{Method, RunConfig};
use agq::quant::cluster::ClusterMethod;
use agq::opened_snapshot::{NotBuiltin, OpenedSnapshot};
use agq::quant::codec::decode;
use agq::quant::tensor::ParamTensor;
use agq::rng::SplitMix64;
use agq::snapshot::{Snapshot, SnapshotError, StoreDtype, weights_from_bytes, weights_to_bytes};
use serde_json::{Map, Value, json};

fn param(name: &str, shape: &[usize], seed: u64, width: Option<&[u8]>) -> ParamTensor {
    let n: usize = shape.iter().product();
    let mut rng = SplitMix64::new(seed);
    let weight: Vec<f32> = (0..n).map(|_| rng.next_f32() * 2.0 - 1.0).collect();
    let mut p = ParamTensor::new(name, shape.to_vec(), weight);
    p.importance = (0..n).map(|i| if i % 5 == 3 { 0.0 } else { rng.next_f32() * 1e-2 }).collect();
    p.width = width.map(|w| (0..n).map(|i| w[i % w.len()]).collect());
    p
}

fn snapshot(net: &str, params: Vec<ParamTensor>) -> Snapshot {
    Snapshot { net: net.into(), params, ..Default::default() }
}

/// Tiny valid files: F32 and F16, widths bit-packed (`width_index/P`) and one byte each
/// (`width/P`, 17 distinct widths), scalar, empty and 4-D shapes, metadata, a weights file.
fn seeds() -> Vec<Vec<u8>> {
    let all_widths: Vec<u8> = [0u8].into_iter().chain(2..=16).chain([32]).collect();
    let mut out = Vec::new();
    let basic = snapshot("tiny", vec![param("fc.weight", &[2, 3], 1, None), param("fc.bias", &[2], 2, None)]);
    out.push(basic.to_bytes(StoreDtype::F32));
    out.push(basic.to_bytes(StoreDtype::F16));
    let itq = snapshot(
        "lenet300",
        vec![param("fc1.weight", &[3, 4], 3, Some(&[8, 0, 32, 4])), param("fc1.bias", &[3], 4, Some(&[32, 2]))],
    );
    out.push(itq.to_bytes(StoreDtype::F32));
    out.push(itq.to_bytes(StoreDtype::F16));
    let wide = snapshot("wide", vec![param("w", &[1, 18], 5, Some(&all_widths))]);
    out.push(wide.to_bytes(StoreDtype::F32));
    let mut shapes = snapshot(
        "shapes",
        vec![
            param("conv.weight", &[2, 1, 2, 2], 6, None),
            param("scale", &[], 7, None),
            param("empty", &[0, 4], 8, None),
            param("conv.bias", &[2], 9, None),
        ],
    );
    shapes.set_provenance(&json!({"epochs": 3, "data": "fuzz"}));
    shapes.metadata.insert("note".into(), "hello".into());
    out.push(shapes.to_bytes(StoreDtype::F32));
    out.push(weights_to_bytes("tiny", &[("a", &[2, 2], &[1.0, -2.0, 0.5, 0.0]), ("b", &[2], &[3.0, 4.0])]));
    for s in &out[..6] {
        assert!(Snapshot::from_bytes(s).is_ok(), "a seed snapshot does not read");
    }
    out
}

/// A safetensors file split into its header (JSON) and data.
fn split(bytes: &[u8]) -> Option<(Map<String, Value>, Vec<u8>)> {
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
    let header = bytes.get(8..8usize.checked_add(n)?)?;
    let map = serde_json::from_slice::<Value>(header).ok()?.as_object()?.clone();
    Some((map, bytes[8 + n..].to_vec()))
}

fn join(header: &str, data: &[u8], rng: &mut SplitMix64) -> Vec<u8> {
    let mut n = header.len() as u64;
    if rng.one_in(16) {
        n = match rng.index(3) {
            0 => n.wrapping_add(rng.range(1, 8)),
            1 => n.wrapping_sub(rng.range(1, 8)),
            _ => number(rng),
        };
    }
    let mut out = n.to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    if rng.one_in(16) {
        out.extend(std::iter::repeat_n(b' ', rng.index(9)));
    }
    out.extend_from_slice(data);
    out
}

/// A JSON number (or not) for a shape dimension or an offset.
fn odd_json_number(rng: &mut SplitMix64) -> Value {
    match rng.index(8) {
        0..=3 => json!(*rng.pick(&INTERESTING)),
        4 => json!(rng.range(0, 64)),
        5 => json!(-(rng.range(1, 5) as i64)),
        6 => rng.pick(&[json!(1.5), json!("3"), Value::Null, json!(1e20), json!(true), json!([2])]).clone(),
        _ => json!(number(rng)),
    }
}

const DTYPES: [&str; 20] = [
    "F32", "F16", "BF16", "F64", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "BOOL", "F8_E4M3", "F8_E5M2", "F4",
    "F6_E2M3", "E8M0", "f32", "",
];

const PREFIXES: [&str; 8] = ["weight/", "importance/", "width/", "width_index/", "taylor/", "bias/", "", "weight//"];

fn tensor_names(map: &Map<String, Value>) -> Vec<String> {
    map.keys().filter(|k| *k != "__metadata__").cloned().collect()
}

/// One structure-aware mutation of a safetensors header and its data.
fn mutate_file(rng: &mut SplitMix64, map: &mut Map<String, Value>, data: &mut Vec<u8>) {
    let names = tensor_names(map);
    let metadata_keys = ["agq.format", "agq.net", "agq.params", "agq.width_table", "agq.provenance"];
    match rng.index(14) {
        0 if !names.is_empty() => {
            let t = &mut map[rng.pick(&names)];
            t["dtype"] = if rng.one_in(16) { odd_json_number(rng) } else { json!(rng.pick(&DTYPES)) };
        }
        1 | 2 if !names.is_empty() => {
            let t = &mut map[rng.pick(&names)];
            let mut shape: Vec<Value> = t["shape"].as_array().cloned().unwrap_or_default();
            match rng.index(6) {
                0 => shape.push(odd_json_number(rng)),
                1 => {
                    shape.pop();
                }
                2 if !shape.is_empty() => {
                    let i = rng.index(shape.len());
                    shape[i] = odd_json_number(rng);
                }
                3 => shape.reverse(),
                4 if rng.one_in(2) => shape = (0..rng.index(5)).map(|_| json!(rng.range(0, 4))).collect(),
                4 => {
                    // no values at all, but huge other dimensions
                    shape = (0..rng.range(1, 4)).map(|_| json!(*rng.pick(&INTERESTING))).collect();
                    let z = rng.index(shape.len() + 1);
                    shape.insert(z, json!(0));
                }
                _ => {
                    // a product that fits the data (so the offsets check passes) another way
                    let n: u64 = shape.iter().filter_map(Value::as_u64).fold(1u64, u64::wrapping_mul);
                    shape = vec![json!(1), json!(n), json!(1)];
                }
            }
            t["shape"] = Value::Array(shape);
        }
        3 | 4 if !names.is_empty() => {
            let t = &mut map[rng.pick(&names)];
            let offsets: Vec<u64> = t["data_offsets"].as_array().map_or(vec![0, 0], |a| a.iter().filter_map(Value::as_u64).collect());
            let (mut a, mut b) = (offsets.first().copied().unwrap_or(0), offsets.get(1).copied().unwrap_or(0));
            match rng.index(5) {
                0 => a = rng.range(0, data.len() as u64 + 4),
                1 => b = rng.range(0, data.len() as u64 + 4),
                2 => std::mem::swap(&mut a, &mut b),
                3 => b = number(rng),
                _ => {
                    t["data_offsets"] = rng.pick(&[json!([0]), json!([0, 0, 0]), json!("0,4"), Value::Null, json!([-1, 4])]).clone();
                    return;
                }
            }
            t["data_offsets"] = json!([a, b]);
        }
        5 if !names.is_empty() => {
            // a field removed or added
            let t = map[rng.pick(&names)].as_object_mut();
            if let Some(t) = t {
                if rng.one_in(2) {
                    t.remove(*rng.pick(&["dtype", "shape", "data_offsets"]));
                } else {
                    t.insert("extra".into(), json!(1));
                }
            }
        }
        6 if !names.is_empty() => {
            // a tensor renamed: other kind, other parameter, odd name
            let old = rng.pick(&names).clone();
            let param = old.split_once('/').map_or(old.as_str(), |(_, p)| p).to_string();
            let other = rng.pick(&names).split_once('/').map_or("x", |(_, p)| p).to_string();
            let new = match rng.index(4) {
                0 => format!("{}{param}", rng.pick(&PREFIXES)),
                1 => format!("{}{other}", rng.pick(&PREFIXES)),
                2 => format!("{}{}", rng.pick(&PREFIXES), rng.pick(&["", "a,b", " fc", "\u{e9}", "x/y"])),
                _ => format!("weight/{}", "n".repeat(rng.range(250, 300) as usize)),
            };
            if let Some(v) = map.remove(&old) {
                map.insert(new, v);
            }
        }
        7 if !names.is_empty() => {
            // a tensor removed, or copied under another name (the same bytes)
            let old = rng.pick(&names).clone();
            if rng.one_in(2) {
                map.remove(&old);
            } else {
                let v = map[&old].clone();
                let param = old.split_once('/').map_or("x", |(_, p)| p).to_string();
                map.insert(format!("{}{param}", rng.pick(&PREFIXES)), v);
            }
        }
        8..=10 => {
            // metadata
            let meta = map.entry("__metadata__").or_insert_with(|| json!({}));
            if rng.one_in(32) {
                *meta = rng.pick(&[Value::Null, json!([]), json!({"agq.format": 1}), json!("x")]).clone();
                return;
            }
            let Some(meta) = meta.as_object_mut() else { return };
            let key = *rng.pick(&metadata_keys);
            let params: Vec<String> = names.iter().filter_map(|n| n.strip_prefix("weight/").map(str::to_string)).collect();
            let value = match (key, rng.index(4)) {
                (_, 0) => {
                    meta.remove(key);
                    return;
                }
                ("agq.format", _) => rng.pick(&["agq-snapshot/1", "agq-weights/1", "agq-snapshot/2", ""]).to_string(),
                ("agq.net", _) => match rng.index(3) {
                    0 => String::new(),
                    1 => "n".repeat(rng.range(250, 5000) as usize),
                    _ => rng.pick(&["lenet300", "lenet5", "vgg16", "net,x", "\u{e9}t\u{e9}"]).to_string(),
                },
                ("agq.params", _) => {
                    let mut p = params.clone();
                    match rng.index(5) {
                        0 => rng.shuffle(&mut p),
                        1 if !p.is_empty() => {
                            let d = p[rng.index(p.len())].clone();
                            p.push(d);
                        }
                        2 if !p.is_empty() => {
                            p.remove(rng.index(p.len()));
                        }
                        3 => p.push(rng.pick(&["ghost", "", " ", "a,b"]).to_string()),
                        _ => p = p.iter().map(|s| format!(" {s} ")).collect(),
                    }
                    p.join(",")
                }
                ("agq.width_table", _) => match rng.index(3) {
                    0 => rng.pick(&["0,32", "0,2,4,8,32", "8,4", "0,0", "", ",", "300", "1", "x"]).to_string(),
                    1 => (0..rng.index(20)).map(|_| rng.range(0, 40).to_string()).collect::<Vec<_>>().join(","),
                    _ => (0..rng.range(1, 17)).map(|i| (2 * i).to_string()).collect::<Vec<_>>().join(","),
                },
                _ => rng.pick(&["{", "[]", "null", "{\"a\":1}", "\"x\""]).to_string(),
            };
            meta.insert(key.into(), Value::String(value));
        }
        11 if !data.is_empty() => {
            // a float set to a special value, or a byte to an invalid width
            let at = rng.index(data.len());
            if rng.one_in(2) {
                let v = *rng.pick(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -1.0, -0.0, 1e-45, 3.4e38, 65504.0, 65520.0]);
                let at4 = at & !3;
                for (k, b) in v.to_le_bytes().iter().enumerate() {
                    if at4 + k < data.len() {
                        data[at4 + k] = *b;
                    }
                }
            } else {
                data[at] = *rng.pick(&[1u8, 17, 31, 33, 64, 255, 0x7c, 0xfc, 0xff]);
            }
        }
        12 => match rng.index(3) {
            0 => data.truncate(rng.index(data.len() + 1)),
            1 => data.extend(random_bytes(rng, 16)),
            _ => data.extend(vec![0u8; rng.range(1, 8) as usize]),
        },
        _ => mutate_bytes(rng, data, 2, 0, &[]),
    }
}

/// Bits per element of a dtype name (None: not a dtype safetensors knows).
fn dtype_bits(name: &str) -> Option<u64> {
    Some(match name {
        "F64" | "I64" | "U64" => 64,
        "F32" | "I32" | "U32" => 32,
        "F16" | "BF16" | "I16" | "U16" => 16,
        "U8" | "I8" | "BOOL" | "F8_E4M3" | "F8_E5M2" | "E8M0" => 8,
        "F6_E2M3" | "F6_E3M2" => 6,
        "F4" => 4,
        _ => return None,
    })
}

/// Makes the offsets agree with the (mutated) dtypes and shapes again: each tensor's bytes
/// follow the previous one's, its old bytes kept where they fit and the rest drawn at random,
/// so that a changed dtype or shape reaches agq's checks instead of safetensors' offsets check.
fn repair(rng: &mut SplitMix64, map: &mut Map<String, Value>, data: &mut Vec<u8>) {
    let mut names = tensor_names(map);
    let start = |v: &Value| v["data_offsets"].get(0).and_then(Value::as_u64).unwrap_or(0);
    names.sort_by_key(|n| start(&map[n]));
    let mut out = Vec::new();
    for n in names {
        let t = &mut map[&n];
        let Some(bits) = t["dtype"].as_str().and_then(dtype_bits) else { continue };
        let Some(shape) = t["shape"].as_array() else { continue };
        let count = shape.iter().try_fold(1u64, |a, d| d.as_u64().and_then(|d| a.checked_mul(d)));
        let Some(len) = count.and_then(|c| c.checked_mul(bits)).map(|b| b.div_ceil(8)).filter(|&b| b <= 4096) else { continue };
        let old = start(t) as usize;
        let from = out.len();
        for k in 0..len as usize {
            out.push(old.checked_add(k).and_then(|i| data.get(i)).copied().unwrap_or_else(|| rng.next_u64() as u8 & 0x3f));
        }
        t["data_offsets"] = json!([from, out.len()]);
    }
    *data = out;
}

pub fn door() -> Door {
    let seeds = seeds();
    let parsed: Vec<(Map<String, Value>, Vec<u8>)> = seeds.iter().map(|s| split(s).expect("a seed splits")).collect();
    Door {
        name: "snapshot",
        generate: Box::new(move |rng| match rng.index(16) {
            0 => {
                let mut b = random_bytes(rng, 300);
                if rng.one_in(2) && b.len() >= 8 {
                    // a plausible header length, so the JSON reader is reached
                    let n = (b.len() as u64 - 8).min(rng.range(0, 300));
                    b[..8].copy_from_slice(&n.to_le_bytes());
                }
                b
            }
            1..=3 => {
                let mut b = rng.pick(&seeds).clone();
                let hot = 8 + b.len() / 2;
                mutate_bytes(rng, &mut b, 4, hot, &seeds);
                b
            }
            _ => {
                let (mut map, mut data) = rng.pick(&parsed).clone();
                for _ in 0..1 + rng.index(3) {
                    mutate_file(rng, &mut map, &mut data);
                }
                if rng.one_in(2) {
                    repair(rng, &mut map, &mut data);
                }
                let mut header = serde_json::to_string(&map).expect("json");
                if rng.one_in(16) && map.len() > 1 {
                    // a key given twice (serde_json's map cannot hold that): the text doubled
                    let names = tensor_names(&map);
                    let k = rng.pick(&names);
                    let entry = format!("{}:{},", serde_json::to_string(k).unwrap(), map[k]);
                    header.insert_str(1, &entry);
                }
                let mut b = join(&header, &data, rng);
                if rng.one_in(8) {
                    mutate_bytes(rng, &mut b, 2, 0, &[]);
                }
                b
            }
        }),
        run,
    }
}

/// The variant name of an error: `ShapeMismatch` for `ShapeMismatch { .. }`.
fn variant(e: &SnapshotError) -> String {
    let d = format!("{e:?}");
    d.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("?").to_string()
}

fn run(bytes: &[u8]) -> String {
    let weights = weights_from_bytes(bytes).is_ok();
    let label = match Snapshot::from_bytes(bytes) {
        Ok(_) => "ok".to_string(),
        Err(e) => variant(&e),
    };
    let opened = match OpenedSnapshot::from_bytes(bytes) {
        Ok(o) => o,
        Err(_) if label == "ok" => return "ok, not encodable".into(),
        Err(_) => return if weights { "weights ok".into() } else { label },
    };
    assert!(label == "ok", "OpenedSnapshot reads a file that Snapshot refuses");
    // what the page does with an opened snapshot
    let mut opened = opened;
    let info = opened.info(&Err(NotBuiltin::UnknownNet { net: "not built in".into() }));
    assert_eq!(info.params, opened.snapshot.num_values());
    let written = opened.snapshot.to_bytes(StoreDtype::F32);
    assert!(Snapshot::from_bytes(&written).as_ref() == Ok(&opened.snapshot), "a snapshot read does not read back the same after writing");
    let mut config = RunConfig::default();
    // post-training, and one other method (by the input's length, to keep the door fast)
    let other = [Method::None, Method::Itq, Method::Combined][bytes.len() % 3];
    for method in [Method::Ptq, other] {
        config.method = method;
        if method == Method::Ptq && opened.snapshot.num_values() % 2 == 1 {
            (config.clusters, config.widths) = (ClusterMethod::KMeans { k: 3 }, vec![0, 2, 32]);
        }
        let settings = config.checked_quant().expect("the door's settings pass their checks");
        let (compressed, accounted) = (opened.compress(&settings), opened.account(&settings));
        assert_eq!(compressed.is_ok(), accounted.is_ok(), "compress and account disagree on {method:?}");
        if let Ok(c) = compressed {
            assert!(decode(&c.bytes).as_ref() == Ok(&c.model), "the .agq file of an opened snapshot does not decode to its model");
            assert_eq!(c.report.bytes, c.bytes.len() as u64);
        }
    }
    "ok, quantized".into()
}
