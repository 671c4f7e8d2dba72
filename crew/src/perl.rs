//! Perl replacement strings (`{= expr =}`, `--plus`, `--rpl`), evaluated
//! by one `perl` co-process, so they behave exactly as in GNU parallel,
//! which evaluates them in Perl too.
//!
//! Protocol (over the co-process's stdin/stdout, every byte string sent
//! as `<length>\n<bytes>`):
//! - start: the number of expressions, then each expression's code; perl
//!   compiles each into a sub and answers `OK`, or `ERR <index>` and
//!   Perl's message (crew then stops, as GNU does).
//! - `J <seq> <slot> <total> <count> <completed>` and the job's values: a
//!   new job; its values are `@arg` (from `$arg[1]`), the per-job cache is
//!   emptied, `$Global::total_completed` (GNU's) is the jobs finished.
//! - `E <count>` and `<id> <position>` lines: evaluate these occurrences
//!   (position 0: once per value, else that value); perl answers each
//!   result as `<length> <unquoted>\n<bytes>` (`-1 0` for a value the job
//!   lacks), then `S <skip>`.
//! - `F <count>` and that many byte strings (`--filter`, filled in): perl
//!   evaluates them in turn until one is false and answers `F 1` (all
//!   true: the job runs) or `F 0`.
//!
//! Invariants: expressions run in the dispatcher's thread in job order,
//! so state kept in Perl variables (`$::G++`) sees jobs in the order GNU
//! would; an expression is evaluated once per job and value (later
//! occurrences reuse the result, as GNU caches them); a perl that dies or
//! misbehaves is an error, never a silently empty value.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::error::CrewError;
use crate::placeholder::Position;
use crate::template::PerlValues;

/// The Perl side: GNU's helper functions and the protocol loop.
const DRIVER: &str = r#"
use strict; no strict 'vars'; no strict 'refs'; no warnings;
open(my $fh, "<&=", 0) or die; binmode $fh; binmode STDOUT; $| = 1;
package Job;
sub seq { $_[0]{seq} } sub slot { $_[0]{slot} } sub skip { $main::skip = 1; }
package main;
sub Q { my $s = shift; return "''" if $s eq "";
  return $s if $s !~ /[^-_.+a-z0-9\/]/i;
  $s =~ s/'/'"'"'/g; $s = "'$s'"; $s =~ s/^''//; $s =~ s/''$//; return $s; }
sub shell_quote { wantarray ? (map { Q($_) } @_) : join(" ", map { Q($_) } @_) }
sub shell_quote_scalar { Q($_[0]) }
sub uq { $main::unquote = 1; }
sub skip { $main::skip = 1; }
sub seq { $job->{seq} } sub slot { $job->{slot} } sub total_jobs { $main::total }
sub hash { require B; B::hash(@_) }
sub uniq { my %seen; grep { !$seen{$_}++ } @_ }
sub dirname { my $p = shift; return "." if $p !~ m:/:; $p =~ s:/+[^/]*$::; $p eq "" ? "/" : $p }
sub basename { my $p = shift; $p =~ s:.*/::; $p }
sub make_regexp_ungreedy { my $re = shift; my ($out, $class, $esc) = ("", 0, 0);
  my @c = split //, $re;
  for my $i (0..$#c) { my $c = $c[$i]; $out .= $c;
    if ($esc) { $esc = 0; next } if ($c eq "\\") { $esc = 1; next }
    if ($class) { $class = 0 if $c eq "]"; next } if ($c eq "[") { $class = 1; next }
    $out .= "?" if ($c eq "*" or $c eq "+") and ($i == $#c or $c[$i+1] ne "?"); }
  return $out; }
sub readstr { my $n = <$fh>; defined $n or exit 0; chomp $n; my $s = ""; read($fh, $s, $n) if $n > 0; return $s; }
my $count = <$fh>; chomp $count;
eval "1" for 1..9; # GNU has run nine evals before the first expression: (eval 10)
for my $i (0..$count-1) { my $src = readstr();
  $. = 1; # GNU's errors name its input handle at its first line: `<$fh> line 1`
  $code[$i] = eval "sub { $src\n }";
  if ($@) { my $e = $@; print "ERR $i\n", length($e), "\n", $e; exit 1 } }
print "OK\n";
while (my $line = <$fh>) { chomp $line; my @f = split / /, $line;
  if ($f[0] eq "J") { $job = bless { seq => $f[1], slot => $f[2] }, "Job"; $total = $f[3];
    $Global::total_completed = $f[5];
    @arg = (undef); push @arg, readstr() for 1..$f[4]; %cache = (); $skip = 0; next; }
  if ($f[0] eq "F") { my $run = 1; for (1..$f[1]) { my $src = readstr(); $run &&= eval $src; }
    print "F ", $run ? 1 : 0, "\n"; next; }
  my @results;
  for (1..$f[1]) { my $occ = <$fh>; chomp $occ; my ($id, $pos) = split / /, $occ;
    my @idx = $pos == 0 ? (1..$#arg) : ($pos > 0 ? ($pos) : ($#arg + 1 + $pos));
    for my $k (@idx) {
      if ($k < 1 or $k > $#arg) { print "-1 0\n"; next }
      my $key = "$id\0$k";
      if (!exists $cache{$key}) { local $_ = $arg[$k]; $unquote = 0;
        # GNU's last successful match before the call (an empty pattern
        # in an expression reuses it): its strip of a leading position.
        my $expr = "x"; $expr =~ s/^(-?\d+)? *//; $code[$id]->();
        $cache{$key} = [ defined $_ ? $_ : "", $unquote ]; }
      my ($v, $u) = @{$cache{$key}}; print length($v), " ", $u ? 1 : 0, "\n", $v; } }
  print "S ", $skip ? 1 : 0, "\n"; }
"#;

/// One job's numbers for Perl.
#[derive(Clone, Copy, Debug)]
pub struct JobNumbers {
    /// `seq()`.
    pub seq: u64,
    /// `slot()`.
    pub slot: usize,
    /// `total_jobs()` (0 when not known in advance).
    pub total: u64,
    /// `$Global::total_completed`: jobs finished so far.
    pub completed: u64,
}

/// The running co-process.
pub struct Perl {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    /// How many values the current job has.
    values_in_job: usize,
    /// perl closed its output: it exited (an expression's `exit` or `die`).
    has_exited: bool,
}

fn broken(error: impl std::fmt::Display) -> CrewError {
    CrewError::usage(format!(
        "the perl evaluating {{= =}} replacement strings failed: {error}"
    ))
}

fn send_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(format!("{}\n", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
}

impl Perl {
    /// Starts perl and compiles `exprs`.
    ///
    /// # Errors
    ///
    /// perl is missing, or an expression does not compile (GNU's message:
    /// `Cannot use EXPR: ERROR`).
    pub fn start(exprs: &[String]) -> Result<Perl, CrewError> {
        let mut child = Command::new("perl")
            .args(["-e", DRIVER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                CrewError::usage(format!(
                    "{{= perl expression =}} and --plus/--rpl need perl on PATH: {e}"
                ))
            })?;
        let mut input = child.stdin.take().expect("piped");
        let mut output = BufReader::new(child.stdout.take().expect("piped"));
        let mut request = format!("{}\n", exprs.len()).into_bytes();
        for expr in exprs {
            send_bytes(&mut request, expr.as_bytes());
        }
        input.write_all(&request).map_err(broken)?;
        let mut line = String::new();
        output.read_line(&mut line).map_err(broken)?;
        if let Some(index) = line.strip_prefix("ERR ") {
            let index: usize = index.trim().parse().map_err(broken)?;
            let message = read_sized(&mut output)?.unwrap_or_default();
            let message = String::from_utf8_lossy(&message).into_owned();
            let _ = child.wait();
            return Err(CrewError::Perl(format!(
                "Cannot use {}: {message}",
                exprs[index].trim()
            )));
        }
        if line != "OK\n" {
            return Err(broken(format!("unexpected answer `{}`", line.trim())));
        }
        Ok(Perl {
            child,
            input,
            output,
            values_in_job: 0,
            has_exited: false,
        })
    }

    /// Starts a job: its numbers and values (`@arg`).
    ///
    /// # Errors
    ///
    /// perl went away.
    pub fn begin_job(&mut self, job: JobNumbers, values: &[&[u8]]) -> Result<(), CrewError> {
        let mut request = format!(
            "J {} {} {} {} {}\n",
            job.seq,
            job.slot,
            job.total,
            values.len(),
            job.completed
        )
        .into_bytes();
        for value in values {
            send_bytes(&mut request, value);
        }
        self.values_in_job = values.len();
        self.input.write_all(&request).map_err(broken)
    }

    /// Evaluates `occurrences` for the current job; returns their values
    /// and whether an expression asked to skip the job.
    ///
    /// # Errors
    ///
    /// perl went away or answered out of protocol.
    pub fn evaluate(
        &mut self,
        occurrences: &[(Position, usize)],
    ) -> Result<(PerlValues, bool), CrewError> {
        let mut request = format!("E {}\n", occurrences.len()).into_bytes();
        for (position, id) in occurrences {
            let pos = match position {
                Position::Each => 0,
                Position::Nth(n) => *n,
            };
            request.extend_from_slice(format!("{id} {pos}\n").as_bytes());
        }
        self.input.write_all(&request).map_err(broken)?;
        self.input.flush().map_err(broken)?;
        let mut values = Vec::with_capacity(occurrences.len());
        for (position, _) in occurrences {
            let answers = match position {
                Position::Each => self.values_in_job,
                Position::Nth(_) => 1,
            };
            let mut these = Vec::with_capacity(answers);
            for _ in 0..answers {
                if let Some(answer) = self.read_answer()? {
                    these.push(answer);
                }
            }
            values.push(these);
        }
        let mut line = String::new();
        self.output.read_line(&mut line).map_err(broken)?;
        let skip = match line.strip_prefix("S ") {
            Some(flag) => flag.trim() == "1",
            None => return Err(broken(format!("unexpected answer `{}`", line.trim()))),
        };
        Ok((values, skip))
    }

    /// Evaluates the filled-in `--filter` expressions of the current job;
    /// returns whether all are true (GNU stops at the first false one).
    ///
    /// # Errors
    ///
    /// perl went away or answered out of protocol.
    pub fn passes(&mut self, filters: &[Vec<u8>]) -> Result<bool, CrewError> {
        let mut request = format!("F {}\n", filters.len()).into_bytes();
        for filter in filters {
            send_bytes(&mut request, filter);
        }
        self.input.write_all(&request).map_err(broken)?;
        self.input.flush().map_err(broken)?;
        let mut line = String::new();
        if self.output.read_line(&mut line).map_err(broken)? == 0 {
            self.has_exited = true;
            return Err(broken("perl exited"));
        }
        match line.as_str() {
            "F 1\n" => Ok(true),
            "F 0\n" => Ok(false),
            _ => Err(broken(format!("unexpected answer `{}`", line.trim()))),
        }
    }

    /// One `<length> <unquoted>\n<bytes>` answer (`None` for `-1`).
    fn read_answer(&mut self) -> Result<Option<(Vec<u8>, bool)>, CrewError> {
        let mut header = String::new();
        if self.output.read_line(&mut header).map_err(broken)? == 0 {
            self.has_exited = true;
            return Err(broken("perl exited"));
        }
        let mut fields = header.split_whitespace();
        let len: i64 = fields
            .next()
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| broken(format!("unexpected answer `{}`", header.trim())))?;
        let unquoted = fields.next() == Some("1");
        if len < 0 {
            return Ok(None);
        }
        let mut bytes = vec![0u8; len as usize];
        self.output.read_exact(&mut bytes).map_err(broken)?;
        Ok(Some((bytes, unquoted)))
    }
}

impl Perl {
    /// perl's exit status, once it has exited mid-run: GNU runs the
    /// expressions in its own perl, so an `exit` there ends GNU parallel
    /// with that status (a `die`, with 255).
    pub fn exit_status(&mut self) -> Option<i32> {
        if !self.has_exited {
            return None;
        }
        let status = self.child.wait().ok()?;
        Some(status.code().unwrap_or(255))
    }
}

impl Drop for Perl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_sized(output: &mut BufReader<ChildStdout>) -> Result<Option<Vec<u8>>, CrewError> {
    let mut line = String::new();
    if output.read_line(&mut line).map_err(broken)? == 0 {
        return Ok(None);
    }
    let len: usize = line.trim().parse().map_err(broken)?;
    let mut bytes = vec![0u8; len];
    output.read_exact(&mut bytes).map_err(broken)?;
    Ok(Some(bytes))
}
