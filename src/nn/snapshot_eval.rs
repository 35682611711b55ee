//! Quantizing a loaded gradient snapshot (no training) and measuring the accuracy of the
//! decoded `.agq` file: what the page does for AlexNet and VGG-16, whose snapshots are
//! trained offline (`agq snapshot`), and for a snapshot file the user opens (any
//! architecture; evaluated only when it is a built-in network).

use super::error::NnError;
use super::eval::Progress;
use super::load::{FROM_AGQ, decoded_tensors, evaluate, network_from};
use super::models::Model;
use crate::choices::Net;
use super::params::param_infos;
use super::session::Outcome;
use crate::compress::{Compressed, ImportanceHistogram, compress, sizes_of};
use crate::pixel_map::{PixelMap, pixel_map};
use crate::quant::settings::CheckedSettings;
use crate::data::Dataset;
use crate::live_account::{Accounted, LiveAccount};
use crate::quant::QuantError;
use crate::quant::report::EncodingSize;
use crate::opened_snapshot::{LayerShape, NotBuiltin, OpenError, OpenedSnapshot, SnapshotInfo, match_network};
use crate::snapshot::Snapshot;
use burn::tensor::Device;

/// Images per evaluation batch: about half a second or less of the CPU backend per batch
/// (VGG-16 takes about 0.12 s per image there), so a stop between batches is prompt.
fn eval_batch(kind: Net) -> usize {
    match kind {
        Net::Vgg16 => 4,
        Net::AlexNet => 25,
        Net::LeNet300 | Net::LeNet5 => 100,
    }
}

/// The tensors (names, output-major shapes) of a built-in network, in network order.
pub fn builtin_layers(kind: Net, device: &Device) -> Vec<LayerShape> {
    param_infos(&Model::new(kind, device)).into_iter().map(|i| LayerShape { name: i.name, shape: i.shape }).collect()
}

/// The built-in network `snapshot` is of (its `agq.net` names one AND every tensor name
/// and shape matches), or why it is not one.
pub fn builtin_kind(snapshot: &Snapshot, device: &Device) -> Result<Net, NotBuiltin> {
    let kind = snapshot.net.parse::<Net>().map_err(|_| NotBuiltin::UnknownNet { net: snapshot.net.clone() })?;
    match_network(kind.as_str(), &snapshot.params, &builtin_layers(kind, device))?;
    Ok(kind)
}

/// A snapshot of a built-in network, ready to quantize.
pub struct LoadedSnapshot {
    pub kind: Net,
    pub snapshot: Snapshot,
    /// The re-accounting index of the snapshot (built on the first `account`).
    live: LiveAccount,
}

impl LoadedSnapshot {
    /// Checks that `snapshot` is a built-in network whose tensors match its shapes.
    pub fn new(snapshot: Snapshot, device: &Device) -> Result<Self, NnError> {
        let kind = builtin_kind(&snapshot, device)?;
        Ok(Self { kind, snapshot, live: LiveAccount::default() })
    }

    /// Accounts `settings` without quantizing (no evaluation): the first call for an
    /// importance source sorts the parameters once (about a second for VGG-16), every
    /// later one takes milliseconds. Run on every change of the clusters or widths.
    pub fn account(&mut self, settings: &CheckedSettings) -> Result<Accounted, QuantError> {
        self.live.account(self.kind.as_str(), &self.snapshot.params, settings)
    }

    /// The size of `settings`' quantization in every encoding, CSR first (no evaluation, no
    /// file; a few hundred milliseconds for VGG-16: the page asks after `account`).
    pub fn sizes(&self, settings: &CheckedSettings) -> Result<Vec<EncodingSize>, QuantError> {
        sizes_of(self.kind.as_str(), &self.snapshot.params, settings)
    }

    /// The `.agq` file of `settings`' quantization: PTQ (or the ITQ widths), accounting and
    /// encoding, without evaluation.
    pub fn compress(&self, settings: &CheckedSettings) -> Result<Compressed, QuantError> {
        compress(self.kind.as_str(), &self.snapshot.params, settings)
    }

    /// Quantizes, decodes the `.agq` file into a fresh network and measures its top-1
    /// accuracy on `test`; `progress(done, total)` follows the evaluation.
    pub async fn finish(
        &self,
        settings: &CheckedSettings,
        test: &Dataset,
        device: &Device,
        progress: &mut dyn Progress,
    ) -> Result<Outcome, NnError> {
        super::session::check_data(self.kind, test)?;
        let compressed = self.compress(settings)?;
        let accuracy = evaluate_file(self.kind, &compressed, test, device, progress).await?;
        let source = &settings.ptq().importance;
        let importance = self.live.histogram(self.kind.as_str(), &self.snapshot.params, source, &compressed.boundaries)?;
        // `params` stays empty: the snapshot is kept by `self` (no copy of a large network).
        Ok(Outcome { accuracy, compressed, importance, params: Vec::new() })
    }
}

/// Decodes the `.agq` file of `compressed` into a fresh network of `kind` and measures its
/// top-1 accuracy (%) on `test`.
async fn evaluate_file(
    kind: Net,
    compressed: &Compressed,
    test: &Dataset,
    device: &Device,
    progress: &mut dyn Progress,
) -> Result<f64, NnError> {
    let decoded = crate::quant::codec::decode(&compressed.bytes)?;
    let values = decoded.dequantized();
    let model = network_from(kind, &decoded_tensors(&decoded, &values), FROM_AGQ, device)?;
    evaluate(&model, test, eval_batch(kind), progress).await
}

/// A snapshot file the user opened: any architecture, quantized under its own `agq.net`
/// name; evaluated only when it is a built-in network ([`builtin_kind`]).
pub struct UserSnapshot {
    pub opened: OpenedSnapshot,
    /// The built-in network it is, or why it is not one (then no accuracy is measured).
    pub kind: Result<Net, NotBuiltin>,
}

/// The test sets an opened built-in network may be evaluated on (whichever are loaded).
#[derive(Clone, Copy, Default)]
pub struct TestSets<'a> {
    pub mnist: Option<&'a Dataset>,
    pub cifar10: Option<&'a Dataset>,
}

/// The result of quantizing an opened snapshot.
pub struct UserOutcome {
    pub compressed: Compressed,
    /// The importances the network was quantized by, binned, with the PTQ boundaries.
    pub importance: ImportanceHistogram,
    /// Top-1 accuracy (%) of the decoded file; None when it is not a built-in network.
    pub accuracy: Option<f64>,
    /// The first layer's importance map (see [`pixel_map`]), when it reads an image.
    pub pixel_map: Option<PixelMap>,
}

impl UserSnapshot {
    /// Parses the bytes of a snapshot file (see [`OpenedSnapshot::from_bytes`]) and
    /// finds out whether it is a built-in network.
    pub fn open(bytes: &[u8], device: &Device) -> Result<Self, OpenError> {
        let opened = OpenedSnapshot::from_bytes(bytes)?;
        let kind = builtin_kind(&opened.snapshot, device);
        Ok(Self { opened, kind })
    }

    /// The page's description of the snapshot.
    pub fn info(&self) -> SnapshotInfo {
        self.opened.info(&self.kind)
    }

    /// The exact accounting of `settings` (no evaluation).
    pub fn account(&mut self, settings: &CheckedSettings) -> Result<Accounted, QuantError> {
        self.opened.account(settings)
    }

    /// The size of `settings`' quantization in every encoding (see [`OpenedSnapshot::sizes`]).
    pub fn sizes(&self, settings: &CheckedSettings) -> Result<Vec<EncodingSize>, QuantError> {
        self.opened.sizes(settings)
    }

    /// Quantizes as `settings` say; a built-in network is then
    /// decoded from its `.agq` file and evaluated on its test set in `tests` (an error
    /// when that test set is not loaded).
    pub async fn finish(
        &self,
        settings: &CheckedSettings,
        tests: TestSets<'_>,
        device: &Device,
        progress: &mut dyn Progress,
    ) -> Result<UserOutcome, NnError> {
        let compressed = self.opened.compress(settings)?;
        let importance = self.opened.importance_histogram(settings, &compressed.boundaries)?;
        let pixel_map = pixel_map(&self.opened.snapshot.params);
        let Ok(kind) = self.kind.clone() else {
            return Ok(UserOutcome { compressed, importance, accuracy: None, pixel_map });
        };
        let test = match kind.dataset() {
            "MNIST" => tests.mnist,
            _ => tests.cifar10,
        }
        .ok_or(NnError::TestSetNotLoaded { dataset: kind.dataset() })?;
        super::session::check_data(kind, test)?;
        let accuracy = evaluate_file(kind, &compressed, test, device, progress).await?;
        Ok(UserOutcome { compressed, importance, accuracy: Some(accuracy), pixel_map })
    }
}

#[cfg(all(test, feature = "cpu"))]
mod tests {
    use super::*;
    use crate::quant::tensor::ParamTensor;

    fn snapshot_of(net: &str, layers: &[LayerShape]) -> Snapshot {
        let params = layers
            .iter()
            .map(|l| {
                let n = l.shape.iter().product();
                let mut p = ParamTensor::new(l.name.clone(), l.shape.clone(), vec![0.01; n]);
                p.importance = (0..n).map(|i| (i % 97) as f32).collect();
                p
            })
            .collect();
        Snapshot { net: net.into(), params, ..Default::default() }
    }

    #[test]
    fn built_in_networks_are_matched_by_name_and_every_shape() {
        let device = Device::flex();
        for kind in [Net::LeNet300, Net::LeNet5] {
            let layers = builtin_layers(kind, &device);
            let s = snapshot_of(kind.as_str(), &layers);
            assert_eq!(builtin_kind(&s, &device), Ok(kind));
            // the same tensors under another name: not built-in
            let e = builtin_kind(&snapshot_of("mynet", &layers), &device).unwrap_err();
            assert_eq!(e, NotBuiltin::UnknownNet { net: "mynet".into() });
            assert!(e.to_string().contains("\"mynet\" is not a built-in network"), "{e}");
            // the name of a built-in network with a changed shape, a missing or an extra tensor
            let mut changed = layers.clone();
            changed[0].shape[0] += 1;
            assert!(matches!(builtin_kind(&snapshot_of(kind.as_str(), &changed), &device), Err(NotBuiltin::Shape { .. })));
            assert!(matches!(builtin_kind(&snapshot_of(kind.as_str(), &layers[1..]), &device), Err(NotBuiltin::MissingTensor { .. })));
            let mut extra = layers.clone();
            extra.push(LayerShape { name: "extra.weight".into(), shape: vec![2] });
            assert!(matches!(builtin_kind(&snapshot_of(kind.as_str(), &extra), &device), Err(NotBuiltin::ExtraTensor { tensor, .. }) if tensor == "extra.weight"));
        }
        assert_eq!(builtin_layers(Net::LeNet300, &device)[0], LayerShape { name: "fc1.weight".into(), shape: vec![300, 784] });
    }

    #[test]
    fn an_opened_lenet300_is_evaluated_and_a_custom_network_is_not() {
        let device = Device::flex();
        let mut config = crate::config::RunConfig::for_net(crate::config::Net::LeNet5);
        config.method = crate::config::Method::Ptq;
        let config = config.checked_quant().unwrap();
        // a custom network: compressed under its own name, no accuracy
        let layers = [LayerShape { name: "conv.weight".into(), shape: vec![2, 1, 3, 3] }, LayerShape { name: "fc.weight".into(), shape: vec![10, 8] }];
        let bytes = snapshot_of("custom-cnn", &layers).to_bytes(crate::snapshot::StoreDtype::F32);
        let mut user = UserSnapshot::open(&bytes, &device).unwrap();
        assert!(user.info().not_builtin.unwrap().contains("not a built-in network"));
        let accounted = user.account(&config).unwrap();
        let outcome = pollster::block_on(user.finish(&config, TestSets::default(), &device, &mut |_: usize, _: usize| {})).unwrap();
        assert_eq!(outcome.accuracy, None);
        assert_eq!(outcome.compressed.report, accounted.report);
        assert_eq!(crate::quant::codec::decode(&outcome.compressed.bytes).unwrap().net, "custom-cnn");
        // its first layer is a convolution: the map is of its 3x3 kernel offsets
        let map = outcome.pixel_map.unwrap();
        assert_eq!((map.grid, map.width, map.height, map.tensor.as_str()), (crate::pixel_map::Grid::Kernel, 3, 3, "conv.weight"));

        // a LeNet-300-100: evaluated on its test set, which must be loaded
        let bytes = snapshot_of("lenet300", &builtin_layers(Net::LeNet300, &device)).to_bytes(crate::snapshot::StoreDtype::F16);
        let user = UserSnapshot::open(&bytes, &device).unwrap();
        let info = user.info();
        assert!(info.builtin && info.dataset.as_deref() == Some("MNIST"), "{info:?}");
        let e = pollster::block_on(user.finish(&config, TestSets::default(), &device, &mut |_: usize, _: usize| {})).err().unwrap();
        assert_eq!(e, NnError::TestSetNotLoaded { dataset: "MNIST" });
        assert!(e.to_string().contains("MNIST test set is not loaded"), "{e}");
        let test = Dataset { n: 3, channels: 1, height: 28, width: 28, images: vec![0.0; 3 * 784], labels: vec![1, 2, 3] };
        let tests = TestSets { mnist: Some(&test), cifar10: None };
        let outcome = pollster::block_on(user.finish(&config, tests, &device, &mut |_: usize, _: usize| {})).unwrap();
        let accuracy = outcome.accuracy.unwrap();
        assert!((0.0..=100.0).contains(&accuracy));
        assert_eq!(outcome.pixel_map.map(|m| (m.width, m.height, m.values.len())), Some((28, 28, 784)));
    }
}
