//! The library's layers import only downward (DESIGN.md, "Layout"): the
//! base (`sync`, `error`), the scheduler, tasks, the pool's face, data
//! parallelism, the parallel iterators. A `use crate::...` (or a
//! `crate::...` path in code) that reaches a layer above its own fails here,
//! naming the file and line.

use std::fs;
use std::path::Path;

/// Layers from the bottom up; a file may use its own layer and those before it.
const LAYERS: &[&[&str]] = &[
    &["sync", "error", "Arc"],
    &["scheduler"],
    &["task"],
    &["pool"],
    &["parallel"],
    &["iter", "prelude"],
];

fn layer_of_module(name: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&name))
}

/// The layer a source file belongs to, from its folder (or file name).
fn layer_of_file(relative: &Path) -> Option<usize> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    layer_of_module(first.trim_end_matches(".rs"))
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src/");
        // lib.rs is the crate's face over every layer.
        let Some(own) = layer_of_file(relative) else {
            continue;
        };
        checked += 1;
        let text = fs::read_to_string(file).expect("source is readable");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (at, _) in code.match_indices("crate::") {
                let rest = &code[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if let Some(used) = layer_of_module(&name) {
                    if used > own {
                        violations.push(format!(
                            "{}:{}: uses crate::{name} from a layer above",
                            relative.display(),
                            number + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(checked > 10, "found only {checked} layered source files");
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
