//! Code written the way rayon users write it, with `use
//! workcrew::prelude::*` where rayon's prelude would be: it must compile
//! unchanged and give the sequential answers.

use std::collections::HashMap;

use workcrew::prelude::*;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.par_iter().zip(b).map(|(x, y)| x * y).sum()
}

fn word_count(text: &str) -> HashMap<String, usize> {
    ParLines::par_lines(text)
}

trait ParLines {
    fn par_lines(&self) -> HashMap<String, usize>;
}

impl ParLines for str {
    fn par_lines(&self) -> HashMap<String, usize> {
        let lines: Vec<&str> = self.lines().collect();
        lines
            .par_iter()
            .flat_map_iter(|line| line.split_whitespace())
            .fold(HashMap::new, |mut counts: HashMap<String, usize>, word| {
                *counts.entry(word.to_lowercase()).or_default() += 1;
                counts
            })
            .reduce(HashMap::new, |mut a, b| {
                for (word, n) in b {
                    *a.entry(word).or_default() += n;
                }
                a
            })
    }
}

fn quick_sort<T: PartialOrd + Send>(v: &mut [T]) {
    if v.len() <= 32 {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        return;
    }
    let mid = partition(v);
    let (lo, hi) = v.split_at_mut(mid);
    workcrew::join(|| quick_sort(lo), || quick_sort(&mut hi[1..]));
}

fn partition<T: PartialOrd>(v: &mut [T]) -> usize {
    let pivot = v.len() - 1;
    let mut i = 0;
    for j in 0..pivot {
        if v[j] <= v[pivot] {
            v.swap(i, j);
            i += 1;
        }
    }
    v.swap(i, pivot);
    i
}

#[test]
fn rayon_shaped_code_compiles_and_gives_the_sequential_answers() {
    let a: Vec<f64> = (0..10_000).map(|i| i as f64).collect();
    let b: Vec<f64> = (0..10_000).map(|i| (i % 7) as f64).collect();
    assert_eq!(
        dot(&a, &b),
        a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>()
    );

    let counts = word_count("the cat\nThe dog\nthe end");
    assert_eq!(counts["the"], 3);
    assert_eq!(counts.len(), 4);

    let mut v: Vec<i64> = (0..20_000).map(|i| (i * 7919) % 10_007).collect();
    quick_sort(&mut v);
    assert!(v.windows(2).all(|w| w[0] <= w[1]));

    // Slices, chunks, enumerate, sort, collect, min/max, any.
    let mut grid = vec![0u32; 64 * 64];
    grid.par_chunks_mut(64).enumerate().for_each(|(y, row)| {
        row.iter_mut()
            .enumerate()
            .for_each(|(x, cell)| *cell = (x * y) as u32);
    });
    assert_eq!(grid[65], 1);
    let row_sums: Vec<u32> = grid.par_chunks(64).map(|row| row.iter().sum()).collect();
    assert_eq!(row_sums[1], (0..64).sum::<u32>());
    let max = grid.par_iter().copied().max().unwrap();
    assert_eq!(max, 63 * 63);
    assert!(grid.par_iter().any(|&c| c == 3969));
    let primes: Vec<u32> = (2u32..1000)
        .into_par_iter()
        .filter(|n| (2..*n).take_while(|d| d * d <= *n).all(|d| n % d != 0))
        .collect();
    assert_eq!(primes.len(), 168);
    let mut names = vec!["delta", "alpha", "charlie", "bravo"];
    names.par_sort_unstable();
    assert_eq!(names, ["alpha", "bravo", "charlie", "delta"]);
    let lengths: HashMap<&str, usize> = names.par_iter().map(|n| (*n, n.len())).collect();
    assert_eq!(lengths["charlie"], 7);
    let total: usize = names.par_iter().map(|n| n.len()).reduce(|| 0, |a, b| a + b);
    assert_eq!(total, 22);
    let owned: Vec<String> = names.into_par_iter().map(str::to_uppercase).collect();
    assert_eq!(owned[0], "ALPHA");
    let (evens, odds): (Vec<i32>, Vec<i32>) = (0..10).into_par_iter().partition(|x| x % 2 == 0);
    assert_eq!((evens.len(), odds.len()), (5, 5));
    let pos = [3, 1, 4, 1, 5].par_iter().position_first(|&x| x == 1);
    assert_eq!(pos, Some(1));
    let parsed: Result<Vec<i32>, std::num::ParseIntError> =
        ["1", "2", "3"].par_iter().map(|s| s.parse()).collect();
    assert_eq!(parsed.unwrap(), [1, 2, 3]);
    let mut counts = vec![0usize; 4];
    counts
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, c)| *c = i * 2);
    assert_eq!(counts, [0, 2, 4, 6]);
    let squares: Vec<u64> = (1..=5u64)
        .into_par_iter()
        .map(|x| x * x)
        .with_min_len(2)
        .collect();
    assert_eq!(squares, [1, 4, 9, 16, 25]);
    let n = std::iter::repeat_n(1u8, 1000)
        .par_bridge()
        .map(u64::from)
        .sum::<u64>();
    assert_eq!(n, 1000);
    let pool = workcrew::Pool::new(2);
    let on_pool: i32 = pool.install(|| (0..100).into_par_iter().sum());
    assert_eq!(on_pool, 4950);
    assert!(workcrew::current_num_threads() >= 1);
}
