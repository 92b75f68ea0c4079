//! Grids of generated images (grayscale, values in [−1, 1]), one labelled block per sampler or
//! model, drawn as PNG with plotters: the sample figures of the papers.

use anyhow::{anyhow, ensure, Result};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Blocks of same-sized grayscale images.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageGrid {
    /// Overall title.
    pub title: String,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Images per row inside a block.
    pub columns: usize,
    /// (label, row-major pixels of its images one after the other).
    pub blocks: Vec<(String, Vec<f64>)>,
}

/// Screen pixels per image side (8×8 digits become 48×48).
const TARGET_SIDE: usize = 48;
const GAP: usize = 2;
const LABEL_H: usize = 22;
const TITLE_H: usize = 30;
const BLOCKS_PER_ROW: usize = 3;

impl ImageGrid {
    fn scale(&self) -> usize {
        (TARGET_SIDE / self.height.max(self.width)).max(1)
    }

    /// (width, height) in screen pixels of one block.
    fn block_size(&self) -> Result<(usize, usize)> {
        let per = self.height * self.width;
        ensure!(
            per > 0 && self.columns > 0,
            "image grid: images of {}×{} in {} columns",
            self.height,
            self.width,
            self.columns
        );
        let most = self.blocks.iter().map(|(_, p)| p.len() / per).max().unwrap_or(0);
        let rows = most.div_ceil(self.columns);
        let s = self.scale();
        Ok((self.columns * (self.width * s + GAP) + GAP, LABEL_H + rows * (self.height * s + GAP) + GAP))
    }

    /// Renders the grid as PNG to `path`.
    pub fn render_png(&self, path: &Path) -> Result<()> {
        crate::render::ensure_font();
        let err = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
        let per = self.height * self.width;
        let (bw, bh) = self.block_size()?;
        for (label, pixels) in &self.blocks {
            ensure!(
                pixels.len().is_multiple_of(per),
                "image grid: block {label} has {} values, not whole {}×{} images",
                pixels.len(),
                self.height,
                self.width
            );
        }
        let block_rows = self.blocks.len().div_ceil(BLOCKS_PER_ROW).max(1);
        let across = self.blocks.len().clamp(1, BLOCKS_PER_ROW);
        let size = ((across * bw) as u32, (TITLE_H + block_rows * bh) as u32);
        let root = BitMapBackend::new(path, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        root.draw(&Text::new(self.title.clone(), (8, 6), ("sans-serif", 18).into_font()))
            .map_err(|e| err(&e))?;
        let s = self.scale();
        for (b, (label, pixels)) in self.blocks.iter().enumerate() {
            let (x0, y0) = ((b % BLOCKS_PER_ROW) * bw, TITLE_H + (b / BLOCKS_PER_ROW) * bh);
            root.draw(&Text::new(
                label.clone(),
                (x0 as i32 + GAP as i32, y0 as i32 + 2),
                ("sans-serif", 15).into_font(),
            ))
            .map_err(|e| err(&e))?;
            for (k, image) in pixels.chunks_exact(per).enumerate() {
                let ix = x0 + GAP + (k % self.columns) * (self.width * s + GAP);
                let iy = y0 + LABEL_H + (k / self.columns) * (self.height * s + GAP);
                for (p, v) in image.iter().enumerate() {
                    // [−1, 1] → black … white; out-of-range values are clipped as an image would be.
                    let g = (((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round()) as u8;
                    let (px, py) = ((ix + (p % self.width) * s) as i32, (iy + (p / self.width) * s) as i32);
                    root.draw(&Rectangle::new([(px, py), (px + s as i32, py + s as i32)], RGBColor(g, g, g).filled()))
                        .map_err(|e| err(&e))?;
                }
            }
        }
        root.present().map_err(|e| err(&e))?;
        Ok(())
    }
}

/// Writes `<stem>.png` atomically (temporary file, then rename).
pub fn write_image_grid(grid: &ImageGrid, stem: &Path) -> Result<PathBuf> {
    let dir = stem.parent().unwrap_or(Path::new("."));
    let name = stem
        .file_name()
        .and_then(|s| s.to_str())
        .ok_or_else(|| anyhow!("image grid path {} has no file name", stem.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| anyhow!("cannot create the figure folder {}: {e}", dir.display()))?;
    let png = dir.join(format!("{name}.png"));
    let tmp = dir.join(format!(".{name}.{}.tmp.png", std::process::id()));
    grid.render_png(&tmp)?;
    std::fs::rename(&tmp, &png)?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_blocks_of_images_at_their_gray_levels() {
        let grid = ImageGrid {
            title: "t".into(),
            height: 2,
            width: 2,
            columns: 2,
            blocks: vec![("black".into(), vec![-1.0; 8]), ("white".into(), vec![1.0; 4])],
        };
        let dir = tempfile::tempdir().unwrap();
        let png = write_image_grid(&grid, &dir.path().join("g")).unwrap();
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        // A bad block is refused with its name.
        let bad = ImageGrid {
            blocks: vec![("odd".into(), vec![0.0; 3])],
            ..grid
        };
        let err = write_image_grid(&bad, &dir.path().join("b")).unwrap_err().to_string();
        assert!(err.contains("odd"), "{err}");
    }
}
