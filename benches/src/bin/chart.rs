//! Redraws the performance chart, or prints the README's table, from the
//! figures a `compare --save FILE` run wrote:
//!
//! ```text
//! cargo run --release -p workcrew-benches --bin chart -- FILE --svg performance.svg
//! cargo run --release -p workcrew-benches --bin chart -- FILE --markdown
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use workcrew_benches::results::Run;
use workcrew_benches::{chart, markdown};

const USAGE: &str = "\
usage: chart RESULTS [--svg OUT.svg] [--markdown]

  RESULTS        a file written by `compare --save RESULTS`
  --svg OUT.svg  draw the chart (each peer's median / workcrew's, per workload)
  --markdown     print the README's performance table on stdout";

struct Options {
    results: PathBuf,
    svg: Option<PathBuf>,
    markdown: bool,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut results = None;
    let mut svg = None;
    let mut markdown = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--svg" => svg = Some(args.next().ok_or("--svg needs a file name")?.into()),
            "--markdown" => markdown = true,
            flag if flag.starts_with('-') => return Err(format!("unknown argument {flag:?}")),
            path if results.is_none() => results = Some(PathBuf::from(path)),
            extra => return Err(format!("one results file only, not also {extra:?}")),
        }
    }
    let results = results.ok_or("which results file? (written by `compare --save FILE`)")?;
    if svg.is_none() && !markdown {
        return Err("nothing to do: pass --svg OUT.svg, --markdown or both".into());
    }
    Ok(Some(Options {
        results,
        svg,
        markdown,
    }))
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("chart: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let shown = options.results.display();
    let text = match std::fs::read_to_string(&options.results) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("chart: cannot read {shown}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let run = match Run::parse(&text) {
        Ok(run) => run,
        Err(error) => {
            eprintln!("chart: {shown}: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &options.svg {
        let written = chart::svg(&run)
            .and_then(|svg| std::fs::write(path, svg).map_err(|error| error.to_string()));
        if let Err(error) = written {
            eprintln!("chart: cannot draw {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!("chart drawn in {}", path.display());
    }
    if options.markdown {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        if let Err(error) = stdout
            .write_all(markdown::table(&run).as_bytes())
            .and_then(|()| stdout.flush())
        {
            eprintln!("chart: cannot write the table: {error}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
