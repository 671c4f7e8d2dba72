#!/usr/bin/env python3
"""The Python thread pools people come from, on workcrew's W1/W2/W5 shapes.

How to run (not part of CI; stdlib only, gevent optional):

    python3 benches/python_peers.py                 # ~2 minutes on 2 cores
    python3 benches/python_peers.py --reps 5 --full  # W1 with 1,000,000 tasks
    pip install gevent                               # adds gevent's ThreadPool

and, on the same machine, for the Rust side:

    cargo run --release -p workcrew-benches -- --only W1,W2,W5

Pass workcrew's medians to print how many times faster it is:

    python3 benches/python_peers.py --workcrew W1=95,W2=130,W5=101

Workloads (the same shapes as the compare binary, benches/src/bin/compare, see issue 7):
  W1  empty tasks submitted from an outside thread, then wait for all (ns/task);
      100,000 tasks by default (Python needs 10-20 us each), 1,000,000 with --full
  W2  100,000 tasks returning an int, results collected by the caller (ns/task)
  W5  1000 tasks that each sleep 10 ms, on 100 threads (ms; ideal 100)

Peers: concurrent.futures.ThreadPoolExecutor, multiprocessing.dummy.Pool and,
if installed, gevent.threadpool.ThreadPool. As in the Rust harness, every
task counts down one shared latch (W1, W5), each pool is built and warmed
outside the timing and shut down (threads gone) before the next measurement,
and the rounds interleave the pools, rotating who goes first.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.dummy import Pool as DummyPool

try:
    import gevent.threadpool
except ImportError:  # optional peer
    gevent = None

CORES = os.cpu_count() or 2


class Latch:
    """Count-down latch: every task counts down once; the caller waits."""

    def __init__(self, count):
        self.left = count
        self.lock = threading.Lock()
        self.done = threading.Event()
        if count == 0:
            self.done.set()

    def count_down(self):
        with self.lock:
            self.left -= 1
            if self.left == 0:
                self.done.set()

    def wait(self):
        self.done.wait()


def live_threads():
    """Threads of this process (None where /proc is missing)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def wait_for_threads(limit):
    """Wait until the process is back to `limit` threads (pool torn down)."""
    if limit is None:
        return
    deadline = time.monotonic() + 30
    while live_threads() > limit and time.monotonic() < deadline:
        time.sleep(0.001)


# ---------------------------------------------------------------- the pools


class Executor:
    name = "concurrent.futures"

    def __init__(self, threads):
        self.pool = ThreadPoolExecutor(max_workers=threads)

    def execute(self, fn, *args):
        self.pool.submit(fn, *args)

    def collect(self, fn, inputs):
        futures = [self.pool.submit(fn, i) for i in inputs]
        return [f.result() for f in futures]

    def shutdown(self):
        self.pool.shutdown(wait=True)


class Dummy:
    name = "multiprocessing.dummy"

    def __init__(self, threads):
        self.pool = DummyPool(threads)

    def execute(self, fn, *args):
        self.pool.apply_async(fn, args)

    def collect(self, fn, inputs):
        results = [self.pool.apply_async(fn, (i,)) for i in inputs]
        return [r.get() for r in results]

    def shutdown(self):
        self.pool.close()
        self.pool.join()


class Gevent:
    name = "gevent ThreadPool"

    def __init__(self, threads):
        self.pool = gevent.threadpool.ThreadPool(threads)

    def execute(self, fn, *args):
        self.pool.spawn(fn, *args)

    def collect(self, fn, inputs):
        results = [self.pool.spawn(fn, i) for i in inputs]
        return [r.get() for r in results]

    def shutdown(self):
        self.pool.join()
        self.pool.kill()


PEERS = [Executor, Dummy] + ([Gevent] if gevent is not None else [])


# ---------------------------------------------------------------- workloads


def run_tasks(pool, count, fn, *args):
    latch = Latch(count)

    def task():
        fn(*args)
        latch.count_down()

    for _ in range(count):
        pool.execute(task)
    latch.wait()


def nothing():
    pass


def odd(i):
    return 2 * i + 1


def nap():
    time.sleep(0.010)


def fresh(peer, threads, body):
    """Build, run `body` (which warms and times), shut down, wait for threads."""
    before = live_threads()
    pool = peer(threads)
    try:
        return body(pool)
    finally:
        pool.shutdown()
        wait_for_threads(before)


def w1(peer, tasks):
    def body(pool):
        run_tasks(pool, tasks // 10, nothing)
        start = time.perf_counter()
        run_tasks(pool, tasks, nothing)
        return (time.perf_counter() - start) * 1e9 / tasks

    return fresh(peer, CORES, body)


def w2(peer, tasks):
    def body(pool):
        pool.collect(odd, range(tasks // 10))
        start = time.perf_counter()
        results = pool.collect(odd, range(tasks))
        elapsed = time.perf_counter() - start
        assert results == [odd(i) for i in range(tasks)]
        return elapsed * 1e9 / tasks

    return fresh(peer, CORES, body)


def w5(peer, _tasks):
    def body(pool):
        run_tasks(pool, 200, time.sleep, 0.002)  # start all 100 threads
        start = time.perf_counter()
        run_tasks(pool, 1000, nap)
        return (time.perf_counter() - start) * 1e3

    return fresh(peer, 100, body)


WORKLOADS = [
    ("W1", "empty tasks from an outside thread, then wait", "ns/task", w1),
    ("W2", "tasks returning an int, collected by the caller", "ns/task", w2),
    ("W5", "tasks sleeping 10 ms each, on 100 threads (ideal 100 ms)", "ms", w5),
]


def parse_workcrew(text):
    figures = {}
    for part in filter(None, (text or "").split(",")):
        key, _, value = part.partition("=")
        figures[key.strip().upper()] = float(value)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="rounds per workload (default 5)")
    parser.add_argument("--only", default="", help="comma-separated ids, e.g. W1,W5")
    parser.add_argument("--full", action="store_true", help="W1 with 1,000,000 tasks")
    parser.add_argument(
        "--workcrew",
        default="",
        help="workcrew medians from the compare binary, e.g. W1=95,W2=130,W5=101",
    )
    args = parser.parse_args()
    only = {i.strip().upper() for i in args.only.split(",") if i.strip()}
    workcrew = parse_workcrew(args.workcrew)
    sizes = {"W1": 1_000_000 if args.full else 100_000, "W2": 100_000, "W5": 1000}

    print(f"Python {sys.version.split()[0]}, {CORES} cores; peers: "
          + ", ".join(p.name for p in PEERS)
          + ("" if gevent else " (gevent not installed: pip install gevent)"))
    for ident, title, unit, workload in WORKLOADS:
        if only and ident not in only:
            continue
        samples = {peer: [] for peer in PEERS}
        print(f"{ident} ({args.reps} rounds x {len(PEERS)} peers) ", end="", file=sys.stderr, flush=True)
        started = time.perf_counter()
        for round_ in range(args.reps):
            order = PEERS[round_ % len(PEERS):] + PEERS[:round_ % len(PEERS)]
            for peer in order:
                samples[peer].append(workload(peer, sizes[ident]))
            print(".", end="", file=sys.stderr, flush=True)
        print(f" {time.perf_counter() - started:.1f} s", file=sys.stderr)

        print(f"\n{ident}  {sizes[ident]:,} {title}  [{unit}; median and min of {args.reps} rounds]")
        header = f"  {'peer':<22}  {'median':>10}  {'min':>10}"
        if ident in workcrew:
            header += f"  {'/ workcrew':>10}"
        print(header)
        for peer in PEERS:
            med, low = statistics.median(samples[peer]), min(samples[peer])
            line = f"  {peer.name:<22}  {med:>10.1f}  {low:>10.1f}"
            if ident in workcrew:
                line += f"  {med / workcrew[ident]:>10.1f}"
            print(line)


if __name__ == "__main__":
    main()
