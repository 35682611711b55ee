//! The committed gradient snapshots (www/snapshots): each reads back, round-trips, and
//! `agq eval` on the committed CIFAR-10 test images prints the accuracy its metadata claims
//! (within 1 percentage point).
#![cfg(feature = "cpu")]

use agq::snapshot::{Snapshot, StoreDtype};

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

/// What a user runs to check a snapshot's claim: `agq eval` prints `accuracy: NN.NN%` last.
#[cfg(feature = "cli")]
#[test]
fn agq_eval_of_every_committed_snapshot_prints_the_claimed_accuracy() {
    for path in committed() {
        let snapshot = Snapshot::from_bytes(&std::fs::read(&path).unwrap()).unwrap();
        let claimed = snapshot.provenance().and_then(|p| p["accuracy_percent"].as_f64()).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_agq"))
            .args(["eval", "--snapshot", path.to_str().unwrap(), "--data", "www/data/cifar10"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8(out.stdout).unwrap();
        let last = stdout.lines().last().unwrap_or_default();
        let printed: f64 = last
            .strip_prefix("accuracy: ")
            .and_then(|v| v.strip_suffix('%'))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{}: last line {last:?}", path.display()));
        assert!((printed - claimed).abs() <= 1.0, "{}: agq eval {printed}%, claimed {claimed}%", path.display());
    }
}
