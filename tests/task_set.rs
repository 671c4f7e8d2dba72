//! `TaskSet`: results in completion order, ids, non-blocking and timed
//! takes, `join_all`, `cancel_all` racing with tasks that start, `len`,
//! detaching on drop, and waiting inside a one-thread pool; and the parts
//! of `Pool::race` that rest on it: a panic when nobody succeeds, and the
//! losers' results dropped once they finish.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::{occupy, panic_text_of, stress, wait_until, with_deadline, Counter, Gate, LIMIT};
use workcrew::{Pool, TaskError, TaskId, Timeout};

/// A short wait that is expected to time out.
const SHORT: Duration = Duration::from_millis(20);

// ---------------------------------------------------------------- order

#[test]
fn join_next_returns_results_in_completion_order_under_varied_sleeps() {
    with_deadline(LIMIT, || {
        // The subject is timing: tasks sleep for different times and must
        // come out shortest first. They all start sleeping together (the
        // barrier), and gaps of 100 ms keep the order robust under load.
        let pool = Pool::new(5);
        let start = Arc::new(Barrier::new(5));
        let mut set = pool.task_set();
        for ms in [400u64, 100, 300, 0, 200] {
            let start = start.clone();
            set.spawn(move || {
                start.wait();
                thread::sleep(Duration::from_millis(ms));
                ms
            });
        }
        let mut order = Vec::new();
        while let Some(result) = set.join_next() {
            order.push(result.unwrap());
        }
        assert_eq!(order, [0, 100, 200, 300, 400]);
        assert!(set.is_empty());
    });
}

#[test]
fn join_next_returns_results_in_the_order_tasks_are_released() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(4);
        let gates: Arc<Vec<Gate>> = Arc::new((0..4).map(|_| Gate::new()).collect());
        let mut set = pool.task_set();
        for i in 0..4 {
            let gates = gates.clone();
            set.spawn(move || {
                gates[i].wait();
                i
            });
        }
        for i in [2, 0, 3, 1] {
            gates[i].open();
            assert_eq!(set.join_next().unwrap().unwrap(), i);
        }
        assert!(set.join_next().is_none());
    });
}

#[test]
fn join_next_with_id_pairs_each_result_with_the_id_spawn_returned() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let mut set = pool.task_set();
        let mut expected: HashMap<TaskId, usize> = HashMap::new();
        for i in 0..50 {
            let id = set.spawn(move || i * 3);
            assert!(
                expected.insert(id, i * 3).is_none(),
                "id {id:?} given twice"
            );
        }
        let mut seen = HashSet::new();
        while let Some((id, result)) = set.join_next_with_id() {
            assert_eq!(Some(&result.unwrap()), expected.get(&id), "{id:?}");
            assert!(seen.insert(id), "{id:?} came out twice");
        }
        assert_eq!(seen.len(), 50);
    });
}

#[test]
fn a_later_task_never_reuses_the_id_of_one_taken_out() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let mut set = pool.task_set();
        let first = set.spawn(|| 1);
        assert_eq!(
            set.join_next_with_id().map(|(id, r)| (id, r.unwrap())),
            Some((first, 1))
        );
        // A later task never reuses an id of one already taken out.
        let second = set.spawn(|| 2);
        assert_ne!(first, second);
        assert_eq!(set.join_next_with_id().unwrap().0, second);
    });
}

// ---------------------------------------------------------------- non-blocking and timed

#[test]
fn try_join_next_never_blocks() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let mut set = pool.task_set();
        assert!(set.try_join_next().is_none(), "empty set");
        let gate = Gate::new();
        let held = gate.clone();
        set.spawn(move || {
            held.wait();
            "released"
        });
        // Running and held: nothing ready, and no waiting for it.
        for _ in 0..100 {
            assert!(set.try_join_next().is_none());
        }
        assert_eq!(set.len(), 1);
        gate.open();
        let mut result = None;
        wait_until("try_join_next to yield the released task", || {
            result = set.try_join_next();
            result.is_some()
        });
        assert_eq!(result.unwrap().unwrap(), "released");
        assert!(set.is_empty());
    });
}

#[test]
fn join_next_timeout_times_out_and_leaves_every_task_in_the_set() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let mut set = pool.task_set();
        let gate = Gate::new();
        for i in 0..3 {
            let held = gate.clone();
            set.spawn(move || {
                held.wait();
                i
            });
        }
        assert!(matches!(set.join_next_timeout(SHORT), Err(Timeout)));
        assert!(matches!(set.join_next_timeout(SHORT), Err(Timeout)));
        assert_eq!(set.len(), 3);
        gate.open();
        let first = set.join_next_timeout(LIMIT).unwrap().unwrap().unwrap();
        assert!(first < 3);
        let mut rest: Vec<i32> = set.join_all().into_iter().map(Result::unwrap).collect();
        rest.push(first);
        rest.sort_unstable();
        assert_eq!(rest, [0, 1, 2]);
    });
}

#[test]
fn join_next_timeout_on_an_empty_set_returns_none_at_once() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let mut set = pool.task_set::<u8>();
        assert!(matches!(
            set.join_next_timeout(Duration::from_secs(3600)),
            Ok(None)
        ));
        assert!(set.join_next().is_none());
    });
}

// ---------------------------------------------------------------- join_all

#[test]
fn join_all_returns_every_result_including_panics() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let mut set = pool.task_set();
        for i in 0..100u32 {
            set.spawn(move || {
                if i % 10 == 0 {
                    panic!("task {i} failed");
                }
                i
            });
        }
        let results = set.join_all();
        assert_eq!(results.len(), 100);
        let mut values: Vec<u32> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        values.sort_unstable();
        let expected: Vec<u32> = (0..100).filter(|i| i % 10 != 0).collect();
        assert_eq!(values, expected);
        let mut messages: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| {
                assert!(e.is_panic());
                e.panic_message().unwrap().to_owned()
            })
            .collect();
        messages.sort();
        assert_eq!(messages.len(), 10);
        assert_eq!(messages[0], "task 0 failed");
    });
}

#[test]
fn join_all_of_an_empty_set_is_empty() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        assert!(pool.task_set::<()>().join_all().is_empty());
    });
}

// ---------------------------------------------------------------- cancel_all

#[test]
fn cancelled_tasks_never_run_and_come_out_as_cancelled() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let gate = Gate::new();
        let busy = occupy(&pool, 2, &gate);
        let ran = Counter::new();
        let mut set = pool.task_set();
        for _ in 0..5 {
            let ran = ran.clone();
            set.spawn(move || ran.inc());
        }
        assert_eq!(set.cancel_all(), 5);
        assert_eq!(set.len(), 5, "cancelled tasks still come out of the set");
        assert_eq!(set.cancel_all(), 0, "nothing left to cancel");
        gate.open();
        let results = set.join_all();
        assert_eq!(results.len(), 5);
        assert!(results
            .iter()
            .all(|r| matches!(r, Err(TaskError::Cancelled))));
        for handle in busy {
            handle.join().unwrap();
        }
        pool.join();
        assert_eq!(ran.get(), 0);
    });
}

#[test]
fn cancel_all_racing_with_tasks_starting_gives_every_task_exactly_once() {
    with_deadline(LIMIT, || {
        const TASKS: usize = 200;
        let pool = Pool::new(2);
        for round in 0..stress(20) {
            let ran = Counter::new();
            let mut set = pool.task_set();
            for i in 0..TASKS {
                let ran = ran.clone();
                set.spawn(move || {
                    ran.inc();
                    i
                });
            }
            let cancelled = set.cancel_all();
            let results = set.join_all();
            pool.join();
            assert_eq!(results.len(), TASKS, "round {round}");
            let mut values = Vec::new();
            let mut came_out_cancelled = 0;
            for result in results {
                match result {
                    Ok(value) => values.push(value),
                    Err(TaskError::Cancelled) => came_out_cancelled += 1,
                    Err(error) => panic!("round {round}: unexpected {error}"),
                }
            }
            assert_eq!(came_out_cancelled, cancelled, "round {round}");
            assert_eq!(
                values.len(),
                ran.get(),
                "round {round}: a cancelled task ran"
            );
            values.sort_unstable();
            values.dedup();
            assert_eq!(values.len() + cancelled, TASKS, "round {round}");
        }
    });
}

// ---------------------------------------------------------------- len and drop

#[test]
fn len_and_is_empty_count_tasks_not_yet_taken_out() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let mut set = pool.task_set();
        assert_eq!(set.len(), 0);
        assert!(set.is_empty());
        for i in 0..3 {
            set.spawn(move || i);
        }
        assert_eq!(set.len(), 3);
        assert!(!set.is_empty());
        set.join_next().unwrap().unwrap();
        assert_eq!(set.len(), 2);
        // Finished but not taken out: still counted.
        pool.join();
        assert_eq!(set.len(), 2);
        set.join_next().unwrap().unwrap();
        set.join_next().unwrap().unwrap();
        assert_eq!(set.len(), 0);
        assert!(set.is_empty());
        assert!(set.join_next().is_none());
    });
}

#[test]
fn dropping_a_set_detaches_its_tasks_which_still_run() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(2);
        let gate = Gate::new();
        let ran = Counter::new();
        let mut set = pool.task_set();
        for _ in 0..10 {
            let (gate, ran) = (gate.clone(), ran.clone());
            set.spawn(move || {
                gate.wait();
                ran.inc();
            });
        }
        drop(set);
        gate.open();
        pool.join();
        assert_eq!(ran.get(), 10);
    });
}

// ---------------------------------------------------------------- nesting

#[test]
fn join_all_of_many_tasks_inside_a_task_of_a_one_thread_pool_takes_each_back_once() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let inner = pool.clone();
        let total = pool
            .spawn(move || {
                let mut set = inner.task_set();
                for i in 0..20_000u64 {
                    set.spawn(move || i);
                }
                let results = set.join_all();
                assert_eq!(results.len(), 20_000);
                results.into_iter().map(Result::unwrap).sum::<u64>()
            })
            .join()
            .unwrap();
        assert_eq!(total, (0..20_000u64).sum());
    });
}

#[test]
fn join_next_inside_a_task_of_a_one_thread_pool_does_not_deadlock() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let inner = pool.clone();
        let handle = pool.spawn(move || {
            let mut set = inner.task_set();
            for i in 0..10u64 {
                set.spawn(move || i * i);
            }
            let mut sum = 0;
            while let Some(result) = set.join_next() {
                sum += result.unwrap();
            }
            let mut timed = inner.task_set();
            timed.spawn(|| 7u64);
            let seven = timed.join_next_timeout(LIMIT).unwrap().unwrap().unwrap();
            let all: u64 = {
                let mut set = inner.task_set();
                for i in 0..5u64 {
                    set.spawn(move || i);
                }
                set.join_all().into_iter().map(Result::unwrap).sum()
            };
            (sum, seven, all)
        });
        assert_eq!(handle.join().unwrap(), (285, 7, 10));
    });
}

// ---------------------------------------------------------------- race

type Fallible = Box<dyn FnOnce() -> Result<u8, &'static str> + Send>;

/// A race candidate that counts itself in `failed` and returns `Err(what)`.
fn failing(failed: &Counter, what: &'static str) -> Fallible {
    let failed = failed.clone();
    Box::new(move || {
        failed.inc();
        Err(what)
    })
}

/// A race candidate that panics with `message`.
fn panicking(message: &'static str) -> Fallible {
    Box::new(move || panic!("{message}"))
}

#[test]
fn a_race_where_every_candidate_fails_and_one_panics_resumes_that_panic() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let failed = Counter::new();
        let candidates = vec![
            failing(&failed, "a is down"),
            panicking("b broke"),
            failing(&failed, "c is down"),
        ];
        // "if none succeeds, the first panic resumes here instead of
        // returning the errors" (`Pool::race`), after every candidate ended.
        let text = panic_text_of(|| pool.race(candidates));
        assert_eq!(text, "b broke");
        assert_eq!(failed.get(), 2, "race resumed before every candidate ended");
        pool.join();
        assert_eq!(pool.stats().panicked, 1);
    });
}

#[test]
fn a_race_where_every_candidate_fails_and_several_panic_resumes_the_first_to_arrive() {
    with_deadline(LIMIT, || {
        // One thread: outside tasks start in submission order, so the first
        // panic submitted is the first to arrive.
        let pool = Pool::new(1);
        let failed = Counter::new();
        let candidates = vec![
            failing(&failed, "a is down"),
            panicking("b broke"),
            failing(&failed, "c is down"),
            panicking("d broke"),
            failing(&failed, "e is down"),
        ];
        assert_eq!(panic_text_of(|| pool.race(candidates)), "b broke");
        assert_eq!(failed.get(), 3, "race resumed before every candidate ended");
    });
}

/// A race result that counts its drops and holds a reference the test
/// can count, to see whether anyone still keeps it.
struct Tracked {
    from: &'static str,
    drops: Counter,
    _witness: Arc<()>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.inc();
    }
}

#[test]
fn a_races_losers_have_their_results_dropped_once_they_finish() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(3);
        let losers_go = Gate::new();
        let drops = Counter::new();
        let witness = Arc::new(());
        let (started_tx, started_rx) = mpsc::channel();
        type Candidate = Box<dyn FnOnce() -> Result<Tracked, Tracked> + Send>;
        let candidate = |from: &'static str, held: bool, ok: bool| -> Candidate {
            let (gate, drops, witness) = (losers_go.clone(), drops.clone(), witness.clone());
            let started = started_tx.clone();
            Box::new(move || {
                if held {
                    started.send(()).unwrap();
                    gate.wait();
                }
                let value = Tracked {
                    from,
                    drops,
                    _witness: witness,
                };
                if ok {
                    Ok(value)
                } else {
                    Err(value)
                }
            })
        };
        let candidates = vec![
            candidate("slow ok", true, true),
            candidate("fast ok", false, true),
            candidate("slow error", true, false),
        ];
        drop(started_tx);
        let winner = pool
            .race(candidates)
            .unwrap_or_else(|_| panic!("a candidate succeeded"));
        assert_eq!(winner.from, "fast ok");
        // Both losers are running, held by the gate.
        for _ in 0..2 {
            started_rx
                .recv_timeout(LIMIT)
                .expect("a loser never started");
        }
        assert_eq!(
            drops.get(),
            0,
            "a result was dropped before its candidate finished"
        );
        losers_go.open();
        pool.join();
        assert_eq!(
            drops.get(),
            2,
            "the losers' results were not dropped when they finished"
        );
        drop(winner);
        assert_eq!(drops.get(), 3);
        assert_eq!(
            Arc::strong_count(&witness),
            1,
            "the pool still holds something of a finished candidate"
        );
    });
}

// ---------------------------------------------------------------- closed pool

#[test]
fn spawning_into_a_set_of_a_closed_pool_panics_with_a_clear_message() {
    with_deadline(LIMIT, || {
        let pool = Pool::new(1);
        let mut set = pool.task_set();
        pool.shutdown();
        let text = panic_text_of(|| set.spawn(|| 1));
        assert!(text.contains("closed"), "unclear message: {text}");
        assert!(set.is_empty());
    });
}
