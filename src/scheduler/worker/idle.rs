//! A worker between jobs: its loop, how it searches for work, parks, and
//! keeps the heartbeat while a peer has pending frames.
//!
//! ```text
//! loop {
//!     BUSY: surplus? -> exit; take a job (own deque, peers, injector) and run it
//!           (a thread that turned surplus while finding it hands it back and
//!           exits: `[shrink-vs-find]`)
//!     IDLE: search a few rounds (asking busy peers to share a frame);
//!           go on searching while the spell is younger than the worker's
//!           linger and no peer has pending frames (linger.rs);
//!           then park (registry.rs, "Waking"), as the beater if a peer has
//!           pending frames and nobody beats (heartbeat.rs, "Who beats")
//! }
//! ```
//!
//! Invariant: a worker counts as searching exactly while it runs `search`
//! outside `park`/`beat`, and as parked from `prepare_park` until a waker
//! (or `leave_parked`, after a claim or a request) moves it back; the
//! counts' races are registry.rs's, the heartbeat's are heartbeat.rs's.

use std::panic::{self, AssertUnwindSafe};

use super::Worker;
use crate::scheduler::fence;
use crate::scheduler::heartbeat::{self, Tick};
use crate::scheduler::job::JobRef;
use crate::scheduler::queue::Steal;
use crate::scheduler::registry::{Peer, Woken};
use crate::sync::{thread, SEARCH_ROUNDS};

/// How a worker left the heartbeat role.
enum Beat {
    /// It claimed a stuck peer's frame; it counts as searching again.
    Claimed(JobRef),
    /// A waker moved it to searching.
    Notified,
    /// It asked a peer to share and left the parked list to look for the
    /// answer; it counts as searching again.
    Searching,
    /// It did not beat, or stopped: still parked, it parks untimed.
    Idle,
}

impl Worker {
    pub(super) fn run_loop(&self) {
        let registry = &self.pool.registry;
        // A new thread is counted as searching from the moment it was
        // spawned (registry.rs, "Waking"), so it starts on the IDLE path.
        let mut next = self.search();
        while let Some(job) = next {
            // Every user value is run or dropped inside a guard deeper down
            // (scheduler/guard.rs); this one only keeps a bug in that rule from
            // unwinding the worker out of its loop.
            let consumed = panic::catch_unwind(AssertUnwindSafe(|| {
                if self.pool.is_aborted() {
                    // shutdown_now: whatever is still queued is cancelled.
                    if job.cancel(&self.pool) {
                        self.pool.signal_if_quiet();
                    }
                } else {
                    job.run(self);
                }
            }));
            if let Err(payload) = consumed {
                self.pool.caught(payload);
            }
            // BUSY
            if registry.may_have_surplus() && registry.try_retire(false) {
                break;
            }
            let mut found = self.find_job();
            if found.is_some() && self.hand_back_if_surplus(&mut found, false) {
                break;
            }
            next = match found {
                Some(job) => Some(job),
                None => {
                    // IDLE. [busy-to-idle]
                    registry.start_searching();
                    // An idle thread is room in a bounded queue (room.rs).
                    if let Some(room) = &self.pool.room {
                        room.taker_freed();
                    }
                    self.search()
                }
            };
        }
        self.leave();
    }

    /// Searches for work, then parks, while counted as searching. Returns
    /// `None` when the thread must exit (its counts are already updated).
    fn search(&self) -> Option<JobRef> {
        let registry = &self.pool.registry;
        self.pool.signal_if_quiet();
        let spell = self.linger.begin();
        let mut round = 0;
        loop {
            // Before looking for work, not after: a thread above the limit
            // that `set_threads` woke must not take a new task (module docs of
            // `registry`: "every worker checks it before taking a new job").
            if registry.may_have_surplus() && registry.try_retire(true) {
                return None;
            }
            let mut found = self.find_job();
            if found.is_some() && self.hand_back_if_surplus(&mut found, true) {
                return None;
            }
            if let Some(job) = found {
                self.linger.found(&spell);
                return Some(self.found(job));
            }
            if round == 0 {
                // Ask busy peers to share a pending frame (heartbeat.rs);
                // they answer at their next fork or join, within the rounds.
                let _ = heartbeat::tick(&self.peers.borrow().list, self.index, false);
            }
            round += 1;
            if round < SEARCH_ROUNDS {
                backoff(round);
                continue;
            }
            if self.pool.is_drained() {
                registry.retire_searcher();
                // Parked workers of a closed pool must wake to leave too.
                registry.wake_all();
                return None;
            }
            // Work tends to come back soon after it went (linger.rs); a
            // peer's pending frame is the heartbeat's business instead.
            if self.linger.goes_on(&spell) && !self.peers_pending() {
                thread::yield_now();
                continue;
            }
            spell.parks();
            registry.prepare_park(&self.wake);
            // [park-vs-submit]: look once more now that we count as parked.
            if self.pool.has_visible_work() {
                registry.notify_work(&self.pool);
            } else if self.pool.is_drained() {
                registry.wake_all();
            }
            match self.beat() {
                Beat::Claimed(job) => {
                    self.linger.found(&spell);
                    return Some(self.found(job));
                }
                Beat::Notified => {
                    round = 0;
                    continue;
                }
                // Its request is out: no round-0 request again.
                Beat::Searching => {
                    round = 1;
                    continue;
                }
                Beat::Idle => {}
            }
            match registry.park(&self.wake, self.pool.config.keep_alive) {
                Woken::Notified => round = 0,
                Woken::Exited => return None,
            }
        }
    }

    /// `[shrink-vs-find]`: `set_threads` may have made this thread surplus
    /// between its check and the job it then found (a submitter shrinking
    /// the pool and then submitting: the job's push comes after the flag's
    /// store, so a thread that took the job sees the flag). Such a thread
    /// does not run the job: it retires and hands the job to the injector
    /// for the threads that stay. Returns whether it did (`job` is then
    /// queued again; otherwise the caller runs it).
    fn hand_back_if_surplus(&self, job: &mut Option<JobRef>, searching: bool) -> bool {
        let registry = &self.pool.registry;
        if !registry.may_have_surplus() || !registry.try_retire(searching) {
            return false;
        }
        if let Some(job) = job.take() {
            self.requeue(job);
        }
        true
    }

    /// A searcher found `job`: it stops searching and wakes others if more
    /// work is in sight.
    fn found(&self, job: JobRef) -> JobRef {
        let registry = &self.pool.registry;
        let was_last = registry.stop_searching();
        if self.sees_work() {
            if was_last {
                // [last-searcher]
                registry.notify_work(&self.pool);
            }
            // [fan-out]
            registry.wake_one_parked();
        }
        job
    }

    /// Keeps the heartbeat while on the parked list, if a peer has pending
    /// frames and no other worker beats (heartbeat.rs, "Who beats").
    fn beat(&self) -> Beat {
        let registry = &self.pool.registry;
        let role = &registry.heartbeat;
        // Tentatively, before looking: a forking owner that sees the role
        // taken wakes nobody ([first-frame-vs-park]); if there is nothing
        // to beat for, `give_up` looks once more after the heavy fence.
        if !role.try_start() {
            return Beat::Idle;
        }
        if !(role.take_wanted() || self.peers_pending()) && self.give_up() {
            return Beat::Idle;
        }
        let mut quiet = 0;
        // The first tick comes at once: a tree that began while this worker
        // was still searching should not wait a whole interval. It claims
        // nothing: a request sent moments ago by the search may still be
        // unanswered.
        let mut wait = None;
        loop {
            if let Some(wait) = wait {
                if registry.park_for(&self.wake, wait) {
                    role.stop();
                    return Beat::Notified;
                }
            }
            let may_claim = wait.is_some();
            let tick = heartbeat::tick(&self.peers.borrow().list, self.index, may_claim);
            wait = Some(heartbeat::INTERVAL);
            match tick {
                Tick::Claimed(job) => {
                    role.stop();
                    registry.leave_parked(&self.wake);
                    return Beat::Claimed(job);
                }
                Tick::Asked { sent: true, .. } => {
                    // The owner answers at its next fork or join, within
                    // nanoseconds if it is busy with fine-grained work: look
                    // for the answer as a searcher rather than be woken for
                    // it (which would cost the owner a system call).
                    role.stop();
                    registry.leave_parked(&self.wake);
                    return Beat::Searching;
                }
                Tick::Asked { sent: false, next } => {
                    quiet = 0;
                    wait = Some(next);
                }
                Tick::Quiet => {
                    quiet += 1;
                    if quiet >= heartbeat::QUIET_TICKS && self.give_up() {
                        return Beat::Idle;
                    }
                }
            }
        }
    }

    /// [beater-stops]: gives the role up, then (heavy fence) looks at the
    /// frame lists once more; false if it took the role back because a
    /// frame is pending after all.
    fn give_up(&self) -> bool {
        let role = &self.pool.registry.heartbeat;
        role.stop();
        // Heavy: the forking owner's side is the light fence in
        // `first_frame`. Also covers [first-frame-vs-park]: `parked` was
        // raised (prepare_park) before `stop`. A miss here costs only
        // parallelism, so it does not decide the fence mode (fence.rs).
        fence::heavy_if_decided();
        !(self.peers_pending() && role.try_start())
    }

    /// Whether a peer has a pending frame.
    fn peers_pending(&self) -> bool {
        self.refresh_peers();
        heartbeat::any_pending(&self.peers.borrow().list, self.index)
    }

    /// Hands anything left in the own deque to the others before exiting.
    fn leave(&self) {
        // A worker that retires right after a task (surplus after
        // `set_threads` shrank the pool) never passes through `search`,
        // whose `signal_if_quiet` would tell `Pool::join` and `shutdown`
        // that its task was the last one: signal here, or they sleep for
        // ever on a quiet pool (`[retire-vs-join]`, tests/loom.rs).
        self.pool.signal_if_quiet();
        let mut moved = false;
        while let Some(job) = self.local.pop() {
            self.pool.injector.push(job);
            moved = true;
        }
        if moved || self.pool.has_visible_work() {
            self.pool.registry.notify_work(&self.pool);
        }
    }

    fn find_job(&self) -> Option<JobRef> {
        if let Some(job) = self.local.pop() {
            return Some(job);
        }
        // Peers first: their deques hold older work than the injector (batches
        // moved there earlier), which keeps outside submissions near FIFO.
        if let Some(job) = self.steal_from_peers() {
            return Some(job);
        }
        Steal::until_settled(|| self.pool.injector.steal_batch_and_pop(&self.local))
    }

    fn steal_from_peers(&self) -> Option<JobRef> {
        self.refresh_peers();
        let peers = self.peers.borrow();
        let count = peers.list.len();
        if count <= 1 {
            return None;
        }
        let start = self.next_random() as usize % count;
        loop {
            let mut retry = false;
            for offset in 0..count {
                let (index, peer) = &peers.list[(start + offset) % count];
                if *index == self.index {
                    continue;
                }
                match peer.stealer.steal() {
                    Steal::Success(job) => return Some(job),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return None;
            }
        }
    }

    /// Whether any queue holds a job, looked at without taking a lock.
    fn sees_work(&self) -> bool {
        if !self.local.is_empty() || !self.pool.injector.is_empty() {
            return true;
        }
        self.refresh_peers();
        let peers = self.peers.borrow();
        peers.list.iter().any(|(_, peer)| !peer.stealer.is_empty())
    }

    /// The deque and frame list of worker `index`, if it is alive.
    pub(crate) fn peer_of(&self, index: usize) -> Option<Peer> {
        self.refresh_peers();
        let peers = self.peers.borrow();
        peers
            .list
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, peer)| peer.clone())
    }

    fn refresh_peers(&self) {
        let epoch = self.pool.registry.stealers_epoch();
        let mut peers = self.peers.borrow_mut();
        if peers.epoch != epoch {
            peers.list = self.pool.registry.peers();
            peers.epoch = epoch;
        }
    }

    fn next_random(&self) -> u32 {
        // xorshift32
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng.set(x);
        x
    }
}

pub(crate) fn backoff(round: u32) {
    if round < 7 {
        for _ in 0..(1u32 << round) {
            std::hint::spin_loop();
        }
    } else {
        thread::yield_now();
    }
}
