//! `depthscale`: the command-line interface. Parsing, progress bars and output only; the
//! science lives in the `depthscale` library crate.

mod fetch;
mod progress;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use depthscale::experiment::{self, ConfigSource, PRESETS, RunOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// A laboratory for very deep residual networks.
///
/// Reproduces the experiments of "Scaling ResNets in the Large-depth Regime" (Marion, Fermanian,
/// Biau, Vert; JMLR 2025) in seconds: hidden-state and gradient norms at initialization against
/// depth, the phase diagram over the Hurst index of the weights and the scaling exponent beta,
/// training on MNIST/CIFAR-10, and the neural ODE/SDE limits.
///
/// Quick start:
///   depthscale presets                 list the paper's experiments
///   depthscale run fig7                the phase diagram (Figure 7), about a minute
///   depthscale run fig1 --quick        any preset at smoke size, in seconds
///   depthscale run my.toml --set depth=2000 --set 'beta=[0.5, 1.0]'
#[derive(Parser, Debug)]
#[command(name = "depthscale", version, verbatim_doc_comment)]
struct Cli {
    /// Worker threads (default: all cores). Results are identical for any value.
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run an experiment: a preset name (see `depthscale presets`) or a TOML file.
    ///
    /// Writes into the output directory: config.toml (the fully resolved config, seed included:
    /// rerun it with `depthscale run DIR/config.toml`), results.csv (tidy, one row per
    /// measurement), the figures as PNG and SVG, and summary.json. The directory is written as
    /// DIR.partial and renamed to DIR only when the run is complete.
    #[command(verbatim_doc_comment)]
    Run(RunArgs),
    /// List the shipped presets with what they reproduce.
    Presets,
    /// Print a preset's TOML (a starting point for your own config).
    Show {
        /// Preset name.
        name: String,
    },
    /// Datasets: download MNIST, Fashion-MNIST or CIFAR-10.
    #[command(subcommand)]
    Data(DataCommand),
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Preset name (fig1 ... fig7, ...) or path to a TOML config.
    experiment: String,
    /// Override a config field, KEY=VALUE with a TOML value (repeatable):
    /// --set depth=2000, --set 'beta=[0.5, 1]', --set 'hurst={linspace=[0.1, 0.9, 9]}',
    /// --set init_v='fbm(0.3)'.
    #[arg(long = "set", value_name = "KEY=VALUE", verbatim_doc_comment)]
    overrides: Vec<String>,
    /// Shrink the experiment to a smoke size that runs in a few seconds.
    #[arg(long)]
    quick: bool,
    /// Output directory [default: runs/<experiment>-<UTC timestamp>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace the output directory if it exists and is not empty.
    #[arg(long)]
    force: bool,
}

#[derive(Subcommand, Debug)]
enum DataCommand {
    /// Download a dataset from its canonical location and verify its checksums.
    ///
    /// Files: mnist and fashion-mnist as the four IDX .gz files, cifar10 as
    /// cifar-10-binary.tar.gz (read directly, no need to unpack). Without network access,
    /// download them by hand into DIR and pass `--data DIR` to the training commands.
    #[command(verbatim_doc_comment)]
    Fetch {
        /// mnist, fashion-mnist or cifar10.
        dataset: String,
        /// Directory to download into.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run(cli: Cli) -> Result<()> {
    if let Some(n) = cli.threads {
        anyhow::ensure!(n >= 1, "invalid `--threads`: must be at least 1, got {n}");
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("cannot start the thread pool")?;
    }
    match cli.command {
        Command::Run(args) => run_experiment(args),
        Command::Presets => {
            for p in PRESETS {
                println!("{:<12} {}", p.name, p.description());
            }
            Ok(())
        }
        Command::Show { name } => {
            let p = experiment::preset(&name).with_context(|| {
                let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
                format!("unknown preset {name:?}; presets: {}", names.join(", "))
            })?;
            print!("{}", p.toml);
            Ok(())
        }
        Command::Data(DataCommand::Fetch { dataset, dir }) => fetch::fetch(&dataset, &dir),
    }
}

fn run_experiment(args: RunArgs) -> Result<()> {
    let source = ConfigSource::resolve(&args.experiment)?;
    let opts = RunOptions {
        overrides: args.overrides,
        quick: args.quick,
        out: args.out,
        force: args.force,
    };
    let bars = progress::Bars::default();
    let report = experiment::run(source, &opts, &bars)
        .with_context(|| format!("experiment {}", args.experiment))?;
    let seconds = report.summary["seconds"].as_f64().unwrap_or(f64::NAN);
    println!("wrote {} ({seconds:.1} s)", report.dir.display());
    Ok(())
}
