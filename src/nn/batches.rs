//! Seeded mini-batches over an in-memory data set.

use crate::data::Dataset;
use crate::rng::SplitMix64;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Walks a data set in a seeded random order, one epoch after another.
pub struct Batches {
    data: Dataset,
    order: Vec<usize>,
    cursor: usize,
    rng: SplitMix64,
    batch: usize,
}

impl Batches {
    /// `batch` images per step; the order is reshuffled at every epoch from `seed`.
    pub fn new(data: Dataset, batch: usize, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let mut order: Vec<usize> = (0..data.n).collect();
        rng.shuffle(&mut order);
        Self { data, order, cursor: 0, rng, batch: batch.max(1) }
    }

    /// Steps in one epoch (the last batch may be smaller).
    pub fn steps_per_epoch(&self) -> usize {
        self.data.n.div_ceil(self.batch)
    }

    /// Whether the current epoch has no batch left.
    pub fn epoch_done(&self) -> bool {
        self.cursor >= self.order.len()
    }

    /// Starts the next epoch with a fresh order.
    pub fn next_epoch(&mut self) {
        self.rng.shuffle(&mut self.order);
        self.cursor = 0;
    }

    /// The next batch: images `[b, c, h, w]` and labels `[b]`; `None` at the epoch's end.
    pub fn next_batch(&mut self, device: &Device) -> Option<(Tensor<4>, Tensor<1, Int>)> {
        if self.epoch_done() {
            return None;
        }
        let end = (self.cursor + self.batch).min(self.order.len());
        let picked = &self.order[self.cursor..end];
        self.cursor = end;
        Some(gather(&self.data, picked, device))
    }
}

/// Images and labels of `indices` as device tensors.
pub fn gather(data: &Dataset, indices: &[usize], device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let len = data.image_len();
    let mut pixels = Vec::with_capacity(indices.len() * len);
    let mut labels = Vec::with_capacity(indices.len());
    for &i in indices {
        pixels.extend_from_slice(data.image(i));
        labels.push(i64::from(data.labels[i]));
    }
    let b = indices.len();
    let images = Tensor::from_data(
        TensorData::new(pixels, [b, data.channels, data.height, data.width]),
        device,
    );
    let labels = Tensor::from_data(TensorData::new(labels, [b]), device);
    (images, labels)
}
