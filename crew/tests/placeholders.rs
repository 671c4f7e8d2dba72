//! Placeholders: `{}` and its modifiers, `{#}`, `{%}`, `{N}`, `-I`, input
//! appended when there is none, and the `CREW_SEQ`/`CREW_SLOT` variables.

mod common;

use common::{sorted_lines, stdout_of};

#[test]
fn path_modifiers_follow_gnu_parallel() {
    let out = stdout_of([
        "echo",
        "{}",
        "{.}",
        "{/}",
        "{//}",
        "{/.}",
        ":::",
        "dir/sub/file.tar.gz",
    ]);
    assert_eq!(
        out,
        "dir/sub/file.tar.gz dir/sub/file.tar file.tar.gz dir/sub file.tar\n"
    );
    let out = stdout_of(["echo", "{//}", "{.}", ":::", "plain"]);
    assert_eq!(out, ". plain\n");
}

#[test]
fn sequence_and_slot_numbers_are_substituted() {
    let out = stdout_of([
        "-k", "-j1", "echo", "{#}", "{%}", "{}", ":::", "a", "b", "c",
    ]);
    assert_eq!(out, "1 1 a\n2 1 b\n3 1 c\n");
}

#[test]
fn slots_never_exceed_the_job_count() {
    let out = stdout_of([
        "-j3", "echo", "{%}", ":::", "1", "2", "3", "4", "5", "6", "7", "8", "9",
    ]);
    assert!(
        sorted_lines(&out)
            .iter()
            .all(|slot| ["1", "2", "3"].contains(&slot.as_str())),
        "{out}"
    );
}

#[test]
fn numbered_placeholders_pick_input_sources() {
    let out = stdout_of([
        "-k", "echo", "{2}", "{1.}", "{2/}", ":::", "x.c", ":::", "d/y",
    ]);
    assert_eq!(out, "d/y x y\n");
}

#[test]
fn the_input_is_appended_when_the_command_has_no_placeholder() {
    assert_eq!(stdout_of(["echo", "-n", "value:", ":::", "v"]), "value: v");
}

#[test]
fn dash_i_picks_another_replacement_string() {
    assert_eq!(
        stdout_of(["-I", "@@", "echo", "@@", "{}", ":::", "x"]),
        "x {}\n"
    );
}

#[test]
fn each_job_sees_its_sequence_and_slot_in_the_environment() {
    let out = stdout_of(["-k", "-j1", "echo $CREW_SEQ/$CREW_SLOT {}", ":::", "a", "b"]);
    assert_eq!(out, "1/1 a\n2/1 b\n");
}

#[test]
fn without_a_command_each_input_is_a_command() {
    let out = stdout_of(["-k", ":::", "echo one", "echo two | tr a-z A-Z"]);
    assert_eq!(out, "one\nTWO\n");
}
