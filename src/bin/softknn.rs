//! `softknn`: a command-line checker that runs the f64 reference model on CSV files.
//!
//! ```text
//! softknn predict --train TRAIN.csv --query QUERY.csv --beta B --gamma G --k K [--hard] [--per-layer]
//! ```
//!
//! The output is CSV on standard output with the averaged prediction `ŷ` for each
//! query and, with `--per-layer`, each layer's own vote `Y^T h^k`. Bad input
//! prints one line starting with `softknn: ` on standard error and exits with
//! status 2. Outside scripts depend on this interface, so keep it stable.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::run()
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::fs;
    use std::io::{self, Write};
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;

    use clap::{Args, Parser, Subcommand};
    use nalgebra::Point2;
    use thiserror::Error;

    use softknn::data::table::{
        read_labelled_points, read_points, Columns, LabelledPoints, MissingValues, TableError,
    };
    use softknn::model::{Model, ParamError, RawParams, TrainingSet};

    const USAGE_HINT: &str = "run 'softknn predict --help' for usage";

    /// Exit status for every error: invalid input, a usage mistake or a failed write.
    const EXIT_ERROR: u8 = 2;

    #[derive(Debug, Parser)]
    #[command(
        name = "softknn",
        version,
        about = "Run the soft k-NN reference model on CSV files",
        // Without a subcommand, report one error line rather than the whole help.
        arg_required_else_help = false
    )]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Debug, Subcommand)]
    enum Command {
        /// Print the model's class probabilities for every query point as CSV
        Predict(PredictArgs),
    }

    #[derive(Debug, Args)]
    #[command(after_help = PREDICT_AFTER_HELP)]
    struct PredictArgs {
        /// Training points: CSV with a header and columns x, y and label, in any order.
        /// Other columns are ignored.
        #[arg(long, value_name = "TRAIN.csv")]
        train: PathBuf,

        /// Query points: CSV with a header and columns x and y
        #[arg(long, value_name = "QUERY.csv")]
        query: PathBuf,

        /// β, the sharpness of every layer's softmax, in 1/(squared distance):
        /// a finite number, 0 or more. Required unless --hard is given
        #[arg(long, value_name = "B", allow_hyphen_values = true)]
        beta: Option<String>,

        /// γ, the penalty on training points that earlier layers selected, in squared
        /// distance: a finite number, 0 or more. Required unless --hard is given
        #[arg(long, value_name = "G", allow_hyphen_values = true)]
        gamma: Option<String>,

        /// K, the number of layers (neighbours): 1 to the number of training points
        #[arg(long, value_name = "K", allow_negative_numbers = true)]
        k: i64,

        /// Use hard mode, the limit β = γ = ∞: layer k selects the k-th nearest training
        /// point, and ties in distance go to the earlier row. --beta and --gamma are then ignored
        #[arg(long)]
        hard: bool,

        /// Add each layer's own vote Y^T h^k as columns layer<k>_p_<class>, k = 1 … K
        #[arg(long)]
        per_layer: bool,
    }

    const PREDICT_AFTER_HELP: &str = "\
Output: CSV on standard output, one row per query point in input order.
  x, y             the query point
  p_<class>        ŷ, the average of the K layers' votes, for each class
  layer<k>_p_<class>
                   with --per-layer: layer k's own vote Y^T h^k (not the running
                   average over layers 1 … k)
Classes are ordered by their first appearance in the training file. Every number is
printed in the shortest form that parses back to the same f64.

Errors: one line starting with 'softknn: ' on standard error, and exit status 2.";

    /// A reason the command cannot produce its output, one variant per condition.
    #[derive(Debug, Error)]
    enum CliError {
        #[error("{0}; {USAGE_HINT}")]
        Usage(String),
        #[error("--{option} is required unless --hard is given; {USAGE_HINT}")]
        MissingOption { option: &'static str },
        #[error("invalid --{option} value '{value}': expected a number such as 0.5 or 2e3")]
        InvalidNumber { option: &'static str, value: String },
        #[error("failed to read {role} file '{path}': {source}")]
        ReadFile {
            role: &'static str,
            path: String,
            source: io::Error,
        },
        #[error("{role} file '{path}': {source}")]
        Table {
            role: &'static str,
            path: String,
            source: TableError,
        },
        #[error("training file '{path}': {source}")]
        TrainingSet { path: String, source: ParamError },
        #[error("{0}")]
        Params(ParamError),
        #[error("query file '{path}', point {number}: {source}")]
        Query {
            path: String,
            number: usize,
            source: ParamError,
        },
        #[error("failed to write the output: {0}")]
        Write(io::Error),
    }

    /// Parses the command line, runs it and turns any error into one line and a status.
    pub fn run() -> ExitCode {
        let cli = match Cli::try_parse() {
            Ok(cli) => cli,
            Err(error) if !error.use_stderr() => {
                // clap reports --help and --version as errors that print to standard
                // output. A failed write, such as to a closed pipe, is ignored.
                let _ = error.print();
                return ExitCode::SUCCESS;
            }
            Err(error) => return report(&CliError::Usage(first_paragraph(&error))),
        };

        let Command::Predict(args) = cli.command;
        match predict(&args) {
            Ok(()) => ExitCode::SUCCESS,
            // The reading end of the pipe was closed, as in `softknn … | head`, so
            // the rest of the output is not wanted.
            Err(CliError::Write(error)) if error.kind() == io::ErrorKind::BrokenPipe => {
                ExitCode::SUCCESS
            }
            Err(error) => report(&error),
        }
    }

    fn report(error: &CliError) -> ExitCode {
        // `eprintln!` would panic if standard error were closed.
        let _ = writeln!(io::stderr(), "softknn: {error}");
        ExitCode::from(EXIT_ERROR)
    }

    /// Returns clap's message on one line, without its "error: " prefix and usage.
    ///
    /// The message is the rendered text up to the first blank line. Its indented
    /// continuation lines (such as the names of missing options) are joined with ", ",
    /// and clap's tips (such as a similar option name) follow in brackets.
    fn first_paragraph(error: &clap::Error) -> String {
        let rendered = error.render().to_string();
        let mut lines = rendered
            .lines()
            .take_while(|line| !line.trim().is_empty())
            .map(str::trim);

        let first = lines.next().unwrap_or("invalid command line");
        let mut message = first.strip_prefix("error: ").unwrap_or(first).to_string();
        let continuation: Vec<&str> = lines.collect();
        if !continuation.is_empty() {
            message = format!("{message} {}", continuation.join(", "));
        }

        let tips: Vec<&str> = rendered
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with("tip:"))
            .collect();
        if !tips.is_empty() {
            message = format!("{message} ({})", tips.join("; "));
        }
        message
    }

    fn predict(args: &PredictArgs) -> Result<(), CliError> {
        let raw = raw_params(args)?;

        let training_text = read_file("training", &args.train)?;
        let training_columns = Columns {
            x: "x",
            y: "y",
            label: "label",
        };
        let labelled = read_labelled_points(
            training_text.as_slice(),
            training_columns,
            MissingValues::Reject,
        )
        .map_err(|source| CliError::Table {
            role: "training",
            path: args.train.display().to_string(),
            source,
        })?;
        let LabelledPoints {
            points,
            labels,
            class_names,
            ..
        } = labelled;
        let training = TrainingSet::new(points, labels, class_names.len()).map_err(|source| {
            CliError::TrainingSet {
                path: args.train.display().to_string(),
                source,
            }
        })?;

        let query_text = read_file("query", &args.query)?;
        let queries =
            read_points(query_text.as_slice(), "x", "y").map_err(|source| CliError::Table {
                role: "query",
                path: args.query.display().to_string(),
                source,
            })?;

        let model = Model::new(&training, raw).map_err(CliError::Params)?;
        write_predictions(args, &model, &class_names, &queries)
    }

    /// Turns --beta, --gamma, --k and --hard into unchecked model parameters.
    ///
    /// β and γ arrive as text so that "abc" gets a message of its own, while "inf" and
    /// "nan" reach the model's check, whose message gives the allowed range.
    fn raw_params(args: &PredictArgs) -> Result<RawParams, CliError> {
        if args.hard {
            return Ok(RawParams {
                beta: f64::INFINITY,
                gamma: f64::INFINITY,
                k: args.k,
                hard: true,
            });
        }

        let beta = parse_number("beta", args.beta.as_deref())?;
        let gamma = parse_number("gamma", args.gamma.as_deref())?;
        Ok(RawParams {
            beta,
            gamma,
            k: args.k,
            hard: false,
        })
    }

    fn parse_number(option: &'static str, text: Option<&str>) -> Result<f64, CliError> {
        let text = text.ok_or(CliError::MissingOption { option })?;
        text.trim().parse().map_err(|_| CliError::InvalidNumber {
            option,
            value: text.to_string(),
        })
    }

    fn read_file(role: &'static str, path: &Path) -> Result<Vec<u8>, CliError> {
        fs::read(path).map_err(|source| CliError::ReadFile {
            role,
            path: path.display().to_string(),
            source,
        })
    }

    /// Writes the header and one row per query: x, y, `ŷ`, then each layer's vote if asked.
    fn write_predictions(
        args: &PredictArgs,
        model: &Model,
        class_names: &[String],
        queries: &[Point2<f64>],
    ) -> Result<(), CliError> {
        // csv::Writer buffers its output, and quotes class names that contain commas,
        // quotes or line breaks.
        let mut writer = csv::Writer::from_writer(io::stdout().lock());
        let layers = model.params().layers();

        let mut header = vec!["x".to_string(), "y".to_string()];
        header.extend(class_names.iter().map(|name| format!("p_{name}")));
        if args.per_layer {
            for layer in 1..=layers {
                header.extend(
                    class_names
                        .iter()
                        .map(|name| format!("layer{layer}_p_{name}")),
                );
            }
        }
        writer.write_record(&header).map_err(write_error)?;

        for (index, query) in queries.iter().enumerate() {
            let trace = model.trace(*query).map_err(|source| CliError::Query {
                path: args.query.display().to_string(),
                number: index + 1,
                source,
            })?;

            // `Display` for f64 prints the shortest text that parses back to the same
            // value, and never uses exponent notation.
            let mut row = vec![query.x.to_string(), query.y.to_string()];
            row.extend(trace.output.iter().map(f64::to_string));
            if args.per_layer {
                for layer in &trace.layers {
                    row.extend(layer.vote.iter().map(f64::to_string));
                }
            }
            writer.write_record(&row).map_err(write_error)?;
        }

        writer.flush().map_err(CliError::Write)
    }

    /// Keeps the io::Error of a failed write, so that a closed pipe can be recognised.
    fn write_error(error: csv::Error) -> CliError {
        let message = error.to_string();
        match error.into_kind() {
            csv::ErrorKind::Io(io_error) => CliError::Write(io_error),
            _ => CliError::Write(io::Error::other(message)),
        }
    }
}
