//! [`Pool::race`]: run candidates, keep the first success.
//!
//! Built on a [`TaskSet`]: the first `Ok` to come out of the set wins and
//! returns at once; the rest keep running detached, asked to stop
//! (task/control.rs: `is_cancelled` is true inside them, from their first
//! check for those not started yet), and their results are dropped when
//! they finish. All `Err` returns every error.

use std::panic;

use crate::pool::Pool;
use crate::scheduler::shared::panic_closed;
use crate::task::error::TaskError;

impl Pool {
    /// Runs every candidate and returns the first `Ok` as soon as it arrives;
    /// the other candidates keep running detached, asked to stop
    /// ([`is_cancelled`](crate::is_cancelled) turns true inside them, so a
    /// candidate that checks it ends early), and their results are dropped. If every candidate fails, returns all the errors (in the order
    /// they arrived). The "ask every mirror, keep the first answer" pattern.
    ///
    /// A panicking candidate counts as failed; if none succeeds, the first
    /// panic resumes here instead of returning the errors.
    ///
    /// # Errors
    ///
    /// Every candidate's error, in the order they arrived, when none
    /// returned `Ok` and none panicked (an empty `candidates` gives an empty
    /// `Vec`).
    ///
    /// # Panics
    ///
    /// If the pool is closed, if no candidate succeeded and one panicked, or
    /// if `shutdown_now` cancelled a candidate and none succeeded.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = workcrew::Pool::new(3);
    /// let mirrors = ["a.example", "b.example", "c.example"].map(|host| {
    ///     move || if host.starts_with('b') { Ok(host) } else { Err(format!("{host} is down")) }
    /// });
    /// assert_eq!(pool.race(mirrors), Ok("b.example"));
    ///
    /// let all_down = pool.race([|| Err::<(), _>("timeout"), || Err("refused")]);
    /// let mut errors = all_down.unwrap_err();
    /// errors.sort();
    /// assert_eq!(errors, ["refused", "timeout"]);
    /// ```
    pub fn race<I, F, T, E>(&self, candidates: I) -> Result<T, Vec<E>>
    where
        I: IntoIterator<Item = F>,
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        if self.shared.refuses_submissions() {
            panic_closed("Pool::race");
        }
        let mut set = self.task_set();
        for candidate in candidates {
            set.spawn(candidate);
        }
        let mut errors = Vec::new();
        let mut first_panic = None;
        let mut cancelled = false;
        while let Some(result) = set.join_next() {
            match result {
                Ok(Ok(value)) => {
                    // The others keep running detached, asked to stop.
                    set.ask_all_to_stop();
                    return Ok(value);
                }
                Ok(Err(error)) => errors.push(error),
                Err(TaskError::Panicked(payload)) => {
                    first_panic.get_or_insert(payload);
                }
                Err(TaskError::Cancelled | TaskError::TimedOut) => cancelled = true,
            }
        }
        if let Some(payload) = first_panic {
            panic::resume_unwind(payload);
        }
        if cancelled {
            panic!("workcrew: Pool::race: a candidate was cancelled by shutdown_now and none succeeded");
        }
        Err(errors)
    }
}
