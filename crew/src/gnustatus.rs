//! `--bar`, `--eta` and `--progress` when stderr is not a terminal: GNU
//! parallel's own status text, byte for byte, so that logs and pipes hold
//! what GNU would have written there.
//!
//! Protocol (GNU 20221122's, driven by crew's events):
//! - [`GnuStatus::begin`] before the first job: `--eta`/`--progress` print
//!   the "Computers / CPU cores / Max jobs to run" table; `--bar` nothing.
//! - [`GnuStatus::tick`] about ten times a second while jobs run (GNU's
//!   main loop): the column header when it changed, then `\r` and the
//!   status, with no newline (a job's output may follow on that line).
//! - [`GnuStatus::finished`] after each job's output: `\r` and the status.
//! - [`GnuStatus::end`]: `\r`, the status and a newline.
//!
//! Every status first asks the terminal for its size once per new second
//! of the clock, as GNU does, by the same shell commands (`tput`, `stty`,
//! `resize` on `/dev/tty`): their complaints, when there is no terminal,
//! are part of what GNU prints. All writes and those commands happen under
//! the emitter's lock, so job output never lands inside a status.

use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Which display GNU draws (`--bar` wins over `--eta`, which includes the
/// `--progress` counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    Bar,
    Eta,
    Counts,
}

/// GNU's status text and the numbers behind it.
pub struct GnuStatus {
    display: Display,
    cpus: usize,
    slots: usize,
    /// GNU's `$^T`: the whole second crew started in.
    started_at: i64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    started: u64,
    running: u64,
    completed: u64,
    /// The number of jobs, when known (else the jobs seen so far).
    total: Option<u64>,
    /// The newest job's values, joined by spaces (`--bar` shows them).
    newest: String,
    /// The second of the last terminal-size probe (0: none yet).
    probed_at: i64,
    columns: usize,
    last_header: String,
    /// `compute_eta`'s memory.
    first_completed: i64,
    smoothed: f64,
    last_eta: i64,
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Runs one of GNU's probes like Perl's `qx{}` (`sh -c`, argv0 `sh`):
/// stdout captured, stderr crew's own.
fn probe(script: &str) -> String {
    Command::new("/bin/sh")
        .arg0("sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// The number after `word` (`columns 80`, `80 columns`, `columns = 80`).
fn number_near(text: &str, word: &str) -> Option<usize> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ';' || c == '=')
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().enumerate().find_map(|(i, w)| {
        (*w == word)
            .then(|| words.get(i + 1).and_then(|n| n.parse().ok()))
            .flatten()
    })
}

/// GNU's terminal width: `tput`, then `stty -a`, then `resize`, else 80.
fn terminal_columns() -> usize {
    let tput = probe("tput lines cols </dev/tty 2>/dev/null && true");
    let mut lines = tput.lines().map(|l| l.trim().parse::<usize>().unwrap_or(0));
    let (rows, columns) = (lines.next().unwrap_or(0), lines.next().unwrap_or(0));
    if rows > 0 && columns > 0 {
        return columns;
    }
    let stty = probe("stty -a </dev/tty 2>/dev/null && true");
    let (rows, columns) = (
        number_near(&stty, "rows").unwrap_or(0),
        number_near(&stty, "columns").unwrap_or(0),
    );
    if rows > 0 && columns > 0 {
        return columns;
    }
    let resize = probe("resize 2>/dev/null && true");
    let columns = resize
        .split("COLUMNS=")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(columns);
    if columns > 0 {
        columns
    } else {
        80
    }
}

/// Perl's default rendering of a number (`%.15g`).
fn perl_number(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (14 - magnitude).max(0) as usize;
    let text = format!("{x:.decimals$}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// GNU's `seconds_to_time_units`: `5s`, `2m05s`, `1h02m05s`, `1d01h02m05s`.
fn time_units(seconds: i64) -> String {
    let (d, rest) = (seconds / 86400, seconds % 86400);
    let (h, rest) = (rest / 3600, rest % 3600);
    let (m, s) = (rest / 60, rest % 60);
    if d > 0 {
        format!("{d}d{h:02}h{m:02}m{s:02}s")
    } else if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// The first `width` characters of `text`, padded with spaces to `width`.
fn fit(text: &str, width: usize) -> String {
    let mut out: String = text.chars().take(width).collect();
    let len = out.chars().count();
    out.extend(std::iter::repeat_n(' ', width - len));
    out
}

/// GNU's `compute_eta`: (total, completed, left, share done, average, eta).
struct Eta {
    completed: u64,
    left: u64,
    share: f64,
    average: f64,
    eta: i64,
}

impl GnuStatus {
    /// The status for `display`; `slots` is crew's job slots.
    pub fn new(display: Display, slots: usize) -> GnuStatus {
        GnuStatus {
            display,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            slots,
            started_at: now_seconds(),
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The number of jobs is now known.
    pub fn set_total(&self, total: u64) {
        self.lock().total = Some(total);
    }

    /// A job started with these values.
    pub fn started(&self, values: String) {
        let mut state = self.lock();
        state.started += 1;
        state.running += 1;
        state.newest = values;
    }

    /// Whether a job is running (GNU's main loop prints only then).
    pub fn is_running(&self) -> bool {
        self.lock().running > 0
    }

    /// Before the first job.
    pub fn begin(&self, out: &mut File) {
        if self.display == Display::Bar {
            return;
        }
        let mut state = self.lock();
        let _ = self.status(&mut state);
        let text = format!(
            "\nComputers / CPU cores / Max jobs to run\n1:local / {} / {}\n",
            self.cpus, self.slots
        );
        let _ = out.write_all(text.as_bytes());
    }

    /// GNU's main loop, while jobs run.
    pub fn tick(&self, out: &mut File) {
        let mut state = self.lock();
        if state.running == 0 {
            return;
        }
        let (header, status) = self.status(&mut state);
        let mut text = String::new();
        if header != state.last_header {
            text = format!("\n{header}\n");
            state.last_header = header;
        }
        text.push('\r');
        text.push_str(&status);
        let _ = out.write_all(text.as_bytes());
    }

    /// After a job's output.
    pub fn finished(&self, out: &mut File) {
        let mut state = self.lock();
        state.running = state.running.saturating_sub(1);
        state.completed += 1;
        let (_, status) = self.status(&mut state);
        let _ = out.write_all(format!("\r{status}").as_bytes());
    }

    /// After the last job.
    pub fn end(&self, out: &mut File) {
        let mut state = self.lock();
        let (_, status) = self.status(&mut state);
        let _ = out.write_all(format!("\r{status}\n").as_bytes());
    }

    /// The terminal's width, asked again once per new second.
    fn columns(&self, state: &mut State) -> usize {
        let now = now_seconds();
        if state.probed_at < now {
            state.probed_at = now;
            state.columns = terminal_columns();
        }
        state.columns
    }

    fn eta(state: &mut State) -> Eta {
        let completed = state.completed;
        let total = state.total.unwrap_or(state.started).max(completed);
        let left = total - completed;
        if completed == 0 {
            return Eta {
                completed,
                left,
                share: 0.0,
                average: 0.0,
                eta: 0,
            };
        }
        let share = (completed as f64 / total as f64).min(100.0);
        if state.first_completed == 0 {
            state.first_completed = now_seconds();
        }
        let average = (now_seconds() - state.first_completed) as f64 / completed as f64;
        if state.smoothed == 0.0 {
            state.smoothed = average;
        }
        state.smoothed = (1.0 - share) * state.smoothed + share * average;
        let mut eta = (left as f64 * state.smoothed) as i64;
        if (eta as f64) * 0.90 < state.last_eta as f64 && state.last_eta < eta {
            // Up by less than 10 %: GNU keeps the last ETA.
            eta = state.last_eta;
        } else {
            state.last_eta = eta;
        }
        Eta {
            completed,
            left,
            share,
            average,
            eta,
        }
    }

    /// GNU's `progress()`: the header and the status line.
    fn status(&self, state: &mut State) -> (String, String) {
        if self.display == Display::Bar {
            return (String::new(), self.bar(state));
        }
        let prefix = if self.display == Display::Eta {
            let eta = Self::eta(state);
            format!(
                "ETA: {}s Left: {} AVG: {:.2}s  ",
                eta.eta, eta.left, eta.average
            )
        } else {
            String::new()
        };
        let columns = self.columns(state);
        let (running, completed, started) = (state.running, state.completed, state.started);
        let share = |r: u64| (r + completed) * 100 / started.max(1);
        let seconds = if completed > 0 {
            (now_seconds() - self.started_at) as f64 / completed as f64
        } else {
            0.0
        };
        let when_started = |text: String| if started > 0 { text } else { "0".into() };
        let long =
            "Computer:jobs running/jobs completed/%of started jobs/Average seconds to complete";
        let mid = "Computer:jobs running/jobs completed/%of started jobs";
        let short = "Computer:jobs running/jobs completed";
        let least = "Computer:jobs completed";
        let formats: [(&str, String); 9] = [
            (
                long,
                when_started(format!(
                    "local:{running}/{completed}/{}%/{seconds:.1}s ",
                    share(running)
                )),
            ),
            (
                mid,
                when_started(format!(
                    "1:{running}/{completed}/{}%/{seconds:.1}s ",
                    share(running)
                )),
            ),
            (
                mid,
                when_started(format!("local:{running}/{completed}/{}%", share(running))),
            ),
            (
                mid,
                when_started(format!("1:{running}/{completed}/{}%", share(running))),
            ),
            (short, format!("local:{running}/{completed}")),
            (short, format!("local:{running}/{completed}")),
            (short, format!("1:{running}/{completed}")),
            (least, format!("local:{completed}")),
            (least, format!("1:{completed}")),
        ];
        let mut chosen = (String::new(), String::new());
        for (header, body) in formats {
            chosen = (header.to_string(), format!("{prefix}{body}"));
            if chosen.1.chars().count() <= columns {
                break;
            }
        }
        chosen
    }

    /// GNU's `bar()`.
    fn bar(&self, state: &mut State) -> String {
        let eta = Self::eta(state);
        let values = state.newest.clone();
        let text = format!(
            "{}% {}:{}={} {}",
            (eta.share * 100.0) as i64,
            eta.completed,
            eta.left,
            time_units(eta.eta),
            values
        );
        let width = self.columns(state);
        let mut line = fit(&text, width);
        let filled = (width as f64 * eta.share) as usize;
        let at = line
            .char_indices()
            .nth(filled)
            .map_or(line.len(), |(i, _)| i);
        line.insert_str(at, "\x1b[0m");
        let zenity = fit(&format!("#   {} sec {values}", eta.eta), width);
        format!(
            "\r{zenity}\r{}\r\x1b[7m{line}\x1b[0m",
            perl_number(eta.share * 100.0)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_perl_prints_them() {
        assert_eq!(perl_number(0.0), "0");
        assert_eq!(perl_number(50.0), "50");
        assert_eq!(perl_number(100.0 / 3.0), "33.3333333333333");
        assert_eq!(perl_number(12.5), "12.5");
    }

    #[test]
    fn durations_use_gnus_units() {
        assert_eq!(time_units(5), "5s");
        assert_eq!(time_units(125), "2m05s");
        assert_eq!(time_units(3725), "1h02m05s");
        assert_eq!(time_units(90125), "1d01h02m05s");
    }

    #[test]
    fn stty_sizes_are_found_in_each_spelling() {
        assert_eq!(
            number_near("speed 38400 baud; rows 24; columns 80;", "columns"),
            Some(80)
        );
        assert_eq!(number_near("columns = 132;", "columns"), Some(132));
        assert_eq!(number_near("nothing here", "rows"), None);
    }
}
