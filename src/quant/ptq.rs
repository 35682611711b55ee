//! Post-training quantization: a width per cluster.

use super::cluster::{ClusterMethod, Clustering, cluster};

/// PTQ result: the width of every flat parameter and the clustering it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Ptq {
    /// Width per flat parameter (`widths[cluster]`).
    pub widths: Vec<u8>,
    /// The clustering (per-parameter cluster, thresholds, counts).
    pub clustering: Clustering,
}

/// Cluster the importances and give every parameter its cluster's width.
/// `widths[c]` is the width of cluster `c` (cluster 0 = least important).
///
/// # Panics
/// If `widths.len() != method.k()` (a checked [`crate::quant::settings::CheckedSettings`]
/// guarantees it).
pub fn ptq(importance: &[f32], method: &ClusterMethod, widths: &[u8]) -> Ptq {
    assert_eq!(widths.len(), method.k(), "one width per cluster");
    let clustering = cluster(importance, method);
    let widths = clustering
        .cluster
        .iter()
        .map(|&c| widths[c as usize])
        .collect();
    Ptq { widths, clustering }
}

/// The width of every flat parameter (see [`ptq`]).
pub fn ptq_widths(importance: &[f32], method: &ClusterMethod, widths: &[u8]) -> Vec<u8> {
    ptq(importance, method, widths).widths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_parameter_gets_its_clusters_width() {
        let imp = [0.4f32, 0.1, 0.9, 0.2, 0.7];
        let w = ptq_widths(&imp, &ClusterMethod::Quantile(vec![0.4, 0.8]), &[0, 4, 8]);
        // ascending: 0.1 0.2 | 0.4 0.7 | 0.9
        assert_eq!(w, vec![4, 0, 8, 0, 4]);
    }

    #[test]
    fn default_quantiles_give_half_pruned() {
        let imp: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let w = ptq_widths(
            &imp,
            &ClusterMethod::Quantile(vec![0.5, 0.8, 0.95]),
            &[0, 4, 6, 8],
        );
        let count = |b| w.iter().filter(|&&x| x == b).count();
        assert_eq!(
            (count(0), count(4), count(6), count(8)),
            (500, 300, 150, 50)
        );
    }

    #[test]
    #[should_panic(expected = "one width per cluster")]
    fn a_width_count_other_than_k_panics() {
        ptq_widths(&[1.0], &ClusterMethod::KMeans { k: 2 }, &[0, 4, 8]);
    }
}
