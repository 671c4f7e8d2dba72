//! [`PoolBuilder`]: every setting of a pool, checked once in `build`.

use std::any::Any;
use std::fmt;
use std::time::Duration;

use crate::pool::build_error::{check_limit, BuildError};
use crate::pool::Pool;
use crate::scheduler::config::{cores, Config, Hook, NameFn, PanicHandler, SlowTask};
use crate::scheduler::context::ContextHooks;
use crate::scheduler::timings::TaskInfo;
use crate::Arc;

/// Builds a [`Pool`]; start with [`Pool::builder`].
///
/// Every method takes and returns the builder by value, so settings chain:
///
/// ```
/// use std::time::Duration;
/// use workcrew::Pool;
///
/// let pool = Pool::builder()
///     .threads(2)
///     .max_threads(8)
///     .keep_alive(Duration::from_secs(1))
///     .queue_capacity(1000)
///     .thread_name(|i| format!("fetcher-{i}"))
///     .build()
///     .expect("valid settings");
/// assert_eq!(pool.max_threads(), 8);
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct PoolBuilder {
    threads: usize,
    max_threads: Option<usize>,
    keep_alive: Duration,
    queue_capacity: Option<usize>,
    thread_name: Option<NameFn>,
    stack_size: Option<usize>,
    on_thread_start: Option<Hook>,
    on_thread_stop: Option<Hook>,
    before_task: Option<Hook>,
    after_task: Option<Hook>,
    panic_handler: Option<PanicHandler>,
    timings: bool,
    slow_task: Option<SlowTask>,
    context: Option<ContextHooks>,
    inline: Option<bool>,
    #[cfg(feature = "metrics")]
    metrics: Option<String>,
}

impl Default for PoolBuilder {
    fn default() -> Self {
        PoolBuilder {
            threads: 0,
            max_threads: None,
            keep_alive: Duration::from_secs(10),
            queue_capacity: None,
            thread_name: None,
            stack_size: None,
            on_thread_start: None,
            on_thread_stop: None,
            before_task: None,
            after_task: None,
            panic_handler: None,
            timings: false,
            slow_task: None,
            context: None,
            inline: None,
            #[cfg(feature = "metrics")]
            metrics: None,
        }
    }
}

impl PoolBuilder {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Core threads, started by `build` and kept alive while the pool lives.
    /// 0 (the default) means one per CPU, but never more than
    /// [`max_threads`](Self::max_threads) when that is set, so
    /// `Pool::builder().max_threads(1).build()` works on any machine.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::builder().threads(3).build()?;
    /// assert_eq!((pool.threads(), pool.max_threads()), (3, 3));
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// The most threads the pool runs tasks on at once (default: `threads`).
    /// Threads above the core count start on demand and exit after
    /// `keep_alive` idle.
    ///
    /// One allowance: a task that waits inside the pool (`join`, `scope`,
    /// `map`, ...) for work that is running elsewhere does not occupy a
    /// thread while it waits, so the pool may start a compensating thread
    /// for queued work in its place. At most `max_threads` threads are ever
    /// compensating, so [`Pool::threads`](crate::Pool::threads) stays below
    /// `2 × max_threads`; once the waits end, threads above the limit exit
    /// instead of taking another task.
    ///
    /// # Examples
    ///
    /// One thread while idle, up to eight for blocking work (Python's
    /// `ThreadPoolExecutor(max_workers=8)`):
    ///
    /// ```
    /// let pool = workcrew::Pool::builder().threads(1).max_threads(8).build()?;
    /// assert_eq!(pool.max_threads(), 8);
    /// let waits: Vec<_> = (0..8)
    ///     .map(|_| pool.spawn(|| std::thread::sleep(std::time::Duration::from_millis(10))))
    ///     .collect();
    /// assert!(pool.threads() <= 8);
    /// workcrew::wait_all(&waits);
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
    pub fn max_threads(mut self, max_threads: usize) -> Self {
        self.max_threads = Some(max_threads);
        self
    }

    /// How long a thread above the core count stays idle before it exits
    /// (default 10 s). Core threads never time out.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = workcrew::Pool::builder()
    ///     .threads(1)
    ///     .max_threads(4)
    ///     .keep_alive(Duration::from_millis(200)) // extra threads leave soon after a burst
    ///     .build()?;
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
    pub fn keep_alive(mut self, keep_alive: Duration) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// Bounds the number of queued tasks that no thread is free to take.
    /// Idle threads (and threads the pool may still start, up to
    /// `max_threads`) take work first: with `t` of them and capacity `n`,
    /// `t + n` submissions are accepted at once. `0` means hand-off only: a
    /// task is accepted only when a thread can take it now (as Java's
    /// `SynchronousQueue`). When there is no room, `spawn` waits for it,
    /// `try_spawn` returns [`SpawnError::Full`](crate::SpawnError::Full) and
    /// `spawn_timeout` waits up to its timeout. Default: unbounded.
    ///
    /// ```
    /// use workcrew::Pool;
    ///
    /// // Two idle threads and room for one more task: three are accepted at once.
    /// let pool = Pool::builder().threads(2).queue_capacity(1).build()?;
    /// let gate = std::sync::Arc::new(std::sync::Barrier::new(3));
    /// let mut accepted = Vec::new();
    /// for _ in 0..2 {
    ///     let gate = gate.clone();
    ///     accepted.push(pool.try_spawn(move || { gate.wait(); }).expect("a thread is idle"));
    /// }
    /// accepted.push(pool.try_spawn(|| {}).expect("room for one queued task"));
    /// assert!(pool.try_spawn(|| {}).unwrap_err().is_full());
    /// gate.wait();
    /// for handle in accepted {
    ///     handle.join()?;
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = Some(capacity);
        self
    }

    /// Names worker threads; gets the lowest index not used by a live thread
    /// of this pool. Default: `workcrew-{index}`.
    ///
    /// It runs while the pool starts a thread, with the pool's thread list
    /// locked: it must not call into the pool (`stats`, `spawn`, ...). A
    /// panic in it is caught like a hook's (counted in
    /// [`PoolStats::panicked`](crate::PoolStats::panicked), handed to the
    /// `panic_handler`, from the thread once it has started) and the thread
    /// gets the default name.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::builder()
    ///     .threads(2)
    ///     .thread_name(|index| format!("resize-{index}"))
    ///     .build()?;
    /// let name = pool.spawn(|| std::thread::current().name().map(str::to_owned)).join()?;
    /// assert!(name.unwrap().starts_with("resize-"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn thread_name(mut self, name: impl Fn(usize) -> String + Send + Sync + 'static) -> Self {
        self.thread_name = Some(Box::new(name));
        self
    }

    /// Stack size of worker threads, in bytes (default: the platform's).
    ///
    /// # Examples
    ///
    /// ```
    /// // Deep recursion in tasks: 16 MiB per worker thread.
    /// let pool = workcrew::Pool::builder().threads(2).stack_size(16 << 20).build()?;
    /// assert!(workcrew::Pool::builder().stack_size(0).build().is_err());
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Runs on each worker thread when it starts, before it takes any task.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let (started, stopped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    /// let (on_start, on_stop) = (started.clone(), stopped.clone());
    /// let pool = workcrew::Pool::builder()
    ///     .threads(2)
    ///     .on_thread_start(move || {
    ///         on_start.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .on_thread_stop(move || {
    ///         on_stop.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()?;
    /// pool.shutdown(); // joins the threads, so both hooks have run on each
    /// assert_eq!(started.load(Ordering::SeqCst), 2);
    /// assert_eq!(stopped.load(Ordering::SeqCst), 2);
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
    pub fn on_thread_start(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(Arc::new(hook));
        self
    }

    /// Runs on each worker thread just before it exits.
    ///
    /// See [`on_thread_start`](Self::on_thread_start) for an example with both.
    pub fn on_thread_stop(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_stop = Some(Arc::new(hook));
        self
    }

    /// Runs on the worker before every piece of work it takes from a queue
    /// (tasks, scoped tasks, `map` pieces, a stolen `fork_join` half), also
    /// when that work then panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let (before, after) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    /// let (b, a) = (before.clone(), after.clone());
    /// let pool = workcrew::Pool::builder()
    ///     .threads(2)
    ///     .before_task(move || {
    ///         b.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .after_task(move || {
    ///         a.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()?;
    /// let _ = pool.spawn(|| -> u32 { panic!("wrapped too") }).join();
    /// pool.spawn(|| ()).join().unwrap();
    /// pool.join();
    /// assert_eq!(before.load(Ordering::SeqCst), 2);
    /// assert_eq!(after.load(Ordering::SeqCst), 2);
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
    pub fn before_task(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.before_task = Some(Arc::new(hook));
        self
    }

    /// Runs on the worker after every piece of work `before_task` wraps,
    /// panicking ones included.
    ///
    /// See [`before_task`](Self::before_task) for an example with both.
    pub fn after_task(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.after_task = Some(Arc::new(hook));
        self
    }

    /// Receives the panics nobody else can: from [`Pool::execute`] tasks,
    /// hooks and `on_complete` callbacks. Without one they are dropped
    /// (and still counted in [`PoolStats::panicked`](crate::PoolStats)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let (panics_tx, panics_rx) = mpsc::channel();
    /// let panics_tx = std::sync::Mutex::new(panics_tx);
    /// let pool = workcrew::Pool::builder()
    ///     .threads(1)
    ///     .panic_handler(move |payload| {
    ///         let message = payload.downcast_ref::<&str>().copied().unwrap_or("?");
    ///         panics_tx.lock().unwrap().send(message.to_owned()).unwrap();
    ///     })
    ///     .build()?;
    /// pool.execute(|| panic!("fire and forget went wrong"));
    /// assert_eq!(panics_rx.recv().unwrap(), "fire and forget went wrong");
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
    pub fn panic_handler(
        mut self,
        handler: impl Fn(Box<dyn Any + Send>) + Send + Sync + 'static,
    ) -> Self {
        self.panic_handler = Some(Box::new(handler));
        self
    }

    /// Measures how long every task waits in the queue and runs, into
    /// [`PoolStats::queue_wait`](crate::PoolStats::queue_wait) and
    /// [`PoolStats::run_time`](crate::PoolStats::run_time) (count, total, max
    /// and a histogram). Off by default: it reads the clock twice per task.
    ///
    /// ```
    /// let pool = workcrew::Pool::builder().threads(2).task_timings(true).build()?;
    /// for _ in 0..10 {
    ///     pool.execute(|| std::thread::sleep(std::time::Duration::from_millis(1)));
    /// }
    /// pool.join();
    /// let stats = pool.stats();
    /// assert_eq!(stats.run_time.count, 10);
    /// assert!(stats.run_time.max >= std::time::Duration::from_millis(1));
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
    pub fn task_timings(mut self, on: bool) -> Self {
        self.timings = on;
        self
    }

    /// Calls `hook` on the worker, right after a task returns, when it ran
    /// longer than `threshold`, with its name (see
    /// [`TaskBuilder::name`](crate::TaskBuilder::name)), how long it waited
    /// and how long it ran. Implies [`task_timings`](Self::task_timings). A
    /// panic in the hook is caught like a hook's. A task that never returns
    /// is never reported: give it a deadline for that.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// let slow = Arc::new(Mutex::new(Vec::new()));
    /// let seen = slow.clone();
    /// let pool = workcrew::Pool::builder()
    ///     .threads(1)
    ///     .slow_task(Duration::from_millis(5), move |task| {
    ///         seen.lock().unwrap().push(task.name().unwrap_or("?").to_owned());
    ///     })
    ///     .build()?;
    /// pool.task_builder().name("quick").spawn(|| ()).join()?;
    /// pool.task_builder()
    ///     .name("sleepy")
    ///     .spawn(|| std::thread::sleep(Duration::from_millis(20)))
    ///     .join()?;
    /// pool.join();
    /// assert_eq!(*slow.lock().unwrap(), ["sleepy"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn slow_task(
        mut self,
        threshold: Duration,
        hook: impl Fn(&TaskInfo<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.timings = true;
        self.slow_task = Some(SlowTask {
            threshold,
            hook: Box::new(hook),
        });
        self
    }

    /// Carries context from the thread that submits a task into the task:
    /// `capture` runs at submit (on the submitting thread) and its value
    /// travels with the task; `enter` runs on the worker around the task,
    /// with that value and the task's body to call (once). Use it for a
    /// tracing span, a request id, a locale. Applies to `spawn`, `execute`,
    /// scoped tasks and the pieces of `map` and parallel loops (which enter
    /// the caller's context on whichever worker runs them).
    ///
    /// The value lives inline in the task (no extra allocation) when it is at
    /// most 64 bytes and 8-aligned; a larger one is boxed.
    ///
    /// With the `tracing` feature, a pool whose builder sets no context
    /// carries the submitter's current `tracing` span (and subscriber) this
    /// way, so events in a task belong to the span it was submitted in.
    ///
    /// ```
    /// use std::cell::Cell;
    /// thread_local!(static REQUEST: Cell<u32> = const { Cell::new(0) });
    /// let pool = workcrew::Pool::builder()
    ///     .threads(2)
    ///     .context(
    ///         || REQUEST.with(Cell::get),
    ///         |id: &u32, body: &mut dyn FnMut()| {
    ///             let outer = REQUEST.with(|r| r.replace(*id));
    ///             body();
    ///             REQUEST.with(|r| r.set(outer));
    ///         },
    ///     )
    ///     .build()?;
    /// REQUEST.with(|r| r.set(42));
    /// let seen = pool.spawn(|| REQUEST.with(Cell::get)).join()?;
    /// assert_eq!(seen, 42, "the task ran inside the submitter's request");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn context<C>(
        mut self,
        capture: impl Fn() -> C + Send + Sync + 'static,
        enter: impl Fn(&C, &mut dyn FnMut()) + Send + Sync + 'static,
    ) -> Self
    where
        C: Send + Sync + 'static,
    {
        self.context = Some(ContextHooks::new(capture, enter));
        self
    }

    /// Runs every task on the thread that submits it, at once, in order: no
    /// worker thread starts, `spawn` returns a finished handle, `map` and
    /// `fork_join` run sequentially, `imap` computes each item as it is read.
    /// Results and panics are the same as on threads, but a debugger and a
    /// profiler see one thread, as with spacepy's negative thread count.
    /// The environment variable `WORKCREW_INLINE=1` turns this on for every
    /// pool whose builder did not say otherwise.
    ///
    /// ```
    /// let pool = workcrew::Pool::builder().inline(true).build()?;
    /// let caller = std::thread::current().id();
    /// let handle = pool.spawn(move || std::thread::current().id() == caller);
    /// assert!(handle.is_finished(), "ran at submit");
    /// assert!(handle.join()?);
    /// assert_eq!(pool.threads(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn inline(mut self, on: bool) -> Self {
        self.inline = Some(on);
        self
    }

    /// Records every task into the [`metrics`](https://docs.rs/metrics)
    /// facade under `prefix`: the `<prefix>.queue_wait` and
    /// `<prefix>.run_time` histograms (seconds), the `<prefix>.tasks` and
    /// `<prefix>.panics` counters; [`Pool::record_metrics`](crate::Pool::record_metrics)
    /// sets the `<prefix>.threads`, `.idle_threads`, `.queued` and `.running`
    /// gauges. Implies [`task_timings`](Self::task_timings). Install the
    /// recorder before building the pool: the handles are registered at
    /// `build`. Only with the `metrics` feature.
    ///
    /// # Examples
    ///
    /// ```
    /// // With a recorder installed first (metrics-exporter-prometheus, ...):
    /// let pool = workcrew::Pool::builder().threads(2).metrics("workcrew.fetch").build()?;
    /// pool.spawn(|| ()).join().unwrap();
    /// pool.record_metrics(); // the gauges; call it as often as you export
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, prefix: impl Into<String>) -> Self {
        self.timings = true;
        self.metrics = Some(prefix.into());
        self
    }

    /// Checks the settings and builds the pool.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] naming the setting when `max_threads` is 0 or less
    /// than `threads` (both set), when a thread count exceeds 32,767, when
    /// `stack_size` is 0, when `thread_name` gives a thread `build` starts a
    /// name with a NUL byte, and when the OS refuses every worker thread
    /// (a pids limit or `ulimit -u` reached: [`BuildError::field`] is then
    /// `"threads"`). A pool that could start some but not all of its core
    /// threads is built and runs on those; it starts the others when the OS
    /// allows.
    ///
    /// # Examples
    ///
    /// ```
    /// let error = workcrew::Pool::builder().threads(4).max_threads(2).build().unwrap_err();
    /// assert_eq!(error.field(), "max_threads");
    /// println!("{error}"); // says what to change
    /// ```
    pub fn build(self) -> Result<Pool, BuildError> {
        let threads = match (self.threads, self.max_threads) {
            // Unset: one per CPU, but never more than max_threads.
            (0, Some(max)) if max > 0 => cores().min(max),
            (0, _) => cores(),
            (threads, _) => threads,
        };
        check_limit("threads", threads)?;
        let max_threads = match self.max_threads {
            None => threads,
            Some(0) => {
                return Err(BuildError::new(
                    "max_threads",
                    "max_threads is 0; a pool needs at least one thread (use threads(0) for one per CPU)".into(),
                ))
            }
            Some(max) if max < threads => {
                return Err(BuildError::new(
                    "max_threads",
                    format!("max_threads ({max}) is less than threads ({threads}); raise max_threads or lower threads"),
                ))
            }
            Some(max) => max,
        };
        check_limit("max_threads", max_threads)?;
        if self.stack_size == Some(0) {
            return Err(BuildError::new(
                "stack_size",
                "stack_size is 0 bytes; leave it unset for the platform default".into(),
            ));
        }
        Pool::from_config(Config {
            core_threads: threads,
            max_threads,
            keep_alive: self.keep_alive,
            queue_capacity: self.queue_capacity,
            thread_name: self.thread_name,
            stack_size: self.stack_size,
            on_thread_start: self.on_thread_start,
            on_thread_stop: self.on_thread_stop,
            before_task: self.before_task,
            after_task: self.after_task,
            panic_handler: self.panic_handler,
            timings: self.timings,
            slow_task: self.slow_task,
            context: self.context.or_else(default_context),
            inline: self.inline.unwrap_or_else(inline_from_env),
            #[cfg(feature = "metrics")]
            metrics: self
                .metrics
                .as_deref()
                .map(crate::scheduler::metrics::PoolMetrics::register),
        })
    }
}

/// The context a pool carries when its builder set none: with the `tracing`
/// feature, the submitter's current span, entered around the task.
fn default_context() -> Option<ContextHooks> {
    #[cfg(feature = "tracing")]
    {
        // The subscriber too: a worker thread has no default of its own.
        Some(ContextHooks::new(
            || {
                let dispatch = tracing::dispatcher::get_default(Clone::clone);
                (dispatch, tracing::Span::current())
            },
            |(dispatch, span): &(tracing::Dispatch, tracing::Span), body: &mut dyn FnMut()| {
                tracing::dispatcher::with_default(dispatch, || span.in_scope(body))
            },
        ))
    }
    #[cfg(not(feature = "tracing"))]
    {
        None
    }
}

/// Whether `WORKCREW_INLINE` asks for inline pools (`1`, `true`, `yes`, `on`).
fn inline_from_env() -> bool {
    std::env::var("WORKCREW_INLINE").is_ok_and(|value| {
        matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

impl fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("threads", &self.threads)
            .field("max_threads", &self.max_threads)
            .field("keep_alive", &self.keep_alive)
            .field("queue_capacity", &self.queue_capacity)
            .field("stack_size", &self.stack_size)
            .finish_non_exhaustive()
    }
}
