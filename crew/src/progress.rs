//! `--bar`, `--eta`, `--progress`: a live status line on stderr, drawn with
//! indicatif only when stderr is a terminal.
//!
//! Invariants: when stderr is not a terminal (a pipe, a file, CI logs),
//! nothing is drawn and every method is a no-op, so redirected stderr holds
//! only the jobs' own output. Output writes are wrapped in
//! [`Progress::suspend`] so the bar never tears a job's output.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Which progress displays the user asked for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Wanted {
    /// `--bar`: a bar with done/total and percent.
    pub bar: bool,
    /// `--eta`: the estimated time left.
    pub eta: bool,
    /// `--progress`: running/done/failed counts and rate.
    pub counts: bool,
}

impl Wanted {
    /// Whether any display was asked for.
    pub fn any(self) -> bool {
        self.bar || self.eta || self.counts
    }

    fn template(self, has_total: bool) -> String {
        let mut parts: Vec<&str> = Vec::new();
        if has_total {
            if self.bar {
                parts.push("[{bar:30}] {percent:>3}%");
            }
            parts.push("{pos}/{len} jobs");
            if self.eta {
                parts.push("ETA {eta}");
            }
        } else {
            parts.push("{spinner} {pos} jobs done");
            if self.eta {
                parts.push("(ETA unknown: the input is still being read)");
            }
        }
        if self.counts || !has_total {
            parts.push("{per_sec}");
        }
        parts.push("{msg}");
        parts.join("  ")
    }
}

/// The status line, or nothing.
#[derive(Clone, Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
    shows_counts: bool,
}

impl Progress {
    /// Shows the `wanted` displays if stderr is a terminal; `total` is the
    /// number of jobs when known.
    pub fn new(wanted: Wanted, total: Option<u64>) -> Progress {
        if !wanted.any() || !std::io::stderr().is_terminal() {
            return Progress::default();
        }
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let style = ProgressStyle::with_template(&wanted.template(total.is_some()))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(100));
        Progress {
            bar: Some(bar),
            shows_counts: wanted.counts,
        }
    }

    /// Whether a status line is drawn.
    pub fn is_shown(&self) -> bool {
        self.bar.is_some()
    }

    /// Runs `f` with the status line hidden.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Updates the counts after a job finished.
    pub fn update(&self, done: u64, failed: u64, running: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            if self.shows_counts {
                bar.set_message(format!("{running} running, {failed} failed"));
            } else if failed > 0 {
                bar.set_message(format!("{failed} failed"));
            }
        }
    }

    /// Removes the status line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
