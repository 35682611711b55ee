//! The committed gradient snapshots (www/snapshots): each reads back, round-trips, and its
//! accuracy re-measured on the committed CIFAR-10 test images matches the accuracy its
//! metadata claims (within 1 percentage point).
#![cfg(feature = "cpu")]

use agq::data::cifar10;
use agq::nn::eval::accuracy;
use agq::nn::models::{Model, NetKind};
use agq::nn::params::{param_infos, write_params};
use agq::snapshot::{Snapshot, StoreDtype};
use burn::tensor::Device;

fn committed() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir("www/snapshots")
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "safetensors"));
    files.sort();
    files
}

#[test]
fn every_committed_snapshot_round_trips() {
    for path in committed() {
        let bytes = std::fs::read(&path).unwrap();
        let snapshot = Snapshot::from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let again = Snapshot::from_bytes(&snapshot.to_bytes(StoreDtype::F32)).unwrap();
        assert_eq!(again.params, snapshot.params, "{}", path.display());
        assert_eq!(again.net, snapshot.net);
    }
}

#[test]
fn every_committed_snapshot_has_the_accuracy_its_metadata_claims() {
    let test = cifar10::load(&std::fs::read("www/data/cifar10/test_batch_first1000.bin.gz").unwrap()).unwrap();
    for path in committed() {
        let snapshot = Snapshot::from_bytes(&std::fs::read(&path).unwrap()).unwrap();
        let claimed = snapshot.provenance().and_then(|p| p["accuracy_percent"].as_f64())
            .unwrap_or_else(|| panic!("{}: no accuracy_percent in agq.provenance", path.display()));
        let kind = NetKind::parse(&snapshot.net).expect("a built-in network");
        let device = Device::flex();
        let model = Model::new(kind, &device);
        let infos = param_infos(&model);
        let values: Vec<Vec<f32>> = infos
            .iter()
            .map(|info| {
                let p = snapshot.params.iter().find(|p| p.name == info.name).expect("every parameter");
                assert_eq!(p.shape, info.shape, "{}", info.name);
                p.weight.clone()
            })
            .collect();
        let model = write_params(model, &infos, &values);
        let measured = pollster::block_on(accuracy(&model, &test, 500)).unwrap();
        assert!((measured - claimed).abs() <= 1.0, "{}: measured {measured}%, claimed {claimed}%", path.display());
    }
}
