//! The tables the README and the crate docs (src/lib.rs, the front page on
//! docs.rs) share stay the same in both, so a newcomer reads one story.

use std::fs;
use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The table rows (lines starting with `|`) of the section whose heading
/// is `heading`, up to the next heading; `prefix` is stripped from every
/// line first (`//! ` for crate docs).
fn table_rows(text: &str, prefix: &str, heading: &str) -> Vec<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(|line| {
            line.strip_prefix(prefix)
                .unwrap_or(line.trim_start_matches("//!"))
        })
        .collect();
    let start = lines
        .iter()
        .position(|line| line.trim_start_matches('#').trim() == heading && line.starts_with('#'))
        .unwrap_or_else(|| panic!("no heading {heading:?}"));
    lines[start + 1..]
        .iter()
        .take_while(|line| !line.starts_with('#'))
        .filter(|line| line.starts_with('|'))
        .map(|line| line.to_string())
        .collect()
}

fn assert_same_table(readme_heading: &str, crate_heading: &str) {
    let readme = table_rows(&read("README.md"), "", readme_heading);
    let crate_docs = table_rows(&read("src/lib.rs"), "//! ", crate_heading);
    assert!(readme.len() > 3, "README's {readme_heading:?} has a table");
    assert_eq!(
        readme, crate_docs,
        "README's {readme_heading:?} and src/lib.rs's {crate_heading:?} differ: edit both"
    );
}

#[test]
fn the_python_table_is_the_same_in_the_readme_and_the_crate_docs() {
    assert_same_table("Coming from Python", "Coming from Python");
}

#[test]
fn the_rust_pools_table_is_the_same_in_the_readme_and_the_crate_docs() {
    assert_same_table(
        "Coming from Rust pools",
        "Coming from rayon, threadpool and tokio's `spawn_blocking`",
    );
}

/// crew's option-by-option comparison with GNU parallel appears in the
/// README and in crew's own README (the package's page): the rows must be
/// the same, so neither goes stale when an option changes.
#[test]
fn crews_gnu_parallel_table_is_the_same_in_both_readmes() {
    let options = |rows: Vec<String>| -> Vec<String> {
        rows.into_iter()
            .filter(|row| row.starts_with("| `-"))
            .collect()
    };
    let readme = options(table_rows(
        &read("README.md"),
        "",
        "From GNU parallel to crew",
    ));
    let crews = options(table_rows(
        &read("crew/README.md"),
        "",
        "From GNU parallel to crew",
    ));
    assert!(readme.len() > 100, "README's crew table has its rows");
    assert_eq!(
        readme, crews,
        "README.md's and crew/README.md's GNU option tables differ: edit both"
    );
}
