//! Tests of [`crate::template`]: parsing, shapes and expansion.

use super::*;
use crate::placeholder::NativeNames;

fn table() -> Replacements {
    Replacements::new(&NativeNames::default(), false, &[]).unwrap()
}

fn parse(words: &[&str], context_replace: bool) -> (Template, ShellReason) {
    let words: Vec<OsString> = words.iter().map(OsString::from).collect();
    Template::parse(&words, &mut table(), false, context_replace).unwrap()
}

fn template(words: &[&str]) -> Template {
    parse(words, false).0
}

fn record(values: &[&str]) -> Record {
    values.iter().map(|v| v.as_bytes().to_vec()).collect()
}

fn expansion(records: &[Record]) -> Expansion<'_> {
    Expansion {
        records,
        seq: 7,
        slot: 2,
        perl: None,
    }
}

fn direct(template: &Template, records: &[Record]) -> Vec<String> {
    match template.expand(&expansion(records)) {
        CommandLine::Direct(argv) => argv
            .into_iter()
            .map(|a| String::from_utf8(a).unwrap())
            .collect(),
        CommandLine::Shell(script) => {
            panic!("expected direct, got {}", String::from_utf8_lossy(&script))
        }
    }
}

#[test]
fn input_is_appended_when_there_is_no_placeholder() {
    assert_eq!(
        direct(&template(&["echo", "-n"]), &[record(&["a b"])]),
        ["echo", "-n", "a b"]
    );
}

#[test]
fn placeholders_inside_words_keep_surrounding_text() {
    let t = template(&["cp", "{}", "{//}/{/.}.bak", "{#}-{%}"]);
    assert_eq!(
        direct(&t, &[record(&["d/x.txt"])]),
        ["cp", "d/x.txt", "d/x.bak", "7-2"]
    );
}

#[test]
fn joining_splits_like_sh_and_context_replace_repeats_per_value() {
    let records = [record(&["a"]), record(&["b"]), record(&["c"])];
    assert_eq!(
        direct(&template(&["echo", "pre{}post"]), &records),
        ["echo", "prea", "b", "cpost"]
    );
    let x = parse(&["echo", "pre{}post", "{1}"], true).0;
    assert_eq!(
        direct(&x, &records),
        ["echo", "preapost", "prebpost", "precpost", "a"]
    );
    let two_sources = [record(&["a", "b"])];
    assert_eq!(
        direct(&parse(&["echo", "{}-{.}"], true).0, &two_sources),
        ["echo", "a-a", "b-b"]
    );
}

#[test]
fn positional_fields_pick_values_and_missing_ones_vanish() {
    let t = template(&["echo", "{2}", "{1.}", "{-1}", "x{3}y", "{3}"]);
    assert_eq!(
        direct(&t, &[record(&["x.c", "y"])]),
        ["echo", "y", "x", "y", "xy"]
    );
}

#[test]
fn shell_mode_quotes_values_for_their_context_the_gnu_way() {
    let t = template(&["echo {} \"{}\" '{}' | cat"]);
    let records = [record(&["it's $x"])];
    let CommandLine::Shell(script) = t.expand(&expansion(&records)) else {
        panic!("a pipe needs the shell")
    };
    assert_eq!(
        String::from_utf8(script).unwrap(),
        r#"echo 'it'"'"'s $x' "it's \$x" 'it'"'"'s $x' | cat"#
    );
}

#[test]
fn a_replacement_in_the_first_word_is_the_command_itself() {
    let (t, reason) = parse(&["l{}"], false);
    assert!(reason.is_some());
    let records = [record(&["s /bin/ls"])];
    assert_eq!(
        t.expand(&expansion(&records)),
        CommandLine::Shell(b"ls /bin/ls".to_vec())
    );
    let (none, _) = parse(&[], false);
    assert_eq!(
        none.expand(&expansion(&records)),
        CommandLine::Shell(b"s /bin/ls".to_vec())
    );
}

#[test]
fn the_command_line_shows_values_quoted_in_place() {
    let t = template(&["echo", "{}", "{}x"]);
    let records = [record(&["a b"])];
    assert_eq!(t.command_line(&expansion(&records)), b"echo 'a b' 'a b'x");
}

#[test]
fn a_custom_replace_string_takes_the_place_of_braces() {
    let names = NativeNames {
        whole: "@@".into(),
        ..NativeNames::default()
    };
    let mut table = Replacements::new(&names, false, &[]).unwrap();
    let words: Vec<OsString> = ["mv", "@@", "{}"].iter().map(OsString::from).collect();
    let t = Template::parse(&words, &mut table, false, false).unwrap().0;
    assert_eq!(direct(&t, &[record(&["f"])]), ["mv", "f", "{}"]);
}
