//! Data-parallel loops: W4 (a memory-bound kernel over 800 MB, against
//! memcpy) and W8 (a map of 10 million cheap items).

use std::cell::RefCell;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::harness::{compare, cores, fresh, timed, Contender, Measured, Sample, Table};

// ------------------------------------------------------------ W4

const W4_LEN: usize = 100_000_000;
/// rayon's chunk: 512 KiB of i64, splittable among its threads.
const W4_RAYON_CHUNK: usize = 1 << 16;
/// Elements checked after every pass (spread over the whole buffer).
const W4_CHECK_STRIDE: usize = 9_973;

/// The kernel every contender runs: `dst[i] = src[i]²`.
fn square_into(src: &[i64], dst: &mut [i64]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = s.wrapping_mul(*s);
    }
}

/// The two 800 MB buffers, allocated and touched once, outside any timing.
struct Buffers {
    src: Vec<i64>,
    dst: RefCell<Vec<i64>>,
}

impl Buffers {
    fn new() -> Buffers {
        Buffers {
            src: (0..W4_LEN as i64).collect(),
            dst: RefCell::new(vec![-1; W4_LEN]),
        }
    }

    /// Clears the output (untimed), runs `pass` on it (timed), checks the
    /// result against `expected` and reports time and GB/s of output.
    fn measure(&self, expected: fn(i64) -> i64, pass: impl FnOnce(&[i64], &mut [i64])) -> Sample {
        let mut dst = self.dst.borrow_mut();
        dst.fill(0);
        let start = Instant::now();
        pass(&self.src, &mut dst);
        let elapsed = start.elapsed();
        for i in (0..W4_LEN).step_by(W4_CHECK_STRIDE).chain([W4_LEN - 1]) {
            assert_eq!(dst[i], expected(self.src[i]), "W4 element {i}");
        }
        let bytes = (W4_LEN * std::mem::size_of::<i64>()) as f64;
        Sample::with_extra(
            elapsed.as_secs_f64() * 1e3,
            bytes / elapsed.as_secs_f64() / 1e9,
        )
    }
}

fn square(x: i64) -> i64 {
    x * x
}

fn same(x: i64) -> i64 {
    x
}

/// Elements of the untimed warm-up pass each pool makes first.
const W4_WARM: usize = 1_000_000;

/// std::thread::scope: one contiguous chunk per core, threads started
/// inside the timed region.
fn squares_scoped(src: &[i64], dst: &mut [i64]) {
    let per_thread = dst.len().div_ceil(cores());
    std::thread::scope(|s| {
        for (src, dst) in src.chunks(per_thread).zip(dst.chunks_mut(per_thread)) {
            s.spawn(move || square_into(src, dst));
        }
    });
}

pub fn w4_squares(reps: usize) -> Measured {
    let table = Table {
        id: "W4",
        title: "squares of 100,000,000 i64 into a second preallocated buffer, all threads",
        unit: "ms",
        extra: Some("GB/s"),
        baseline: Some("memcpy"),
        note: "GB/s counts the 800 MB written (the bytes memcpy copies), each pass reads as \
               much; \"vs memcpy\" is the fraction of a one-thread memcpy's speed",
    };
    eprintln!("W4: allocating and touching 1.6 GB (untimed)");
    let buffers = Buffers::new();
    let buffers = &buffers;
    let contenders = vec![
        Contender::new("workcrew for_each_chunk_mut", move || {
            fresh(
                || workcrew::Pool::new(cores()),
                |pool| {
                    let (src, mut dst) = (&buffers.src[..W4_WARM], vec![0; W4_WARM]);
                    pool.for_each_chunk_mut(&mut dst, |offset, chunk| {
                        square_into(&src[offset..], chunk)
                    });
                    buffers.measure(square, |src, dst| {
                        pool.for_each_chunk_mut(dst, |offset, chunk| {
                            square_into(&src[offset..], chunk)
                        })
                    })
                },
                |pool| pool.shutdown(),
            )
        }),
        Contender::new("workcrew scope", move || {
            fresh(
                || workcrew::Pool::new(cores()),
                |pool| {
                    let scoped = |src: &[i64], dst: &mut [i64]| {
                        let per_thread = dst.len().div_ceil(cores());
                        pool.scope(|s| {
                            for (src, dst) in src.chunks(per_thread).zip(dst.chunks_mut(per_thread))
                            {
                                let _ = s.spawn(move || square_into(src, dst));
                            }
                        });
                    };
                    let (src, mut dst) = (&buffers.src[..W4_WARM], vec![0; W4_WARM]);
                    scoped(src, &mut dst);
                    buffers.measure(square, scoped)
                },
                |pool| pool.shutdown(),
            )
        }),
        Contender::new("rayon par_chunks_mut", move || {
            fresh(
                || {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(cores())
                        .build()
                        .expect("rayon pool")
                },
                |pool| {
                    let chunks = |src: &[i64], dst: &mut [i64]| {
                        pool.install(|| {
                            dst.par_chunks_mut(W4_RAYON_CHUNK)
                                .zip(src.par_chunks(W4_RAYON_CHUNK))
                                .for_each(|(dst, src)| square_into(src, dst))
                        })
                    };
                    let (src, mut dst) = (&buffers.src[..W4_WARM], vec![0; W4_WARM]);
                    chunks(src, &mut dst);
                    buffers.measure(square, chunks)
                },
                drop,
            )
        }),
        Contender::new("std::thread::scope", move || {
            buffers.measure(square, squares_scoped)
        }),
        Contender::new("memcpy", move || {
            buffers.measure(same, |src, dst| dst.copy_from_slice(src))
        }),
    ];
    compare(&table, reps, contenders)
}

// ------------------------------------------------------------ W8

const W8_LEN: u64 = 10_000_000;

fn checked_map(result: (Vec<u64>, Duration)) -> Sample {
    let (out, elapsed) = result;
    assert_eq!(out.len(), W8_LEN as usize);
    assert!(out
        .iter()
        .step_by(997)
        .enumerate()
        .all(|(k, &v)| v == (k as u64 * 997) * 3));
    Sample::ms(elapsed)
}

pub fn w8_map(reps: usize) -> Measured {
    let table = Table {
        id: "W8",
        title: "map of 10,000,000 cheap items (x * 3) into a new Vec",
        unit: "ms",
        extra: None,
        baseline: Some("sequential"),
        note: "workcrew Pool::map over the slice; rayon par_iter().map().collect() inside \
               install; \"vs sequential\" is the speed-up",
    };
    let input: Vec<u64> = (0..W8_LEN).collect();
    let input = &input;
    let contenders = vec![
        Contender::new("workcrew map", move || {
            fresh(
                || workcrew::Pool::new(cores()),
                |pool| {
                    pool.map(&input[..100_000], |&x| x * 3);
                    checked_map(timed(|| pool.map(input, |&x| x * 3)))
                },
                |pool| pool.shutdown(),
            )
        }),
        Contender::new("rayon par_iter", move || {
            fresh(
                || {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(cores())
                        .build()
                        .expect("rayon pool")
                },
                |pool| {
                    let map = || -> Vec<u64> { input.par_iter().map(|&x| x * 3).collect() };
                    pool.install(|| input[..100_000].par_iter().map(|&x| x * 3).count());
                    checked_map(timed(|| pool.install(map)))
                },
                drop,
            )
        }),
        Contender::new("sequential", move || {
            checked_map(timed(|| input.iter().map(|&x| x * 3).collect::<Vec<u64>>()))
        }),
    ];
    compare(&table, reps, contenders)
}
