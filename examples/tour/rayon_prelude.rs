//! Section 9: a word count as a rayon user writes it, with workcrew's prelude.

use workcrew::Pool;

use crate::helpers::*;

// ------------------------------------------------------------------ 9. rayon's prelude

/// Words of the word count: a fixed vocabulary, so every run is the same.
const WORDS: [&str; 12] = [
    "pool", "thread", "task", "join", "fork", "queue", "steal", "park", "wake", "latch", "frame",
    "piece",
];

/// Counts one line's words into `counts` (the same code on both sides).
#[inline(never)]
fn count_words<'a>(
    mut counts: std::collections::HashMap<&'a str, usize>,
    line: &'a str,
) -> std::collections::HashMap<&'a str, usize> {
    for word in line.split_whitespace() {
        *counts.entry(word).or_default() += 1;
    }
    counts
}

/// Adds `b`'s counts into `a`.
fn merge_counts<'a>(
    mut a: std::collections::HashMap<&'a str, usize>,
    b: std::collections::HashMap<&'a str, usize>,
) -> std::collections::HashMap<&'a str, usize> {
    for (word, n) in b {
        *a.entry(word).or_default() += n;
    }
    a
}

/// A word count the way a rayon user writes it: `use workcrew::prelude::*`
/// instead of `use rayon::prelude::*`, and nothing else changes.
pub(crate) fn word_count_as_in_rayon(cores: usize) {
    use workcrew::prelude::*;
    header(
        "9. coming from rayon: a word count with par_iter().fold().reduce()",
        "200,000 lines of 10 words; the same fold on one thread, then with workcrew's prelude",
    );
    let mut rng = Lcg(11);
    let lines: Vec<String> = (0..200_000)
        .map(|_| {
            (0..10)
                .map(|_| WORDS[rng.next() as usize % WORDS.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let expected = lines
        .iter()
        .fold(std::collections::HashMap::new(), |c, l| count_words(c, l));
    let pool = Pool::new(0);
    let sequential = |_: &mut ()| {
        let (counts, took) = timed(|| {
            lines
                .iter()
                .fold(std::collections::HashMap::new(), |c, l| count_words(c, l))
        });
        assert_eq!(counts, expected);
        took
    };
    let parallel = |_: &mut ()| {
        let (counts, took) = timed(|| {
            pool.install(|| {
                lines
                    .par_iter()
                    .fold(std::collections::HashMap::new, |c, l| count_words(c, l))
                    .reduce(std::collections::HashMap::new, merge_counts)
            })
        });
        assert_eq!(counts, expected);
        took
    };
    let times = interleaved(&mut (), &[&sequential, &parallel]);
    let total: usize = expected.values().sum();
    println!("   {:<40} {:>9}", "lines.iter().fold(..)", secs(times[0]));
    println!(
        "   {:<40} {:>9}   {}  ({total} words, {} distinct)\n",
        "lines.par_iter().fold(..).reduce(..)",
        secs(times[1]),
        speedup(times[0], times[1], Limit::Cores(cores)),
        expected.len()
    );
}
