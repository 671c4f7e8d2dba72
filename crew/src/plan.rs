//! Turns the parsed command line into a validated [`Plan`]: every option
//! value parsed, every conflict refused with a one-line reason, the job
//! slot count resolved against the machine.
//!
//! Invariant: once a `Plan` exists, nothing about the invocation can fail
//! any more except I/O (input files, spool, joblog), which is reported as it
//! happens.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::batch::BatchRule;
use crate::cli::{split_command, Cli, SourceSpec};
use crate::error::CrewError;
use crate::input::ColumnSeparator;
use crate::job::Capture;
use crate::joblog::ResumeMode;
use crate::pipe::BlockRule;
use crate::progress::Wanted;
use crate::template::{ShellReason, Template};
use crate::units::{parse_duration, parse_halt, parse_jobs, parse_size, HaltRule};

/// The default `--max-chars`: below Linux's 128 KiB limit on one argument
/// (a shell-mode command is one argument to `sh -c`).
const DEFAULT_MAX_CHARS: usize = 120_000;

/// The most job slots `-j 0` uses.
const MAX_SLOTS: usize = 1024;

/// The `--tag`/`--tagstring` prefix rule.
#[derive(Debug)]
pub enum Tagging {
    /// `--tag`: the job's inputs, space-separated.
    Inputs,
    /// `--tagstring`: this template.
    Template(Template),
}

/// What to run and how.
#[derive(Debug)]
pub struct Plan {
    /// Job slots.
    pub slots: usize,
    /// The command template.
    pub template: Template,
    /// Why the shell is used, or `None` for direct execution.
    pub shell_reason: ShellReason,
    /// The shell for shell-mode commands.
    pub shell: OsString,
    /// Output prefixing.
    pub tagging: Option<Tagging>,
    /// Output capture.
    pub capture: Capture,
    /// `-k`.
    pub keep_order: bool,
    /// `--results`.
    pub results: Option<PathBuf>,
    /// Attempts per job (from `--retries`).
    pub attempts: u32,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// `--halt`.
    pub halt: Option<HaltRule>,
    /// `--joblog`.
    pub joblog: Option<PathBuf>,
    /// `--resume`/`--resume-failed`.
    pub resume: Option<ResumeMode>,
    /// `-n`/`-N`/`-X`/`-m`.
    pub batch: BatchRule,
    /// `--pipe` and its block rule.
    pub pipe: Option<BlockRule>,
    /// Input sources, grouped by linking.
    pub sources: Vec<Vec<SourceSpec>>,
    /// `-0`.
    pub null: bool,
    /// `--colsep`.
    pub colsep: Option<ColumnSeparator>,
    /// `--bar`/`--eta`/`--progress`.
    pub progress: Wanted,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `-v`.
    pub verbose: bool,
    /// `--delay`.
    pub delay: Option<Duration>,
    /// `--load`.
    pub max_load: Option<f64>,
    /// `--memfree`.
    pub min_free_memory: Option<u64>,
    /// `--tmpdir`.
    pub tmpdir: Option<PathBuf>,
}

impl Plan {
    /// Validates `cli`.
    ///
    /// # Errors
    ///
    /// Any invalid value or combination, with a one-line explanation.
    pub fn from_cli(cli: Cli) -> Result<Plan, CrewError> {
        let split = split_command(&cli.command, &cli.arg_files)?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let possible = as_many_slots_as_possible();
        let slots = match &cli.jobs {
            Some(text) => parse_jobs(text)?.resolve(cores, possible),
            None => cores,
        };
        let replace = cli.replace.as_deref().unwrap_or("{}");
        if replace.is_empty() {
            return Err(CrewError::usage("-I needs a non-empty replacement string"));
        }
        let batching = cli.max_args.is_some() || cli.context_replace || cli.multiple;
        if cli.pipe && batching {
            return Err(CrewError::usage("--pipe feeds blocks to stdin; it cannot be combined with -n, -X or -m (-N sets records per block)"));
        }
        if cli.pipe && split.command.is_empty() {
            return Err(CrewError::usage(
                "--pipe needs a command to feed the blocks to",
            ));
        }
        let (template, shell_reason) = Template::parse(
            &split.command,
            replace.as_bytes(),
            cli.shell,
            cli.context_replace,
        )?;
        for (option, value) in [
            ("-n", cli.max_args),
            ("-N", cli.max_replace_args),
            ("-L", cli.max_lines),
            ("-s", cli.max_chars),
        ] {
            if value == Some(0) {
                return Err(CrewError::usage(format!("{option} must be at least 1")));
            }
        }
        if cli.retries == 0 {
            return Err(CrewError::usage(
                "--retries counts attempts in all and must be at least 1",
            ));
        }
        let batch = if cli.pipe {
            BatchRule::One
        } else if cli.context_replace || cli.multiple {
            BatchRule::Fill {
                max_records: cli.max_args.unwrap_or(usize::MAX),
                max_chars: cli.max_chars.unwrap_or(DEFAULT_MAX_CHARS),
            }
        } else if let Some(n) = cli.max_args.or(cli.max_replace_args) {
            BatchRule::UpTo(n)
        } else {
            BatchRule::One
        };
        let pipe = if cli.pipe {
            Some(BlockRule {
                separator: if cli.null { b'\0' } else { b'\n' },
                lines_per_record: cli.max_lines.unwrap_or(1),
                records_per_block: cli.max_replace_args,
                block_size: match &cli.block_size {
                    Some(text) => parse_size("--block-size", text)?.max(1),
                    None => 1 << 20,
                },
            })
        } else {
            None
        };
        if cli.pipe && !split.groups.is_empty() {
            return Err(CrewError::usage(
                "--pipe reads stdin; it takes no ::: or :::: inputs",
            ));
        }
        let capture = if cli.ungroup {
            Capture::Ungroup
        } else if cli.line_buffer {
            Capture::Lines
        } else {
            Capture::Group
        };
        let tagging = match (&cli.tagstring, cli.tag) {
            (Some(text), _) => Some(Tagging::Template(Template::parse_text(
                text.as_bytes(),
                replace.as_bytes(),
            ))),
            (None, true) => Some(Tagging::Inputs),
            (None, false) => None,
        };
        let max_load = match &cli.load {
            Some(text) => Some(
                text.trim()
                    .trim_end_matches('%')
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite() && *n >= 0.0)
                    .ok_or_else(|| {
                        CrewError::usage(format!(
                            "--load expects a number of processes like 4 or 2.5, got `{text}`"
                        ))
                    })?,
            ),
            None => None,
        };
        let resume = match (cli.resume, cli.resume_failed) {
            (true, _) => Some(ResumeMode::Logged),
            (_, true) => Some(ResumeMode::Succeeded),
            _ => None,
        };
        Ok(Plan {
            slots,
            template,
            shell_reason,
            shell: std::env::var_os("CREW_SHELL")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| OsString::from("/bin/sh")),
            tagging,
            capture,
            keep_order: cli.keep_order,
            results: cli.results,
            attempts: cli.retries,
            timeout: cli
                .timeout
                .as_deref()
                .map(|t| parse_duration("--timeout", t))
                .transpose()?,
            halt: cli.halt.as_deref().map(parse_halt).transpose()?.flatten(),
            joblog: cli.joblog,
            resume,
            batch,
            pipe,
            sources: split.groups,
            null: cli.null,
            colsep: cli
                .colsep
                .as_deref()
                .map(ColumnSeparator::new)
                .transpose()?,
            progress: Wanted {
                bar: cli.bar,
                eta: cli.eta,
                counts: cli.progress,
            },
            dry_run: cli.dry_run,
            verbose: cli.verbose,
            delay: cli
                .delay
                .as_deref()
                .map(|d| parse_duration("--delay", d))
                .transpose()?,
            max_load,
            min_free_memory: cli
                .memfree
                .as_deref()
                .map(|m| parse_size("--memfree", m))
                .transpose()?,
            tmpdir: cli.tmpdir,
        })
    }
}

/// Raises the open-file limit to its hard maximum (each running job holds
/// a few descriptors) and returns how many job slots it allows, at most
/// [`MAX_SLOTS`].
pub fn as_many_slots_as_possible() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: 1. `limit` is a valid, writable rlimit; 2. setrlimit only
    // raises the soft limit up to the hard one, which needs no privilege.
    let files = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 64;
        }
        let wanted = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
            wanted.rlim_cur
        } else {
            limit.rlim_cur
        }
    };
    // Per running job: 2 spool files, 2 dups while spawning, a pidfd, and
    // up to 4 more for a waiting -k output; plus crew's own few.
    ((files.saturating_sub(64) / 9) as usize).clamp(1, MAX_SLOTS)
}
