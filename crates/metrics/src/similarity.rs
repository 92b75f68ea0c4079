//! Cosine similarities of feature vectors: the in-batch similarity of the PG paper (spec ch6-9
//! §1.4, DINO features) and the RSD paper's diversity, 1 − the mean pairwise similarity (Eqs. 37–38).

/// ⟨a, b⟩/(‖a‖‖b‖).
pub fn cosine_similarity(a: &[f64], b: &[f64]) -> f64 {
    let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
    a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>() / (norm(a) * norm(b))
}

/// Mean cosine similarity over the ordered pairs i ≠ j of a batch's feature vectors (row-major,
/// `fdim` per vector, at least two vectors).
pub fn in_batch_similarity(features: &[f64], fdim: usize) -> f64 {
    let n = features.len() / fdim;
    let f = |i: usize| &features[i * fdim..(i + 1) * fdim];
    let mut s = 0.0;
    for i in 0..n {
        for j in (0..n).filter(|&j| j != i) {
            s += cosine_similarity(f(i), f(j));
        }
    }
    s / (n * (n - 1)) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_of_one_hot_batches_counts_same_mode_pairs() {
        // Modes 0, 0, 1, 2: one same-mode unordered pair of six.
        let f = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        assert!((in_batch_similarity(&f, 3) - 1.0 / 6.0).abs() < 1e-15);
    }

    #[test]
    fn cosine_of_scaled_and_orthogonal_vectors() {
        assert!((cosine_similarity(&[1.0, 2.0], &[3.0, 6.0]) - 1.0).abs() < 1e-15);
        assert_eq!(cosine_similarity(&[1.0, 0.0], &[0.0, 5.0]), 0.0);
        assert!((cosine_similarity(&[1.0, 1.0], &[-2.0, -2.0]) + 1.0).abs() < 1e-15);
    }
}
