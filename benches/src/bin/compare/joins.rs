//! The machinery shared by the fine-grained fork-join workloads
//! (finegrained.rs, trees.rs): one `Join` per peer, so that one generic
//! recursion serves workcrew, rayon and the plain sequential code; chili,
//! whose join takes a scope, through `ChiliWork`; and the four contenders of
//! a workload, each measured inside its own pool.
//!
//! Every peer runs the *first* half of a join first on the calling thread
//! and offers the second to other threads; chili's own join does it the
//! other way round, so it is called through `forkjoin::chili_join`, which
//! swaps the halves back (same order of work, same memory walk).

use std::num::NonZero;
use std::time::Instant;

use crate::forkjoin::Node;
use crate::harness::{fresh, timed, Contender, Sample, Table};
use crate::{finegrained, trees};

// ------------------------------------------------------------ pools

pub fn workcrew_pool(threads: usize) -> workcrew::Pool {
    workcrew::Pool::new(threads)
}

pub fn rayon_pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool")
}

/// chili counts the calling thread as one of its threads.
pub fn chili_pool(threads: usize) -> chili::ThreadPool {
    chili::ThreadPool::with_config(chili::Config {
        thread_count: NonZero::new(threads),
        ..chili::Config::default()
    })
}

/// A join for the recursions below, so one generic body serves workcrew,
/// rayon and the sequential baseline (chili's join takes a scope; its
/// recursions are written out beside them).
pub trait Join: Copy + Send + Sync {
    fn join<A, B, RA, RB>(self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send;
}

#[derive(Clone, Copy)]
pub struct Workcrew;
#[derive(Clone, Copy)]
pub struct Rayon;
#[derive(Clone, Copy)]
pub struct Sequential;

impl Join for Workcrew {
    #[inline]
    fn join<A, B, RA, RB>(self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        workcrew::fork_join(a, b)
    }
}

impl Join for Rayon {
    #[inline]
    fn join<A, B, RA, RB>(self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        rayon::join(a, b)
    }
}

impl Join for Sequential {
    #[inline]
    fn join<A, B, RA, RB>(self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        (a(), b())
    }
}

// ------------------------------------------------------------ contenders

/// The four peers of one recursive workload, each measured inside its pool
/// of `threads` threads: `run` times one computation and returns a sample.
pub fn four_peers<'a>(
    threads: usize,
    run: impl Fn(&dyn Fn()) -> Sample + Copy + Send + Sync + 'a,
    work: impl Fn(&dyn JoinWork) + Copy + Send + Sync + 'a,
) -> Vec<Contender<'a>> {
    vec![
        Contender::new("workcrew fork_join", move || {
            fresh(
                || workcrew_pool(threads),
                |pool| pool.apply(|| run(&|| work(&Workcrew))),
                |pool| pool.shutdown(),
            )
        }),
        Contender::new("rayon::join", move || {
            fresh(
                || rayon_pool(threads),
                |pool| pool.install(|| run(&|| work(&Rayon))),
                drop,
            )
        }),
        Contender::new("chili", move || {
            fresh(
                || chili_pool(threads),
                |pool| {
                    let mut scope = pool.scope();
                    let scope = std::cell::RefCell::new(&mut scope);
                    run(&|| work(&ChiliWork(&scope)))
                },
                drop,
            )
        }),
        Contender::new("sequential", move || run(&|| work(&Sequential))),
    ]
}

/// One recursive workload, written once per kind of join.
pub trait JoinWork {
    /// `right_first`: the right child first (reverse allocation order).
    fn tree_sum(&self, node: &Node, right_first: bool) -> u64;
    fn fib(&self, n: u64) -> u64;
    fn join_recursively(&self, n: usize);
    fn empty_joins(&self);
    fn quicksort(&self, v: &mut [u32]);
    fn mergesort(&self, v: &mut [u32], buf: &mut [u32]);
    fn two_naps(&self);
}

impl<J: Join> JoinWork for J {
    fn tree_sum(&self, node: &Node, right_first: bool) -> u64 {
        if right_first {
            trees::tree_sum::<J, true>(*self, node)
        } else {
            trees::tree_sum::<J, false>(*self, node)
        }
    }
    fn fib(&self, n: u64) -> u64 {
        finegrained::fib(*self, n)
    }
    fn join_recursively(&self, n: usize) {
        finegrained::join_recursively(*self, n)
    }
    fn empty_joins(&self) {
        finegrained::empty_joins(*self)
    }
    fn quicksort(&self, v: &mut [u32]) {
        finegrained::quicksort(*self, v)
    }
    fn mergesort(&self, v: &mut [u32], buf: &mut [u32]) {
        finegrained::mergesort(*self, v, buf)
    }
    fn two_naps(&self) {
        self.join(
            || std::thread::sleep(finegrained::NAP),
            || std::thread::sleep(finegrained::NAP),
        );
    }
}

pub struct ChiliWork<'s, 'p>(&'s std::cell::RefCell<&'s mut chili::Scope<'p>>);

impl JoinWork for ChiliWork<'_, '_> {
    fn tree_sum(&self, node: &Node, right_first: bool) -> u64 {
        let mut scope = self.0.borrow_mut();
        if right_first {
            trees::tree_sum_chili::<true>(&mut scope, node)
        } else {
            trees::tree_sum_chili::<false>(&mut scope, node)
        }
    }
    fn fib(&self, n: u64) -> u64 {
        finegrained::fib_chili(&mut self.0.borrow_mut(), n)
    }
    fn join_recursively(&self, n: usize) {
        finegrained::join_recursively_chili(&mut self.0.borrow_mut(), n)
    }
    fn empty_joins(&self) {
        finegrained::empty_joins_chili(&mut self.0.borrow_mut())
    }
    fn quicksort(&self, v: &mut [u32]) {
        finegrained::quicksort_chili(&mut self.0.borrow_mut(), v)
    }
    fn mergesort(&self, v: &mut [u32], buf: &mut [u32]) {
        finegrained::mergesort_chili(&mut self.0.borrow_mut(), v, buf)
    }
    fn two_naps(&self) {
        self.0.borrow_mut().join(
            |_| std::thread::sleep(finegrained::NAP),
            |_| std::thread::sleep(finegrained::NAP),
        );
    }
}

/// Warms once, then times one run.
pub fn once_ms(body: &dyn Fn()) -> Sample {
    body();
    Sample::ms(timed(body).1)
}

/// Warms, then times `count` runs and reports microseconds per run.
pub fn many_us(count: u32) -> impl Fn(&dyn Fn()) -> Sample + Copy + Send + Sync {
    move |body| {
        for _ in 0..count / 10 {
            body();
        }
        let start = Instant::now();
        for _ in 0..count {
            body();
        }
        Sample::new(start.elapsed().as_secs_f64() * 1e6 / f64::from(count))
    }
}

pub fn table(
    id: &'static str,
    title: &'static str,
    unit: &'static str,
    note: &'static str,
) -> Table {
    Table {
        id,
        title,
        unit,
        extra: None,
        baseline: Some("sequential"),
        note,
    }
}
