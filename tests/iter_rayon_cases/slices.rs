//! Slice views: chunks, exact chunks, windows, mutable chunks, cut into
//! pieces of every size (rayon: src/iter/test.rs, src/slice/test.rs,
//! tests/producer_split_at.rs).

use super::*;

// rayon: src/iter/test.rs check_chunks, check_chunks_mut
#[test]
fn chunks_and_mutable_chunks_match_the_standard_library() {
    on_pool(|| {
        let a: Vec<i32> = vec![1, 5, 10, 4, 100, 3, 1000, 2, 10000, 1];
        let pairs: i32 = a.par_chunks(2).map(|c| c.iter().product::<i32>()).sum();
        assert_eq!(pairs, 12345);
        assert_eq!(pairs, a.chunks(2).map(|c| c.iter().product::<i32>()).sum());
        let triples: i32 = a.par_chunks(3).map(|c| c.iter().product::<i32>()).sum();
        assert_eq!(triples, 50 + 1200 + 20_000_000 + 1);

        for size in [2, 3] {
            let mut par: Vec<i32> = (1..=10).collect();
            let mut seq = par.clone();
            par.par_chunks_mut(size).for_each(|c| c[0] = c.iter().sum());
            seq.chunks_mut(size).for_each(|c| c[0] = c.iter().sum());
            assert_eq!(par, seq);
        }
        let mut a: Vec<i32> = (1..=10).collect();
        a.par_chunks_mut(3).for_each(|c| c[0] = c.iter().sum());
        assert_eq!(a, [6, 2, 3, 15, 5, 6, 24, 8, 9, 10]);
    });
}

// rayon: src/iter/test.rs check_windows (without `chain`, not offered)
#[test]
fn windows_match_the_standard_library_even_when_longer_than_the_slice() {
    on_pool(|| {
        let a: Vec<i32> = (0..1024).collect();
        for size in [1, 2, 100, 1024, 1025, 1_000_000] {
            let par: Vec<&[i32]> = a.par_windows(size).collect();
            let seq: Vec<&[i32]> = a.windows(size).collect();
            assert_eq!(par, seq, "window size {size}");
        }
        let par: Vec<_> = a.par_windows(2).zip(a.par_windows(3)).collect();
        let seq: Vec<_> = a.windows(2).zip(a.windows(3)).collect();
        assert_eq!(par, seq);
        let empty: [i32; 0] = [];
        assert_eq!(empty.par_windows(1).count(), 0);
    });
}

// rayon: src/slice/test.rs test_par_chunks_exact_remainder,
// test_par_chunks_exact_mut_remainder (without `into_remainder` and
// `take_remainder`, which workcrew's `ChunksMut` lacks)
#[test]
fn exact_chunks_leave_the_remainder_out() {
    let v: &[i32] = &[0, 1, 2, 3, 4];
    let c = v.par_chunks_exact(2);
    assert_eq!(c.remainder(), &[4]);
    assert_eq!(c.len(), 2);
    assert_eq!(c.collect::<Vec<_>>(), [&[0, 1][..], &[2, 3]]);

    let mut w = [0, 1, 2, 3, 4];
    let c = w.par_chunks_exact_mut(2);
    assert_eq!(c.len(), 2);
    c.for_each(|chunk| chunk.swap(0, 1));
    assert_eq!(w, [1, 0, 3, 2, 4]);
}

// rayon: tests/producer_split_at.rs (slice_chunks, slice_chunks_exact,
// slice_chunks_mut, slice_chunks_exact_mut, slice_windows, range,
// range_inclusive, vec, enumerate, zip, with_max_len): every way of cutting
// a source into pieces yields the sequential items
#[test]
fn every_piece_size_yields_the_sequential_items() {
    on_pool(|| {
        for len in 0..40usize {
            let v: Vec<usize> = (0..len).collect();
            for max in [1, 2, 3, 7, 64] {
                for size in 1..6 {
                    let par: Vec<&[usize]> = v.par_chunks(size).with_max_len(max).collect();
                    assert_eq!(par, v.chunks(size).collect::<Vec<_>>());
                    let par: Vec<&[usize]> = v.par_chunks_exact(size).with_max_len(max).collect();
                    assert_eq!(par, v.chunks_exact(size).collect::<Vec<_>>());
                    let par: Vec<&[usize]> = v.par_windows(size).with_max_len(max).collect();
                    assert_eq!(par, v.windows(size).collect::<Vec<_>>());

                    let mut par = v.clone();
                    par.par_chunks_mut(size)
                        .with_max_len(max)
                        .enumerate()
                        .for_each(|(i, c)| c.iter_mut().for_each(|x| *x += i * 1000));
                    let mut seq = v.clone();
                    seq.chunks_mut(size)
                        .enumerate()
                        .for_each(|(i, c)| c.iter_mut().for_each(|x| *x += i * 1000));
                    assert_eq!(par, seq);

                    let mut par = v.clone();
                    par.par_chunks_exact_mut(size)
                        .with_max_len(max)
                        .for_each(|c| c.reverse());
                    let mut seq = v.clone();
                    seq.chunks_exact_mut(size).for_each(|c| c.reverse());
                    assert_eq!(par, seq);
                }
                let par: Vec<usize> = (0..len).into_par_iter().with_max_len(max).collect();
                assert_eq!(par, v);
                let par: Vec<usize> = (0..=len).into_par_iter().with_max_len(max).collect();
                assert_eq!(par, (0..=len).collect::<Vec<_>>());
                let par: Vec<usize> = v.clone().into_par_iter().with_max_len(max).collect();
                assert_eq!(par, v);
                let par: Vec<(usize, (&usize, usize))> = v
                    .par_iter()
                    .zip(len / 2..len * 2)
                    .with_max_len(max)
                    .enumerate()
                    .collect();
                let seq: Vec<_> = v.iter().zip(len / 2..len * 2).enumerate().collect();
                assert_eq!(par, seq);
            }
        }
    });
}

// rayon: src/iter/test.rs check_chunks_zero_size's slice counterpart (the
// slice method panics as `<[T]>::chunks` does)
#[test]
fn a_chunk_or_window_size_of_zero_panics() {
    let v = [1, 2, 3];
    assert!(panic_text_of(|| v.par_chunks(0).count()).contains("zero"));
    assert!(panic_text_of(|| v.par_chunks_exact(0).count()).contains("zero"));
    assert!(panic_text_of(|| v.par_windows(0).count()).contains("zero"));
    let mut w = [1, 2, 3];
    assert!(panic_text_of(|| w.par_chunks_mut(0).count()).contains("zero"));
}
