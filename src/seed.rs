//! The process-wide pool and the helpers shaped after the seeds' Python.

use std::sync::OnceLock;

use crate::handle::TaskHandle;
use crate::pool::Pool;

/// The process-wide pool, built on first use with one thread per CPU.
/// It is never shut down.
///
/// # Examples
///
/// ```
/// let answer = workcrew::global().apply(|| 6 * 7);
/// assert_eq!(answer, 42);
/// ```
pub fn global() -> &'static Pool {
    static GLOBAL: OnceLock<Pool> = OnceLock::new();
    GLOBAL.get_or_init(|| Pool::new(0))
}

/// Spawns `f` on the [`global`] pool.
///
/// # Examples
///
/// ```
/// let handle = workcrew::spawn(|| "hello from the pool");
/// assert_eq!(handle.join().unwrap(), "hello from the pool");
/// ```
pub fn spawn<F, T>(f: F) -> TaskHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    global().spawn(f)
}
