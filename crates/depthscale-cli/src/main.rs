//! `depthscale`: the command-line interface. Parsing, progress bars and output only; the
//! science lives in the `depthscale` library crate.

mod fetch;
mod headline;
mod progress;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use depthscale::executor::{Finished, ShardedJob, SlurmOptions};
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
///   depthscale reproduce --quick       every experiment, its claims checked, one report.html
///   depthscale presets                 list the paper's experiments
///   depthscale run fig7                the phase diagram (Figure 7), about a minute
///   depthscale run fig1 --quick        any preset at smoke size, in seconds
///   depthscale run my.toml --set depth=2000 --set 'beta=[0.5, 1.0]'
///   depthscale train                   the paper's training protocol on the bundled mnist-10k
///   depthscale run fig9 --shard 0/4 --out runs/fig9/0   one quarter of the Figure 9 sweep
///   depthscale merge runs/fig9/* --out runs/fig9-all    join the shards
#[derive(Parser, Debug)]
#[command(name = "depthscale", version, verbatim_doc_comment)]
struct Cli {
    /// Worker threads (default: all cores; at most 8 x the cores). Results are identical for
    /// any value.
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Reproduce the paper: run every experiment preset, check each claim against the theory,
    /// and write one self-contained report.
    ///
    /// Runs every preset that reproduces a claim of the paper (`depthscale presets` lists them),
    /// each into its own subdirectory DIR/<preset>/ (written through the normal runner), then
    /// writes DIR/report.html (the claims table, then one section per experiment with its
    /// figures, numbers, command and config) and DIR/summary.json (every claim row with its
    /// verdict), the summary last. Rerun with the same --out to resume: experiments already
    /// complete are skipped. --quick: reduced sizes, about 1.5 minutes on 2 cores; without it,
    /// the paper's settings (45 min measured on two cores, 40 of them Figure 9's 500 training
    /// runs).
    ///
    /// The report covers every complete experiment of DIR (runs with --only accumulate) and
    /// says which ran this time; an experiment directory holding another config (e.g. a
    /// `depthscale run` into it) is listed as left out, never shown. A stale or corrupt
    /// experiment directory is refused: --redo NAME replaces just DIR/NAME (only a directory
    /// depthscale created) and runs it again, keeping the others; --force starts the whole
    /// reproduction over. While a reproduction runs, runs of other processes into DIR are
    /// refused. Every option (--only, --redo, --dataset/--data) is checked before DIR is
    /// created.
    ///
    /// --executor slurm: the shardable experiments (fig9, transfer) run as Slurm job arrays of
    /// --shards tasks, the others as one more array (or here with --local-rest); the command
    /// waits, resubmits failed tasks, merges and writes the same report. Job scripts and logs
    /// are in DIR/<preset>.slurm/ and DIR/rest.slurm/; with --no-wait, rerun the same command
    /// to re-attach.
    #[command(verbatim_doc_comment)]
    Reproduce(ReproduceArgs),
    /// Run an experiment: a preset name (see `depthscale presets`) or a TOML file.
    ///
    /// Writes into the output directory: config.toml (the fully resolved config, seed included:
    /// rerun it with `depthscale run DIR/config.toml`), results.csv (tidy, one row per
    /// measurement), the figures as PNG and SVG, and summary.json. The directory is written as
    /// DIR.partial and renamed to DIR only when the run is complete; it is locked while the run
    /// writes it (a second process on the same DIR fails at once), and a run whose estimated
    /// memory or disk exceeds the machine's (or DEPTHSCALE_MAX_MEMORY / DEPTHSCALE_MAX_DISK) is
    /// refused before it starts.
    ///
    /// Sweeps (fig9, kind = "sweep") are written in place and resumable: rerun the same command
    /// with the same --out after an interruption and finished cells are skipped. They can be
    /// split over machines with --shard I/N and joined with `depthscale merge`, or run as a
    /// Slurm job array with --executor slurm (submitted, watched, failed shards resubmitted,
    /// merged into --out; the job script and logs are in OUT.slurm/).
    #[command(verbatim_doc_comment)]
    Run(RunArgs),
    /// Train one network: the paper's protocol (res1, ReLU, d = 30, L = 1000, beta = 0.5,
    /// i.i.d. uniform V, Adam lr 1e-3 with StepLR, batch 128, 10 epochs, seed 0) on the bundled
    /// mnist-10k unless flags say otherwise.
    ///
    /// Runs the `train` preset (`depthscale show train`); each flag below overrides one field,
    /// and --set KEY=VALUE any field. Writes config.toml, metrics.csv (one row per epoch,
    /// written as epochs finish), training.png/svg, summary.json and, with --save,
    /// initial.safetensors and model.safetensors. A run whose loss becomes non-finite stops and
    /// is reported as diverged.
    #[command(verbatim_doc_comment)]
    Train(TrainArgs),
    /// Join the output directories of sweep shards (or of interrupted runs of one sweep) into
    /// one result: config.toml, cells.csv, metrics.csv, accuracy.png/svg and summary.json.
    ///
    /// The directories must hold the same config.toml. A cell found in several directories is
    /// kept once (from the first directory listing it; disagreements are listed in
    /// summary.json). Missing cells are an error naming the shards that own them (a shard
    /// directory that was never created included), unless --allow-partial; the merged
    /// directory can then be completed with `depthscale run OUT/config.toml --out OUT`.
    #[command(verbatim_doc_comment)]
    Merge(MergeArgs),
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
    /// Shrink the experiment to a smoke size that runs in a few seconds. A field given with
    /// --set keeps its --set value (the first line of config.toml names it).
    #[arg(long)]
    quick: bool,
    /// Output directory [default: runs/<experiment>-<UTC timestamp>, with -2, -3, ... appended
    /// when a run started in the same second has that name].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace the output directory if it exists and is not empty (for a sweep: start over
    /// instead of resuming). Only a directory depthscale created (it holds a .depthscale
    /// marker) is ever replaced, and never the current or home directory or one containing
    /// them.
    #[arg(long)]
    force: bool,
    /// Run only shard I of N (0 <= I < N) of a sweep: the cells whose index is I modulo N.
    /// Give each shard its own --out and join them with `depthscale merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    #[command(flatten)]
    executor: ExecutorArgs,
}

/// Where the work runs: here, or as Slurm jobs.
#[derive(Args, Debug)]
struct ExecutorArgs {
    /// Where the work runs: local (this process) or slurm (a job array submitted with sbatch,
    /// one shard per task, watched, failed shards resubmitted, merged into --out; its job
    /// script, logs and shards are in OUT.slurm/). Rerun the same command to re-attach.
    #[arg(long, value_name = "NAME", default_value = "local")]
    executor: String,
    /// slurm: number of shards (array tasks) of a shardable experiment.
    #[arg(long, value_name = "N", default_value_t = 4)]
    shards: usize,
    /// slurm: the partition (sbatch --partition).
    #[arg(long, value_name = "P")]
    partition: Option<String>,
    /// slurm: the time limit of each task (sbatch --time, e.g. 01:00:00); a task that runs out
    /// of time is resubmitted and resumes.
    #[arg(long, value_name = "T")]
    time: Option<String>,
    /// slurm: CPUs of each task (sbatch --cpus-per-task); the task runs that many threads.
    #[arg(long, value_name = "C")]
    cpus_per_task: Option<usize>,
    /// slurm: at most K tasks of an array at once (--array=0-N%K).
    #[arg(long, value_name = "K")]
    array_parallelism: Option<usize>,
    /// slurm: one more sbatch option for the job scripts (repeatable), e.g.
    /// --sbatch-arg=--account=abc.
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    sbatch_args: Vec<String>,
    /// slurm: how often a failed or timed-out task is resubmitted before the run fails.
    #[arg(long, value_name = "N", default_value_t = 2)]
    max_resubmits: u32,
    /// slurm: submit and return; rerun the same command later to see the state, resubmit
    /// failed tasks, and (once all are done) merge and finish.
    #[arg(long)]
    no_wait: bool,
    /// slurm: seconds between two looks at the tasks (squeue and the shards' files).
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    poll: f64,
}

impl ExecutorArgs {
    /// `None` for the local executor, else the Slurm options.
    fn slurm(&self, local_rest: bool) -> Result<Option<SlurmOptions>> {
        match self.executor.as_str() {
            "local" => Ok(None),
            "slurm" => {
                anyhow::ensure!(
                    self.poll.is_finite() && self.poll > 0.0 && self.poll <= 86_400.0,
                    "invalid `--poll`: expected seconds in (0, 86400], got {}",
                    self.poll
                );
                anyhow::ensure!(
                    (1..=100_000).contains(&self.shards),
                    "invalid `--shards`: expected 1..=100000, got {}",
                    self.shards
                );
                Ok(Some(SlurmOptions {
                    shards: self.shards,
                    partition: self.partition.clone(),
                    time: self.time.clone(),
                    cpus_per_task: self.cpus_per_task,
                    array_parallelism: self.array_parallelism,
                    sbatch_args: self.sbatch_args.clone(),
                    max_resubmits: self.max_resubmits,
                    wait: !self.no_wait,
                    poll: std::time::Duration::from_secs_f64(self.poll),
                    local_rest,
                    ..SlurmOptions::default()
                }))
            }
            other => anyhow::bail!("invalid `--executor`: expected local or slurm, got {other:?}"),
        }
    }
}

#[derive(Args, Debug)]
struct TrainArgs {
    /// Output directory [default: runs/train-<UTC timestamp>, with -2, -3, ... appended when a
    /// run started in the same second has that name].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace the output directory if it exists and is not empty (only a directory depthscale
    /// created, marked by its .depthscale file).
    #[arg(long)]
    force: bool,
    /// Smoke size: depth at most 100, 1 epoch, 2,000 training and 1,000 test images (a
    /// field given by a flag below or --set keeps that value).
    #[arg(long)]
    quick: bool,
    /// Override any field of the `train` preset, KEY=VALUE with a TOML value (repeatable),
    /// e.g. --set lr_step=3 --set lr_gamma=0.5; applied after the flags below.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Also write initial.safetensors and model.safetensors (the trained weights).
    #[arg(long)]
    save: bool,
    /// Dataset: mnist-10k (bundled, the default), mnist, fashion-mnist or cifar10; the last
    /// three are read from --data.
    #[arg(long, value_name = "NAME")]
    dataset: Option<String>,
    /// Directory holding the dataset's files (CIFAR-10: also the .tar.gz itself); download
    /// them with `depthscale data fetch NAME --dir DIR`.
    #[arg(long = "data", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Number of residual layers L [preset: 1000].
    #[arg(long, value_name = "L", allow_negative_numbers = true)]
    depth: Option<i64>,
    /// Hidden width d [preset: 30].
    #[arg(long, value_name = "D", allow_negative_numbers = true)]
    width: Option<i64>,
    /// Residual scale exponent, alpha_L = L^-beta [preset: 0.5].
    #[arg(long, allow_negative_numbers = true)]
    beta: Option<f64>,
    /// Initial Adam learning rate [preset: 1e-3].
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// Number of epochs [preset: 10].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    epochs: Option<i64>,
    /// Mini-batch size [preset: 128].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    batch_size: Option<i64>,
    /// Law of V over depth: uniform, gaussian, rademacher, fbm(H), rbf(BW) [preset: uniform].
    #[arg(long, value_name = "LAW")]
    init_v: Option<String>,
    /// Seed of every random stream, 0..=9223372036854775807 [preset: 0].
    #[arg(long, allow_negative_numbers = true)]
    seed: Option<i128>,
}

impl TrainArgs {
    /// The flags as `KEY=VALUE` overrides of the `train` preset, then the --set ones.
    fn overrides(&self) -> Result<Vec<String>> {
        let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let mut o = Vec::new();
        if let Some(dir) = &self.data {
            anyhow::ensure!(
                self.dataset.is_some(),
                "`--data` needs `--dataset` (mnist, fashion-mnist or cifar10)"
            );
            let dir = dir.to_str().with_context(|| {
                format!(
                    "invalid `--data`: {} is not valid UTF-8, and configs store paths as UTF-8 text; rename it or point a symbolic link with a UTF-8 name at it",
                    dir.display()
                )
            })?;
            o.push(format!("data_dir={}", quote(dir)));
        }
        if let Some(d) = &self.dataset {
            o.push(format!("dataset={}", quote(d)));
        }
        if self.save {
            o.push("save=true".into());
        }
        let floats = [("beta", self.beta), ("lr", self.lr)];
        for (k, v) in floats {
            if let Some(v) = v {
                o.push(format!("{k}={}", toml::Value::Float(v)));
            }
        }
        let ints = [
            ("depth", self.depth),
            ("width", self.width),
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
        ];
        for (k, v) in ints {
            if let Some(v) = v {
                o.push(format!("{k}={v}"));
            }
        }
        if let Some(s) = self.seed {
            o.push(format!("seed={s}"));
        }
        if let Some(law) = &self.init_v {
            o.push(format!("init_v={}", quote(law)));
        }
        o.extend(self.overrides.iter().cloned());
        Ok(o)
    }
}

#[derive(Args, Debug)]
struct ReproduceArgs {
    /// Reduced sizes at which every claim still holds (the whole report in about 1.5 minutes on
    /// 2 cores).
    #[arg(long)]
    quick: bool,
    /// Output directory [default: runs/reproduce-<UTC timestamp>, with -2, -3, ... appended when
    /// that name is taken].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Run only these experiments, comma-separated (e.g. fig7,sde).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    only: Option<Vec<String>>,
    /// Replace these experiments' directories and run them again, comma-separated (e.g.
    /// fig6): only DIR/<name>, only a directory depthscale created; the others are kept.
    /// They run even if --only leaves them out.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    redo: Vec<String>,
    /// Dataset for the training experiments fig8 and fig9: mnist-10k (bundled, the default),
    /// or mnist, fashion-mnist or cifar10, read from --data.
    #[arg(long, value_name = "NAME")]
    dataset: Option<String>,
    /// Directory holding the dataset's files (with --dataset other than mnist-10k).
    #[arg(long = "data", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Start over: empty DIR (only a directory depthscale created) instead of resuming.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    executor: ExecutorArgs,
    /// slurm: run the experiments that cannot be sharded in this process (while the arrays
    /// run) instead of as one more job array.
    #[arg(long)]
    local_rest: bool,
    /// Run every experiment with this seed instead of its preset's (0): the claims' tolerances
    /// come from each run's own sampling error, so they must hold for any seed.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
}

#[derive(Args, Debug)]
struct MergeArgs {
    /// Output directories of the shards (or runs) of one sweep.
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Where to write the merged result.
    #[arg(long, value_name = "OUT")]
    out: PathBuf,
    /// Replace OUT if it exists and is not empty (only a directory depthscale created; never
    /// one of the inputs or a directory containing one).
    #[arg(long)]
    force: bool,
    /// Write the merged result even when cells are missing (without it, merge fails naming
    /// the shards that own them, and writes nothing); fill the gaps later with
    /// `depthscale run OUT/config.toml --out OUT`.
    #[arg(long)]
    allow_partial: bool,
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {} (see --help)", clap_cause(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    // the mutant test's switch (DEPTHSCALE_MUTANT): an unknown name is an error, not ignored
    if let Err(e) = depthscale::mutant::from_env() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::FAILURE
        }
    }
}

/// The cause of a clap error on one line: its first line, with the indented lines that
/// complete it (the names of missing arguments); the usage lines after them are left out.
fn clap_cause(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("invalid arguments");
    let mut cause = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    if cause.trim_end().ends_with(':') {
        for l in lines.take_while(|l| l.starts_with(' ') && !l.trim().is_empty()) {
            cause.push(' ');
            cause.push_str(l.trim());
        }
    }
    one_line(&cause)
}

/// The error and its causes on one line, a cause already spelled out by the error before it
/// (an I/O error quoted with its path) left out.
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if out.contains(&c) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&c);
    }
    one_line(&out)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The worker threads: `--threads`, else `RAYON_NUM_THREADS`, else all cores; a count beyond
/// [`depthscale::budget::max_threads`] is refused.
fn start_threads(flag: Option<usize>) -> Result<()> {
    let n = match flag {
        Some(n) => {
            depthscale::budget::check_threads("--threads", n)?;
            n
        }
        None => match std::env::var("RAYON_NUM_THREADS") {
            Ok(v) if !v.trim().is_empty() => {
                let n: usize = v.trim().parse().map_err(|_| {
                    anyhow::anyhow!(
                        "invalid `RAYON_NUM_THREADS`: expected a positive integer, got {v:?}"
                    )
                })?;
                depthscale::budget::check_threads("RAYON_NUM_THREADS", n)?;
                n
            }
            _ => 0, // rayon's default: one per core
        },
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .context("cannot start the thread pool")
}

/// Prints the `warnings` a run's summary lists, one line each on stderr.
fn print_warnings(summary: &serde_json::Value) {
    if let Some(w) = summary["results"]["warnings"].as_array() {
        for line in w.iter().filter_map(|v| v.as_str()) {
            eprintln!("warning: {line}");
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    start_threads(cli.threads)?;
    match cli.command {
        Command::Run(args) => run_experiment(args),
        Command::Train(args) => train(args),
        Command::Merge(args) => {
            let bars = progress::Bars::default();
            let opts = RunOptions {
                out: Some(args.out.clone()),
                force: args.force,
                ..RunOptions::default()
            };
            let report = experiment::merge_checked(&args.dirs, &opts, args.allow_partial, &bars)
                .context("merge")?;
            print_warnings(&report.summary);
            let r = &report.summary["results"];
            println!(
                "merged {} of {} cells from {} directories",
                r["cells_done"],
                r["cells_total"],
                args.dirs.len()
            );
            if let Some(shards) = r["missing_shards"].as_array().filter(|s| !s.is_empty()) {
                let list: Vec<String> = shards.iter().map(|v| v.to_string()).collect();
                println!(
                    "missing: the cells of shard(s) {} of {} (fill them with `depthscale run {}/config.toml --out {}`)",
                    list.join(", "),
                    r["shards"],
                    report.dir.display(),
                    report.dir.display()
                );
            }
            if let Some(c) = r["conflicts"].as_array().filter(|c| !c.is_empty()) {
                println!(
                    "{} cells disagreed between directories (see summary.json)",
                    c.len()
                );
            }
            println!("wrote {}", report.dir.display());
            Ok(())
        }
        Command::Reproduce(args) => reproduce(args),
        Command::Presets => {
            for p in PRESETS.iter() {
                println!("{:<12} {}", p.name, p.description());
            }
            Ok(())
        }
        Command::Show { name } => {
            let p = experiment::preset(&name).with_context(|| {
                format!(
                    "unknown preset {name:?}; {}",
                    experiment::unknown_preset_hint(&name)
                )
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
        shard: args
            .shard
            .as_deref()
            .map(experiment::parse_shard)
            .transpose()?,
        limits: None,
        // the CPU: the one backend a run can be given today
        backend: Default::default(),
    };
    let bars = progress::Bars::default();
    let report = match args.executor.slurm(false)? {
        None => depthscale::executor::local::run(source, &opts, &bars)
            .with_context(|| format!("experiment {}", args.experiment))?,
        Some(slurm) => match run_on_slurm(&args.experiment, source, &opts, &slurm, &bars)
            .with_context(|| format!("experiment {}", args.experiment))?
        {
            Finished::Done(report) => report,
            Finished::Waiting(status) => {
                println!("submitted: {status}");
                println!("rerun the same command to wait, resubmit failed shards and merge");
                return Ok(());
            }
        },
    };
    print_warnings(&report.summary);
    let r = &report.summary["results"];
    // the headline: the claims checked on this output (a preset of the paper), else its main
    // numbers; not for a shard or an unfinished sweep, whose numbers are partial
    let complete = r["shard"].is_null() && r["cells_done"].as_u64() == r["cells_total"].as_u64();
    if complete {
        let preset = experiment::preset(&args.experiment).map(|p| p.name);
        for line in headline::lines(preset, &report) {
            println!("{line}");
        }
    }
    if let (Some(done), Some(total)) = (r["cells_done"].as_u64(), r["cells_total"].as_u64()) {
        match (r["shard"].as_str(), r["cells_in_shard"].as_u64()) {
            // a shard's own counts, not the whole grid's
            (Some(shard), Some(in_shard)) => println!(
                "shard {shard}: {done} of {in_shard} cells of this shard done ({} run now; {total} cells in the whole grid)",
                r["cells_run_now"]
            ),
            _ => println!(
                "{done} of {total} cells done ({} run now)",
                r["cells_run_now"]
            ),
        }
    }
    let seconds = report.summary["seconds"].as_f64().unwrap_or(f64::NAN);
    println!("wrote {} ({seconds:.1} s)", report.dir.display());
    Ok(())
}

/// `depthscale run SPEC --executor slurm`: the run as a job array, merged into `--out`.
fn run_on_slurm(
    spec: &str,
    source: ConfigSource,
    opts: &RunOptions,
    slurm: &SlurmOptions,
    bars: &progress::Bars,
) -> Result<Finished<experiment::RunReport>> {
    anyhow::ensure!(
        opts.shard.is_none(),
        "`--shard` and `--executor slurm` exclude each other: the executor runs every shard (`--shards N`)"
    );
    let out = opts.out.as_deref().context(
        "`--executor slurm` needs `--out DIR`: rerunning the same command re-attaches to the jobs",
    )?;
    let out = experiment::output::normalize("--out", out)?;
    let name = source.name.clone();
    let shape = experiment::shape(source, opts)?;
    let cells = match (shape.shardable, shape.cells) {
        (true, Some(c)) => c,
        _ => anyhow::bail!(
            "`--executor slurm` runs shardable experiments (kind sweep or transfer) with `depthscale run`; run this one locally, or the whole paper with `depthscale reproduce --executor slurm`"
        ),
    };
    // the jobs run the same command: a config file by its absolute path
    let spec = if experiment::preset(spec).is_some() {
        spec.to_owned()
    } else {
        let p = std::path::Path::new(spec)
            .canonicalize()
            .with_context(|| format!("cannot resolve {spec}"))?;
        p.to_str()
            .context("the config's path is not UTF-8")?
            .to_owned()
    };
    let mut job_args = vec!["run".to_owned(), spec];
    if opts.quick {
        job_args.push("--quick".into());
    }
    for o in &opts.overrides {
        job_args.push("--set".into());
        job_args.push(o.clone());
    }
    let job = ShardedJob {
        name,
        args: job_args,
        config: shape.config,
        cells,
        out,
    };
    Ok(depthscale::executor::slurm::run_sharded(
        &job, slurm, opts.force, bars,
    )?)
}

fn reproduce(args: ReproduceArgs) -> Result<()> {
    use depthscale::experiment::reproduce;
    let data = match (args.dataset, args.data) {
        (Some(name), Some(dir)) => {
            let dir = dir.to_str().map(str::to_owned).with_context(|| {
                format!("invalid `--data`: {} is not valid UTF-8", dir.display())
            })?;
            Some((name, dir))
        }
        // the bundled dataset is the default: nothing to read from disk
        (Some(name), None) if name == "mnist-10k" => None,
        (Some(name), None) if !["mnist", "fashion-mnist", "cifar10"].contains(&name.as_str()) => {
            anyhow::bail!(
                "invalid `--dataset`: unknown dataset {name:?}; accepted: mnist-10k (bundled), mnist, fashion-mnist, cifar10"
            )
        }
        (Some(name), None) => anyhow::bail!(
            "`--dataset {name}` needs `--data DIR`, the directory holding its files (download them with `depthscale data fetch {name} --dir DIR`); only mnist-10k is bundled"
        ),
        (None, Some(_)) => {
            anyhow::bail!("`--data` needs `--dataset` (mnist, fashion-mnist or cifar10)")
        }
        (None, None) => None,
    };
    let opts = reproduce::ReproduceOptions {
        quick: args.quick,
        out: match args.out {
            Some(out) => out,
            // a suffix (-2, -3, ...) when a reproduction started in the same second has the name
            None => experiment::output::fresh_name(
                std::path::Path::new("runs"),
                &format!("reproduce-{}", experiment::utc_timestamp()),
            )?,
        },
        only: args.only,
        redo: args.redo,
        data,
        force: args.force,
        limits: None,
        executor: match args.executor.slurm(args.local_rest)? {
            None => depthscale::executor::Executor::Local,
            Some(s) => depthscale::executor::Executor::Slurm(s),
        },
        seed: args.seed,
    };
    let bars = progress::Bars::overall();
    let report = reproduce::reproduce(&opts, &bars).context("reproduce")?;
    if !report.waiting.is_empty() {
        for w in &report.waiting {
            println!("submitted: {w}");
        }
        println!("rerun the same command to wait, resubmit failed tasks and write the report");
        return Ok(());
    }
    let claims: Vec<_> = report.claims().collect();
    let agree = claims.iter().filter(|c| c.agrees()).count();
    for c in claims.iter().filter(|c| !c.agrees()) {
        eprintln!(
            "{}: {}: {}: measured {}, expected {} ({})",
            c.verdict(),
            c.experiment,
            c.name,
            c.measured_text(),
            c.expected_text(),
            c.tolerance_text()
        );
    }
    for x in &report.excluded {
        eprintln!("left out: {}: {} {}", x.preset, x.dir.display(), x.reason);
    }
    let skipped = report.outcomes.iter().filter(|o| o.skipped).count();
    println!(
        "{agree} of {} claims agree; {} experiments ({skipped} already complete) in {:.1} s",
        claims.len(),
        report.outcomes.len(),
        report.seconds
    );
    println!("wrote {}", report.dir.join("report.html").display());
    Ok(())
}

fn train(args: TrainArgs) -> Result<()> {
    let source = ConfigSource::resolve("train")?;
    let opts = RunOptions {
        overrides: args.overrides()?,
        quick: args.quick,
        out: args.out,
        force: args.force,
        ..RunOptions::default()
    };
    let bars = progress::Bars::default();
    let report = experiment::run(source, &opts, &bars).context("train")?;
    let r = &report.summary["results"];
    let pct = |v: &serde_json::Value| {
        v.as_f64()
            .map_or("n/a".to_string(), |a| format!("{:.2}%", 100.0 * a))
    };
    // "1 epoch", "2 epochs"
    let epochs = match r["epochs_run"].as_u64() {
        Some(1) => "1 epoch".to_string(),
        Some(n) => format!("{n} epochs"),
        None => format!("{} epochs", r["epochs_run"]),
    };
    if r["diverged"].as_bool() == Some(true) {
        let epochs = epochs.replace("epoch", "complete epoch");
        println!(
            "diverged: the loss became non-finite after {epochs} (last test accuracy {})",
            pct(&r["final_test_accuracy"])
        );
    } else {
        println!(
            "test accuracy {} after {epochs} (best {} at epoch {}), {} steps at {:.0} steps/s",
            pct(&r["final_test_accuracy"]),
            pct(&r["best_test_accuracy"]),
            r["best_epoch"],
            r["steps"],
            r["steps_per_second"].as_f64().unwrap_or(f64::NAN)
        );
    }
    let seconds = report.summary["seconds"].as_f64().unwrap_or(f64::NAN);
    println!("wrote {} ({seconds:.1} s)", report.dir.display());
    Ok(())
}
