//! crew: run a command for every input, N at a time, with GNU parallel's
//! syntax, on a workcrew pool.
//!
//! Map of the modules, in the order data flows through them:
//! - [`cli`]: options and the `:::`/`::::` split; [`units`]: value syntaxes;
//!   [`plan`]: validation into a [`plan::Plan`].
//! - [`input`]: lazy input records; [`batch`]: `-n`/`-N`/`-X`/`-m`;
//!   [`pipe`]: `--pipe` blocks.
//! - [`quote`] and [`template`]: placeholders, quoting, direct vs shell.
//! - [`dispatch`]: the loop feeding the pool; [`schedule`]: slots, window,
//!   halting; [`pacing`]: `--delay`/`--load`/`--memfree`; [`signals`].
//! - [`job`]: one job's life; [`exec`]: spawn, wait, timeouts, kills.
//! - [`spool`], [`output`], [`linebuf`], [`order`]: output capture and
//!   printing; [`joblog`], [`results`], [`progress`]: records and display.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod batch;
mod cli;
mod dispatch;
mod error;
mod exec;
mod expand;
mod finish;
mod gnustatus;
mod input;
mod job;
mod joblog;
mod length;
mod linebuf;
mod order;
mod output;
mod pacing;
mod perl;
mod pipe;
mod placeholder;
mod plan;
mod progress;
mod quote;
mod reader;
mod remote;
mod results;
mod schedule;
mod shell;
mod signals;
mod sources;
mod spool;
mod table;
mod template;
mod timeout;
mod units;

use std::io::Write;

use clap::error::ErrorKind;
use clap::Parser;

use crate::error::{CrewError, EXIT_CREW_ERROR};

fn main() {
    warn_as_perl_of_a_broken_locale();
    let cli = match cli::Cli::try_parse_from(arguments()) {
        Ok(cli) => cli,
        Err(error) => match error.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                // clap prints help to stdout; a failed write is an error.
                if let Err(cause) = error.print().and_then(|()| std::io::stdout().flush()) {
                    fail(&CrewError::output("the help to standard output", cause));
                }
                std::process::exit(0);
            }
            _ => fail(&CrewError::usage(one_line(&error.to_string()))),
        },
    };
    if let Some(shell) = &cli.completions {
        print_completions(shell);
    }
    if cli.man {
        print_man_page();
    }
    if cli.remote.record_env {
        remote::env::record_and_exit();
    }
    let status = plan::Plan::from_cli(cli)
        .and_then(dispatch::run)
        .unwrap_or_else(|error| fail(&error));
    std::process::exit(status);
}

/// `--completions SHELL`: the completion script on stdout, then exit.
fn print_completions(shell: &str) -> ! {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let shell = match shell {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        "elvish" => Shell::Elvish,
        "powershell" => Shell::PowerShell,
        other => fail(&CrewError::usage(format!(
            "--completions knows bash, zsh, fish, elvish and powershell, not `{other}`"
        ))),
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cli::Cli::command(), "crew", &mut script);
    write_stdout_and_exit(&script, "the completion script")
}

/// `--man`: crew.1 (roff) on stdout, then exit.
fn print_man_page() -> ! {
    use clap::CommandFactory;
    let mut page = Vec::new();
    if let Err(error) = clap_mangen::Man::new(cli::Cli::command()).render(&mut page) {
        fail(&CrewError::output("the man page", error));
    }
    write_stdout_and_exit(&page, "the man page")
}

fn write_stdout_and_exit(bytes: &[u8], what: &str) -> ! {
    let mut stdout = std::io::stdout();
    if let Err(error) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        fail(&CrewError::output(
            format!("{what} to standard output"),
            error,
        ));
    }
    std::process::exit(0);
}

/// GNU parallel is a Perl program: with a locale the system lacks, perl
/// warns before anything else. crew lets perl say it, in its own words.
fn warn_as_perl_of_a_broken_locale() {
    // SAFETY: 1. the locale name is a valid C string (empty: from the
    // environment); 2. a new locale object is only freed, never used, and
    // the process's locale is left alone.
    let is_broken = unsafe {
        let locale = libc::newlocale(libc::LC_ALL_MASK, c"".as_ptr(), std::ptr::null_mut());
        if !locale.is_null() {
            libc::freelocale(locale);
        }
        locale.is_null()
    };
    if is_broken {
        // perl's warning goes to crew's stderr; without perl, nothing.
        let _ = std::process::Command::new("perl")
            .args(["-e", "1"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status();
    }
}

/// crew's arguments, after the options in `$PARALLEL` (read as shell
/// words, as GNU parallel does).
fn arguments() -> Vec<std::ffi::OsString> {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(options) = std::env::var_os("PARALLEL").filter(|o| !o.is_empty()) {
        match quote::analyze(options.as_bytes()) {
            Ok(analysis) => {
                let words: Vec<std::ffi::OsString> = analysis
                    .unquoted_words
                    .into_iter()
                    .map(std::ffi::OsString::from_vec)
                    .collect();
                // GNU reads the options of $PARALLEL, then those of the
                // command line; $PARALLEL's other words go before the
                // command line's (`PARALLEL='-k echo 1' parallel -v echo 2`
                // runs `echo 1 echo 2` with -v).
                let env_command = command_words(&words);
                let command = command_words(&args[1..]);
                let (env_options, env_rest) = words.split_at(words.len() - env_command);
                let at = args.len() - command;
                let rest = args.split_off(at);
                args.splice(1..1, env_options.iter().cloned());
                args.extend(env_rest.iter().cloned());
                args.extend(rest);
            }
            Err(error) => fail(&CrewError::usage(format!("$PARALLEL: {error}"))),
        }
    }
    // GNU's -l takes its count only when one follows (`-l echo` is -l 1).
    for i in 1..args.len() {
        let is_count = |word: Option<&std::ffi::OsString>| {
            word.and_then(|w| w.to_str())
                .is_some_and(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
        };
        if (args[i] == "-l" || args[i] == "--max-lines") && !is_count(args.get(i + 1)) {
            args[i] = "--max-lines=1".into();
        }
        if args[i].as_bytes().first() != Some(&b'-') || args[i] == "--" {
            break;
        }
    }
    args
}

/// How many of `words` (crew's arguments without the program name) are
/// the command and its inputs: 0 when none are or the words do not parse.
fn command_words(words: &[std::ffi::OsString]) -> usize {
    if words.iter().any(|w| w == "--") {
        return 0;
    }
    let program = std::iter::once(std::ffi::OsString::from("crew"));
    cli::Cli::try_parse_from(program.chain(words.iter().cloned()))
        .map_or(0, |cli| cli.command.len())
}

fn fail(error: &CrewError) -> ! {
    // Nothing is left to report a failure of this write to; the status
    // says it.
    let name = match error {
        CrewError::TooLong(_) | CrewError::Perl(_) | CrewError::Gnu(_) => error::program_name(),
        _ => "crew",
    };
    let _ = writeln!(std::io::stderr(), "{name}: {error}");
    std::process::exit(EXIT_CREW_ERROR);
}

/// clap's message on one line: its lines before the usage, without the
/// `error: ` prefix and the tips.
fn one_line(message: &str) -> String {
    let text: Vec<&str> = message
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .filter(|line| !line.is_empty() && !line.starts_with("tip:"))
        .collect();
    let joined = text.join(" ");
    joined
        .strip_prefix("error: ")
        .unwrap_or(&joined)
        .to_string()
}
