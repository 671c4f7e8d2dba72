//! The optional integrations, each behind its feature: `metrics` gauges,
//! `stream` (a `TaskSet` as a `futures_core::Stream`), and `ctrl-c` (the
//! shell-style Ctrl-C pattern). (`tracing` lives in the builder: it is the
//! default context.)

#[cfg(feature = "metrics")]
impl crate::Pool {
    /// Sets the pool's gauges (`<prefix>.threads`, `.idle_threads`,
    /// `.queued`, `.running`) to its state now; call it periodically, or
    /// before a scrape. Does nothing for a pool built without
    /// [`PoolBuilder::metrics`](crate::PoolBuilder::metrics). Only with the
    /// `metrics` feature.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::builder().threads(2).metrics("jobs").build()?;
    /// // Each export (a scrape, a timer): refresh `jobs.threads`, `jobs.queued`, ...
    /// pool.record_metrics();
    /// # Ok::<(), workcrew::BuildError>(())
    /// ```
    pub fn record_metrics(&self) {
        if let Some(metrics) = &self.shared.config.metrics {
            let stats = self.stats();
            metrics.gauges(
                stats.threads,
                stats.idle_threads,
                stats.queued,
                stats.running,
            );
        }
    }
}

#[cfg(feature = "stream")]
impl<T: Send + 'static> futures_core::Stream for crate::TaskSet<T> {
    type Item = Result<T, crate::TaskError>;

    /// The next finished task's result, in completion order; ends when the
    /// set is empty (see [`TaskSet::poll_join_next`](crate::TaskSet::poll_join_next)).
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.get_mut().poll_join_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

#[cfg(all(unix, feature = "ctrl-c"))]
pub use ctrl_c::{stop_on_ctrl_c, CtrlC};

/// The shell-style Ctrl-C pattern (feature `ctrl-c`, Unix).
///
/// # Protocol
///
/// A SIGINT handler may only do async-signal-safe things, so it writes one
/// byte to a pipe (`[self-pipe]`) and returns. A watcher thread, started
/// with the first [`stop_on_ctrl_c`], reads the pipe: after the first byte
/// it stops every registered pool (`shutdown_now_and_stop_running`: nothing
/// queued starts, running tasks are asked to stop); after the second it
/// exits the process with status 130, as a shell does for an interrupted
/// command. Pools are held weakly, so registering one keeps it no longer
/// alive than its own handles do.
#[cfg(all(unix, feature = "ctrl-c"))]
mod ctrl_c {
    use std::io;
    use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex, OnceLock, Weak};

    use crate::pool::Pool;
    use crate::scheduler::shared::Shared;

    /// The pipe's write end, for the signal handler.
    static WRITE_END: AtomicI32 = AtomicI32::new(-1);
    /// SIGINTs seen so far.
    static SEEN: AtomicUsize = AtomicUsize::new(0);

    struct Registry {
        pools: Mutex<Vec<Weak<Shared>>>,
        interrupted: Arc<AtomicBool>,
    }

    fn registry() -> &'static Registry {
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        REGISTRY.get_or_init(|| Registry {
            pools: Mutex::new(Vec::new()),
            interrupted: Arc::new(AtomicBool::new(false)),
        })
    }

    extern "C" fn on_sigint(_signal: libc::c_int) {
        let fd = WRITE_END.load(Ordering::Relaxed);
        let byte = 1u8;
        // SAFETY: `write` is async-signal-safe; `fd` is the pipe's write end
        // (set before the handler was installed) and `byte` is one valid
        // byte on this stack. A full pipe (many signals) just drops it.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }

    /// What [`stop_on_ctrl_c`] returns: whether Ctrl-C was pressed. Dropping
    /// it changes nothing (the handling stays installed); see
    /// [`stop_on_ctrl_c`] for an example.
    #[derive(Clone, Debug)]
    pub struct CtrlC {
        interrupted: Arc<AtomicBool>,
    }

    impl CtrlC {
        /// True once the first Ctrl-C stopped the pools: check it after
        /// `shutdown` to tell a finished run from an interrupted one (see
        /// [`stop_on_ctrl_c`]'s example).
        pub fn is_interrupted(&self) -> bool {
            self.interrupted.load(Ordering::SeqCst)
        }
    }

    /// Installs the shell-style Ctrl-C handling for `pool` (module docs):
    /// on the first SIGINT, `pool` (and every other pool registered so far)
    /// stops handing out queued work and asks its running tasks to stop
    /// ([`Pool::shutdown_now_and_stop_running`]); on the second, the process
    /// exits with status 130. Wait for the running tasks with
    /// [`Pool::join`] or [`Pool::shutdown`] as usual; they see
    /// [`is_cancelled`](crate::is_cancelled) and end at their next
    /// [`checkpoint`](crate::checkpoint).
    ///
    /// # Errors
    ///
    /// If the pipe, the watcher thread or the signal handler cannot be set
    /// up (the OS's error), or if `pool` is the global pool (it cannot be
    /// shut down: use a pool of your own).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let pool = workcrew::Pool::new(4);
    /// let ctrl_c = workcrew::stop_on_ctrl_c(&pool)?;
    /// for chunk in 0..1_000u32 {
    ///     let _ = pool.try_spawn(move || {
    ///         for _step in 0..1_000_000 {
    ///             workcrew::checkpoint(); // Ctrl-C ends the task here
    ///         }
    ///         chunk
    ///     });
    /// }
    /// pool.shutdown();
    /// if ctrl_c.is_interrupted() {
    ///     eprintln!("interrupted: stopped early");
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop_on_ctrl_c(pool: &Pool) -> io::Result<CtrlC> {
        if pool.shared.is_global.load(Ordering::Relaxed) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "workcrew::stop_on_ctrl_c: the global pool cannot be shut down; build a Pool of your own",
            ));
        }
        let registry = registry();
        let mut pools = registry.pools.lock().unwrap_or_else(|e| e.into_inner());
        if WRITE_END.load(Ordering::SeqCst) < 0 {
            install()?;
        }
        pools.retain(|pool| pool.strong_count() > 0);
        pools.push(Arc::downgrade(&pool.shared));
        Ok(CtrlC {
            interrupted: registry.interrupted.clone(),
        })
    }

    /// Creates the pipe, starts the watcher and installs the handler; called
    /// once, with the registry locked.
    fn install() -> io::Result<()> {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors `pipe` writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let (read_end, write_end) = (fds[0], fds[1]);
        for fd in fds {
            // SAFETY: `fd` was just returned by `pipe`.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        // SAFETY: as above; a non-blocking write end keeps the handler from
        // ever blocking.
        unsafe { libc::fcntl(write_end, libc::F_SETFL, libc::O_NONBLOCK) };
        std::thread::Builder::new()
            .name("workcrew-ctrl-c".into())
            .spawn(move || watch(read_end))?;
        WRITE_END.store(write_end, Ordering::SeqCst);
        // SAFETY: a zeroed `sigaction` is a valid starting value; we set the
        // handler (an `extern "C" fn(c_int)`) and SA_RESTART so interrupted
        // system calls elsewhere resume.
        let installed = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut())
        };
        if installed != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The watcher thread (module docs).
    fn watch(read_end: libc::c_int) {
        loop {
            let mut byte = 0u8;
            // SAFETY: `read_end` is the pipe's read end, owned by this
            // thread; `byte` is one writable byte.
            let read = unsafe { libc::read(read_end, (&mut byte as *mut u8).cast(), 1) };
            if read == 1 {
                if SEEN.fetch_add(1, Ordering::SeqCst) >= 1 {
                    std::process::exit(130);
                }
                stop_pools();
            } else if read == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return;
            }
        }
    }

    fn stop_pools() {
        let registry = registry();
        registry.interrupted.store(true, Ordering::SeqCst);
        let pools: Vec<Arc<Shared>> = {
            let pools = registry.pools.lock().unwrap_or_else(|e| e.into_inner());
            pools.iter().filter_map(Weak::upgrade).collect()
        };
        for shared in pools {
            shared.handles.fetch_add(1, Ordering::Relaxed);
            let pool = Pool { shared };
            pool.cancel_everything_queued(true);
        }
    }
}
