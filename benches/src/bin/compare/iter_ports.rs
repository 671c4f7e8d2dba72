//! The code of the rayon-demo-shaped workloads (R1-R9, `iter_demo.rs`),
//! written once and compiled twice: `on_workcrew` with workcrew's prelude,
//! `on_rayon` with rayon's. Invariant: the two modules are the same text
//! but for their `use` lines, so any difference in time is the library's.

/// The same workload written against each prelude: each module is one
/// idiomatic port, text-identical but for its `use` lines.
macro_rules! ports {
    ($($body:tt)*) => {
        pub mod on_workcrew {
            #![allow(unused_imports, clippy::needless_range_loop)]
            use workcrew::prelude::*;
            use workcrew::join;
            $($body)*
        }
        pub mod on_rayon {
            #![allow(unused_imports, clippy::needless_range_loop)]
            use rayon::prelude::*;
            use rayon::join;
            $($body)*
        }
    };
}

ports! {
    // ---------------------------------------------------------- nbody
    #[derive(Clone, Copy)]
    pub struct Body {
        pub position: [f64; 3],
        pub velocity: [f64; 3],
        pub mass: f64,
    }

    /// One step: every body's acceleration from all others, then moves.
    pub fn nbody_step(bodies: &mut [Body], dt: f64) {
        let snapshot: &[Body] = &*bodies;
        let accelerations: Vec<[f64; 3]> = snapshot
            .par_iter()
            .map(|body| {
                snapshot.iter().fold([0.0; 3], |mut acc, other| {
                    let d = [
                        other.position[0] - body.position[0],
                        other.position[1] - body.position[1],
                        other.position[2] - body.position[2],
                    ];
                    let dist2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + 1e-3;
                    let f = other.mass / (dist2 * dist2.sqrt());
                    for k in 0..3 {
                        acc[k] += d[k] * f;
                    }
                    acc
                })
            })
            .collect();
        bodies.par_iter_mut().zip(&accelerations).for_each(|(body, acc)| {
            for k in 0..3 {
                body.velocity[k] += acc[k] * dt;
                body.position[k] += body.velocity[k] * dt;
            }
        });
    }

    pub fn energy(bodies: &[Body]) -> f64 {
        bodies
            .par_iter()
            .map(|b| 0.5 * b.mass * b.velocity.iter().map(|v| v * v).sum::<f64>())
            .sum()
    }

    // ---------------------------------------------------------- matmul
    /// `c = a × b` for `n × n` row-major matrices, `bt` is `b` transposed.
    pub fn matmul(a: &[f64], bt: &[f64], c: &mut [f64], n: usize) {
        c.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
            let a_row = &a[i * n..(i + 1) * n];
            for (j, cell) in row.iter_mut().enumerate() {
                let b_col = &bt[j * n..(j + 1) * n];
                *cell = a_row.iter().zip(b_col).map(|(x, y)| x * y).sum();
            }
        });
    }

    // ---------------------------------------------------------- life
    /// One generation of Conway's life on a `w × h` torus.
    pub fn life_step(cells: &[u8], next: &mut [u8], w: usize) {
        let h = cells.len() / w;
        next.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
            let up = &cells[((y + h - 1) % h) * w..][..w];
            let mid = &cells[y * w..][..w];
            let down = &cells[((y + 1) % h) * w..][..w];
            for (x, cell) in row.iter_mut().enumerate() {
                let (l, r) = ((x + w - 1) % w, (x + 1) % w);
                let n = up[l] + up[x] + up[r] + mid[l] + mid[r] + down[l] + down[x] + down[r];
                *cell = u8::from(n == 3 || (n == 2 && mid[x] == 1));
            }
        });
    }

    // ---------------------------------------------------------- sieve
    /// Primes below `limit`, sieved in cache-sized blocks of `block`.
    pub fn count_primes(limit: usize, block: usize) -> usize {
        let root = (limit as f64).sqrt() as usize + 1;
        let small: Vec<usize> = (2..=root).filter(|&p| (2..p).take_while(|d| d * d <= p).all(|d| p % d != 0)).collect();
        let mut composite = vec![false; limit];
        composite.par_chunks_mut(block).enumerate().for_each(|(k, chunk)| {
            let start = k * block;
            for &p in &small {
                let first = (start.div_ceil(p) * p).max(p * p);
                let mut m = first;
                while m < start + chunk.len() {
                    chunk[m - start] = true;
                    m += p;
                }
            }
        });
        composite.par_iter().enumerate().filter(|&(i, &c)| i >= 2 && !c).count()
    }

    // ---------------------------------------------------------- sorts
    pub fn quick_sort(v: &mut [u32]) {
        if v.len() <= 1024 {
            v.sort_unstable();
            return;
        }
        let pivot = {
            let (a, b, c) = (v[0], v[v.len() / 2], v[v.len() - 1]);
            a.max(b).min(a.min(b).max(c))
        };
        let (mut lo, mut hi) = (0, v.len());
        let mut i = 0;
        // Three-way partition: < pivot | == pivot | > pivot.
        while i < hi {
            if v[i] < pivot {
                v.swap(i, lo);
                lo += 1;
                i += 1;
            } else if v[i] > pivot {
                hi -= 1;
                v.swap(i, hi);
            } else {
                i += 1;
            }
        }
        let (left, rest) = v.split_at_mut(lo);
        let right = &mut rest[hi - lo..];
        join(|| quick_sort(left), || quick_sort(right));
    }

    pub fn merge_sort(v: &mut [u32], scratch: &mut [u32]) {
        if v.len() <= 1024 {
            v.sort();
            return;
        }
        let mid = v.len() / 2;
        {
            let (v_lo, v_hi) = v.split_at_mut(mid);
            let (s_lo, s_hi) = scratch.split_at_mut(mid);
            join(|| merge_sort(v_lo, s_lo), || merge_sort(v_hi, s_hi));
        }
        let (lo, hi) = v.split_at(mid);
        let (mut i, mut j) = (0, 0);
        for slot in scratch.iter_mut() {
            if j == hi.len() || (i < lo.len() && lo[i] <= hi[j]) {
                *slot = lo[i];
                i += 1;
            } else {
                *slot = hi[j];
                j += 1;
            }
        }
        v.copy_from_slice(scratch);
    }

    // ---------------------------------------------------------- n-queens
    /// Solutions of the `n`-queens problem, the first two rows in parallel.
    pub fn queens(n: u32) -> u64 {
        fn place(n: u32, cols: u32, diag1: u32, diag2: u32) -> u64 {
            if cols == (1 << n) - 1 {
                return 1;
            }
            let mut free = !(cols | diag1 | diag2) & ((1 << n) - 1);
            let mut count = 0;
            while free != 0 {
                let bit = free & free.wrapping_neg();
                free ^= bit;
                count += place(n, cols | bit, (diag1 | bit) << 1, (diag2 | bit) >> 1);
            }
            count
        }
        (0..n * n)
            .into_par_iter()
            .map(|k| {
                let (a, b) = (1u32 << (k / n), 1u32 << (k % n));
                if a & (b | b << 1 | b >> 1) != 0 {
                    return 0;
                }
                place(n, a | b, ((a << 1) | b) << 1, ((a >> 1) | b) >> 1)
            })
            .sum()
    }

    // ---------------------------------------------------------- fib, tree
    pub fn fib(n: u64) -> u64 {
        if n < 2 {
            return n;
        }
        let (a, b) = join(|| fib(n - 1), || fib(n - 2));
        a + b
    }

    pub struct Tree {
        pub value: u64,
        pub children: Option<Box<(Tree, Tree)>>,
    }

    pub fn tree_sum(tree: &Tree) -> u64 {
        match &tree.children {
            None => tree.value,
            Some(children) => {
                let (a, b) = join(|| tree_sum(&children.0), || tree_sum(&children.1));
                tree.value + a + b
            }
        }
    }
}
