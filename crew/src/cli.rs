//! The command line: every option crew understands, with its help text and
//! an example, and the split of the trailing words into the command template
//! and the `:::` / `::::` input sources.
//!
//! Invariants: options come before the command (as in GNU parallel); every
//! word after the first non-option word belongs to the command or to an
//! input source, even if it starts with `-`. Nothing here touches the
//! filesystem: files named by `::::` and `-a` are opened by [`crate::input`].

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

use crate::error::CrewError;

const EXAMPLES: &str = "\
Examples:
  crew gzip ::: *.log                       compress every log, one job per core
  find . -name '*.jpg' | crew -j8 convert {} {.}.png
  crew -k echo {1}-{2} ::: a b ::: 1 2      a-1 a-2 b-1 b-2, in input order
  crew --timeout 10s --retries 3 --joblog jobs.tsv curl -fsO {} :::: urls.txt
  crew --joblog jobs.tsv --resume-failed curl -fsO {} :::: urls.txt
  seq 1000000 | crew --pipe --block-size 10M wc -l

Exit status: the number of failed jobs (at most 101), or with --halt the status
of the job that triggered it; 255 for crew's own errors; 128+N when stopped by
signal N.";

/// crew runs a command for every input line or argument, N at a time, with
/// GNU parallel's syntax: `crew [OPTIONS] COMMAND [ARGS] [::: INPUTS]`.
#[derive(Parser, Debug)]
#[command(
    name = "crew",
    version,
    about = "Run a command for every input, N at a time (GNU parallel's syntax, much faster)",
    long_about = None,
    after_help = EXAMPLES,
    after_long_help = EXAMPLES,
    max_term_width = 100
)]
pub struct Cli {
    /// Job slots: N, 0 (as many as possible), N% of cores, +N / -N cores [default: cores].
    ///
    /// Example: crew -j 200% gzip ::: *.log
    #[arg(
        short = 'j',
        long = "jobs",
        value_name = "N",
        allow_hyphen_values = true
    )]
    pub jobs: Option<String>,

    /// Print output in input order (job 1's first), not completion order.
    ///
    /// Example: crew -k echo ::: c b a   # prints c b a
    #[arg(short = 'k', long = "keep-order")]
    pub keep_order: bool,

    /// Print output line by line as it arrives (lines of different jobs never mix).
    ///
    /// Example: crew --line-buffer ping -c3 ::: host1 host2
    #[arg(long, conflicts_with_all = ["ungroup", "keep_order", "results"])]
    pub line_buffer: bool,

    /// Let jobs write straight to crew's stdout/stderr: fastest, output may interleave.
    ///
    /// Example: crew -u make -C ::: lib app
    #[arg(short = 'u', long, conflicts_with_all = ["keep_order", "tag", "tagstring", "results"])]
    pub ungroup: bool,

    /// Prefix each output line with the job's input and a TAB.
    ///
    /// Example: crew --tag wc -l ::: *.txt
    #[arg(long)]
    pub tag: bool,

    /// Prefix each output line with STR (placeholders allowed) and a TAB.
    ///
    /// Example: crew --tagstring 'job {#}' md5sum ::: *.iso
    #[arg(long, value_name = "STR")]
    pub tagstring: Option<String>,

    /// Also save each job's output in DIR/<seq>/{stdout,stderr,exitval,signal,cmd}.
    ///
    /// Example: crew --results out/ ./simulate ::: 1 2 3
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,

    /// Read inputs from FILE, one per line (may repeat; '-' is stdin).
    ///
    /// Example: crew -a hosts.txt ping -c1
    #[arg(short = 'a', long = "arg-file", value_name = "FILE")]
    pub arg_files: Vec<PathBuf>,

    /// Inputs are separated by NUL, not newline (for find -print0).
    ///
    /// Example: find . -print0 | crew -0 rm --
    #[arg(short = '0', long = "null")]
    pub null: bool,

    /// Split each input line into columns {1} {2} ... at REGEX.
    ///
    /// Example: crew --colsep ',' echo {2} {1} :::: pairs.csv
    #[arg(short = 'C', long, value_name = "REGEX")]
    pub colsep: Option<String>,

    /// Use STR instead of {} as the input placeholder.
    ///
    /// Example: crew -I @@ mv @@ @@.bak ::: *.conf
    #[arg(short = 'I', value_name = "STR")]
    pub replace: Option<String>,

    /// Run every command through the shell ($CREW_SHELL, else /bin/sh), even a plain one.
    ///
    /// Example: crew --shell 'echo {} >> all.txt' ::: a b
    #[arg(long)]
    pub shell: bool,

    /// Run a failing job up to N times in all (only the last attempt's output is kept).
    ///
    /// Example: crew --retries 3 curl -fsO ::: URL1 URL2
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub retries: u32,

    /// Kill a job's whole process group (TERM, then KILL 200 ms later) after DUR.
    ///
    /// Example: crew --timeout 1m30s ./slow-test ::: 1 2 3
    #[arg(long, value_name = "DUR")]
    pub timeout: Option<String>,

    /// Stop early: WHEN is now (kill running jobs) or soon (let them finish);
    /// WHY=N is fail=N, success=N, done=N, or a percentage like fail=10%.
    ///
    /// Example: crew --halt now,fail=1 ./check ::: a b c
    #[arg(long, value_name = "WHEN,WHY=N")]
    pub halt: Option<String>,

    /// Log every finished job to FILE in GNU parallel's format.
    ///
    /// Example: crew --joblog jobs.tsv ./task ::: 1 2 3
    #[arg(long, value_name = "FILE")]
    pub joblog: Option<PathBuf>,

    /// Skip jobs the --joblog already records (run the rest).
    ///
    /// Example: crew --joblog jobs.tsv --resume ./task ::: 1 2 3
    #[arg(long, requires = "joblog", conflicts_with = "resume_failed")]
    pub resume: bool,

    /// Skip jobs the --joblog records as successful; rerun the failed ones and run the rest.
    ///
    /// Example: crew --joblog jobs.tsv --resume-failed ./task ::: 1 2 3
    #[arg(long, requires = "joblog")]
    pub resume_failed: bool,

    /// Give each command up to N inputs.
    ///
    /// Example: crew -n 2 echo ::: a b c   # "a b" then "c"
    #[arg(short = 'n', long = "max-args", value_name = "N")]
    pub max_args: Option<usize>,

    /// Give each command N inputs, addressable as {1} ... {N}.
    ///
    /// Example: crew -N 2 mv {1} {2} ::: a.txt b.txt c.txt d.txt
    #[arg(short = 'N', value_name = "N", conflicts_with_all = ["max_args", "context_replace"])]
    pub max_replace_args: Option<usize>,

    /// Give each command as many inputs as fit, repeating the word around {} for each.
    ///
    /// Example: crew -X echo in/{} ::: a b c   # echo in/a in/b in/c
    #[arg(short = 'X', conflicts_with = "multiple")]
    pub context_replace: bool,

    /// Give each command as many inputs as fit, {} becoming all of them.
    ///
    /// Example: ls | crew -m rm
    #[arg(short = 'm')]
    pub multiple: bool,

    /// Longest command line -X/-m build, in bytes [default: 120000].
    ///
    /// Example: crew -m -s 4096 echo :::: list.txt
    #[arg(short = 's', long = "max-chars", value_name = "N")]
    pub max_chars: Option<usize>,

    /// Split stdin into blocks and feed each block to a job's stdin.
    ///
    /// Example: cat big.log | crew --pipe grep ERROR
    #[arg(long, conflicts_with_all = ["max_args", "context_replace", "multiple", "arg_files", "colsep"])]
    pub pipe: bool,

    /// Block size for --pipe (whole records, at least one) [default: 1M].
    ///
    /// Example: cat big.csv | crew --pipe --block-size 10M wc -l
    #[arg(long, value_name = "SIZE", requires = "pipe")]
    pub block_size: Option<String>,

    /// With --pipe, a record is N lines (blocks never split one).
    ///
    /// Example: cat reads.fastq | crew --pipe -L 4 -N 1000 ./align
    #[arg(short = 'L', long = "max-lines", value_name = "N", requires = "pipe")]
    pub max_lines: Option<usize>,

    /// Show a progress bar on stderr (only when stderr is a terminal).
    ///
    /// Example: crew --bar gzip ::: *.log
    #[arg(long)]
    pub bar: bool,

    /// Show the estimated time left on stderr (only when it is a terminal).
    ///
    /// Example: crew --eta gzip ::: *.log
    #[arg(long)]
    pub eta: bool,

    /// Show running/done/failed counts on stderr (only when it is a terminal).
    ///
    /// Example: crew --progress gzip ::: *.log
    #[arg(long)]
    pub progress: bool,

    /// Print the commands instead of running them.
    ///
    /// Example: crew --dry-run rm {} ::: *.tmp
    #[arg(long)]
    pub dry_run: bool,

    /// Print each command on stderr as it starts.
    ///
    /// Example: crew -v gzip ::: *.log
    #[arg(short = 'v', long, visible_short_alias = 't')]
    pub verbose: bool,

    /// Wait at least DUR between job starts.
    ///
    /// Example: crew --delay 0.5 curl -fsO ::: URL1 URL2
    #[arg(long, value_name = "DUR")]
    pub delay: Option<String>,

    /// Start no job while N or more processes are running on the machine (one job always may).
    ///
    /// Example: crew --load 4 make -C ::: a b c
    #[arg(long, value_name = "N")]
    pub load: Option<String>,

    /// Start no job while less than SIZE of memory is available (one job always may).
    ///
    /// Example: crew --memfree 2G ./big-job ::: 1 2 3
    #[arg(long, value_name = "SIZE")]
    pub memfree: Option<String>,

    /// Directory for spooled output [default: $TMPDIR or /tmp].
    ///
    /// Example: crew --tmpdir /scratch ./noisy ::: 1 2
    #[arg(long, value_name = "DIR")]
    pub tmpdir: Option<PathBuf>,

    /// The command, then inputs: ::: ARGS (several: every combination),
    /// :::+ ARGS (paired with the previous source), :::: FILES, ::::+ FILES.
    /// Without inputs, lines of stdin are read.
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        num_args = 0..
    )]
    pub command: Vec<OsString>,
}

/// Where one input source's values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    /// Values given on the command line after `:::`.
    Args(Vec<OsString>),
    /// Lines (or NUL-separated records) of a file; `-` is stdin.
    File(PathBuf),
}

/// The command words and the input sources, grouped: sources in one group
/// are linked (`:::+`), groups combine as a cartesian product.
#[derive(Debug, PartialEq)]
pub struct CommandAndInputs {
    /// The command template's words.
    pub command: Vec<OsString>,
    /// Linked groups of sources, in order.
    pub groups: Vec<Vec<SourceSpec>>,
}

/// Splits the trailing words at `:::`, `:::+`, `::::` and `::::+`; `-a`
/// files come first, each as its own group.
///
/// # Errors
///
/// A `:::+` or `::::+` with nothing before it to link to, or a word that
/// looks like an option where the command should start.
pub fn split_command(
    words: &[OsString],
    arg_files: &[PathBuf],
) -> Result<CommandAndInputs, CrewError> {
    if let Some(first) = words.first().and_then(|w| w.to_str()) {
        if first.starts_with('-') && first.len() > 1 && !is_separator(first) {
            return Err(CrewError::usage(format!(
                "unknown option `{first}` (options go before the command)"
            )));
        }
    }
    let mut groups: Vec<Vec<SourceSpec>> = arg_files
        .iter()
        .map(|path| vec![SourceSpec::File(path.clone())])
        .collect();
    let mut command = Vec::new();
    let mut current: Option<&str> = None;
    for word in words {
        if let Some(separator) = word.to_str().filter(|w| is_separator(w)) {
            if separator.ends_with('+') && groups.is_empty() {
                return Err(CrewError::usage(format!(
                    "`{separator}` links to an earlier input source, but there is none"
                )));
            }
            if separator.starts_with(":::") && separator.trim_end_matches('+') == ":::" {
                let args = SourceSpec::Args(Vec::new());
                if separator == ":::+" {
                    groups.last_mut().expect("checked above").push(args);
                } else {
                    groups.push(vec![args]);
                }
            }
            current = Some(separator);
            continue;
        }
        match current {
            None => command.push(word.clone()),
            Some(":::") | Some(":::+") => {
                let last = groups.last_mut().and_then(|g| g.last_mut());
                if let Some(SourceSpec::Args(args)) = last {
                    args.push(word.clone());
                }
            }
            Some("::::") => groups.push(vec![SourceSpec::File(PathBuf::from(word))]),
            Some(_) => groups
                .last_mut()
                .expect("::::+ checked above")
                .push(SourceSpec::File(PathBuf::from(word))),
        }
    }
    Ok(CommandAndInputs { command, groups })
}

fn is_separator(word: &str) -> bool {
    matches!(word, ":::" | ":::+" | "::::" | "::::+")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn separators_build_groups_in_order() {
        let split = split_command(
            &os(&["echo", "{}", ":::", "a", "b", ":::+", "1", "2", "::::", "f"]),
            &[],
        )
        .unwrap();
        assert_eq!(split.command, os(&["echo", "{}"]));
        assert_eq!(
            split.groups,
            vec![
                vec![
                    SourceSpec::Args(os(&["a", "b"])),
                    SourceSpec::Args(os(&["1", "2"]))
                ],
                vec![SourceSpec::File("f".into())],
            ]
        );
    }

    #[test]
    fn linking_without_a_source_is_an_error() {
        assert!(split_command(&os(&["echo", ":::+", "a"]), &[]).is_err());
    }

    #[test]
    fn an_unknown_option_in_command_position_is_an_error() {
        let error = split_command(&os(&["--bogus", "echo"]), &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("--bogus"), "{error}");
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
