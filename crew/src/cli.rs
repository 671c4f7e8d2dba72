//! The command line: every option crew understands, with its help text and
//! an example; the trailing words are split by [`crate::sources`].
//!
//! Invariants: options come before the command (as in GNU parallel); every
//! word after the first non-option word is kept, in order, in
//! [`Cli::command`]. Nothing here touches the filesystem: files named by
//! `::::` and `-a` are opened by [`crate::input`].
// The option docs are clap's help text (shown as written by `--help` and the
// man page), not Markdown: `DIR/<value>` and `$ARGV[0]` stay as they are.
#![allow(rustdoc::invalid_html_tags, rustdoc::broken_intra_doc_links)]

use std::ffi::OsString;

use clap::Parser;

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
///
/// Long options also answer to GNU parallel's other spellings (`--dryrun`,
/// `--jl`, `--lb`, `--res`, ...) and to any unique prefix, as GNU's do.
#[derive(Parser, Debug)]
#[command(
    name = "crew",
    version,
    about = "Run a command for every input, N at a time (GNU parallel's syntax, much faster)",
    long_about = None,
    after_help = EXAMPLES,
    after_long_help = EXAMPLES,
    max_term_width = 100,
    infer_long_args = true,
    args_override_self = true
)]
pub struct Cli {
    /// Job slots: N, 0 (as many as possible), N% of cores, +N / -N cores, or a FILE holding one of these [default: cores].
    ///
    /// Example: crew -j 200% gzip ::: *.log
    #[arg(short = 'j', long = "jobs", short_alias = 'P', aliases = ["max-procs", "maxprocs"], value_name = "N", allow_hyphen_values = true)]
    pub jobs: Option<String>,

    /// Print output in input order (job 1's first), not completion order.
    ///
    /// Example: crew -k echo ::: c b a   # prints c b a
    #[arg(
        short = 'k',
        long = "keep-order",
        alias = "keeporder",
        overrides_with = "no_keep_order"
    )]
    pub keep_order: bool,

    /// Undo an earlier -k (for options read from $PARALLEL).
    ///
    /// Example: PARALLEL=-k crew --no-keep-order echo ::: a b
    #[arg(long = "no-keep-order", aliases = ["nokeeporder", "nok", "no-k"], overrides_with = "keep_order")]
    pub no_keep_order: bool,

    /// Print output line by line as it arrives (lines of different jobs never mix).
    ///
    /// Example: crew --line-buffer ping -c3 ::: host1 host2
    #[arg(long, aliases = ["lb", "line-buffered", "linebuffer", "linebuffered"], conflicts_with_all = ["ungroup"])]
    pub line_buffer: bool,

    /// Let jobs write straight to crew's stdout/stderr: fastest, output may interleave.
    ///
    /// Example: crew -u make -C ::: lib app
    #[arg(short = 'u', long, overrides_with = "group")]
    pub ungroup: bool,

    /// Group each job's output (the default; undoes -u).
    ///
    /// Example: crew --group make -C ::: lib app
    #[arg(long, overrides_with = "ungroup")]
    pub group: bool,

    /// GNU's retired -g: an error naming the retired options, as GNU.
    #[arg(short = 'g', hide = true)]
    pub retired: bool,

    /// Run only the jobs for which this Perl expression is true (its
    /// replacement strings take the job's values, unquoted). A job left
    /// out counts as failed. Repeatable: all must be true.
    ///
    /// Example: crew --filter '{} > 4' echo ::: 3 5 7
    #[arg(long = "filter", value_name = "EXPR")]
    pub filter: Vec<String>,

    /// Prefix each output line with the job's input and a TAB.
    ///
    /// Example: crew --tag wc -l ::: *.txt
    #[arg(long)]
    pub tag: bool,

    /// Prefix each output line with STR (placeholders and \t allowed) and a TAB.
    ///
    /// Example: crew --tagstring 'job {#}' md5sum ::: *.iso
    #[arg(
        long,
        alias = "tag-string",
        value_name = "STR",
        allow_hyphen_values = true
    )]
    pub tagstring: Option<String>,

    /// Save each job's output in DIR/<source>/<value>/{seq,stdout,stderr} (GNU's layout),
    /// or in one FILE.csv, FILE.tsv or FILE.json (`-.json`: JSON on stdout); prints nothing else.
    ///
    /// Example: crew --results out/ ./simulate ::: 1 2 3
    #[arg(long, aliases = ["result", "res"], value_name = "DIR", allow_hyphen_values = true)]
    pub results: Option<String>,

    /// Read inputs from FILE, one per line (may repeat; '-' is stdin).
    ///
    /// Example: crew -a hosts.txt ping -c1
    #[arg(
        short = 'a',
        long = "arg-file",
        alias = "argfile",
        value_name = "FILE",
        allow_hyphen_values = true
    )]
    pub arg_files: Vec<String>,

    /// Inputs are separated by NUL, not newline (for find -print0).
    ///
    /// Example: find . -print0 | crew -0 rm --
    #[arg(short = '0', long = "null")]
    pub null: bool,

    /// Inputs end with STR instead of a newline (\n, \t, \0 and \r are read as in GNU parallel).
    ///
    /// Example: printf 'a,b,c' | crew -d , echo
    #[arg(short = 'd', long, value_name = "STR")]
    pub delimiter: Option<String>,

    /// Split each input line into columns {1} {2} ... at REGEX (spaces around columns are trimmed).
    ///
    /// Example: crew --colsep ',' echo {2} {1} :::: pairs.csv
    #[arg(short = 'C', long, aliases = ["col-sep"], value_name = "REGEX")]
    pub colsep: Option<String>,

    /// Use STR instead of {} as the input placeholder.
    ///
    /// Example: crew -I @@ mv @@ @@.bak ::: *.conf
    #[arg(short = 'I', value_name = "STR")]
    pub replace: Option<String>,

    /// Like -I, STR defaulting to {} (GNU's -i / --replace).
    ///
    /// Example: crew -i echo {} ::: a
    #[arg(short = 'i', long = "replace", value_name = "STR", num_args = 0..=1, default_missing_value = "{}")]
    pub replace_i: Option<String>,

    /// Use STR instead of {.} (GNU's --er).
    ///
    /// Example: crew --er @ mv {} @.bak ::: a.txt
    #[arg(long = "extensionreplace", alias = "er", value_name = "STR")]
    pub extension_replace: Option<String>,

    /// Use STR instead of {/} (GNU's --bnr).
    ///
    /// Example: crew --bnr @ echo @ ::: dir/a.txt
    #[arg(long = "basenamereplace", alias = "bnr", value_name = "STR")]
    pub basename_replace: Option<String>,

    /// Use STR instead of {//} (GNU's --dnr).
    ///
    /// Example: crew --dnr @ echo @ ::: dir/a.txt
    #[arg(long = "dirnamereplace", alias = "dnr", value_name = "STR")]
    pub dirname_replace: Option<String>,

    /// Use STR instead of {/.} (GNU's --bner).
    ///
    /// Example: crew --bner @ echo @ ::: dir/a.txt
    #[arg(long = "basenameextensionreplace", alias = "bner", value_name = "STR")]
    pub basename_extension_replace: Option<String>,

    /// Use STR instead of {#}.
    ///
    /// Example: crew --seqreplace @ echo job @ ::: a b
    #[arg(long = "seqreplace", value_name = "STR")]
    pub seq_replace: Option<String>,

    /// Use STR instead of {%}.
    ///
    /// Example: crew --slotreplace @ echo slot @ ::: a b
    #[arg(long = "slotreplace", value_name = "STR")]
    pub slot_replace: Option<String>,

    /// Set the environment variable NAME to the job's slot, counted from 0.
    ///
    /// Example: crew --process-slot-var GPU 'echo $GPU' ::: a b
    #[arg(
        long = "process-slot-var",
        alias = "processslotvar",
        value_name = "NAME"
    )]
    pub process_slot_var: Option<String>,

    /// Stop reading input at a line equal to STR.
    ///
    /// Example: printf 'a\nEND\nb\n' | crew -E END echo
    #[arg(short = 'E', value_name = "STR")]
    pub eof_upper: Option<String>,

    /// Like -E, STR optional (GNU's -e / --eof).
    ///
    /// Example: printf 'a\nEND\n' | crew --eof=END echo
    #[arg(short = 'e', long = "eof", value_name = "STR", num_args = 0..=1, default_missing_value = "")]
    pub eof: Option<String>,

    /// Run no job for an empty input line.
    ///
    /// Example: printf 'a\n\nb\n' | crew -r echo
    #[arg(short = 'r', long = "no-run-if-empty", alias = "norunifempty")]
    pub no_run_if_empty: bool,

    /// Use STR instead of ::: (GNU's --arg-sep).
    ///
    /// Example: crew --arg-sep ,, echo ,, a b
    #[arg(long = "arg-sep", alias = "argsep", value_name = "STR")]
    pub arg_sep: Option<String>,

    /// Use STR instead of :::: (GNU's --arg-file-sep).
    ///
    /// Example: crew --arg-file-sep // cat // list.txt
    #[arg(long = "arg-file-sep", alias = "argfilesep", value_name = "STR")]
    pub arg_file_sep: Option<String>,

    /// Pair input sources by position instead of combining them; shorter ones wrap.
    ///
    /// Example: crew --link echo ::: a b c ::: 1 2   # a 1, b 2, c 1
    #[arg(long, alias = "xapply")]
    pub link: bool,

    /// Add GNU parallel's extra replacement strings: {+/} {+.} {+..} {..} {...} {/..} {##} {0#} {0%} {:-x} {:n:m} {#x} {%x} {/a/b} ...
    ///
    /// Example: crew --plus echo {..} ::: a.tar.gz   # a
    #[arg(long)]
    pub plus: bool,

    /// Define a replacement string: 'KEY PERL-CODE' (GNU's --rpl; the code edits $_).
    ///
    /// Example: crew --rpl '{up} $_=uc($_)' echo {up} ::: a   # A
    #[arg(long, value_name = "'KEY CODE'")]
    pub rpl: Vec<String>,

    /// Run every command through the shell ($PARALLEL_SHELL, the calling shell, $SHELL, /bin/sh), even a plain one.
    ///
    /// Example: crew --shell 'echo {} >> all.txt' ::: a b
    #[arg(long)]
    pub shell: bool,

    /// Print why and how commands are run (shell or direct) on stderr.
    ///
    /// Example: crew --explain gzip ::: a.log
    #[arg(long)]
    pub explain: bool,

    /// Run a failing job up to N times in all; 0 retries forever (only the last attempt's output is kept).
    ///
    /// Example: crew --retries 3 curl -fsO ::: URL1 URL2
    #[arg(long, value_name = "N", default_value = "1")]
    pub retries: String,

    /// Kill a job's whole process group (TERM, then KILL 200 ms later) after DUR,
    /// or after N% of the median runtime of the jobs that succeeded so far (`200%`).
    ///
    /// Example: crew --timeout 1m30s ./slow-test ::: 1 2 3
    #[arg(long, value_name = "DUR")]
    pub timeout: Option<String>,

    /// Stop early: WHEN is now (kill running jobs) or soon (let them finish);
    /// WHY=N is fail=N, success=N, done=N, or a percentage like fail=10%; or GNU's -2..2.
    ///
    /// Example: crew --halt now,fail=1 ./check ::: a b c
    #[arg(long, aliases = ["halt-on-error", "haltonerror"], value_name = "WHEN,WHY=N", allow_hyphen_values = true)]
    pub halt: Option<String>,

    /// Log every finished job to FILE in GNU parallel's format (+FILE appends; - is stdout).
    ///
    /// Example: crew --joblog jobs.tsv ./task ::: 1 2 3
    #[arg(long, alias = "jl", value_name = "FILE", allow_hyphen_values = true)]
    pub joblog: Option<String>,

    /// Skip jobs the --joblog already records (run the rest).
    ///
    /// Example: crew --joblog jobs.tsv --resume ./task ::: 1 2 3
    #[arg(long)]
    pub resume: bool,

    /// Skip jobs the --joblog records as successful; rerun the failed ones and run the rest.
    ///
    /// Example: crew --joblog jobs.tsv --resume-failed ./task ::: 1 2 3
    #[arg(long, alias = "resumefailed")]
    pub resume_failed: bool,

    /// Give each command up to N inputs (0: none), {} becoming all of them.
    ///
    /// Example: crew -n 2 echo ::: a b c   # "a b" then "c"
    #[arg(short = 'n', long = "max-args", alias = "maxargs", value_name = "N")]
    pub max_args: Option<String>,

    /// Give each command N inputs, addressable as {1} ... {N}; a word around {} is repeated for each.
    ///
    /// Example: crew -N 2 mv {1} {2} ::: a.txt b.txt c.txt d.txt
    #[arg(
        short = 'N',
        long = "max-replace-args",
        alias = "maxreplaceargs",
        value_name = "N"
    )]
    pub max_replace_args: Option<String>,

    /// Give each command as many inputs as fit, repeating the word around {} for each.
    ///
    /// Example: crew -X echo in/{} ::: a b c   # echo in/a in/b in/c
    #[arg(short = 'X')]
    pub context_replace: bool,

    /// Give each command as many inputs as fit, {} becoming all of them.
    ///
    /// Example: ls | crew -m rm
    #[arg(short = 'm', long = "xargs")]
    pub multiple: bool,

    /// Longest command line -X/-m build, in bytes [default: GNU parallel's 63664].
    ///
    /// Example: crew -m -s 4096 echo :::: list.txt
    #[arg(short = 's', long = "max-chars", alias = "maxchars", value_name = "N")]
    pub max_chars: Option<String>,

    /// Split stdin into blocks and feed each block to a job's stdin.
    ///
    /// Example: cat big.log | crew --pipe grep ERROR
    #[arg(long, alias = "spreadstdin")]
    pub pipe: bool,

    /// Block size for --pipe (whole records, at least one) [default: 1M].
    ///
    /// Example: cat big.csv | crew --pipe --block-size 10M wc -l
    #[arg(long, aliases = ["block", "blocksize"], value_name = "SIZE", allow_hyphen_values = true)]
    pub block_size: Option<String>,

    /// With --pipe, records end with STR (\n, \t, \0 and \r read as in GNU) [default: \n].
    ///
    /// Example: printf 'a;b;' | crew --pipe --recend ';' -N1 cat
    #[arg(long, value_name = "STR")]
    pub recend: Option<String>,

    /// With --pipe, records start with STR: a block is cut only where STR follows a record end.
    ///
    /// Example: cat mails.mbox | crew --pipe --recstart 'From ' grep -c Subject
    #[arg(long, value_name = "STR")]
    pub recstart: Option<String>,

    /// With --pipe, remove --recend and --recstart from the records.
    ///
    /// Example: printf 'a;b;' | crew --pipe --recend ';' --rrs -N1 cat
    #[arg(long = "rrs", alias = "remove-rec-sep", visible_alias = "removerecsep")]
    pub remove_rec_sep: bool,

    /// Like --pipe, reading the -a FILE (GNU's --pipepart; crew reads it in order).
    ///
    /// Example: crew --pipepart -a big.log --block 10M grep -c ERROR
    #[arg(long, alias = "pipe-part")]
    pub pipepart: bool,

    /// The first input line (of each source) names the columns: use {name}; with --colsep, or TAB.
    ///
    /// Example: crew --header : --colsep , echo {city} :::: cities.csv
    #[arg(long, value_name = "REGEX")]
    pub header: Option<String>,

    /// Pass the command's words as they are, no shell reading (GNU's -q).
    ///
    /// Example: crew -q perl -e 'print "$ARGV[0]\n"' ::: 'a b'
    #[arg(short = 'q', long)]
    pub quote: bool,

    /// Send variable or bash function NAME to remote jobs (`_`: all not in ~/.parallel/ignored_vars); local jobs inherit all.
    ///
    /// Example: crew -S far --env MYVAR 'echo $MYVAR' ::: a
    #[arg(long, value_name = "NAME")]
    pub env: Vec<String>,

    /// Accepted: crew's spool files are not compressed (the output is the same).
    ///
    /// Example: crew --compress cat ::: big1 big2
    #[arg(long)]
    pub compress: bool,

    /// Trim spaces and tabs around inputs: l (left), r (right), lr or rl (both), n (none).
    ///
    /// Example: crew --trim lr echo ::: '  a  '
    #[arg(long, value_name = "lr")]
    pub trim: Option<String>,

    /// Records are N lines: with --pipe a block never splits one; otherwise each job gets N lines.
    ///
    /// Example: cat reads.fastq | crew --pipe -L 4 -N 1000 ./align
    #[arg(short = 'L', value_name = "N", allow_hyphen_values = true)]
    pub max_lines_upper: Option<String>,

    /// Like -L, N optional (default 1; GNU's -l / --max-lines).
    ///
    /// Example: seq 4 | crew -l 2 echo
    #[arg(short = 'l', long = "max-lines", alias = "maxlines", value_name = "N", num_args = 0..=1, default_missing_value = "1")]
    pub max_lines: Option<String>,

    /// Show a progress bar on stderr.
    ///
    /// Example: crew --bar gzip ::: *.log
    #[arg(long)]
    pub bar: bool,

    /// Show the estimated time left on stderr.
    ///
    /// Example: crew --eta gzip ::: *.log
    #[arg(long)]
    pub eta: bool,

    /// Show running/done/failed counts on stderr.
    ///
    /// Example: crew --progress gzip ::: *.log
    #[arg(long)]
    pub progress: bool,

    /// Print the commands instead of running them.
    ///
    /// Example: crew --dry-run rm {} ::: *.tmp
    #[arg(long, aliases = ["dryrun", "dr"])]
    pub dry_run: bool,

    /// Print each command on stdout, before its output (GNU's -v).
    ///
    /// Example: crew -v gzip ::: *.log
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    pub print_commands: u8,

    /// Print each command on stderr as it starts (GNU's -t / --verbose).
    ///
    /// Example: crew -t gzip ::: *.log
    #[arg(short = 't', long)]
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
    #[arg(
        long,
        alias = "tempdir",
        value_name = "DIR",
        allow_hyphen_values = true
    )]
    pub tmpdir: Option<String>,

    /// Accepted for GNU parallel compatibility; crew prints no citation notice.
    #[arg(long = "will-cite", aliases = ["willcite", "nn", "nonotice", "no-notice", "gnu"], hide = true)]
    pub will_cite: bool,

    /// Print a shell completion script for SHELL (bash, zsh, fish) and exit.
    ///
    /// Example: crew --completions bash > /etc/bash_completion.d/crew
    #[arg(long, alias = "shell-completion", value_name = "SHELL")]
    pub completions: Option<String>,

    /// Print crew's man page (roff) and exit.
    ///
    /// Example: crew --man | man -l -
    #[arg(long)]
    pub man: bool,

    /// Remote execution over ssh (-S, --slf, --trc, ...).
    #[command(flatten)]
    pub remote: crate::remote::RemoteArgs,

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
