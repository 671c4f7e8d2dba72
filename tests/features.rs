//! The optional integrations, one test group per feature. CI runs this file
//! with every feature on (`cargo test -p workcrew --all-features --test
//! features`); built without a feature, its tests are not compiled, and the
//! one test below says which features this build had, so a run without them
//! is visible in the log rather than silently passing.

mod common;

#[test]
fn this_build_has_the_features_ci_tests() {
    let features = [
        ("tracing", cfg!(feature = "tracing")),
        ("metrics", cfg!(feature = "metrics")),
        ("stream", cfg!(feature = "stream")),
        ("ctrl-c", cfg!(feature = "ctrl-c")),
    ];
    let missing: Vec<_> = features
        .iter()
        .filter(|(_, on)| !on)
        .map(|(name, _)| *name)
        .collect();
    if std::env::var_os("WORKCREW_REQUIRE_FEATURES").is_some() {
        assert!(missing.is_empty(), "built without the features {missing:?}");
    } else if !missing.is_empty() {
        eprintln!("tests/features.rs: built without {missing:?}; their tests did not run");
    }
}

#[cfg(feature = "tracing")]
mod tracing_spans {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    /// Each event's message, with the name of the span current on its thread.
    type Events = Arc<Mutex<Vec<(Option<&'static str>, String)>>>;

    /// Records each event with the name of the span current on its thread.
    #[derive(Default)]
    struct Recorder {
        next_id: AtomicU64,
        names: Mutex<Vec<(u64, &'static Metadata<'static>)>>,
        events: Events,
    }

    std::thread_local!(static CURRENT: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) });

    struct Message(String);
    impl tracing::field::Visit for Message {
        fn record_debug(&mut self, _: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            self.0 = format!("{value:?}");
        }
    }

    impl Subscriber for Recorder {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
            self.names.lock().unwrap().push((id, span.metadata()));
            Id::from_u64(id)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let current = CURRENT.with(|c| c.borrow().last().copied());
            let name = current.and_then(|id| {
                self.names
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, meta)| meta.name())
            });
            let mut message = Message(String::new());
            event.record(&mut message);
            self.events.lock().unwrap().push((name, message.0));
        }
        fn enter(&self, span: &Id) {
            CURRENT.with(|c| c.borrow_mut().push(span.into_u64()));
        }
        fn exit(&self, _: &Id) {
            CURRENT.with(|c| c.borrow_mut().pop());
        }
        fn current_span(&self) -> tracing_core::span::Current {
            let current = CURRENT.with(|c| c.borrow().last().copied());
            let names = self.names.lock().unwrap();
            match current.and_then(|id| names.iter().find(|(i, _)| *i == id)) {
                Some((id, meta)) => tracing_core::span::Current::new(Id::from_u64(*id), meta),
                None => tracing_core::span::Current::none(),
            }
        }
    }

    #[test]
    fn events_in_tasks_belong_to_the_span_they_were_submitted_in() {
        let recorder = Recorder::default();
        let events = recorder.events.clone();
        tracing::subscriber::with_default(recorder, || {
            let pool = workcrew::Pool::new(2);
            let span = tracing::info_span!("request");
            let _entered = span.enter();
            pool.spawn(|| tracing::info!("in a spawned task"))
                .join()
                .unwrap();
            pool.map(0..4, |_| tracing::info!("in a map item"));
            let inner = pool.clone();
            pool.spawn(move || {
                inner
                    .spawn(|| tracing::info!("in a nested task"))
                    .join()
                    .unwrap()
            })
            .join()
            .unwrap();
            pool.shutdown();
        });
        let events = events.lock().unwrap();
        assert_eq!(events.len(), 6);
        assert!(
            events.iter().all(|(span, _)| *span == Some("request")),
            "events outside the submitter's span: {events:?}"
        );
    }
}

#[cfg(feature = "metrics")]
mod metrics_facade {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use metrics::{
        Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata,
        Recorder, SharedString, Unit,
    };

    #[derive(Default)]
    struct Cell {
        counter: AtomicU64,
        gauge: Mutex<f64>,
        samples: Mutex<Vec<f64>>,
    }

    impl CounterFn for Cell {
        fn increment(&self, value: u64) {
            self.counter.fetch_add(value, Ordering::Relaxed);
        }
        fn absolute(&self, value: u64) {
            self.counter.store(value, Ordering::Relaxed);
        }
    }
    impl GaugeFn for Cell {
        fn increment(&self, value: f64) {
            *self.gauge.lock().unwrap() += value;
        }
        fn decrement(&self, value: f64) {
            *self.gauge.lock().unwrap() -= value;
        }
        fn set(&self, value: f64) {
            *self.gauge.lock().unwrap() = value;
        }
    }
    impl HistogramFn for Cell {
        fn record(&self, value: f64) {
            self.samples.lock().unwrap().push(value);
        }
    }

    #[derive(Default)]
    struct Store(Mutex<HashMap<String, Arc<Cell>>>);

    impl Store {
        fn cell(&self, key: &Key) -> Arc<Cell> {
            self.0
                .lock()
                .unwrap()
                .entry(key.name().to_owned())
                .or_default()
                .clone()
        }
    }

    impl Recorder for Store {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            Counter::from_arc(self.cell(key))
        }
        fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::from_arc(self.cell(key))
        }
        fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::from_arc(self.cell(key))
        }
    }

    #[test]
    fn every_task_is_recorded_and_gauges_show_the_pool() {
        let store = Store::default();
        let pool = metrics::with_local_recorder(&store, || {
            workcrew::Pool::builder()
                .threads(2)
                .metrics("jobs")
                .build()
                .unwrap()
        });
        for i in 0..10 {
            pool.execute(move || {
                if i == 3 {
                    panic!("one task fails");
                }
            });
        }
        pool.join();
        pool.record_metrics();
        let cells = store.0.lock().unwrap();
        assert_eq!(cells["jobs.tasks"].counter.load(Ordering::Relaxed), 10);
        assert_eq!(cells["jobs.panics"].counter.load(Ordering::Relaxed), 1);
        assert_eq!(cells["jobs.run_time"].samples.lock().unwrap().len(), 10);
        assert_eq!(cells["jobs.queue_wait"].samples.lock().unwrap().len(), 10);
        assert_eq!(*cells["jobs.threads"].gauge.lock().unwrap(), 2.0);
        assert_eq!(*cells["jobs.queued"].gauge.lock().unwrap(), 0.0);
        drop(cells);
        pool.shutdown();
    }
}

#[cfg(feature = "stream")]
mod stream {
    use std::pin::Pin;
    use std::task::{Context, Poll, Wake, Waker};

    use futures_core::Stream;

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }

    #[test]
    fn a_task_set_is_a_stream_of_results_in_completion_order() {
        super::common::with_deadline(super::common::LIMIT, || {
            let pool = workcrew::Pool::new(2);
            let mut set = pool.task_set();
            for i in 0..5u32 {
                set.spawn(move || i * 2);
            }
            assert_eq!(set.size_hint(), (5, Some(5)));
            let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
            let mut cx = Context::from_waker(&waker);
            let mut results = Vec::new();
            loop {
                match Pin::new(&mut set).poll_next(&mut cx) {
                    Poll::Ready(Some(result)) => results.push(result.unwrap()),
                    Poll::Ready(None) => break,
                    Poll::Pending => std::thread::park(),
                }
            }
            results.sort();
            assert_eq!(results, [0, 2, 4, 6, 8]);
            pool.shutdown();
        });
    }
}

#[cfg(all(unix, feature = "ctrl-c"))]
mod ctrl_c {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::Duration;

    const CHILD: &str = "WORKCREW_CTRL_C_CHILD";

    /// In the child: a pool with one long cooperative task and queued work,
    /// Ctrl-C handling on; prints what happened.
    fn child(second: bool) {
        let pool = workcrew::Pool::new(if second { 2 } else { 1 });
        let ctrl_c = workcrew::stop_on_ctrl_c(&pool).unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        if second {
            // A running task that ignores the request keeps `shutdown`
            // waiting until the second Ctrl-C exits the process.
            let started = started_tx.clone();
            pool.execute(move || {
                started.send(()).unwrap();
                loop {
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
            started_rx.recv().unwrap();
        }
        let running = pool.spawn(move || {
            started_tx.send(()).unwrap();
            loop {
                workcrew::checkpoint();
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        started_rx.recv().unwrap();
        let queued = pool.spawn(|| "ran");
        println!("ready");
        let outcome = running.join();
        println!(
            "running: {}",
            if outcome.is_err_and(|e| e.is_cancelled()) {
                "stopped"
            } else {
                "?"
            }
        );
        println!(
            "queued: {}",
            if queued.join().is_err_and(|e| e.is_cancelled()) {
                "cancelled"
            } else {
                "ran"
            }
        );
        println!("interrupted: {}", ctrl_c.is_interrupted());
        pool.shutdown();
    }

    fn run_child(test: &str, signals: usize) -> (Vec<String>, Option<i32>) {
        let mut process = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--test-threads=1", "--nocapture"])
            .env(CHILD, "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
        let mut seen = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            let ready = line.ends_with("ready");
            seen.push(line);
            if ready {
                break;
            }
        }
        for _ in 0..signals {
            // SAFETY: sending SIGINT to our own child process.
            unsafe { libc::kill(process.id() as libc::pid_t, libc::SIGINT) };
            std::thread::sleep(Duration::from_millis(100));
        }
        seen.extend(lines.map_while(Result::ok));
        let status = process.wait().unwrap();
        (seen, status.code())
    }

    #[test]
    fn the_first_ctrl_c_stops_queued_work_and_asks_running_tasks_to_stop() {
        if std::env::var_os(CHILD).is_some() {
            return child(false);
        }
        let (lines, code) = run_child(
            "ctrl_c::the_first_ctrl_c_stops_queued_work_and_asks_running_tasks_to_stop",
            1,
        );
        assert!(lines.contains(&"running: stopped".to_owned()), "{lines:?}");
        assert!(lines.contains(&"queued: cancelled".to_owned()), "{lines:?}");
        assert!(lines.contains(&"interrupted: true".to_owned()), "{lines:?}");
        assert_eq!(code, Some(0));
    }

    #[test]
    fn the_second_ctrl_c_exits_with_status_130() {
        if std::env::var_os(CHILD).is_some() {
            return child(true);
        }
        let (lines, code) = run_child("ctrl_c::the_second_ctrl_c_exits_with_status_130", 2);
        assert_eq!(code, Some(130), "{lines:?}");
    }

    #[test]
    fn the_global_pool_is_refused_with_a_clear_error() {
        let error = workcrew::stop_on_ctrl_c(workcrew::global()).unwrap_err();
        assert!(error.to_string().contains("global"), "{error}");
    }
}
