//! The dispatcher: reads inputs lazily, turns each batch (or `--pipe`
//! block) into a job, waits for a slot, and hands the job to the workcrew
//! pool; then waits for the last job and works out crew's exit status.
//!
//! Invariants:
//! - Input is pulled only when a slot is free, so at most `slots` jobs (and,
//!   with `-k`, a window of finished outputs) exist at any time: memory is
//!   independent of the input's length.
//! - Sequence numbers count every job in input order, skipped (`--resume`)
//!   ones included, so they are stable between runs of the same inputs.
//! - The pool has exactly `slots` threads and each job occupies one thread
//!   from spawn to reap; no thread is created per job.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use workcrew::Pool;

use crate::batch::{BatchRule, Batches};
use crate::error::{CrewError, EXIT_CREW_ERROR};
use crate::exec::{ProgramCache, RunningJobs};
use crate::input::{count_records, Inputs};
use crate::job::{self, Capture, Context, Job};
use crate::joblog::{JobLog, SkipList};
use crate::order::Reorder;
use crate::output::{Emitter, Fault, FaultHandler, Stream};
use crate::pacing::Pacing;
use crate::perl::{JobNumbers, Perl};
use crate::pipe::{Block, Blocks};
use crate::plan::{Plan, Tagging};
use crate::progress::{Progress, Ticker};
use crate::remote::{AllHosts, Remote};
use crate::results::ResultsDir;
use crate::schedule::{Scheduler, Stop};
use crate::signals;
use crate::spool::TempFiles;
use crate::table::ResultsTable;
use crate::template::{CommandLine, Expansion, Record};
use crate::units::Urgency;

/// The most a job's exit status counts failures to (GNU parallel's cap).
const MAX_FAILURE_STATUS: u64 = 101;

/// What one job is made from.
enum Work {
    Batch(Vec<Record>),
    Block(Block),
}

/// Runs the plan; returns crew's exit status.
///
/// # Errors
///
/// Set-up failures (input files, joblog, pool); failures later on are
/// printed as they happen and give status 255.
pub fn run(mut plan: Plan) -> Result<i32, CrewError> {
    let remote = match plan.remote.take() {
        Some(options) => Some(Arc::new(Remote::start(options, plan.slots, plan.dry_run)?)),
        None => None,
    };
    if let Some(remote) = &remote {
        plan.slots = remote.total_slots();
        // GNU prints --onall/--nonall output host by host.
        plan.keep_order |= remote.all_hosts().is_some();
    }
    let files = Arc::new(TempFiles::new(plan.tmpdir.clone()));
    let uses_spool = plan.pipe.is_some()
        || (matches!(plan.capture, Capture::Group | Capture::OrderedLines)
            && plan.results.is_none());
    if uses_spool && !plan.dry_run {
        files.check().map_err(|source| CrewError::Spool {
            dir: files.dir().to_path_buf(),
            source,
        })?;
    }
    let mut work: Box<dyn Iterator<Item = Result<Work, CrewError>>> = match plan.pipe.clone() {
        Some(rule) => {
            let source: Box<dyn std::io::Read + Send> =
                match &plan.pipe_source {
                    Some(path) => Box::new(std::fs::File::open(path).map_err(|source| {
                        CrewError::InputFile {
                            path: path.clone(),
                            source,
                        }
                    })?),
                    None => Box::new(std::io::stdin()),
                };
            Box::new(Blocks::new(source, rule, Arc::clone(&files)).map(|b| b.map(Work::Block)))
        }
        None => {
            let inputs = Inputs::open(&plan.sources, &plan.read, plan.colsep.take())?;
            let batches = Batches::new(inputs, plan.batch, plan.length.clone(), plan.slots);
            Box::new(batches.map(|b| b.map(Work::Batch)))
        }
    };
    let mut pins = None;
    if let Some(mode) = remote.as_ref().and_then(|r| r.all_hosts()) {
        let (items, hosts) = every_host(work, mode, remote.as_deref())?;
        work = Box::new(items.into_iter().map(Ok));
        pins = Some(hosts.into_iter());
    }
    let total = if plan.pipe.is_none() && plan.progress.any() {
        count_records(&plan.sources, &plan.read).and_then(|n| jobs_for(n, &plan))
    } else {
        None
    };
    let skips = match (plan.resume, &plan.joblog) {
        (Some(mode), Some(target)) if target.path != std::path::Path::new("-") => {
            SkipList::load(&target.path, mode)?
        }
        _ => SkipList::default(),
    };
    let joblog = match &plan.joblog {
        Some(target) if !plan.dry_run => Some(JobLog::open(
            &target.path,
            target.append || plan.resume.is_some(),
        )?),
        _ => None,
    };
    let progress = if plan.dry_run {
        Progress::default()
    } else {
        Progress::new(plan.progress, total, plan.slots)
    };
    let scheduler = Arc::new(Scheduler::new(plan.slots, plan.halt));
    let running = Arc::new(RunningJobs::new(plan.slots));
    signals::watch(Arc::clone(&scheduler), Arc::clone(&running));
    let running_jobs = Arc::clone(&running);
    let pool = Pool::builder()
        .threads(plan.slots)
        .stack_size(256 * 1024)
        .thread_name(|i| format!("crew-job-{i}"))
        .build()
        .map_err(|e| CrewError::Pool(e.to_string()))?;
    let context = Arc::new(Context {
        capture: plan.capture,
        keep_order: plan.keep_order,
        timeout: plan.timeout.map(crate::timeout::Timeout::new),
        slot_var: plan.slot_var.clone(),
        attempts: plan.attempts,
        shell: plan.shell.clone(),
        verbose: plan.verbose,
        print_commands: plan.print_commands,
        joblog,
        results: plan.results.clone().map(ResultsDir::new),
        table: match &plan.table {
            Some((path, format)) if !plan.dry_run => Some(ResultsTable::open(path, *format)?),
            _ => None,
        },
        files: Arc::clone(&files),
        is_capture_failure_reported: AtomicBool::new(false),
        emitter: Emitter::new(progress.clone(), on_output_fault(&scheduler, &running)),
        reorder: Reorder::new(),
        scheduler: Arc::clone(&scheduler),
        running: running_jobs,
        progress: progress.clone(),
        remote: remote.clone(),
    });

    if plan.explain {
        let how = match plan.shell_reason {
            Some(reason) => format!(
                "crew: running commands with {} because {reason}\n",
                plan.shell.to_string_lossy()
            ),
            None => "crew: running commands directly (no shell needed)\n".to_string(),
        };
        context.emitter.write(Stream::Stderr, how.as_bytes());
    }
    progress.begin(&context.emitter);
    let ticker = progress.gnu().map(|gnu| {
        let (gnu, context) = (Arc::clone(gnu), Arc::clone(&context));
        Ticker::start(move || {
            if gnu.is_running() {
                context.emitter.with_stderr(|err| gnu.tick(err));
            }
        })
    });
    let window = plan.keep_order.then(|| (plan.slots as u64) * 2 + 16);
    let mut pacing = Pacing::new(plan.delay, plan.max_load, plan.min_free_memory);
    pacing.count_from_spawns(Arc::clone(&running));
    let mut programs = ProgramCache::default();
    let mut seq = 0u64;
    let mut order = 0u64;
    let mut input_error = false;
    // Jobs --dry-run shows that --filter or skip() leave out: failed, as in GNU.
    let mut dry_run_left_out = 0u64;
    let mut late_error: Option<String> = None;
    let mut perl = if plan.perl_exprs.is_empty() && plan.filters.is_empty() {
        None
    } else {
        Some(Perl::start(&plan.perl_exprs)?)
    };
    let total = if perl.is_some() {
        count_records(&plan.sources, &plan.read)
            .and_then(|n| jobs_for(n, &plan))
            .unwrap_or(0)
    } else {
        0
    };
    loop {
        if scheduler.is_stopping() {
            break;
        }
        // A free slot first, then the next input, as GNU does: input is
        // read (and warned about) no earlier than a job can start.
        let slot = if plan.dry_run {
            ((seq % plan.slots as u64) as usize) + 1
        } else {
            match scheduler.acquire(order, window.map(|w| (&context.reorder, w)), &mut pacing) {
                Ok(slot) => slot,
                Err(_) => break,
            }
        };
        let unused = |pacing: &mut Pacing| {
            if !plan.dry_run {
                pacing.cancel_start();
                scheduler.release(slot);
            }
        };
        // Waiting for input with a slot in hand: a signal's "wait for the
        // running jobs, then exit" must not wait for this one.
        if !plan.dry_run {
            scheduler.reading_input(true);
        }
        let next = work.next();
        if !plan.dry_run {
            scheduler.reading_input(false);
        }
        let item = match next {
            None => {
                unused(&mut pacing);
                progress.set_total(seq);
                break;
            }
            Some(Ok(item)) => item,
            Some(Err(error)) => {
                unused(&mut pacing);
                let name = match error {
                    CrewError::TooLong(_) => crate::error::program_name(),
                    _ => "crew",
                };
                // Said once the running jobs are done and printed, as GNU does.
                input_error = true;
                late_error = Some(format!("{name}: {error}\n"));
                break;
            }
        };
        let pin = pins.as_mut().and_then(Iterator::next);
        seq += 1;
        if skips.skips(seq) {
            if let Work::Block(block) = item {
                files.give_back(block.file);
            }
            unused(&mut pacing);
            continue;
        }
        // GNU's `$Global::total_completed`, for Perl expressions only.
        let completed = perl.as_ref().map_or(0, |_| scheduler.tally().done);
        let built = build_job(
            &plan,
            item,
            (seq, order, slot),
            perl.as_mut(),
            (total, completed),
            remote.as_deref(),
        );
        let mut job = match built {
            Ok(job) => job,
            Err(error) => {
                if !plan.dry_run {
                    scheduler.release(slot);
                }
                if let Some(status) = perl.as_mut().and_then(Perl::exit_status) {
                    // As GNU, whose perl it was: crew ends at once with that
                    // status, the running jobs killed.
                    scheduler.stop(Stop::Halt {
                        status,
                        urgency: Urgency::Now,
                    });
                    running.signal_all(libc::SIGTERM, true);
                    break;
                }
                context
                    .emitter
                    .write(Stream::Stderr, format!("crew: {error}\n").as_bytes());
                input_error = true;
                break;
            }
        };
        if let Some((host, name)) = pin {
            job.remote.pinned = Some(host);
            if matches!(plan.tagging, Some(Tagging::Inputs)) {
                // GNU tags --onall/--nonall output with the host.
                job.tag = Some(name.into_bytes());
            }
        }
        if let CommandLine::Direct(argv) = &job.command {
            job.program = programs.resolve(&argv[0]);
        }
        if plan.dry_run {
            // GNU shows a --filter'ed job too, and counts it as failed.
            dry_run_left_out += u64::from(job.is_filtered);
            let mut line = job.display;
            line.push(b'\n');
            context.emitter.write(Stream::Stdout, &line);
            if let Some(block) = job.block {
                files.give_back(block.file);
            }
            continue;
        }
        order += 1;
        if plan.verbose {
            // -t: printed here, where jobs start one after another, so the
            // lines keep the start order even when two jobs start at once.
            let mut line = job.display.clone();
            line.push(b'\n');
            context.emitter.write(Stream::Stderr, &line);
        }
        context.progress.started(|| {
            let values: Vec<&[u8]> = job.values.iter().map(Vec::as_slice).collect();
            String::from_utf8_lossy(&values.join(&b' ')).into_owned()
        });
        let context = Arc::clone(&context);
        pool.execute(move || job::run(&context, job));
    }
    drop(work);
    let (tally, stop) = scheduler.wait_idle();
    if let Some(remote) = &remote {
        remote.shutdown();
    }
    if let Some(message) = late_error {
        context.emitter.write(Stream::Stderr, message.as_bytes());
    }
    drop(ticker);
    progress.finish(&context.emitter);
    Ok(match stop {
        _ if input_error || context.emitter.has_failed() => EXIT_CREW_ERROR,
        Some(Stop::Signal(signal)) => 128 + signal,
        Some(Stop::Fatal | Stop::OutputFailed) => EXIT_CREW_ERROR,
        Some(Stop::BrokenPipe) => 128 + libc::SIGPIPE,
        Some(Stop::Halt { status, .. }) => status,
        None => (tally.failed + dry_run_left_out).min(MAX_FAILURE_STATUS) as i32,
    })
}

/// What crew does when its own output fails: a closed reader stops crew
/// like `yes | head` (running jobs get SIGTERM, their output has nowhere
/// to go); any other failure starts no further job and lets the running
/// ones finish (their side effects may matter; their output is reported
/// lost by the same one message).
fn on_output_fault(scheduler: &Arc<Scheduler>, running: &Arc<RunningJobs>) -> FaultHandler {
    let (scheduler, running) = (Arc::clone(scheduler), Arc::clone(running));
    Box::new(move |fault| match fault {
        Fault::Broken => {
            scheduler.stop(Stop::BrokenPipe);
            running.signal_all(libc::SIGTERM, true);
        }
        Fault::Failed => scheduler.stop(Stop::OutputFailed),
    })
}

/// How many jobs `records` inputs make under the plan's batching, when
/// that is known before the batches are built.
fn jobs_for(records: u64, plan: &Plan) -> Option<u64> {
    match plan.batch {
        BatchRule::One => Some(records),
        BatchRule::UpTo(n) => Some(records.div_ceil(n.max(1) as u64)),
        BatchRule::Fill { .. } => None,
    }
}

/// Builds job `seq`: its command line, shown line and tag (a job a Perl
/// expression's skip() or --filter leaves out is built too, as GNU shows
/// and logs it).
fn build_job(
    plan: &Plan,
    work: Work,
    (seq, order, slot): (u64, u64, usize),
    mut perl: Option<&mut Perl>,
    (total, completed): (u64, u64),
    remote: Option<&Remote>,
) -> Result<Job, CrewError> {
    let (mut records, block) = match work {
        Work::Batch(records) => (records, None),
        Work::Block(block) => (Vec::new(), Some(block)),
    };
    if plan.drops_values {
        records.clear();
    }
    // An expression's skip() leaves the job out as --filter does (GNU).
    let mut is_skipped = false;
    let (command_values, tag_values) = match perl.as_deref_mut() {
        Some(perl) => {
            let values: Vec<&[u8]> = records.iter().flatten().map(Vec::as_slice).collect();
            perl.begin_job(
                JobNumbers {
                    seq,
                    slot,
                    total,
                    completed,
                },
                &values,
            )?;
            let (command_values, skip_command) = perl.evaluate(plan.template.perl_occurrences())?;
            let tag_occurrences = match &plan.tagging {
                Some(Tagging::Template(template)) => template.perl_occurrences(),
                _ => &[],
            };
            let (tag_values, skip_tag) = perl.evaluate(tag_occurrences)?;
            is_skipped = skip_command || skip_tag;
            (Some(command_values), Some(tag_values))
        }
        None => (None, None),
    };
    let expansion = Expansion {
        records: &records,
        seq,
        slot,
        perl: command_values.as_ref(),
    };
    let command = match &plan.parallel_env {
        // GNU puts `$PARALLEL_ENV` in front of the command, for the shell.
        Some(code) => {
            let mut script = code.clone();
            script.push(b'\n');
            script.extend_from_slice(&plan.template.command_line(&expansion));
            CommandLine::Shell(script)
        }
        None => plan.template.expand(&expansion),
    };
    let display = match &command {
        CommandLine::Shell(_) if plan.parallel_env.is_some() => {
            plan.template.command_line(&expansion)
        }
        CommandLine::Shell(script) => script.clone(),
        CommandLine::Direct(_) if plan.needs_command_line() => {
            plan.template.command_line(&expansion)
        }
        CommandLine::Direct(_) => Vec::new(),
    };
    let is_filtered = is_skipped
        || match perl {
            Some(perl) if !plan.filters.is_empty() => !passes_filters(plan, perl, &expansion)?,
            _ => false,
        };
    let tag = plan.tagging.as_ref().map(|tagging| match tagging {
        Tagging::Inputs => records
            .iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(&b' '),
        Tagging::Template(template) => template.expand_text(&Expansion {
            perl: tag_values.as_ref(),
            ..expansion
        }),
    });
    Ok(Job {
        seq,
        order,
        slot,
        command,
        program: None,
        display,
        tag,
        block,
        // Kept for --results FILE.csv and GNU's --bar text only.
        values: if plan.table.is_some() || plan.progress.bar {
            records.iter().flatten().cloned().collect()
        } else {
            Vec::new()
        },
        results_dir: plan
            .results
            .as_ref()
            .map(|root| ResultsDir::new(root.clone()).job_dir(&records)),
        remote: remote.map(|r| r.job_files(&expansion)).unwrap_or_default(),
        is_filtered,
        attempts: plan.retries_per_job.as_ref().map(|retries| {
            // Perl's reading of a number: its leading digits (none: 0).
            let text = retries.expand_text(&expansion);
            let digits: Vec<u8> = text
                .iter()
                .skip_while(|b| b.is_ascii_whitespace())
                .take_while(|b| b.is_ascii_digit())
                .copied()
                .collect();
            let retries = std::str::from_utf8(&digits)
                .ok()
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            crate::units::attempts_for(retries)
        }),
    })
}

/// `--filter`: whether the job passes every expression (each filled in
/// with the job's values, unquoted, as GNU does, then run by perl).
fn passes_filters(
    plan: &Plan,
    perl: &mut Perl,
    expansion: &Expansion<'_>,
) -> Result<bool, CrewError> {
    let mut filled = Vec::with_capacity(plan.filters.len());
    for filter in &plan.filters {
        let (values, _) = perl.evaluate(filter.perl_occurrences())?;
        filled.push(filter.expand_text(&Expansion {
            perl: Some(&values),
            ..*expansion
        }));
    }
    perl.passes(&filled)
}

/// `--onall`/`--nonall`: every input (or one empty one) once per live
/// host, host by host, each paired with the host it must run on.
#[allow(clippy::type_complexity)]
fn every_host(
    work: Box<dyn Iterator<Item = Result<Work, CrewError>>>,
    mode: AllHosts,
    remote: Option<&Remote>,
) -> Result<(Vec<Work>, Vec<(usize, String)>), CrewError> {
    let mut batches = Vec::new();
    match mode {
        AllHosts::CommandOnce => batches.push(Vec::new()),
        AllHosts::EveryJob => {
            for item in work {
                match item? {
                    Work::Batch(records) => batches.push(records),
                    Work::Block(_) => {
                        return Err(CrewError::usage("--onall cannot be combined with --pipe"))
                    }
                }
            }
        }
    }
    let mut items = Vec::new();
    let mut hosts = Vec::new();
    for host in remote.map(Remote::live_hosts).unwrap_or_default() {
        for batch in &batches {
            items.push(Work::Batch(batch.clone()));
            hosts.push(host.clone());
        }
    }
    Ok((items, hosts))
}
