//! Progress bars for long evaluations: shown on a terminal only, silent when stderr is
//! piped or redirected (logs and CI stay clean).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// When to show progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// Show a bar when stderr is a terminal and there is more than one step.
    #[default]
    Auto,
    /// Never show a bar.
    Never,
}

impl ProgressMode {
    /// Whether a run of `steps` steps shows a bar in this mode here and now.
    pub fn enabled(self, steps: u64) -> bool {
        match self {
            ProgressMode::Auto => steps > 1 && std::io::stderr().is_terminal(),
            ProgressMode::Never => false,
        }
    }
}

/// A progress bar that may be absent (then every call does nothing).
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar of `steps` steps labelled `msg`, if `mode` enables one.
    pub(crate) fn new(mode: ProgressMode, steps: u64, msg: &str) -> Progress {
        if !mode.enabled(steps) {
            return Progress { bar: None };
        }
        let bar = ProgressBar::new(steps);
        let style = ProgressStyle::with_template(
            "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} (eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(msg.to_string());
        Progress { bar: Some(bar) }
    }

    /// One step done.
    pub(crate) fn inc(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_and_single_steps_are_silent() {
        assert!(!ProgressMode::Never.enabled(100));
        assert!(!ProgressMode::Auto.enabled(1));
        let p = Progress::new(ProgressMode::Never, 10, "x");
        assert!(p.bar.is_none());
        p.inc();
    }
}
