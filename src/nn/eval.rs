//! Top-1 accuracy of a network on a labelled data set, counted on the device and read
//! back once.

use super::batches::gather;
use super::error::NnError;
use super::models::Model;
use super::params::param_tensors;
use crate::data::Dataset;
use burn::module::Module;
use burn::tensor::{Int, Tensor};
use std::future::Future;
use std::pin::Pin;

/// What a long evaluation reports to its host and asks it between batches. Any
/// `FnMut(done, total)` closure is one that only reports and always goes on.
pub trait Progress {
    /// `done` of `total` images evaluated.
    fn report(&mut self, done: usize, total: usize);

    /// Between two batches: lets the host run (the page's worker answers its messages) and
    /// says whether to go on; an `Err` (e.g. [`NnError::Stopped`]) ends the evaluation with it.
    fn pause(&mut self) -> Pin<Box<dyn Future<Output = Result<(), NnError>> + '_>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

impl<F: FnMut(usize, usize)> Progress for F {
    fn report(&mut self, done: usize, total: usize) {
        self(done, total)
    }
}

/// Evaluates all of `evaluation`, `batches` batches at a time, reporting to `progress` and
/// pausing between chunks; the top-1 accuracy in percent.
pub async fn run_paced(mut evaluation: Evaluation<'_>, batches: usize, progress: &mut dyn Progress) -> Result<f64, NnError> {
    while !evaluation.advance(batches) {
        let (done, total) = evaluation.progress();
        progress.report(done, total);
        progress.pause().await?;
    }
    let (done, total) = evaluation.progress();
    progress.report(done, total);
    evaluation.finish().await
}

/// Counts correct predictions batch by batch; read the result with [`Evaluation::finish`].
pub struct Evaluation<'a> {
    model: Model,
    data: &'a Dataset,
    batch: usize,
    cursor: usize,
    correct: Option<Tensor<1, Int>>,
}

impl<'a> Evaluation<'a> {
    /// Evaluates `model` (its inference copy, without autodiff) on `data`, `batch` images at a time.
    pub fn new(model: &Model, data: &'a Dataset, batch: usize) -> Self {
        Self { model: model.valid(), data, batch: batch.max(1), cursor: 0, correct: None }
    }

    /// Images evaluated so far and in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.cursor, self.data.n)
    }

    /// Evaluates up to `max_batches` more batches (no read-back); returns whether all are done.
    pub fn advance(&mut self, max_batches: usize) -> bool {
        let Some(first) = param_tensors(&self.model).into_iter().next() else {
            return true;
        };
        let device = first.device();
        for _ in 0..max_batches {
            if self.cursor >= self.data.n {
                break;
            }
            let end = (self.cursor + self.batch).min(self.data.n);
            let indices: Vec<usize> = (self.cursor..end).collect();
            self.cursor = end;
            let (images, labels) = gather(self.data, &indices, &device);
            let predicted = self.model.forward(images).argmax(1).squeeze_dim::<1>(1);
            let hits = predicted.equal(labels).int().sum();
            self.correct = Some(match self.correct.take() {
                Some(c) => c + hits,
                None => hits,
            });
        }
        self.cursor >= self.data.n
    }

    /// Finishes the remaining batches and returns the top-1 accuracy in percent.
    pub async fn finish(mut self) -> Result<f64, NnError> {
        while !self.advance(16) {}
        let Some(correct) = self.correct else {
            return Err(NnError::EmptyDataset);
        };
        let data = correct.into_data_async().await.map_err(|e| NnError::ReadBack(format!("{e:?}")))?;
        let count = data.try_into_vec_as::<i64>().map_err(|e| NnError::ReadBack(format!("{e:?}")))?[0];
        Ok(100.0 * count as f64 / self.data.n as f64)
    }
}

/// Top-1 accuracy of `model` on `data`, in percent.
pub async fn accuracy(model: &Model, data: &Dataset, batch: usize) -> Result<f64, NnError> {
    Evaluation::new(model, data, batch).finish().await
}
