//! Turns the parsed command line into a validated [`Plan`]: every option
//! value parsed, every conflict refused with a one-line reason, the job
//! slot count resolved against the machine.
//!
//! Invariant: once a `Plan` exists, nothing about the invocation can fail
//! any more except I/O (input files, spool, joblog), which is reported as it
//! happens.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::time::Duration;

use crate::batch::BatchRule;
use crate::cli::Cli;
use crate::error::CrewError;
use crate::input::{ColumnSeparator, ReadOptions};
use crate::job::Capture;
use crate::joblog::ResumeMode;
use crate::length::{LengthRule, GNU_MAX_CHARS};
use crate::pipe::BlockRule;
use crate::placeholder::{NativeNames, Replacements};
use crate::progress::Wanted;
use crate::sources::{split_command, Separators, SourceSpec};
use crate::template::{ShellReason, Template};
use crate::units::{
    attempts_for, parse_count, parse_duration, parse_halt, parse_jobs, parse_size, parse_trim,
    unescape, unescape_tag, HaltRule,
};

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

/// Where `--joblog` goes.
#[derive(Debug, Clone)]
pub struct JoblogTarget {
    /// The file (`-` is stdout).
    pub path: PathBuf,
    /// `+FILE`: append instead of starting afresh.
    pub append: bool,
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
    /// `$PARALLEL_ENV`: shell code run before every command.
    pub parallel_env: Option<Vec<u8>>,
    /// Output prefixing.
    pub tagging: Option<Tagging>,
    /// Output capture.
    pub capture: Capture,
    /// `-k`.
    pub keep_order: bool,
    /// `--results DIR`.
    pub results: Option<PathBuf>,
    /// `--results FILE.csv/.tsv/.json`: the file and its format.
    pub table: Option<(String, crate::table::Format)>,
    /// Attempts per job (from `--retries`; `u32::MAX`: until success).
    pub attempts: u32,
    /// `--retries` holding replacement strings: filled in per job.
    pub retries_per_job: Option<Template>,
    /// `--timeout`.
    pub timeout: Option<crate::timeout::TimeoutRule>,
    /// `--halt`.
    pub halt: Option<HaltRule>,
    /// `--joblog`.
    pub joblog: Option<JoblogTarget>,
    /// `--resume`/`--resume-failed`.
    pub resume: Option<ResumeMode>,
    /// `-n`/`-N`/`-L`/`-X`/`-m`.
    pub batch: BatchRule,
    /// GNU's command-line length rule (`-s`).
    pub length: LengthRule,
    /// `-n0`/`-N0`/`-L0`: each job consumes one input but gets no value.
    pub drops_values: bool,
    /// `--pipe` and its block rule.
    pub pipe: Option<BlockRule>,
    /// `--pipepart`: the file the blocks come from, else stdin.
    pub pipe_source: Option<PathBuf>,
    /// Input sources, grouped by linking.
    pub sources: Vec<Vec<SourceSpec>>,
    /// How records are read.
    pub read: ReadOptions,
    /// `--colsep`.
    pub colsep: Option<ColumnSeparator>,
    /// `--bar`/`--eta`/`--progress`.
    pub progress: Wanted,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `-v`: commands on stdout, before their output.
    pub print_commands: bool,
    /// `-t`/`--verbose`: commands on stderr as they start.
    pub verbose: bool,
    /// `--explain`.
    pub explain: bool,
    /// `--delay`.
    pub delay: Option<Duration>,
    /// `--load`.
    pub max_load: Option<f64>,
    /// `--memfree`.
    pub min_free_memory: Option<u64>,
    /// `--tmpdir`.
    pub tmpdir: Option<PathBuf>,
    /// `--process-slot-var`.
    pub slot_var: Option<OsString>,
    /// Perl code of the Perl replacement strings, by index.
    pub perl_exprs: Vec<String>,
    /// `--filter`: Perl expressions (filled in unquoted) a job must pass.
    pub filters: Vec<Template>,
    /// `-S`/`--slf` and the other remote options.
    pub remote: Option<crate::remote::Options>,
}

/// An option value GNU treats as absent when empty (`--joblog ""`).
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

impl Plan {
    /// Validates `cli`.
    ///
    /// # Errors
    ///
    /// Any invalid value or combination, with a one-line explanation.
    pub fn from_cli(cli: Cli) -> Result<Plan, CrewError> {
        let separators = Separators {
            args: given(cli.arg_sep.clone()).unwrap_or_else(|| ":::".into()),
            files: given(cli.arg_file_sep.clone()).unwrap_or_else(|| "::::".into()),
        };
        // `-a ''` names a file that cannot be opened, as in GNU.
        let arg_files: Vec<String> = cli.arg_files.clone();
        let mut split = split_command(&cli.command, &arg_files, &separators)?;
        if cli.link && split.groups.len() > 1 {
            split.groups = vec![split.groups.concat()];
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let possible = as_many_slots_as_possible();
        let slots = match given(cli.jobs.clone()) {
            Some(text) => {
                // GNU: -j FILE reads the count from the file (each time).
                let text = match std::fs::read_to_string(&text) {
                    Ok(contents) if std::path::Path::new(&text).is_file() => {
                        contents.trim().to_string()
                    }
                    _ => text,
                };
                parse_jobs(&text)?.resolve(cores, possible)
            }
            None => cores,
        };
        let defaults = NativeNames::default();
        let names = NativeNames {
            whole: given(cli.replace.clone())
                .or_else(|| {
                    cli.replace_i
                        .clone()
                        .map(|r| if r.is_empty() { "{}".into() } else { r })
                })
                .unwrap_or(defaults.whole),
            no_extension: given(cli.extension_replace.clone()).unwrap_or(defaults.no_extension),
            basename: given(cli.basename_replace.clone()).unwrap_or(defaults.basename),
            dirname: given(cli.dirname_replace.clone()).unwrap_or(defaults.dirname),
            basename_no_extension: given(cli.basename_extension_replace.clone())
                .unwrap_or(defaults.basename_no_extension),
            seq: given(cli.seq_replace.clone()).unwrap_or(defaults.seq),
            slot: given(cli.slot_replace.clone()).unwrap_or(defaults.slot),
        };
        let mut table = Replacements::new(&names, cli.plus, &cli.rpl)?;
        let count = |option: &str, value: &Option<String>| -> Result<Option<usize>, CrewError> {
            given(value.clone())
                .map(|v| parse_count(option, &v))
                .transpose()
        };
        let max_args = count("-n", &cli.max_args)?;
        let max_replace_args = count("-N", &cli.max_replace_args)?;
        // GNU: -l 0 is -l 1; -L 0 (also -L -0) gives each job no value; a
        // negative -L (GNU takes any word as its value) gives one line.
        let upper = match given(cli.max_lines_upper.clone()) {
            Some(v) if v.starts_with('-') => {
                let n = parse_count("-L", &v[1..])?;
                Some(n.min(1))
            }
            v => count("-L", &v)?,
        };
        let max_lines = upper.or(count("-l", &cli.max_lines)?.map(|n| n.max(1)));
        let max_chars = count("-s", &cli.max_chars)?;
        let fills = cli.context_replace || cli.multiple;
        let context_replace = !(cli.pipe || cli.pipepart)
            && (cli.context_replace
                || (!cli.multiple
                    && max_args.is_none()
                    && (max_replace_args.is_some() || max_lines.is_some())));
        let program: Vec<u8> = split
            .command
            .first()
            .map(|w| {
                w.as_bytes()
                    .split(|b| b.is_ascii_whitespace())
                    .next()
                    .unwrap_or_default()
                    .to_vec()
            })
            .unwrap_or_default();
        let runs_function = crate::shell::is_exported_function(&program);
        let delimiter = if cli.null {
            b"\0".to_vec()
        } else {
            match given(cli.delimiter.clone()) {
                Some(d) => unescape(&d),
                None => b"\n".to_vec(),
            }
        };
        let mut colsep = given(cli.colsep.clone());
        let mut skips_header = false;
        if !(cli.pipe || cli.pipepart) && given(cli.header.clone()).is_some_and(|h| h != "0") {
            let separator = colsep.get_or_insert_with(|| "\t".to_string()).clone();
            let splitter = ColumnSeparator::new(&separator)?;
            let mut index = 0i64;
            let stdin_group = vec![vec![SourceSpec::File(PathBuf::from("-"))]];
            let mut groups = if split.groups.is_empty() {
                stdin_group
            } else {
                split.groups.clone()
            };
            for source in groups.iter_mut().flatten() {
                let line = match source {
                    SourceSpec::Args(args) if !args.is_empty() => args.remove(0).into_vec(),
                    SourceSpec::Args(_) => continue,
                    SourceSpec::File(path) => {
                        skips_header |= path.as_os_str() != "-";
                        crate::reader::first_line(path, &delimiter)?
                    }
                };
                // GNU's: a CR-NL header line loses its CR.
                let line = line.strip_suffix(b"\r").unwrap_or(&line);
                for name in splitter.split(line) {
                    index += 1;
                    table.add_column_name(&name, index);
                }
            }
            if !split.groups.is_empty() {
                split.groups = groups;
            }
        }
        let (template, mut shell_reason) = if cli.quote {
            (
                Template::parse_quoted(&split.command, &mut table, context_replace),
                None,
            )
        } else {
            Template::parse(
                &split.command,
                &mut table,
                cli.shell || runs_function,
                context_replace,
            )?
        };
        if cli.retired {
            return Err(crate::error::retired());
        }
        let mut shell = crate::shell::choose();
        let is_gnu_choice = std::env::var_os("CREW_SHELL").is_none_or(|s| s.is_empty())
            && std::env::var_os("PARALLEL_SHELL").is_some_and(|s| !s.is_empty());
        if is_gnu_choice && !crate::shell::exists(&shell) {
            return Err(CrewError::Gnu(format!(
                "Shell '{}' not found.",
                shell.to_string_lossy()
            )));
        }
        if runs_function {
            shell_reason = Some("it names a bash function exported into the environment");
            if !shell.to_string_lossy().ends_with("bash") {
                shell = crate::shell::bash();
            }
        }
        // GNU fills replacement strings into --retries per job (`{//}`).
        let (retries, retries_per_job) = match parse_count("--retries", &cli.retries) {
            Ok(n) => (n, None),
            Err(_) if cli.retries.contains('{') => (
                1,
                Some(Template::parse_text(
                    cli.retries.as_bytes(),
                    &mut table,
                    context_replace,
                )),
            ),
            Err(error) => return Err(error),
        };
        let per_job = if cli.pipe || cli.pipepart {
            None
        } else {
            max_args.or(max_replace_args).or(max_lines)
        };
        let drops_values = per_job == Some(0);
        let batch = if cli.pipe || cli.pipepart {
            BatchRule::One
        } else if fills {
            BatchRule::Fill {
                max_records: per_job.filter(|&n| n > 0),
            }
        } else {
            match per_job {
                Some(n) if n > 1 => BatchRule::UpTo(n),
                _ => BatchRule::One,
            }
        };
        let length = LengthRule::new(
            &template,
            max_chars.map_or(GNU_MAX_CHARS, |s| s.min(GNU_MAX_CHARS)),
        );
        let mut pipe = if cli.pipe || cli.pipepart {
            Some(BlockRule {
                record_end: match cli.recend.clone() {
                    Some(end) => unescape(&end),
                    None if cli.null => b"\0".to_vec(),
                    None => b"\n".to_vec(),
                },
                record_start: cli.recstart.as_deref().map(unescape).unwrap_or_default(),
                lines_per_record: max_lines.unwrap_or(1).max(1),
                records_per_block: max_replace_args.or(max_args).filter(|&n| n > 0),
                block_size: match given(cli.block_size.clone()) {
                    // --pipepart's -N (its default -10): N blocks per slot,
                    // sized below once the file is known.
                    Some(text) if text.starts_with('-') && cli.pipepart => 1,
                    None if cli.pipepart => 1,
                    Some(text) if text.starts_with('-') => {
                        return Err(CrewError::usage(format!(
                            "--block must be a positive size, got `{text}`"
                        )))
                    }
                    Some(text) => parse_size("--block-size", &text)?.max(1),
                    None => 1 << 20,
                },
                removes_separators: cli.remove_rec_sep,
                passes_size: cli.pipepart,
                skips_blank: cli.no_run_if_empty,
                header: match given(cli.header.clone()) {
                    Some(text) if cli.pipe => BlockRule::header_pattern(&text)?,
                    _ => None,
                },
            })
        } else {
            None
        };
        let pipe_source = if cli.pipepart {
            match arg_files.as_slice() {
                // GNU's words for a file that is not there: with a
                // --block size it is found not seekable, else not found.
                [file] if !std::path::Path::new(file).exists() => {
                    return Err(CrewError::Gnu(match given(cli.block_size.clone()) {
                        Some(text) if !text.starts_with('-') => format!(
                            "--pipepart only works on seekable files, not streams/pipes.\n\
                             {}: Error: {file} is not a seekable file.",
                            crate::error::program_name()
                        ),
                        _ => format!("File not found: {file}"),
                    }));
                }
                [file] => Some(PathBuf::from(file)),
                _ => {
                    return Err(CrewError::usage(
                        "--pipepart reads one file, given with -a FILE",
                    ))
                }
            }
        } else {
            None
        };
        if (cli.pipe || cli.pipepart) && split.command.is_empty() {
            // GNU opens the input files before it finds no command.
            for file in &arg_files {
                if let Err(error) = std::fs::File::open(file) {
                    return Err(crate::reader::cannot_open(
                        std::path::Path::new(file),
                        &error,
                    ));
                }
            }
            return Err(CrewError::Gnu(
                "--pipe/--pipepart must have a command to pipe into (e.g. 'cat').".into(),
            ));
        }
        if let (Some(rule), Some(file)) = (pipe.as_mut(), &pipe_source) {
            rule.size_parts(file, slots, given(cli.block_size.clone()))?;
        }
        if cli.pipe && !split.groups.is_empty() && !cli.pipepart {
            return Err(CrewError::usage(
                "--pipe reads stdin; it takes no ::: or :::: inputs",
            ));
        }
        let results = given(cli.results.clone());
        let results_table = results
            .as_deref()
            .and_then(|r| crate::table::Format::of(r).map(|f| (r.to_string(), f)));
        let capture = if results_table.is_some() {
            Capture::Group
        } else if cli.ungroup {
            Capture::Ungroup
        } else if cli.line_buffer && !cli.keep_order {
            Capture::Lines
        } else if cli.line_buffer {
            Capture::OrderedLines
        } else {
            Capture::Group
        };
        let tagging = match (given(cli.tagstring.clone()), cli.tag) {
            (Some(text), _) => Some(Tagging::Template(Template::parse_text(
                &unescape_tag(&text),
                &mut table,
                context_replace,
            ))),
            (None, true) => Some(Tagging::Inputs),
            (None, false) => None,
        };
        let filters = cli
            .filter
            .iter()
            .map(|text| Template::parse_text(text.as_bytes(), &mut table, context_replace))
            .collect();
        let remote = crate::remote::Options::from_cli(
            &cli.remote,
            &cli.env,
            cli.jobs.as_deref(),
            &mut table,
            context_replace,
        )?;
        let max_load = match given(cli.load.clone()) {
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
        let joblog = given(cli.joblog.clone()).and_then(|text| match text.strip_prefix('+') {
            Some("") => None,
            Some(path) => Some(JoblogTarget {
                path: PathBuf::from(path),
                append: true,
            }),
            None => Some(JoblogTarget {
                path: PathBuf::from(text),
                append: false,
            }),
        });
        let resume = match (cli.resume, cli.resume_failed) {
            (_, true) => Some(ResumeMode::Succeeded),
            (true, _) => Some(ResumeMode::Logged),
            _ => None,
        };
        if resume.is_some() && joblog.is_none() {
            return Err(CrewError::Gnu(
                "--resume and --resume-failed require --joblog or --results.".into(),
            ));
        }
        let eof = given(cli.eof_upper.clone()).or_else(|| given(cli.eof.clone()));
        Ok(Plan {
            slots,
            template,
            shell_reason,
            shell,
            parallel_env: crate::shell::parallel_env(),
            tagging,
            capture,
            keep_order: cli.keep_order && !cli.no_keep_order,
            results: results
                .filter(|_| results_table.is_none())
                .map(PathBuf::from),
            table: results_table,
            attempts: attempts_for(retries),
            retries_per_job,
            timeout: given(cli.timeout.clone())
                .map(|t| crate::timeout::TimeoutRule::parse(&t))
                .transpose()?,
            halt: given(cli.halt.clone())
                .as_deref()
                .map(parse_halt)
                .transpose()?
                .flatten(),
            joblog,
            resume,
            batch,
            length,
            drops_values,
            pipe,
            pipe_source,
            sources: if cli.pipepart {
                Vec::new()
            } else {
                split.groups
            },
            read: ReadOptions {
                delimiter,
                eof: eof.map(String::into_bytes),
                skip_blank: cli.no_run_if_empty,
                skip_header: skips_header,
                // GNU trims columns of a --colsep the user gave, not
                // of --header's default one.
                keeps_column_blanks: match given(cli.trim.clone()).as_deref() {
                    Some(trim) => trim == "n",
                    None => given(cli.colsep.clone()).is_none(),
                },
                joins_continued_lines: max_lines.is_some() && !(cli.pipe || cli.pipepart),
                trim: parse_trim(given(cli.trim.clone()).as_deref())?,
                wrap_links: cli.link,
            },
            colsep: colsep.as_deref().map(ColumnSeparator::new).transpose()?,
            progress: Wanted {
                bar: cli.bar,
                eta: cli.eta,
                counts: cli.progress,
            },
            dry_run: cli.dry_run,
            print_commands: cli.print_commands > 0,
            verbose: cli.verbose,
            explain: cli.explain,
            delay: given(cli.delay.clone())
                .map(|d| parse_duration("--delay", &d))
                .transpose()?,
            max_load,
            min_free_memory: given(cli.memfree.clone())
                .map(|m| parse_size("--memfree", &m))
                .transpose()?,
            tmpdir: given(cli.tmpdir.clone()).map(PathBuf::from),
            perl_exprs: table.perl_exprs.clone(),
            filters,
            remote,
            slot_var: given(cli.process_slot_var.clone()).map(OsString::from),
        })
    }

    /// Whether jobs need their command line as GNU shows it (`-v`,
    /// joblog, `--dry-run`, halting messages).
    pub fn needs_command_line(&self) -> bool {
        self.print_commands
            || self.verbose
            || self.dry_run
            || self.joblog.is_some()
            || self.halt.is_some()
            || self.table.is_some()
            || self.timeout.is_some()
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
