//! Image-classification datasets. STUB: loaders to be implemented.

/// An in-memory classification dataset, pixels scaled to `[0, 1]` and flattened.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Short name (`mnist-10k`, `mnist`, `fashion-mnist`, `cifar10`).
    pub name: String,
    /// Number of input features per image (784 or 3072).
    pub n_features: usize,
    /// Number of classes (10).
    pub n_classes: usize,
    /// Training images, `n_train x n_features`, row-major (each image contiguous).
    pub train_images: Vec<f32>,
    /// Training labels in `0..n_classes`.
    pub train_labels: Vec<u8>,
    /// Test images, `n_test x n_features`, row-major.
    pub test_images: Vec<f32>,
    /// Test labels in `0..n_classes`.
    pub test_labels: Vec<u8>,
}

impl Dataset {
    /// Number of training images.
    pub fn n_train(&self) -> usize {
        self.train_labels.len()
    }

    /// Number of test images.
    pub fn n_test(&self) -> usize {
        self.test_labels.len()
    }
}
