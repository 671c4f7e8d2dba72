//! Waiting for a [`Pool`], shutting it down and resizing it: the lifecycle
//! half of its face (building and submitting are in `pool/submit.rs`).
//!
//! Invariant: every `shutdown*` closes the pool first (`Shared::close`), so
//! from then on no outside submission is admitted; `shutdown` and
//! `shutdown_timeout` then wait for the pool to be quiet before they join
//! the threads, `shutdown_now` cancels what is queued and returns. None of
//! them may run on a worker of the pool itself (it would wait for itself),
//! nor on the global pool, which lives as long as the process.

use std::time::{Duration, Instant};

use crate::pool::Pool;
use crate::scheduler::deadline_after;
use crate::scheduler::queue::Steal;
use crate::scheduler::registry::THREAD_LIMIT;
use crate::scheduler::stats::PoolStats;
use crate::sync::{thread, Ordering};

impl Pool {
    // ------------------------------------------------------------ waiting

    /// Waits until nothing is queued or running, including the
    /// `on_complete` callbacks of tasks that have finished.
    ///
    /// # Panics
    ///
    /// If called from a task of this pool (it would wait for itself).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let pool = workcrew::Pool::new(2);
    /// let done = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..8 {
    ///     let done = done.clone();
    ///     pool.execute(move || {
    ///         done.fetch_add(1, Ordering::Relaxed);
    ///     });
    /// }
    /// pool.join();
    /// assert_eq!(done.load(Ordering::Relaxed), 8);
    /// assert_eq!(pool.pending(), 0);
    /// pool.spawn(|| "the pool stays open after join").join().unwrap();
    /// ```
    pub fn join(&self) {
        self.shared
            .assert_not_own_worker(&self.shared, "Pool::join");
        self.shared.wait_quiet(None);
    }

    /// Like [`join`](Self::join), but gives up after `timeout`; returns
    /// whether the pool became quiet.
    ///
    /// # Panics
    ///
    /// If called from a task of this pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = workcrew::Pool::new(1);
    /// let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    /// pool.execute(move || release_rx.recv().unwrap());
    /// assert!(!pool.join_timeout(Duration::from_millis(20)), "still busy");
    /// release_tx.send(()).unwrap();
    /// assert!(pool.join_timeout(Duration::from_secs(10)));
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        self.shared
            .assert_not_own_worker(&self.shared, "Pool::join_timeout");
        self.shared.wait_quiet(Some(deadline_after(timeout)))
    }

    /// Refuses new work, runs everything already queued, then stops every
    /// thread; afterwards [`threads`](Self::threads) is 0. Calling it again
    /// (or after `shutdown_now`) just waits.
    ///
    /// # Panics
    ///
    /// If called from a task of this pool (it would wait for itself), or on
    /// the [`global`](crate::global) pool, which lives as long as the
    /// process.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let handles: Vec<_> = (0..4).map(|i| pool.spawn(move || i)).collect();
    /// pool.shutdown(); // runs all four first
    /// assert_eq!(pool.threads(), 0);
    /// assert!(pool.is_closed());
    /// assert!(handles.iter().all(|handle| handle.is_finished()));
    /// assert!(pool.try_spawn(|| 5).unwrap_err().is_closed());
    /// ```
    pub fn shutdown(&self) {
        self.shared
            .assert_not_own_worker(&self.shared, "Pool::shutdown");
        self.assert_not_global("Pool::shutdown");
        self.finish_shutdown(false, None);
    }

    /// Refuses new work and cancels every queued task (their handles report
    /// [`TaskError::Cancelled`](crate::TaskError::Cancelled)); returns how many it cancelled. Running tasks
    /// finish in the background: call [`join`](Self::join) or
    /// [`shutdown`](Self::shutdown) to wait for them. Does not block.
    ///
    /// A running task's own pieces (a `fork_join` half, a parallel loop's
    /// helpers) are not tasks: they are handed back to that task, which
    /// finishes them itself.
    ///
    /// # Panics
    ///
    /// If called from a task of this pool, like every `shutdown*` call: stop
    /// the pool from the thread that owns it. Also on the
    /// [`global`](crate::global) pool, which lives as long as the process.
    ///
    /// # Examples
    ///
    /// ```
    /// use workcrew::TaskError;
    /// let pool = workcrew::Pool::new(1);
    /// let (started_tx, started_rx) = std::sync::mpsc::channel();
    /// let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    /// let running = pool.spawn(move || {
    ///     started_tx.send(()).unwrap();
    ///     release_rx.recv().unwrap();
    ///     "finished"
    /// });
    /// started_rx.recv().unwrap();
    /// let queued: Vec<_> = (0..3).map(|i| pool.spawn(move || i)).collect();
    ///
    /// assert_eq!(pool.shutdown_now(), 3); // returns at once
    /// for handle in queued {
    ///     assert!(matches!(handle.join(), Err(TaskError::Cancelled)));
    /// }
    /// release_tx.send(()).unwrap();
    /// assert_eq!(running.join().unwrap(), "finished"); // running tasks finish
    /// pool.shutdown(); // waits for the threads
    /// ```
    pub fn shutdown_now(&self) -> usize {
        self.shared
            .assert_not_own_worker(&self.shared, "Pool::shutdown_now");
        self.assert_not_global("Pool::shutdown_now");
        self.cancel_everything_queued(false)
    }

    /// `shutdown_now`'s work: close, optionally ask the running tasks to
    /// stop, then cancel everything queued; returns how many were cancelled.
    pub(crate) fn cancel_everything_queued(&self, stop_running: bool) -> usize {
        let shared = &self.shared;
        let before = shared.cancelled.load(Ordering::SeqCst);
        shared.close(true);
        if stop_running {
            // After the close no task starts, so "running now" is final.
            shared.request_cancel_running();
        }
        // Workers cancel what they pop from now on, and a task admitted just
        // before the close may still be on its way into a queue: drain until
        // no counted task is left queued, so the count below is exact.
        loop {
            while let Some(job) = Steal::until_settled(|| shared.injector.steal()) {
                job.cancel(shared);
            }
            for (_, stealer) in shared.registry.stealers() {
                while let Some(job) = Steal::until_settled(|| stealer.steal()) {
                    job.cancel(shared);
                }
            }
            if shared.totals().queued() == 0 {
                break;
            }
            // The sync shim's yield: loom must see it to schedule the
            // submitter this loop waits for.
            thread::yield_now();
        }
        shared.signal_if_quiet();
        (shared.cancelled.load(Ordering::SeqCst) - before) as usize
    }

    /// Like [`shutdown`](Self::shutdown), but gives up waiting after
    /// `timeout`; returns whether every task finished and every thread
    /// stopped. The pool stays closed either way.
    ///
    /// # Panics
    ///
    /// If called from a task of this pool, or on the
    /// [`global`](crate::global) pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = workcrew::Pool::new(2);
    /// pool.execute(|| std::thread::sleep(Duration::from_millis(10)));
    /// if !pool.shutdown_timeout(Duration::from_secs(5)) {
    ///     eprintln!("some tasks are still running; the pool stays closed");
    /// }
    /// assert!(pool.is_closed());
    /// ```
    pub fn shutdown_timeout(&self, timeout: Duration) -> bool {
        self.shared
            .assert_not_own_worker(&self.shared, "Pool::shutdown_timeout");
        self.assert_not_global("Pool::shutdown_timeout");
        self.finish_shutdown(false, Some(deadline_after(timeout)))
    }

    /// `shutdown*` on [`global`](crate::global) panics: it lives as long
    /// as the process, and every part of the crate relies on it.
    pub(crate) fn assert_not_global(&self, what: &str) {
        if self.shared.is_global.load(Ordering::Relaxed) {
            panic!("workcrew: {what} called on the global pool (workcrew::global()): it lives as long as the process and cannot be shut down; build a Pool of your own to shut it down");
        }
    }

    fn finish_shutdown(&self, abort: bool, deadline: Option<Instant>) -> bool {
        self.shared.close(abort);
        if !self.shared.registry.ensure_thread(&self.shared) {
            // No thread exists and none can start, so nothing would ever run
            // what is queued: cancel it instead of waiting for ever (every
            // handle finishes as `Cancelled`).
            while let Some(job) = Steal::until_settled(|| self.shared.injector.steal()) {
                job.cancel(&self.shared);
            }
            self.shared.signal_if_quiet();
        }
        if !self.shared.wait_quiet(deadline) {
            return false;
        }
        // Quiet and closed: idle workers leave; wake the parked ones.
        self.shared.registry.wake_all();
        self.shared.registry.join_threads(deadline)
    }

    /// True once the pool takes no new work from outside (after `shutdown*`;
    /// see [`spawn`](Self::spawn) for what its own draining tasks may still do).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// assert!(!pool.is_closed());
    /// pool.shutdown();
    /// assert!(pool.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    // ------------------------------------------------------------ size

    /// Resizes the pool: sets both the core and the maximum thread count
    /// (0 = one per CPU). Growing starts threads for queued work at once;
    /// shrinking never interrupts a running task: a thread above the new
    /// limit finishes what it runs, takes no new task and exits.
    ///
    /// # Panics
    ///
    /// If `threads` exceeds 32,767.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// pool.set_threads(8);
    /// assert_eq!(pool.max_threads(), 8);
    /// pool.set_threads(1); // running tasks are not interrupted
    /// assert_eq!(pool.max_threads(), 1);
    /// ```
    pub fn set_threads(&self, threads: usize) {
        let threads = if threads == 0 {
            crate::scheduler::config::cores()
        } else {
            threads
        };
        assert!(
            threads <= THREAD_LIMIT,
            "Pool::set_threads: {threads} exceeds the limit of {THREAD_LIMIT} threads per pool"
        );
        let room_for = self.shared.registry.resize(threads);
        let queued = self.shared.totals().queued();
        if room_for > 0 && queued > 0 {
            self.shared
                .registry
                .grow_for(room_for.min(queued), &self.shared);
        }
    }

    /// Worker threads that exist now (a thread that is retiring counts until
    /// its `on_thread_stop` hook has returned).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::builder().threads(2).max_threads(4).build()?;
    /// assert_eq!(pool.threads(), 2, "core threads start at build");
    /// pool.shutdown();
    /// assert_eq!(pool.threads(), 0);
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
    pub fn threads(&self) -> usize {
        self.shared.registry.live_threads()
    }

    /// The most threads the pool runs at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::builder().threads(1).max_threads(4).build()?;
    /// assert_eq!(pool.max_threads(), 4);
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
    pub fn max_threads(&self) -> usize {
        self.shared.registry.max_threads()
    }

    /// Tasks queued or running.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    /// let (started_tx, started_rx) = std::sync::mpsc::channel();
    /// pool.execute(move || {
    ///     started_tx.send(()).unwrap();
    ///     release_rx.recv().unwrap();
    /// });
    /// started_rx.recv().unwrap();
    /// pool.execute(|| ());
    /// assert_eq!(pool.pending(), 2, "one running, one queued");
    /// release_tx.send(()).unwrap();
    /// pool.join();
    /// assert_eq!(pool.pending(), 0);
    /// ```
    pub fn pending(&self) -> usize {
        self.shared.pending()
    }

    /// A snapshot of threads and task counts; see [`PoolStats`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let failed = pool.spawn(|| -> u32 { panic!("counted") });
    /// let _ = failed.join();
    /// pool.spawn(|| 1).join().unwrap();
    /// pool.join();
    /// let stats = pool.stats();
    /// assert_eq!((stats.completed, stats.panicked, stats.cancelled), (2, 1, 0));
    /// assert_eq!((stats.queued, stats.running), (0, 0));
    /// println!("{stats:?}");
    /// ```
    pub fn stats(&self) -> PoolStats {
        let totals = self.shared.totals();
        let counts = self.shared.registry.counts();
        let (timed_out, discarded) = self.shared.timeouts();
        let (queue_wait, run_time) = self.shared.timings();
        let threads = self.shared.registry.live_threads();
        PoolStats {
            threads,
            // Two reads of two words: a thread starting or leaving between
            // them must not make more threads idle than exist.
            idle_threads: (counts.searching() + counts.parked()).min(threads),
            queued: totals.queued(),
            running: totals.running(),
            completed: totals.finished,
            panicked: totals.panicked,
            cancelled: totals.cancelled,
            timed_out,
            discarded,
            queue_wait,
            run_time,
        }
    }
}
