//! Asking a pool's running tasks to stop (cooperative cancellation,
//! task/control.rs), and the Ctrl-C pattern built on it.

use crate::pool::Pool;

impl Pool {
    /// Asks every task running on the pool now to stop: each sees
    /// [`is_cancelled`](crate::is_cancelled) return true (and a
    /// [`checkpoint`](crate::checkpoint) ends it, reporting
    /// [`TaskError::Cancelled`](crate::TaskError::Cancelled)). Tasks that
    /// start later are not asked; queued tasks are left queued (see
    /// [`shutdown_now_and_stop_running`](Self::shutdown_now_and_stop_running)
    /// to cancel those too).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(2);
    /// let (started_tx, started_rx) = std::sync::mpsc::channel();
    /// let spinners: Vec<_> = (0..2)
    ///     .map(|_| {
    ///         let started = started_tx.clone();
    ///         pool.spawn(move || {
    ///             started.send(()).unwrap();
    ///             while !workcrew::is_cancelled() {
    ///                 std::hint::spin_loop();
    ///             }
    ///         })
    ///     })
    ///     .collect();
    /// for _ in 0..2 {
    ///     started_rx.recv().unwrap();
    /// }
    /// pool.request_cancel_running();
    /// for spinner in spinners {
    ///     spinner.join().unwrap();
    /// }
    /// assert!(!pool.spawn(workcrew::is_cancelled).join().unwrap());
    /// ```
    pub fn request_cancel_running(&self) {
        self.shared.request_cancel_running();
    }

    /// [`shutdown_now`](Self::shutdown_now), and the running tasks are asked
    /// to stop as by [`request_cancel_running`](Self::request_cancel_running):
    /// the pool takes no new work, cancels everything queued (returning how
    /// many) and does not block; call [`shutdown`](Self::shutdown) or
    /// [`join`](Self::join) to wait for the running tasks to finish.
    ///
    /// # Panics
    ///
    /// If called from a task of this pool, or on the global pool, like every
    /// `shutdown*`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(1);
    /// let (started_tx, started_rx) = std::sync::mpsc::channel();
    /// let running = pool.spawn(move || {
    ///     started_tx.send(()).unwrap();
    ///     loop {
    ///         workcrew::checkpoint();
    ///         std::hint::spin_loop();
    ///     }
    /// });
    /// let queued = pool.spawn(|| "never runs");
    /// started_rx.recv().unwrap();
    /// assert_eq!(pool.shutdown_now_and_stop_running(), 1);
    /// assert!(running.join().unwrap_err().is_cancelled());
    /// assert!(queued.join().unwrap_err().is_cancelled());
    /// pool.shutdown();
    /// ```
    pub fn shutdown_now_and_stop_running(&self) -> usize {
        self.shared
            .assert_not_own_worker(&self.shared, "Pool::shutdown_now_and_stop_running");
        self.assert_not_global("Pool::shutdown_now_and_stop_running");
        self.cancel_everything_queued(true)
    }
}
