//! Tests of the `softknn` command-line checker, run as a user runs it: the built
//! binary on CSV files in a temporary directory.
//!
//! Expected numbers come from closed forms computed here. For two training points of
//! different classes, a layer's softmax is a logistic function, so
//! `h^k_a = 1 / (1 + exp(−β (s^k_b − s^k_a)))` with `s^k_n = d_n + γ S^k_n`.

#![cfg(not(target_arch = "wasm32"))]

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

const SOFTKNN: &str = env!("CARGO_BIN_EXE_softknn");

/// A directory of its own under the system's temporary directory, removed on drop.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(test: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "softknn-cli-{}-{test}-{number}",
            std::process::id()
        ));
        fs::create_dir_all(&dir).expect("create a scratch directory");
        Scratch { dir }
    }

    /// Writes `contents` to `name` and returns the path as text for the command line.
    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.dir.join(name);
        fs::write(&path, contents).expect("write a test file");
        path.to_str().expect("UTF-8 temp path").to_string()
    }

    /// Returns a path inside the directory where no file exists.
    fn absent(&self, name: &str) -> String {
        self.dir
            .join(name)
            .to_str()
            .expect("UTF-8 temp path")
            .to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

struct Outcome {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

fn softknn(args: &[&str]) -> Outcome {
    let output = Command::new(SOFTKNN)
        .args(args)
        .output()
        .expect("run the softknn binary");
    Outcome {
        status: output.status,
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs the command, expects success, and returns its output as CSV.
fn predict_ok(args: &[&str]) -> Table {
    let outcome = softknn(args);
    assert!(
        outcome.status.success(),
        "softknn {args:?} failed: {}",
        outcome.stderr
    );
    assert_eq!(outcome.stderr, "", "stderr of a successful run");
    Table::parse(&outcome.stdout)
}

/// Parsed output: the header and the rows as text, as printed.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn parse(text: &str) -> Table {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader
            .headers()
            .expect("output header")
            .iter()
            .map(str::to_string)
            .collect();
        let rows = reader
            .records()
            .map(|record| {
                record
                    .expect("output row")
                    .iter()
                    .map(str::to_string)
                    .collect()
            })
            .collect();
        Table { header, rows }
    }

    fn text(&self, row: usize, column: &str) -> &str {
        let index = self
            .header
            .iter()
            .position(|name| name == column)
            .unwrap_or_else(|| panic!("no column {column} in {:?}", self.header));
        &self.rows[row][index]
    }

    fn value(&self, row: usize, column: &str) -> f64 {
        let text = self.text(row, column);
        text.parse()
            .unwrap_or_else(|_| panic!("column {column} holds '{text}', not a number"))
    }
}

fn assert_close(actual: f64, expected: f64, quantity: &str) {
    assert!(
        (actual - expected).abs() <= 1e-15,
        "{quantity}: got {actual}, expected {expected}"
    );
}

/// `1 / (1 + exp(−β (s_other − s_own)))`: the share of a point in a two-point softmax.
fn logistic_share(beta: f64, own_score: f64, other_score: f64) -> f64 {
    1.0 / (1.0 + (-beta * (other_score - own_score)).exp())
}

const TWO_POINTS: &str = "x,y,label\n0,0,a\n1,0,b\n";

#[test]
fn soft_two_points_match_closed_form() {
    let scratch = Scratch::new("closed-form");
    let train = scratch.file("train.csv", TWO_POINTS);
    let query = scratch.file("query.csv", "x,y\n0.25,0.5\n");
    let (beta, gamma) = (2.0, 0.5);

    let table = predict_ok(&[
        "predict",
        "--train",
        &train,
        "--query",
        &query,
        "--beta",
        "2",
        "--gamma",
        "0.5",
        "--k",
        "2",
        "--per-layer",
    ]);

    // d_a = 0.25² + 0.5², d_b = 0.75² + 0.5².
    let (d_a, d_b) = (0.3125, 0.8125);
    let h1_a = logistic_share(beta, d_a, d_b);
    let h1_b = 1.0 - h1_a;
    let h2_a = logistic_share(beta, d_a + gamma * h1_a, d_b + gamma * h1_b);
    let h2_b = 1.0 - h2_a;

    assert_eq!(table.rows.len(), 1);
    assert_close(table.value(0, "layer1_p_a"), h1_a, "h^1_a");
    assert_close(table.value(0, "layer1_p_b"), h1_b, "h^1_b");
    assert_close(table.value(0, "layer2_p_a"), h2_a, "h^2_a");
    assert_close(table.value(0, "layer2_p_b"), h2_b, "h^2_b");
    assert_close(table.value(0, "p_a"), (h1_a + h2_a) / 2.0, "ŷ_a");
    assert_close(table.value(0, "p_b"), (h1_b + h2_b) / 2.0, "ŷ_b");
}

#[test]
fn soft_one_layer_without_per_layer_columns() {
    let scratch = Scratch::new("one-layer");
    let train = scratch.file("train.csv", TWO_POINTS);
    let query = scratch.file("query.csv", "x,y\n0.9,0\n-3,2\n");

    let table = predict_ok(&[
        "predict", "--train", &train, "--query", &query, "--beta", "0.75", "--gamma", "4", "--k",
        "1",
    ]);

    assert_eq!(table.header, ["x", "y", "p_a", "p_b"]);
    let queries = [(0.9_f64, 0.0_f64), (-3.0, 2.0)];
    for (row, (x, y)) in queries.into_iter().enumerate() {
        let d_a = x * x + y * y;
        let d_b = (x - 1.0) * (x - 1.0) + y * y;
        let expected = logistic_share(0.75, d_a, d_b);
        assert_close(table.value(row, "p_a"), expected, "ŷ_a");
        assert_close(table.value(row, "p_b"), 1.0 - expected, "ŷ_b");
    }
}

#[test]
fn beta_zero_gives_class_prior() {
    let scratch = Scratch::new("prior");
    let train = scratch.file("train.csv", "x,y,label\n0,0,a\n5,5,a\n9,1,b\n2,7,a\n");
    let query = scratch.file("query.csv", "x,y\n100,-100\n");

    let table = predict_ok(&[
        "predict", "--train", &train, "--query", &query, "--beta", "0", "--gamma", "3", "--k", "3",
    ]);

    assert_close(table.value(0, "p_a"), 0.75, "prior of a");
    assert_close(table.value(0, "p_b"), 0.25, "prior of b");
}

/// Points on the x axis. Seen from the query (2.2, 0), the data rows in order of
/// distance are row 3 (b), row 4 (a), row 2 (b), row 5 (a) and row 1 (a).
const LINE: &str = "x,y,label\n0,0,a\n1,0,b\n2,0,b\n3,0,a\n4,0,a\n";

#[test]
fn hard_mode_matches_hand_counted_vote() {
    let scratch = Scratch::new("hard");
    let train = scratch.file("train.csv", LINE);
    let query = scratch.file("query.csv", "x,y\n2.2,0\n");
    let expected_a = [(1, 0.0), (2, 0.5), (3, 1.0 / 3.0), (4, 0.5), (5, 0.6)];

    for (k, p_a) in expected_a {
        let k_text = k.to_string();
        let table = predict_ok(&[
            "predict", "--train", &train, "--query", &query, "--k", &k_text, "--hard",
        ]);
        assert_close(table.value(0, "p_a"), p_a, &format!("p_a at K = {k}"));
        assert_close(table.value(0, "p_b"), 1.0 - p_a, &format!("p_b at K = {k}"));
    }
}

#[test]
fn per_layer_columns_are_own_votes() {
    let scratch = Scratch::new("own-votes");
    let train = scratch.file("train.csv", LINE);
    let query = scratch.file("query.csv", "x,y\n2.2,0\n");

    let table = predict_ok(&[
        "predict",
        "--train",
        &train,
        "--query",
        &query,
        "--k",
        "3",
        "--hard",
        "--per-layer",
    ]);

    // Layer 2 selects row 4 (a). Its own vote is one-hot, while the running
    // average after two layers would be (0.5, 0.5).
    let expected = [
        ("layer1", 0.0, 1.0),
        ("layer2", 1.0, 0.0),
        ("layer3", 0.0, 1.0),
    ];
    for (layer, p_a, p_b) in expected {
        assert_eq!(table.value(0, &format!("{layer}_p_a")), p_a, "{layer} a");
        assert_eq!(table.value(0, &format!("{layer}_p_b")), p_b, "{layer} b");
    }
}

#[test]
fn per_layer_header_names() {
    let scratch = Scratch::new("header");
    let train = scratch.file("train.csv", "x,y,label\n0,0,cat\n1,1,dog\n2,2,cat\n");
    let query = scratch.file("query.csv", "x,y\n0,0\n");

    let table = predict_ok(&[
        "predict",
        "--train",
        &train,
        "--query",
        &query,
        "--beta",
        "1",
        "--gamma",
        "1",
        "--k",
        "3",
        "--per-layer",
    ]);

    let expected = [
        "x",
        "y",
        "p_cat",
        "p_dog",
        "layer1_p_cat",
        "layer1_p_dog",
        "layer2_p_cat",
        "layer2_p_dog",
        "layer3_p_cat",
        "layer3_p_dog",
    ];
    assert_eq!(table.header, expected);
    assert_eq!(table.rows[0].len(), expected.len());
}

#[test]
fn hard_mode_breaks_ties_by_row() {
    let scratch = Scratch::new("ties");
    let query = scratch.file("query.csv", "x,y\n0,0\n");
    let a_first = scratch.file("a-first.csv", "x,y,label\n1,0,a\n-1,0,b\n");
    let b_first = scratch.file("b-first.csv", "x,y,label\n-1,0,b\n1,0,a\n");

    let table = predict_ok(&[
        "predict", "--train", &a_first, "--query", &query, "--k", "1", "--hard",
    ]);
    assert_eq!(table.value(0, "p_a"), 1.0, "row 1 is a");

    let table = predict_ok(&[
        "predict", "--train", &b_first, "--query", &query, "--k", "1", "--hard",
    ]);
    assert_eq!(table.value(0, "p_b"), 1.0, "row 1 is b");
}

#[test]
fn hard_mode_ignores_beta_and_gamma() {
    let scratch = Scratch::new("hard-ignores");
    let train = scratch.file("train.csv", LINE);
    let query = scratch.file("query.csv", "x,y\n2.2,0\n0.3,1\n");
    let base = [
        "predict", "--train", &train, "--query", &query, "--k", "3", "--hard",
    ];

    let without = softknn(&base);
    let with_garbage = softknn(&[&base[..], &["--beta", "abc", "--gamma", "inf"]].concat());

    assert!(without.status.success(), "{}", without.stderr);
    assert!(with_garbage.status.success(), "{}", with_garbage.stderr);
    assert_eq!(without.stdout, with_garbage.stdout);
}

#[test]
fn printed_numbers_round_trip() {
    let scratch = Scratch::new("round-trip");
    let train = scratch.file(
        "train.csv",
        "x,y,label\n0.1,0.7,a\n0.35,0.2,b\n0.9,0.45,c\n0.6,0.95,a\n",
    );
    let query = scratch.file(
        "query.csv",
        "x,y\n0.3,0.3\n0.123456789,0.987654321\n1e-3,-2\n",
    );

    let outcome = softknn(&[
        "predict",
        "--train",
        &train,
        "--query",
        &query,
        "--beta",
        "3.7",
        "--gamma",
        "0.9",
        "--k",
        "4",
        "--per-layer",
    ]);
    assert!(outcome.status.success(), "{}", outcome.stderr);
    let table = Table::parse(&outcome.stdout);

    for row in &table.rows {
        for text in row {
            let value: f64 = text.parse().expect("a number");
            assert!(value.is_finite(), "'{text}' is not finite");
            assert_eq!(
                value.to_string(),
                *text,
                "'{text}' is not the shortest form"
            );
        }
    }
}

#[test]
fn query_coordinates_echo_as_numbers() {
    let scratch = Scratch::new("echo");
    let train = scratch.file("train.csv", TWO_POINTS);
    let query = scratch.file("query.csv", "x,y\n0.50,1e-3\n+2,-0.25\n");

    let table = predict_ok(&[
        "predict", "--train", &train, "--query", &query, "--beta", "1", "--gamma", "1", "--k", "1",
    ]);

    assert_eq!(table.text(0, "x"), "0.5");
    assert_eq!(table.text(0, "y"), "0.001");
    assert_eq!(table.text(1, "x"), "2");
    assert_eq!(table.text(1, "y"), "-0.25");
}

#[test]
fn rows_follow_query_order() {
    let scratch = Scratch::new("order");
    let train = scratch.file("train.csv", TWO_POINTS);
    let query = scratch.file("query.csv", "x,y\n3,0\n-2,0\n0.5,7\n");

    let table = predict_ok(&[
        "predict", "--train", &train, "--query", &query, "--k", "1", "--hard",
    ]);

    let xs: Vec<&str> = (0..3).map(|row| table.text(row, "x")).collect();
    assert_eq!(xs, ["3", "-2", "0.5"]);
    assert_eq!(table.value(0, "p_b"), 1.0);
    assert_eq!(table.value(1, "p_a"), 1.0);
}

#[test]
fn classes_follow_first_appearance() {
    let scratch = Scratch::new("class-order");
    let train = scratch.file(
        "train.csv",
        "x,y,label\n0,0,zebra\n1,0,apple\n2,0,zebra\n3,0,mango\n4,0,apple\n",
    );
    let query = scratch.file("query.csv", "x,y\n3.1,0\n");

    let table = predict_ok(&[
        "predict", "--train", &train, "--query", &query, "--k", "1", "--hard",
    ]);

    assert_eq!(table.header, ["x", "y", "p_zebra", "p_apple", "p_mango"]);
    assert_eq!(table.value(0, "p_mango"), 1.0);
}

#[test]
fn extra_columns_ignored_in_any_order() {
    let scratch = Scratch::new("extra-columns");
    let train = scratch.file(
        "train.csv",
        "label,id,y,note,x\nb,1,0,far,1\na,2,0,near,0\n",
    );
    let query = scratch.file("query.csv", "comment,y,x\nfirst,0,0.9\n");

    let table = predict_ok(&[
        "predict", "--train", &train, "--query", &query, "--k", "1", "--hard",
    ]);

    assert_eq!(table.header, ["x", "y", "p_b", "p_a"]);
    assert_eq!(table.text(0, "x"), "0.9");
    assert_eq!(table.text(0, "y"), "0");
    assert_eq!(table.value(0, "p_b"), 1.0);
}

#[test]
fn class_names_are_quoted_csv() {
    let scratch = Scratch::new("quoting");
    let train = scratch.file(
        "train.csv",
        "x,y,label\n0,0,\"north, east\"\n1,0,\"say \"\"hi\"\"\"\n",
    );
    let query = scratch.file("query.csv", "x,y\n0,0\n");

    let outcome = softknn(&[
        "predict",
        "--train",
        &train,
        "--query",
        &query,
        "--k",
        "2",
        "--hard",
        "--per-layer",
    ]);
    assert!(outcome.status.success(), "{}", outcome.stderr);

    let first_line = outcome.stdout.lines().next().expect("a header line");
    assert!(
        first_line.starts_with("x,y,\"p_north, east\",\"p_say \"\"hi\"\"\","),
        "header line: {first_line}"
    );
    let table = Table::parse(&outcome.stdout);
    assert_eq!(
        table.header,
        [
            "x",
            "y",
            "p_north, east",
            "p_say \"hi\"",
            "layer1_p_north, east",
            "layer1_p_say \"hi\"",
            "layer2_p_north, east",
            "layer2_p_say \"hi\"",
        ]
    );
    assert_eq!(table.value(0, "p_north, east"), 0.5);
}

#[test]
fn header_only_query_prints_header() {
    let scratch = Scratch::new("no-queries");
    let train = scratch.file("train.csv", TWO_POINTS);
    let query = scratch.file("query.csv", "x,y\n");

    let outcome = softknn(&[
        "predict", "--train", &train, "--query", &query, "--k", "2", "--hard",
    ]);

    assert!(outcome.status.success(), "{}", outcome.stderr);
    assert_eq!(outcome.stdout, "x,y,p_a,p_b\n");
}

#[test]
fn help_documents_per_layer_columns() {
    let outcome = softknn(&["predict", "--help"]);

    assert!(outcome.status.success());
    assert_eq!(outcome.stderr, "");
    assert!(
        outcome.stdout.contains("layer<k>_p_<class>"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.stdout.contains("own vote Y^T h^k"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.stdout.contains("not the running"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn version_exits_zero() {
    let outcome = softknn(&["--version"]);

    assert!(outcome.status.success());
    assert!(outcome.stdout.starts_with("softknn "), "{}", outcome.stdout);
}

#[test]
fn closed_pipe_exits_quietly() {
    let scratch = Scratch::new("pipe");
    let train = scratch.file("train.csv", LINE);
    let mut queries = String::from("x,y\n");
    for i in 0..100_000 {
        queries.push_str(&format!("{},{}\n", i % 97, i % 89));
    }
    let query = scratch.file("query.csv", queries);

    let mut child = Command::new(SOFTKNN)
        .args([
            "predict",
            "--train",
            &train,
            "--query",
            &query,
            "--beta",
            "1",
            "--gamma",
            "1",
            "--k",
            "5",
            "--per-layer",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start softknn");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut header = String::new();
    stdout.read_line(&mut header).expect("read the header");
    drop(stdout);
    let output = child.wait_with_output().expect("wait for softknn");

    assert!(header.starts_with("x,y,p_a,p_b"), "{header}");
    assert!(output.status.success(), "status {:?}", output.status);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

/// Runs a failing command and checks the error contract: status 2, nothing on
/// stdout, one line on stderr that starts with "softknn: " and contains `expected`.
fn assert_error(args: &[&str], expected: &[&str]) {
    let outcome = softknn(args);

    assert_eq!(outcome.status.code(), Some(2), "status of {args:?}");
    assert_eq!(outcome.stdout, "", "stdout of {args:?}");
    assert!(!outcome.stderr.contains("panicked"), "{}", outcome.stderr);
    assert!(!outcome.stderr.contains("backtrace"), "{}", outcome.stderr);
    assert_eq!(
        outcome.stderr.lines().count(),
        1,
        "stderr: {}",
        outcome.stderr
    );
    assert!(outcome.stderr.ends_with('\n'), "stderr: {}", outcome.stderr);
    assert!(
        outcome.stderr.starts_with("softknn: "),
        "stderr: {}",
        outcome.stderr
    );
    for part in expected {
        assert!(
            outcome.stderr.contains(part),
            "stderr of {args:?} lacks '{part}': {}",
            outcome.stderr
        );
    }
}

/// Runs `predict` with the given training and query text and extra options.
fn assert_file_error(train: &[u8], query: &[u8], options: &[&str], expected: &[&str]) {
    let scratch = Scratch::new("file-error");
    let train = scratch.file("train.csv", train);
    let query = scratch.file("query.csv", query);
    let args = [
        &["predict", "--train", &train, "--query", &query][..],
        options,
    ]
    .concat();
    assert_error(&args, expected);
}

const SOFT: &[&str] = &["--beta", "1", "--gamma", "1", "--k", "1"];

#[test]
fn missing_files_are_named() {
    let scratch = Scratch::new("missing-file");
    let train = scratch.file("train.csv", TWO_POINTS);
    let query = scratch.file("query.csv", "x,y\n0,0\n");
    let absent = scratch.absent("nope.csv");

    let args = [
        &["predict", "--train", &absent, "--query", &query][..],
        SOFT,
    ]
    .concat();
    assert_error(
        &args,
        &["failed to read training file", "nope.csv", "No such file"],
    );

    let args = [
        &["predict", "--train", &train, "--query", &absent][..],
        SOFT,
    ]
    .concat();
    assert_error(
        &args,
        &["failed to read query file", "nope.csv", "No such file"],
    );

    let directory = scratch.dir.to_str().expect("UTF-8 temp path");
    let args = [
        &["predict", "--train", &train, "--query", directory][..],
        SOFT,
    ]
    .concat();
    assert_error(&args, &["failed to read query file", directory]);
}

#[test]
fn missing_columns_are_named() {
    assert_file_error(
        b"x,y,class\n0,0,a\n",
        b"x,y\n0,0\n",
        SOFT,
        &[
            "training file",
            "train.csv",
            "missing column 'label'",
            "x, y, class",
        ],
    );
    assert_file_error(
        TWO_POINTS.as_bytes(),
        b"x,z\n0,0\n",
        SOFT,
        &["query file", "query.csv", "missing column 'y'"],
    );
}

#[test]
fn bad_values_name_line_column_value() {
    let cases: [(&[u8], &[u8], &[&str]); 7] = [
        (
            b"x,y,label\n0,0,a\n1,abc,b\n",
            b"x,y\n0,0\n",
            &["train.csv", "line 3", "'y'", "'abc'", "not a number"],
        ),
        (
            b"x,y,label\n0,0,a\n1,0,b\ninf,0,a\n",
            b"x,y\n0,0\n",
            &["train.csv", "line 4", "'x'", "'inf'", "finite"],
        ),
        (
            TWO_POINTS.as_bytes(),
            b"x,y\n0,0\n0,NaN\n",
            &["query.csv", "line 3", "'y'", "'NaN'", "finite"],
        ),
        (
            TWO_POINTS.as_bytes(),
            b"x,y\n1e200,0\n",
            &["query.csv", "line 2", "'1e200'", "1e150"],
        ),
        (
            b"x,y,label\n0,,a\n",
            b"x,y\n0,0\n",
            &["train.csv", "line 2", "'y'", "empty or NA"],
        ),
        (
            b"x,y,label\n0,0,a\n1,1,\n",
            b"x,y\n0,0\n",
            &["train.csv", "line 3", "'label'", "label"],
        ),
        (
            b"x,y,label\n0,0,a\n1,1\n",
            b"x,y\n0,0\n",
            &["train.csv", "line 3", "invalid CSV", "3 fields"],
        ),
    ];
    for (train, query, expected) in cases {
        assert_file_error(train, query, SOFT, expected);
    }
}

#[test]
fn unreadable_tables_are_reported() {
    assert_file_error(
        b"x,y,label\n",
        b"x,y\n0,0\n",
        SOFT,
        &["train.csv", "training set is empty"],
    );
    assert_file_error(b"", b"x,y\n0,0\n", SOFT, &["train.csv", "no header row"]);
    assert_file_error(
        b"x,y,label\n0,0,\xff\xfe\n",
        b"x,y\n0,0\n",
        SOFT,
        &["train.csv", "UTF-8"],
    );
}

#[test]
fn bad_k_gives_range() {
    let train = LINE.as_bytes();
    let query = b"x,y\n0,0\n";
    for k in ["0", "6", "-3"] {
        let options = ["--beta", "1", "--gamma", "1", "--k", k];
        let got = format!("got {k}");
        assert_file_error(
            train,
            query,
            &options,
            &["k must be", "from 1 to", "(5)", &got],
        );
    }
    assert_file_error(train, query, &["--k", "-3", "--hard"], &["got -3"]);
    assert_file_error(
        train,
        query,
        &["--k", "two", "--hard"],
        &["invalid value 'two'", "--k", "softknn predict --help"],
    );
}

#[test]
fn bad_beta_and_gamma_are_explained() {
    let train = TWO_POINTS.as_bytes();
    let query = b"x,y\n0,0\n";
    let cases: [(&[&str], &[&str]); 8] = [
        (
            &["--beta", "inf", "--gamma", "1"],
            &["beta", "finite", "inf", "hard mode"],
        ),
        (
            &["--beta", "nan", "--gamma", "1"],
            &["beta", "finite", "NaN"],
        ),
        (
            &["--beta", "abc", "--gamma", "1"],
            &["invalid --beta value 'abc'"],
        ),
        (
            &["--beta", "-1", "--gamma", "1"],
            &["beta must be 0 or more", "-1"],
        ),
        (
            &["--beta", "1", "--gamma", "inf"],
            &["gamma", "finite", "inf"],
        ),
        (
            &["--beta", "1", "--gamma", "-0.5"],
            &["gamma must be 0 or more", "-0.5"],
        ),
        (
            &["--beta", "1", "--gamma", ""],
            &["invalid --gamma value ''"],
        ),
        (&["--gamma", "1"], &["--beta is required unless --hard"]),
    ];
    for (options, expected) in cases {
        let options = [options, &["--k", "1"]].concat();
        assert_file_error(train, query, &options, expected);
    }
    assert_file_error(
        train,
        query,
        &["--beta", "1", "--k", "1"],
        &["--gamma is required unless --hard"],
    );
}

#[test]
fn command_line_mistakes_are_one_line() {
    let scratch = Scratch::new("usage");
    let train = scratch.file("train.csv", TWO_POINTS);
    let query = scratch.file("query.csv", "x,y\n0,0\n");
    let hint = "run 'softknn predict --help' for usage";

    assert_error(
        &[
            "predict", "--train", &train, "--query", &query, "--k", "1", "--hard", "--bogus",
        ],
        &["unexpected argument '--bogus'", hint],
    );
    assert_error(
        &[
            "predict", "--trian", &train, "--query", &query, "--k", "1", "--hard",
        ],
        &["unexpected argument '--trian'", "'--train'", hint],
    );
    assert_error(
        &["predict", "--query", &query, "--hard"],
        &[
            "required arguments were not provided",
            "--train",
            "--k",
            hint,
        ],
    );
    assert_error(
        &["predict", "--train"],
        &["--train", "a value is required", hint],
    );
    assert_error(&[], &["requires a subcommand", "predict", hint]);
    assert_error(&["fit"], &["unrecognized subcommand 'fit'", hint]);
}
