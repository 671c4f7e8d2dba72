//! Parsing of the small value languages options use: durations, sizes, job
//! counts, halt rules, retries, `--trim` sides and backslash escapes.
//!
//! Every parser takes the option name so its error says which option was
//! wrong and shows a correct example; none of them panics on any input.

use std::time::Duration;

use crate::error::CrewError;

/// Parses a duration: a bare number is seconds (`0.2`), units `ms`, `s`, `m`,
/// `h`, `d` may be combined (`1m30s`, `250ms`).
pub fn parse_duration(option: &str, text: &str) -> Result<Duration, CrewError> {
    let bad = || {
        CrewError::usage(format!(
            "{option} expects a duration like 0.5, 250ms, 2s or 1m30s, got `{text}`"
        ))
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..number_len].parse().map_err(|_| bad())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "" | "s" => 1.0,
            "ms" => 0.001,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += number * seconds_per_unit;
    }
    if !total.is_finite() || total > 1e9 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(total))
}

/// Parses a size in bytes: `512`, `64k` (×1000), `64K` (×1024), likewise
/// `m/M`, `g/G`, `t/T`; a trailing `b`/`B` is allowed (`1Mb`).
pub fn parse_size(option: &str, text: &str) -> Result<u64, CrewError> {
    let bad = || {
        CrewError::usage(format!(
            "{option} expects a size like 4096, 64k, 10M or 2G, got `{text}`"
        ))
    };
    let trimmed = text.trim();
    let trimmed = trimmed
        .strip_suffix(['b', 'B'])
        .filter(|t| t.ends_with(|c: char| c.is_ascii_alphabetic()))
        .unwrap_or(trimmed);
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let number: f64 = trimmed[..split].parse().map_err(|_| bad())?;
    let factor: f64 = match &trimmed[split..] {
        "" => 1.0,
        "k" => 1e3,
        "K" => 1024.0,
        "m" => 1e6,
        "M" => 1024.0 * 1024.0,
        "g" => 1e9,
        "G" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1e12,
        "T" => 1024f64.powi(4),
        _ => return Err(bad()),
    };
    let bytes = number * factor;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as u64)
}

/// How many jobs run at once, as `-j` gives it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum JobCount {
    /// Exactly this many (`-j 8`).
    Exactly(usize),
    /// As many as the machine allows (`-j 0`).
    AsManyAsPossible,
    /// This percentage of the cores (`-j 200%`).
    PercentOfCores(f64),
    /// Cores plus (or minus) this many (`-j +2`, `-j -1`).
    CoresPlus(isize),
}

impl JobCount {
    /// The number of job slots on a machine with `cores` cores, where
    /// `as_many_as_possible` is what the machine's limits allow. Never 0.
    pub fn resolve(self, cores: usize, as_many_as_possible: usize) -> usize {
        let slots = match self {
            JobCount::Exactly(n) => n,
            JobCount::AsManyAsPossible => as_many_as_possible,
            JobCount::PercentOfCores(percent) => (cores as f64 * percent / 100.0).round() as usize,
            JobCount::CoresPlus(delta) => (cores as isize + delta).max(1) as usize,
        };
        slots.max(1)
    }
}

/// Parses a count with GNU's unit suffixes (`1k` = 1000, `1K` = 1024).
pub fn parse_count(option: &str, text: &str) -> Result<usize, CrewError> {
    let value = parse_size(option, text).map_err(|_| {
        CrewError::usage(format!(
            "{option} expects a count like 0, 5 or 1k, got `{text}`"
        ))
    })?;
    usize::try_from(value).map_err(|_| CrewError::usage(format!("{option}: `{text}` is too large")))
}

/// Parses `-j`: `N`, `0`, `N%`, `+N` or `-N`.
pub fn parse_jobs(text: &str) -> Result<JobCount, CrewError> {
    let bad = || {
        CrewError::usage(format!(
            "-j expects a job count like 4, 0 (as many as possible), 200% (of cores), +1 or -1, got `{text}`"
        ))
    };
    let text = text.trim();
    if let Some(percent) = text.strip_suffix('%') {
        let percent: f64 = percent.parse().map_err(|_| bad())?;
        if !(percent > 0.0 && percent.is_finite()) {
            return Err(bad());
        }
        return Ok(JobCount::PercentOfCores(percent));
    }
    if let Some(delta) = text.strip_prefix('+') {
        return Ok(JobCount::CoresPlus(delta.parse().map_err(|_| bad())?));
    }
    if let Some(delta) = text.strip_prefix('-') {
        let delta: isize = delta.parse().map_err(|_| bad())?;
        return Ok(JobCount::CoresPlus(-delta));
    }
    match text.parse::<usize>().map_err(|_| bad())? {
        0 => Ok(JobCount::AsManyAsPossible),
        n => Ok(JobCount::Exactly(n)),
    }
}

/// When to stop early, from `--halt`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HaltRule {
    /// `now` kills running jobs; `soon` lets them finish.
    pub urgency: Urgency,
    /// Which outcomes count towards the threshold.
    pub counts: HaltCounts,
    /// How many (or what share of the finished jobs) trigger the halt.
    pub threshold: Threshold,
}

/// Whether a halt kills the running jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    /// Kill running jobs at once.
    Now,
    /// Start no new jobs; let the running ones finish.
    Soon,
}

/// Which finished jobs a halt rule counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HaltCounts {
    /// Failed jobs.
    Failures,
    /// Successful jobs.
    Successes,
    /// Every finished job.
    Done,
}

/// The trigger level of a halt rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    /// This many counted jobs.
    Count(u64),
    /// This percentage of the finished jobs (checked once 3 have finished).
    Percent(f64),
}

impl HaltRule {
    /// Whether the rule fires once `counted` of `finished` jobs match.
    pub fn is_met(&self, counted: u64, finished: u64) -> bool {
        match self.threshold {
            Threshold::Count(n) => counted >= n,
            Threshold::Percent(p) => finished >= 3 && counted as f64 * 100.0 >= p * finished as f64,
        }
    }
}

/// Parses `--halt`: `now|soon,fail|success|done=N|P%`, or GNU's legacy
/// `0` (never), `1` (soon,fail=1), `2` (now,fail=1).
pub fn parse_halt(text: &str) -> Result<Option<HaltRule>, CrewError> {
    let bad = || {
        CrewError::usage(format!(
            "--halt expects WHEN,WHY=N like now,fail=1, soon,fail=10% or now,success=1, got `{text}`"
        ))
    };
    let legacy = |urgency| HaltRule {
        urgency,
        counts: HaltCounts::Failures,
        threshold: Threshold::Count(1),
    };
    match text.trim() {
        "0" | "never" => return Ok(None),
        "1" => return Ok(Some(legacy(Urgency::Soon))),
        "2" => return Ok(Some(legacy(Urgency::Now))),
        "-1" => {
            return Ok(Some(HaltRule {
                counts: HaltCounts::Successes,
                ..legacy(Urgency::Soon)
            }))
        }
        "-2" => {
            return Ok(Some(HaltRule {
                counts: HaltCounts::Successes,
                ..legacy(Urgency::Now)
            }))
        }
        _ => {}
    }
    // GNU's own words for the two mistakes it names.
    let (when, why) = match text.trim().split_once(',') {
        Some(split) => split,
        None if matches!(text.trim(), "now" | "soon") => {
            return Err(CrewError::Gnu(format!(
                "--halt {} must be followed by ,success or ,fail.",
                text.trim()
            )))
        }
        None => {
            return Err(CrewError::Gnu(
                "--halt must have 'never', 'soon', or 'now'.".into(),
            ))
        }
    };
    let urgency = match when {
        "now" => Urgency::Now,
        "soon" => Urgency::Soon,
        _ => {
            return Err(CrewError::Gnu(
                "--halt must have 'never', 'soon', or 'now'.".into(),
            ))
        }
    };
    let (what, level) = why.split_once('=').ok_or_else(bad)?;
    let counts = match what {
        "fail" => HaltCounts::Failures,
        "success" => HaltCounts::Successes,
        "done" => HaltCounts::Done,
        _ => return Err(bad()),
    };
    let threshold = if let Some(percent) = level.strip_suffix('%') {
        let percent: f64 = percent.parse().map_err(|_| bad())?;
        if !(percent > 0.0 && percent <= 100.0) {
            return Err(bad());
        }
        Threshold::Percent(percent)
    } else {
        match level.parse::<u64>().map_err(|_| bad())? {
            0 => return Err(bad()),
            n => Threshold::Count(n),
        }
    };
    Ok(Some(HaltRule {
        urgency,
        counts,
        threshold,
    }))
}

/// The attempts `--retries N` gives a job (GNU: 0 retries until success).
pub fn attempts_for(retries: usize) -> u32 {
    if retries == 0 {
        u32::MAX
    } else {
        retries.min(u32::MAX as usize - 1) as u32
    }
}

/// GNU's backslash escapes in `-d`: `\n`, `\t`, `\r`, `\0`, `\\`.
pub fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let escaped = match bytes[i + 1] {
                b'n' => Some(b'\n'),
                b't' => Some(b'\t'),
                b'r' => Some(b'\r'),
                b'0' => Some(0),
                b'\\' => Some(b'\\'),
                _ => None,
            };
            if let Some(byte) = escaped {
                out.push(byte);
                i += 2;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// `--trim`: which sides of each input lose their blanks.
pub fn parse_trim(text: Option<&str>) -> Result<(bool, bool), CrewError> {
    Ok(match text {
        None | Some("n") => (false, false),
        Some("l") => (true, false),
        Some("r") => (false, true),
        Some("lr" | "rl") => (true, true),
        Some(other) => {
            let _ = other;
            return Err(CrewError::Gnu("--trim must be one of: r l rl lr.".into()));
        }
    })
}

/// `--tagstring`'s `\t` is a TAB, as in GNU.
pub fn unescape_tag(text: &str) -> Vec<u8> {
    text.replace("\\t", "\t").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_bare_seconds_and_units() {
        assert_eq!(
            parse_duration("--timeout", "0.2").unwrap(),
            Duration::from_millis(200)
        );
        assert_eq!(
            parse_duration("--timeout", "250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            parse_duration("--timeout", "1m30s").unwrap(),
            Duration::from_secs(90)
        );
        assert!(parse_duration("--timeout", "soon").is_err());
        assert!(parse_duration("--timeout", "").is_err());
    }

    #[test]
    fn sizes_use_binary_capitals_and_decimal_lowercase() {
        assert_eq!(parse_size("--block-size", "10k").unwrap(), 10_000);
        assert_eq!(parse_size("--block-size", "1M").unwrap(), 1 << 20);
        assert_eq!(parse_size("--block-size", "1Mb").unwrap(), 1 << 20);
        assert_eq!(parse_size("--block-size", "512").unwrap(), 512);
        assert!(parse_size("--block-size", "lots").is_err());
    }

    #[test]
    fn job_counts_cover_every_spelling() {
        assert_eq!(parse_jobs("4").unwrap().resolve(2, 100), 4);
        assert_eq!(parse_jobs("0").unwrap().resolve(2, 100), 100);
        assert_eq!(parse_jobs("200%").unwrap().resolve(2, 100), 4);
        assert_eq!(parse_jobs("+1").unwrap().resolve(2, 100), 3);
        assert_eq!(parse_jobs("-5").unwrap().resolve(2, 100), 1);
        assert!(parse_jobs("many").is_err());
    }

    #[test]
    fn halt_rules_parse_modern_and_legacy_forms() {
        let rule = parse_halt("soon,fail=20%").unwrap().unwrap();
        assert_eq!(rule.urgency, Urgency::Soon);
        assert!(
            !rule.is_met(1, 2),
            "fewer than 3 finished never trips a percentage"
        );
        assert!(rule.is_met(1, 5));
        assert_eq!(parse_halt("2").unwrap().unwrap().urgency, Urgency::Now);
        assert_eq!(parse_halt("0").unwrap(), None);
        assert!(parse_halt("later,fail=1").is_err());
        assert!(parse_halt("now,fail=0").is_err());
    }
}
