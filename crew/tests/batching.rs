//! Batching (`-n`, `-N`, `-X`, `-m`, `-s`) and `--pipe` (`--block-size`,
//! `-L`, `-N`).

mod common;

use common::{crew, stdout_of};

#[test]
fn dash_n_gives_each_command_up_to_n_inputs() {
    assert_eq!(
        stdout_of(["-k", "-n2", "echo", ":::", "a", "b", "c"]),
        "a b\nc\n"
    );
}

#[test]
fn dash_capital_n_numbers_the_inputs_of_a_batch() {
    let out = stdout_of(["-k", "-N2", "echo", "{2}{1}", ":::", "a", "b", "c", "d"]);
    assert_eq!(out, "ba\ndc\n");
}

#[test]
fn dash_x_repeats_the_word_around_the_placeholder() {
    assert_eq!(
        stdout_of(["-j1", "-X", "echo", "pre{}post", ":::", "a", "b", "c"]),
        "preapost prebpost precpost\n"
    );
}

#[test]
fn dash_m_puts_all_inputs_in_place_of_the_placeholder() {
    assert_eq!(
        stdout_of(["-j1", "-m", "echo", "x{}y", ":::", "a", "b", "c"]),
        "xa b cy\n"
    );
}

#[test]
fn max_chars_limits_the_command_line_of_dash_m() {
    let mut args = vec!["-k", "-m", "-s", "40", "echo", ":::"];
    let inputs: Vec<String> = (100..130).map(|i| i.to_string()).collect();
    args.extend(inputs.iter().map(String::as_str));
    let out = stdout_of(&args);
    assert!(out.lines().count() > 1, "{out}");
    assert!(out.lines().all(|l| l.len() <= 40), "{out}");
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), inputs);
}

#[test]
fn pipe_cuts_stdin_into_blocks_of_whole_lines() {
    let text: String = (1..=1000).map(|i| format!("line {i}\n")).collect();
    let output = crew(["--pipe", "--block-size", "100", "-k", "cat"])
        .write_stdin(text.clone())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), text);
    let output = crew(["--pipe", "--block-size", "100", "-k", "wc", "-l"])
        .write_stdin(text)
        .output()
        .unwrap();
    let counts: Vec<u64> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert!(counts.len() > 10, "{counts:?}");
    assert_eq!(counts.iter().sum::<u64>(), 1000);
}

#[test]
fn pipe_with_records_of_several_lines_keeps_records_whole() {
    let text: String = (1..=12).map(|i| format!("{i}\n")).collect();
    let output = crew(["--pipe", "-L", "2", "-N", "3", "-k", "paste", "-sd,"])
        .write_stdin(text)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "1,2,3,4,5,6\n7,8,9,10,11,12\n"
    );
}

#[test]
fn pipe_with_null_records_cuts_at_nuls_and_keeps_newlines_inside() {
    let output = crew(["--pipe", "-0", "-N1", "-k", "tr '\\0' '|'; echo"])
        .write_stdin("a\nb\0c\0")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "a\nb|\nc|\n");
}

#[test]
fn pipe_with_multi_line_records_and_a_block_size_never_splits_a_record() {
    // 30 lines of 3 bytes; records of 3 lines (9 bytes); a block holds the
    // whole records that fit in 10 bytes (GNU's rule): 1 record, 3 lines.
    let text: String = (10..40).map(|i| format!("{i}\n")).collect();
    let output = crew(["--pipe", "-L", "3", "--block-size", "10", "-k", "wc", "-l"])
        .write_stdin(text)
        .output()
        .unwrap();
    assert!(output.status.success());
    let counts: Vec<u64> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(counts, [3; 10]);
}

#[test]
fn pipe_records_bytes_sent_in_the_joblog() {
    let dir = common::scratch();
    let log = dir.path().join("log");
    crew([
        "--pipe".as_ref(),
        "-N".as_ref(),
        "2".as_ref(),
        "--joblog".as_ref(),
        log.as_os_str(),
        "cat".as_ref(),
    ])
    .write_stdin("ab\ncd\nef\n")
    .assert()
    .success();
    let text = std::fs::read_to_string(log).unwrap();
    let mut sent: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(4).unwrap())
        .collect();
    sent.sort();
    assert_eq!(sent, ["3", "6"]);
}
