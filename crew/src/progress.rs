//! `--bar`, `--eta`, `--progress`: a live status line on stderr, drawn with
//! indicatif when stderr is a terminal; otherwise GNU parallel's own text
//! ([`crate::gnustatus`]), as GNU writes it to a pipe or a file.
//!
//! Invariants: output writes are wrapped in [`Progress::suspend`] so the
//! bar never tears a job's output; GNU's text is written under the
//! emitter's lock, between whole outputs.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use crate::gnustatus::{Display, GnuStatus};
use crate::output::Emitter;

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
    gnu: Option<Arc<GnuStatus>>,
}

impl Progress {
    /// Shows the `wanted` displays; `total` is the number of jobs when
    /// known, `slots` crew's job slots.
    pub fn new(wanted: Wanted, total: Option<u64>, slots: usize) -> Progress {
        if !wanted.any() {
            return Progress::default();
        }
        if !std::io::stderr().is_terminal() {
            let display = if wanted.bar {
                Display::Bar
            } else if wanted.eta {
                Display::Eta
            } else {
                Display::Counts
            };
            let gnu = GnuStatus::new(display, slots);
            if let Some(total) = total {
                gnu.set_total(total);
            }
            return Progress {
                gnu: Some(Arc::new(gnu)),
                ..Progress::default()
            };
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
            gnu: None,
        }
    }

    /// GNU's text status, when stderr is not a terminal.
    pub fn gnu(&self) -> Option<&Arc<GnuStatus>> {
        self.gnu.as_ref()
    }

    /// Before the first job (GNU's table of computers).
    pub fn begin(&self, emitter: &Emitter) {
        if let Some(gnu) = &self.gnu {
            emitter.with_stderr(|err| gnu.begin(err));
        }
    }

    /// A job is about to start with these values (joined by spaces).
    pub fn started(&self, values: impl FnOnce() -> String) {
        if let Some(gnu) = &self.gnu {
            gnu.started(values());
        }
    }

    /// The number of jobs is known now (the input has ended).
    pub fn set_total(&self, total: u64) {
        if let Some(gnu) = &self.gnu {
            gnu.set_total(total);
        }
    }

    /// Whether a status line is drawn.
    pub fn is_shown(&self) -> bool {
        self.bar.is_some() || self.gnu.is_some()
    }

    /// Runs `f` with the status line hidden.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Updates the counts after a job finished (and its output is out).
    pub fn update(&self, emitter: &Emitter, done: u64, failed: u64, running: usize) {
        if let Some(gnu) = &self.gnu {
            emitter.with_stderr(|err| gnu.finished(err));
        }
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            if self.shows_counts {
                bar.set_message(format!("{running} running, {failed} failed"));
            } else if failed > 0 {
                bar.set_message(format!("{failed} failed"));
            }
        }
    }

    /// Removes the status line (GNU's text: its last status and a newline).
    pub fn finish(&self, emitter: &Emitter) {
        if let Some(gnu) = &self.gnu {
            emitter.with_stderr(|err| gnu.end(err));
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// How often GNU's text status is redrawn while jobs run (GNU's main loop
/// redraws it many times a second).
const TICK: Duration = Duration::from_millis(100);

/// Calls a redraw every [`TICK`] on its own thread until dropped (the drop
/// waits for the thread, so no redraw follows it).
pub struct Ticker {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    /// Starts calling `tick`.
    pub fn start(tick: impl Fn() + Send + 'static) -> Ticker {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("crew-status".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(TICK)
                {
                    tick();
                }
            })
            .ok();
        Ticker {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
