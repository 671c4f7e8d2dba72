//! The comparison of workcrew with other pools, as a package of its own so
//! that the peers (rayon, chili, threadpool, tokio, crossbeam-channel) and
//! the chart's plotters are never dependencies of the library.
//!
//! * `cargo run --release -p workcrew-benches` (the `compare` binary) runs
//!   the workloads W1–W9 against every peer, interleaved, and prints one
//!   table per workload; `--save FILE` also writes the figures in the format
//!   of [`results`], `--chart FILE.svg` draws [`chart`] from them.
//! * `cargo run --release -p workcrew-benches --bin chart -- FILE [--svg
//!   OUT.svg] [--markdown]` redraws the chart, or prints the README's table,
//!   from a saved run.
//! * `python3 benches/python_peers.py` times the Python pools on W1, W2, W5.

pub mod chart;
pub mod markdown;
pub mod results;
