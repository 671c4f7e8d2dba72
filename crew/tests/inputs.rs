//! Input sources: stdin, `:::` lists and their product, `:::+` linking,
//! `::::` and `-a` files, `-0`, `--colsep`, and a million lines streamed.

mod common;

use common::{crew, measure, one_line_error, scratch, sorted_lines, stdout_of};

#[test]
fn lines_of_stdin_are_the_default_input() {
    let output = crew(["-k", "echo", "got"])
        .write_stdin("a\nb c\n\nd")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "got a\ngot b c\ngot \ngot d\n"
    );
}

#[test]
fn several_argument_lists_give_every_combination_last_fastest() {
    let out = stdout_of(["-k", "echo", "{1}{2}", ":::", "a", "b", ":::", "1", "2"]);
    assert_eq!(out, "a1\na2\nb1\nb2\n");
}

#[test]
fn linked_lists_pair_values_up_to_the_shortest_and_link_wraps() {
    let out = stdout_of([
        "-k", "echo", "{1}{2}", ":::", "a", "b", "c", ":::+", "1", "2",
    ]);
    assert_eq!(out, "a1\nb2\n");
    let out = stdout_of([
        "-k", "--link", "echo", "{1}{2}", ":::", "a", "b", "c", ":::", "1", "2",
    ]);
    assert_eq!(out, "a1\nb2\nc1\n");
}

#[test]
fn files_are_read_with_four_colons_and_with_dash_a() {
    let dir = scratch();
    let letters = dir.path().join("letters");
    let numbers = dir.path().join("numbers");
    std::fs::write(&letters, "x\ny\n").unwrap();
    std::fs::write(&numbers, "1\n2").unwrap();
    let out = stdout_of([
        "-k".as_ref(),
        "echo".as_ref(),
        "{1}{2}".as_ref(),
        "::::".as_ref(),
        letters.as_os_str(),
        numbers.as_os_str(),
    ]);
    assert_eq!(out, "x1\nx2\ny1\ny2\n");
    let out = stdout_of([
        "-k".as_ref(),
        "-a".as_ref(),
        letters.as_os_str(),
        "echo".as_ref(),
    ]);
    assert_eq!(out, "x\ny\n");
    let linked = stdout_of([
        "-k".as_ref(),
        "echo".as_ref(),
        "::::".as_ref(),
        letters.as_os_str(),
        "::::+".as_ref(),
        numbers.as_os_str(),
    ]);
    assert_eq!(linked, "x 1\ny 2\n");
}

#[test]
fn null_separated_input_keeps_newlines_in_values() {
    let output = crew(["-0", "-k", "printf", "'[%s]\\n'"])
        .write_stdin("one\ntwo\0three\0")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "[one\ntwo]\n[three]\n"
    );
}

#[test]
fn colsep_splits_lines_into_numbered_columns() {
    let output = crew(["-k", "--colsep", ",", "echo", "{2}-{1}"])
        .write_stdin("a,b\nc,d\n")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "b-a\nd-c\n");
    let output = crew(["-k", "--colsep", r"\s+", "echo", "{3}"])
        .write_stdin("a  b\tc\n")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "c\n");
}

#[test]
fn a_regex_colsep_passes_bytes_that_are_not_utf8_through_unchanged() {
    let output = crew(["-k", "--colsep", ",+", "printf", "'%s|'", "{2}", "{1}"])
        .write_stdin(&b"a\xff,,b\xfe\nc,d\n"[..])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout, b"b\xfe|a\xff|d|c|");
}

#[test]
fn a_missing_input_file_is_a_one_line_error() {
    let (stderr, _) = one_line_error(["echo", "::::", "/no/such/file"]);
    assert!(stderr.contains("/no/such/file"), "{stderr}");
}

#[test]
fn a_missing_dash_a_file_is_a_one_line_error() {
    let (stderr, stdout) = one_line_error(["-a", "/no/such/file", "echo"]);
    assert!(stderr.contains("/no/such/file"), "{stderr}");
    assert!(stdout.is_empty());
}

#[test]
fn a_bad_colsep_regex_is_a_one_line_error() {
    for pattern in ["(", "[a", "a{2,1}"] {
        let (stderr, stdout) = one_line_error(["--colsep", pattern, "echo", ":::", "a"]);
        assert!(stderr.starts_with("crew: --colsep"), "{stderr}");
        assert!(stdout.is_empty());
    }
}

#[test]
fn an_empty_input_runs_nothing_and_succeeds() {
    let output = crew(["echo", "never"]).write_stdin("").output().unwrap();
    assert!(output.status.success());
    assert!(output.stdout.is_empty());
}

/// Writes the lines 1 to 1,000,000 into a file in `dir`.
fn million_lines(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let input = dir.join("million");
    let text: String = (1..=1_000_000).map(|i| format!("{i}\n")).collect();
    std::fs::write(&input, &text).unwrap();
    (input, text)
}

#[test]
fn a_million_input_lines_stream_through_in_constant_memory() {
    let dir = scratch();
    let (input, text) = million_lines(dir.path());

    // -X packs the lines into a few dozen printf commands; -k keeps order.
    let output = crew(["-X", "-k", "printf", "'%s\\n'"])
        .pipe_stdin(&input)
        .unwrap()
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        output.stdout == text.as_bytes(),
        "a million lines come back in order"
    );

    let measured = measure(&["-X", "-j2", "true"], Some(input.clone()));
    assert_eq!(measured.code, Some(0), "{}", measured.stderr);
    // Not the 8 MB target: two -X jobs in flight hold about 12,000
    // arguments each, some 4 MB of small allocations on top of the debug
    // binary's 7 MB; the limit still fails if input were kept.
    let peak = measured.peak_rss_kib;
    assert!(peak <= 16 * 1024, "peak RSS {peak} KiB");
}

#[test]
fn a_million_lines_split_into_pipe_blocks_are_all_counted_in_flat_memory() {
    let dir = scratch();
    let (input, _) = million_lines(dir.path());
    let output = crew(["--pipe", "--block-size", "1M", "wc", "-l"])
        .pipe_stdin(&input)
        .unwrap()
        .output()
        .unwrap();
    assert!(output.status.success());
    let total: u64 = sorted_lines(&String::from_utf8(output.stdout).unwrap())
        .iter()
        .map(|l| l.trim().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 1_000_000);

    let measured = measure(&["--pipe", "--block-size", "1M", "wc", "-l"], Some(input));
    assert_eq!(measured.code, Some(0), "{}", measured.stderr);
    // Flat: one line through the same pipeline sets the baseline (the
    // debug binary and one block's records are most of it).
    let one_line = dir.path().join("one");
    std::fs::write(&one_line, "1\n").unwrap();
    let baseline = measure(
        &["--pipe", "--block-size", "1M", "wc", "-l"],
        Some(one_line),
    )
    .peak_rss_kib;
    let peak = measured.peak_rss_kib;
    assert!(
        peak <= baseline + 2 * 1024,
        "peak RSS {peak} KiB for a million lines, {baseline} KiB for one"
    );
}
