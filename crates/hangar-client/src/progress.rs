//! Progress bars on a terminal, nothing otherwise (scripts, `--format json`, `--quiet`).

use indicatif::{ProgressBar, ProgressStyle};

#[derive(Clone)]
pub struct Progress(Option<ProgressBar>);

impl Progress {
    pub fn bytes(enabled: bool, total: u64, what: &str) -> Progress {
        Progress::new(enabled, total, what, "{msg:>11} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
    }

    pub fn count(enabled: bool, total: u64, what: &str) -> Progress {
        Progress::new(enabled, total, what, "{msg:>11} [{bar:30}] {pos}/{len} files")
    }

    fn new(enabled: bool, total: u64, what: &str, template: &str) -> Progress {
        if !enabled {
            return Progress(None);
        }
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        Progress(Some(bar))
    }

    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.0 {
            b.inc(n);
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}
