//! [`BuildError`]: a [`PoolBuilder`](crate::PoolBuilder) setting that
//! cannot work, named, with what to do about it.
//!
//! Invariant: `field` is always the name of the builder method whose value
//! was rejected (or `"threads"` when the OS refused every worker thread), so
//! a program can match on it; `Display` says what was wrong and how to fix it.

use std::fmt;

use crate::scheduler::registry::THREAD_LIMIT;

/// A [`PoolBuilder`](crate::PoolBuilder) setting that cannot work;
/// `Display` names the setting and says how to fix it, and
/// [`field`](Self::field) names it for a program.
///
/// # Examples
///
/// ```
/// match workcrew::Pool::builder().max_threads(0).build() {
///     Ok(_) => unreachable!("max_threads(0) cannot work"),
///     Err(error) => {
///         assert_eq!(error.field(), "max_threads");
///         eprintln!("{error}"); // invalid pool setting `max_threads`: ...
///     }
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    field: &'static str,
    message: String,
}

impl BuildError {
    pub(crate) fn new(field: &'static str, message: String) -> Self {
        BuildError { field, message }
    }

    /// The name of the builder method whose value was rejected, e.g.
    /// `"max_threads"`.
    pub fn field(&self) -> &'static str {
        self.field
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid pool setting `{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for BuildError {}

/// Rejects a thread count above the per-pool limit.
pub(crate) fn check_limit(field: &'static str, value: usize) -> Result<(), BuildError> {
    if value > THREAD_LIMIT {
        return Err(BuildError::new(
            field,
            format!("{field} ({value}) exceeds the limit of {THREAD_LIMIT} threads per pool"),
        ));
    }
    Ok(())
}
