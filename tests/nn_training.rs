//! Native tests of the burn layer on burn's CPU backend: parameter counts, the loss falls,
//! accumulated importances are non-negative and only grow, frozen weights stay fixed.
#![cfg(feature = "cpu")]

use agq::data::{Dataset, mnist};
use agq::choices::Net;
use agq::nn::models::Model;
use agq::nn::params::{param_infos, read_params};
use agq::choices::{ItqMode, LrSchedule, Optimizer};
use agq::nn::train::{TrainSettings, Trainer};
use agq::quant::settings::ItqSettings;
use burn::tensor::Device;

fn mnist_test_set() -> Dataset {
    let images = std::fs::read("www/data/mnist/t10k-images-idx3-ubyte.gz").expect("committed MNIST");
    let labels = std::fs::read("www/data/mnist/t10k-labels-idx1-ubyte.gz").expect("committed MNIST");
    mnist::load(&images, &labels).expect("MNIST parses")
}

fn settings(net: Net, itq: Option<ItqSettings>) -> TrainSettings {
    let itq = itq.map(|i| i.check().expect("valid ITQ settings"));
    TrainSettings { net, batch: 64, lr: 0.01, lr_schedule: LrSchedule::Constant, epochs: 1, optimizer: Optimizer::Sgd, momentum: 0.9, seed: 7, weight_decay: 0.0, itq }
}

fn param_count(kind: Net) -> usize {
    param_infos(&Model::new(kind, &Device::flex())).iter().map(|i| i.len()).sum()
}

#[test]
fn lenet300_has_266610_parameters() {
    assert_eq!(param_count(Net::LeNet300), 266_610);
}

#[test]
fn lenet5_has_431080_parameters() {
    assert_eq!(param_count(Net::LeNet5), 431_080);
}

#[test]
fn parameters_are_read_output_major_with_their_names() {
    let infos = param_infos(&Model::new(Net::LeNet5, &Device::flex()));
    let names: Vec<(&str, Vec<usize>)> = infos.iter().map(|i| (i.name.as_str(), i.shape.clone())).collect();
    assert_eq!(names, vec![
        ("conv1.weight", vec![20, 1, 5, 5]), ("conv1.bias", vec![20]),
        ("conv2.weight", vec![50, 20, 5, 5]), ("conv2.bias", vec![50]),
        ("fc1.weight", vec![500, 800]), ("fc1.bias", vec![500]),
        ("fc2.weight", vec![10, 500]), ("fc2.bias", vec![10]),
    ]);
}

#[test]
fn the_loss_falls_on_2000_mnist_images() {
    let mut data = mnist_test_set();
    data.truncate(2000);
    let mut trainer = Trainer::new(settings(Net::LeNet300, None), data, &Device::flex());
    trainer.train_steps(usize::MAX);
    let first = pollster::block_on(trainer.take_losses()).unwrap();
    pollster::block_on(trainer.end_epoch()).unwrap();
    trainer.train_steps(usize::MAX);
    let second = pollster::block_on(trainer.take_losses()).unwrap();
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    assert_eq!(first.len(), 32);
    assert!(mean(&first[..8]) > 1.5, "starts near ln(10): {first:?}");
    assert!(mean(&second) < 0.5 * mean(&first[..8]), "{} -> {}", mean(&first[..8]), mean(&second));
}

#[test]
fn accumulated_importances_are_non_negative_and_only_grow() {
    let mut data = mnist_test_set();
    data.truncate(640);
    let mut trainer = Trainer::new(settings(Net::LeNet5, None), data, &Device::flex());
    let mut previous: Option<Vec<f32>> = None;
    for _ in 0..3 {
        trainer.train_steps(2);
        let params = pollster::block_on(trainer.snapshot()).unwrap();
        let now: Vec<f32> = params.iter().flat_map(|p| p.importance.clone()).collect();
        assert!(now.iter().all(|g| *g >= 0.0 && g.is_finite()));
        if let Some(before) = &previous {
            assert!(now.iter().zip(before).all(|(a, b)| a >= b), "an importance decreased");
            assert!(now.iter().zip(before).any(|(a, b)| a > b), "no importance grew");
        }
        previous = Some(now);
    }
}

#[test]
fn frozen_weights_stay_bit_identical_through_training() {
    let mut data = mnist_test_set();
    data.truncate(1280);
    let itq = ItqSettings { split: 0.9, warmup: 0, schedule: vec![4], mode: ItqMode::Freeze };
    let mut trainer = Trainer::new(settings(Net::LeNet300, Some(itq)), data, &Device::flex());
    trainer.train_steps(usize::MAX);
    assert!(pollster::block_on(trainer.end_epoch()).unwrap(), "the ITQ step ran");
    let frozen_at = pollster::block_on(read_params(trainer.model())).unwrap();
    let widths: Vec<Vec<u8>> = trainer.widths().to_vec();
    let low: usize = widths.iter().flatten().filter(|w| **w == 4).count();
    assert_eq!(low, (0.9f64 * 266_610.0).ceil() as usize);
    trainer.train_steps(10);
    let later = pollster::block_on(read_params(trainer.model())).unwrap();
    let mut moved_float = 0;
    for ((before, after), w) in frozen_at.iter().zip(&later).zip(&widths) {
        for ((b, a), width) in before.iter().zip(after).zip(w) {
            if *width < 32 {
                assert_eq!(b.to_bits(), a.to_bits(), "a frozen weight changed");
            } else if b != a {
                moved_float += 1;
            }
        }
    }
    assert!(moved_float > 1000, "float weights keep training ({moved_float} moved)");
}

#[test]
fn projected_weights_stay_on_their_grid() {
    let mut data = mnist_test_set();
    data.truncate(640);
    let itq = ItqSettings { split: 0.9, warmup: 0, schedule: vec![4], mode: ItqMode::Project };
    let mut trainer = Trainer::new(settings(Net::LeNet300, Some(itq)), data, &Device::flex());
    trainer.train_steps(usize::MAX);
    pollster::block_on(trainer.end_epoch()).unwrap();
    trainer.train_steps(5);
    let params = pollster::block_on(trainer.snapshot()).unwrap();
    for p in &params {
        let widths = p.width.as_ref().unwrap();
        let values: std::collections::BTreeSet<u32> =
            p.weight.iter().zip(widths).filter(|(_, w)| **w == 4).map(|(v, _)| v.to_bits()).collect();
        assert!(values.len() <= 16, "{}: {} distinct 4-bit values", p.name, values.len());
    }
}

#[test]
fn alexnet_has_2472266_parameters() {
    assert_eq!(param_count(Net::AlexNet), 2_472_266);
}

#[test]
fn vgg16_without_batch_norm_has_14719818_parameters() {
    assert_eq!(param_count(Net::Vgg16), 14_719_818);
}

#[test]
fn cifar_networks_map_a_batch_of_two_images_to_ten_logits() {
    let device = Device::flex();
    for kind in [Net::AlexNet, Net::Vgg16] {
        assert_eq!(kind.input_shape(), [3, 32, 32]);
        assert_eq!(kind.as_str().parse::<Net>().ok(), Some(kind));
        let model = Model::new(kind, &device);
        let images = burn::tensor::Tensor::<4>::random([2, 3, 32, 32], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let logits = model.forward(images);
        assert_eq!(logits.dims(), [2, 10], "{}", kind.as_str());
        let values = logits.into_data().try_into_vec::<f32>().unwrap();
        assert!(values.iter().all(|v| v.is_finite()), "{}: {values:?}", kind.as_str());
    }
}

#[test]
fn cifar_network_names_are_framework_style_and_output_major() {
    let infos = param_infos(&Model::new(Net::AlexNet, &Device::flex()));
    let names: Vec<(&str, Vec<usize>)> = infos.iter().map(|i| (i.name.as_str(), i.shape.clone())).collect();
    assert_eq!(names[0], ("features.0.weight", vec![64, 3, 11, 11]));
    assert_eq!(names[9], ("features.4.bias", vec![256]));
    assert_eq!(names[10], ("classifier.weight", vec![10, 256]));
    let vgg = param_infos(&Model::new(Net::Vgg16, &Device::flex()));
    assert_eq!(vgg.len(), 28);
    assert_eq!((vgg[24].name.as_str(), vgg[24].shape.clone()), ("features.12.weight", vec![512, 512, 3, 3]));
}

#[test]
fn a_session_refuses_data_of_the_wrong_shape() {
    let mut data = mnist_test_set();
    data.truncate(200);
    let config = agq::config::RunConfig { net: agq::config::Net::AlexNet, ..Default::default() };
    let err = agq::nn::session::Session::start(&config, data.clone(), data, &Device::flex()).err().expect("refused");
    assert_eq!(err, agq::nn::NnError::DataShape { net: agq::config::Net::AlexNet, data: [1, 28, 28] });
    assert_eq!(err.field(), Some("net"));
    assert!(err.to_string().contains("CIFAR-10") && err.to_string().contains("gradient snapshot"), "{err}");
}

#[test]
fn the_epoch_driver_trains_in_pieces_ends_each_epoch_and_then_finishes() {
    use agq::nn::session::{Advance, Session};
    let mut data = mnist_test_set();
    data.truncate(300);
    let config = agq::config::RunConfig { net: Net::LeNet300, epochs: 2, batch: 64, train_size: 150, ..Default::default() };
    let mut session = Session::start(&config, data.clone(), data, &Device::flex()).expect("starts");
    let next = |session: &mut Session, k| pollster::block_on(session.advance(k, &mut |_: usize, _: usize| {})).expect("advances");
    // 150 images in batches of 64: 3 steps per epoch, never more than asked nor past the end
    let Advance::Trained(t) = next(&mut session, 2) else { panic!("steps first") };
    assert_eq!((t.steps, t.first_step, t.done_in_epoch, t.steps_per_epoch, t.losses.len()), (2, 0, 2, 3, 2));
    let Advance::Trained(t) = next(&mut session, 10) else { panic!("the epoch's last step") };
    assert_eq!((t.steps, t.first_step, t.done_in_epoch), (1, 2, 3));
    assert!(t.losses.iter().all(|l| l.is_finite() && *l > 0.0));
    let Advance::EpochEnded(info) = next(&mut session, 10) else { panic!("then the epoch's end") };
    assert_eq!(info.epoch, 1);
    assert!((0.0..=100.0).contains(&info.accuracy) && info.ratio > 0.0);
    // run_epoch is the same driver: the second epoch whole, then nothing
    let mut chunks = Vec::new();
    let (info, losses) = pollster::block_on(session.run_epoch(1, &mut |t| chunks.push((t.first_step, t.done_in_epoch)), &mut |_: usize, _: usize| {}))
        .expect("runs")
        .expect("one epoch left");
    assert_eq!((info.epoch, losses.len()), (2, 3));
    assert_eq!(chunks, [(3, 1), (4, 2), (5, 3)]);
    assert!(session.finished());
    assert!(matches!(next(&mut session, 1), Advance::Finished));
    assert!(pollster::block_on(session.run_epoch(1, &mut |_| {}, &mut |_: usize, _: usize| {})).expect("runs").is_none());
}

#[test]
fn a_cosine_schedule_decays_the_learning_rate_from_lr_to_zero_over_the_run() {
    let mut data = mnist_test_set();
    data.truncate(256); // 4 steps an epoch at batch 64
    let cosine = TrainSettings { lr_schedule: LrSchedule::Cosine, epochs: 2, ..settings(Net::LeNet300, None) };
    let mut trainer = Trainer::new(cosine, data.clone(), &Device::flex());
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(trainer.lr_now(), 0.01));
    trainer.train_steps(2); // a quarter of the run's 8 steps
    assert!(close(trainer.lr_now(), 0.005 * (1.0 + std::f64::consts::FRAC_1_SQRT_2)));
    trainer.train_steps(usize::MAX);
    pollster::block_on(trainer.end_epoch()).unwrap();
    assert!(close(trainer.lr_now(), 0.005)); // half way
    trainer.train_steps(usize::MAX);
    assert!(close(trainer.lr_now(), 0.0));
    let mut constant = Trainer::new(settings(Net::LeNet300, None), data, &Device::flex());
    constant.train_steps(3);
    assert!(close(constant.lr_now(), 0.01));
}
