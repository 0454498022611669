"""Cross-check `softknn predict` against independent implementations.

Soft mode is compared with a NumPy float64 implementation of the model written
here from its definition:

    d_n   = ||x_n - x||^2
    s^k_n = d_n + gamma * sum_{k' < k} h^{k'}_n
    h^k   = softmax_n(-beta * s^k)              (computed with log-sum-exp)
    y_hat = (1/K) * sum_k Y^T h^k

Hard mode (the limit beta = gamma = infinity, in which layer k selects the k-th
nearest training point) is compared with scikit-learn's brute-force
KNeighborsClassifier.predict_proba on the iris data and on seeded random data,
and with a NumPy hard reference that breaks distance ties by training row.

Usage: check_predict.py SOFTKNN_BINARY [--iris PATH] [--seed N] [--soft-scenes N] [--hard-scenes N]

The script prints one line per group of scenes and ends with
"crosscheck: N passed, M failed", where each scene counts once. It exits with
status 1 if any scene failed.
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

TOLERANCE = 1e-9
REPOSITORY = Path(__file__).resolve().parents[2]

# Label texts for random scenes. Some contain commas and quotes, which the
# binary must write as valid CSV, and some look like numbers.
LABEL_POOL = ["a", "b", "north, east", 'say "hi"', "7", "Ω-class", "c d", "x_1"]


@dataclass
class Scene:
    """Training points with class indices, query points and model parameters."""

    name: str
    train: np.ndarray  # (N, 2) coordinates
    labels: np.ndarray  # (N,) class index of each row, by first appearance
    class_names: list[str]
    queries: np.ndarray  # (Q, 2) coordinates
    k: int
    beta: float | None = None  # None in hard mode
    gamma: float | None = None
    per_layer: bool = True

    @property
    def hard(self) -> bool:
        return self.beta is None


@dataclass
class Tally:
    """Scene counts and the largest difference seen, for the summary."""

    passed: int = 0
    failed: int = 0
    max_difference: float = 0.0
    values_compared: int = 0
    failures: list[str] = field(default_factory=list)


def squared_distances(train: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Return the (Q, N) matrix of ||x_n - x||^2, computed as dx*dx + dy*dy."""
    dx = queries[:, None, 0] - train[None, :, 0]
    dy = queries[:, None, 1] - train[None, :, 1]
    return dx * dx + dy * dy


def soft_reference(
    scene: Scene, reverse: bool = False, jitter: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Compute y_hat (Q, C) and each layer's own vote (K, Q, C) in soft mode.

    Each layer's logits are shifted by their maximum before exp (log-sum-exp),
    so nothing overflows at large beta. The shift is applied to s before the
    product with beta, which keeps the differences of s exact at large beta.
    `reverse` (process the training rows in reverse order) and `jitter` (relative
    changes of d, shape (Q, N)) change the result only by rounding, if the scene
    is well conditioned.
    """
    order = np.arange(len(scene.train))[::-1] if reverse else np.arange(len(scene.train))
    one_hot = np.eye(len(scene.class_names))[scene.labels[order]]
    d = squared_distances(scene.train[order], scene.queries)
    if jitter is not None:
        d = d * (1.0 + jitter)
    used = np.zeros_like(d)
    votes = []
    for _ in range(scene.k):
        s = d + scene.gamma * used
        logits = -scene.beta * (s - s.min(axis=1, keepdims=True))
        top = logits.max(axis=1, keepdims=True)
        log_norm = top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
        h = np.exp(logits - log_norm)
        used += h
        votes.append(h @ one_hot)
    votes = np.stack(votes)
    return votes.mean(axis=0), votes


def hard_reference(scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """Compute y_hat and each layer's vote in hard mode.

    Layer k selects the k-th nearest training point. A stable sort keeps equal
    distances in row order, so ties go to the earlier row.
    """
    one_hot = np.eye(len(scene.class_names))[scene.labels]
    order = np.argsort(squared_distances(scene.train, scene.queries), axis=1, kind="stable")
    votes = np.stack([one_hot[order[:, layer]] for layer in range(scene.k)])
    return votes.mean(axis=0), votes


def untied_queries(scene: Scene) -> np.ndarray:
    """Return a mask of the queries whose K-th and (K+1)-th distances are clearly apart.

    scikit-learn may order tied or nearly tied neighbours differently from the
    row order that softknn uses. Its euclidean_distances (version 1.9.1, pinned
    in requirements.txt) computes dot(x, x) - 2 dot(x, q) + dot(q, q), whose
    rounding error grows with |x|^2 + |q|^2. A gap below 1e-9 of that magnitude
    counts as a tie.
    """
    n = len(scene.train)
    if scene.k == n:
        return np.ones(len(scene.queries), dtype=bool)
    d = np.sort(squared_distances(scene.train, scene.queries), axis=1)
    magnitude = 1.0 + (scene.train**2).sum(axis=1).max() + (scene.queries**2).sum(axis=1)
    gap = d[:, scene.k] - d[:, scene.k - 1]
    return gap > 1e-9 * magnitude


def sklearn_proba(scene: Scene, queries: np.ndarray) -> np.ndarray:
    """Return KNeighborsClassifier's class fractions, columns in the scene's class order."""
    names = np.array(scene.class_names, dtype=object)[scene.labels]
    classifier = KNeighborsClassifier(n_neighbors=scene.k, algorithm="brute")
    classifier.fit(scene.train, names)
    proba = classifier.predict_proba(queries)
    column_of = {name: index for index, name in enumerate(classifier.classes_)}
    result = np.zeros((len(queries), len(scene.class_names)))
    for class_index, name in enumerate(scene.class_names):
        if name in column_of:
            result[:, class_index] = proba[:, column_of[name]]
    return result


def write_scene(scene: Scene, directory: Path) -> tuple[Path, Path]:
    """Write the training and query CSV files, with extra columns in a shuffled order.

    Coordinates are written with repr(), which round-trips to the same float64.
    """
    train_path = directory / "train.csv"
    with train_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "label", "y", "note", "x"])
        for row, ((x, y), label) in enumerate(zip(scene.train, scene.labels)):
            writer.writerow([row, scene.class_names[label], repr(float(y)), "ignored", repr(float(x))])

    query_path = directory / "query.csv"
    with query_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["y", "x"])
        for x, y in scene.queries:
            writer.writerow([repr(float(y)), repr(float(x))])
    return train_path, query_path


def run_softknn(binary: Path, scene: Scene, directory: Path) -> tuple[list[str], np.ndarray]:
    """Run `softknn predict` on the scene and return the output header and values.

    Raises RuntimeError with the binary's message if it exits with an error, and
    if its output is not a CSV table of numbers under a header.
    """
    train_path, query_path = write_scene(scene, directory)
    command = [str(binary), "predict", "--train", str(train_path), "--query", str(query_path)]
    command += ["--k", str(scene.k)]
    if scene.hard:
        command.append("--hard")
    else:
        command += ["--beta", repr(scene.beta), "--gamma", repr(scene.gamma)]
    if scene.per_layer:
        command.append("--per-layer")

    completed = subprocess.run(command, capture_output=True, text=True, encoding="utf-8", check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"softknn exited with {completed.returncode}: {completed.stderr.strip()}")

    rows = list(csv.reader(io.StringIO(completed.stdout)))
    if not rows:
        raise RuntimeError("softknn printed no header")
    header, body = rows[0], rows[1:]
    if any(len(row) != len(header) for row in body):
        raise RuntimeError("softknn printed a row whose field count differs from the header's")
    try:
        values = np.array([[float(text) for text in row] for row in body], dtype=float)
    except ValueError as error:
        raise RuntimeError(f"softknn printed a field that is not a number: {error}") from error
    return header, values.reshape(len(body), len(header))


def expected_header(scene: Scene) -> list[str]:
    header = ["x", "y"] + [f"p_{name}" for name in scene.class_names]
    if scene.per_layer:
        for layer in range(1, scene.k + 1):
            header += [f"layer{layer}_p_{name}" for name in scene.class_names]
    return header


def compare(
    binary: Path,
    scene: Scene,
    tally: Tally,
    reference: tuple[np.ndarray, np.ndarray],
    sklearn_check: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Run one scene and record whether every printed value matches the references.

    `reference` is (y_hat, votes) for every query. `sklearn_check`, if given, is
    (mask of the queries to compare, scikit-learn's class fractions for them).
    """
    problems = []
    with tempfile.TemporaryDirectory(prefix="softknn-crosscheck-") as directory:
        try:
            header, values = run_softknn(binary, scene, Path(directory))
        except RuntimeError as error:
            problems.append(str(error))
            header, values = [], np.zeros((0, 0))

    if not problems and header != expected_header(scene):
        problems.append(f"header {header} differs from {expected_header(scene)}")
    if not problems and len(values) != len(scene.queries):
        problems.append(f"{len(values)} rows for {len(scene.queries)} queries")

    if not problems:
        classes = len(scene.class_names)
        output, votes = reference
        expected = [output] + ([votes[layer] for layer in range(scene.k)] if scene.per_layer else [])
        expected = np.concatenate(expected, axis=1)
        difference = np.abs(values[:, 2:] - expected)
        if not np.array_equal(values[:, :2], scene.queries):
            problems.append("the echoed x, y differ from the query coordinates")
        if sklearn_check is not None:
            mask, proba = sklearn_check
            sklearn_difference = np.abs(values[mask, 2 : 2 + classes] - proba)
            difference = np.concatenate([difference.ravel(), sklearn_difference.ravel()])
        tally.values_compared += difference.size
        largest = float(difference.max(initial=0.0))
        tally.max_difference = max(tally.max_difference, largest)
        if not largest <= TOLERANCE:
            problems.append(f"largest difference {largest:.3g} exceeds {TOLERANCE:g}")

    if problems:
        tally.failed += 1
        tally.failures.append(f"{scene.name}: " + "; ".join(problems))
    else:
        tally.passed += 1


def random_labels(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list[str]]:
    """Draw class names for n rows and number the classes by first appearance."""
    classes = int(rng.integers(1, 7))
    names = list(rng.choice(LABEL_POOL, size=classes, replace=False))
    drawn = rng.integers(0, classes, size=n)
    index_of: dict[int, int] = {}
    for value in drawn:
        index_of.setdefault(int(value), len(index_of))
    labels = np.array([index_of[int(value)] for value in drawn])
    first_seen = sorted(index_of, key=index_of.get)
    return labels, [str(names[value]) for value in first_seen]


def random_soft_scene(rng: np.random.Generator, number: int) -> Scene:
    """Draw a soft-mode scene at a random scale from 1e-6 to 1e6.

    beta and gamma are drawn relative to the typical squared distance, so their
    effect does not depend on the scale. In three quarters of the scenes, beta
    times the typical squared distance is from 1e-2 to 10^3.5. In the others it
    is from 10^3.5 to 1e8, close to hard mode. A few take beta = 0 or gamma = 0.
    """
    scale = 10.0 ** rng.uniform(-6, 6)
    offset = rng.normal(size=2) * scale * rng.choice([0.0, 1.0, 10.0])
    n = int(rng.integers(1, 41))
    train = offset + scale * rng.normal(size=(n, 2))
    if n > 2 and rng.random() < 0.3:
        # Coincident training points: tied distances share a layer's mass evenly.
        train[1] = train[0]
    labels, class_names = random_labels(rng, n)

    queries = offset + 1.5 * scale * rng.normal(size=(int(rng.integers(1, 16)), 2))
    # Queries on top of training points: d_n = 0 for that point.
    on_top = train[rng.integers(0, n, size=2)]
    queries = np.concatenate([queries, on_top])

    typical = 2.0 * scale**2
    sharpness = 10.0 ** (rng.uniform(3.5, 8) if rng.random() < 0.25 else rng.uniform(-2, 3.5))
    beta = 0.0 if rng.random() < 0.05 else sharpness / typical
    gamma = 0.0 if rng.random() < 0.1 else 10.0 ** rng.uniform(-3, 2) * typical
    k = int(rng.integers(1, n + 1))
    return Scene(
        name=(
            f"soft scene {number} (N={n}, C={len(class_names)}, K={k}, "
            f"beta={beta:.3g}, gamma={gamma:.3g}, scale={scale:.2g})"
        ),
        train=train,
        labels=labels,
        class_names=class_names,
        queries=queries,
        k=k,
        beta=beta,
        gamma=gamma,
        per_layer=bool(rng.random() < 0.8),
    )


def random_hard_scene(rng: np.random.Generator, number: int, on_grid: bool) -> Scene:
    """Draw a hard-mode scene: Gaussian blobs, or points on a small integer grid (many ties)."""
    n = int(rng.integers(1, 61))
    labels, class_names = random_labels(rng, n)
    if on_grid:
        train = rng.integers(-4, 5, size=(n, 2)).astype(float)
        queries = rng.integers(-5, 6, size=(30, 2)).astype(float) / 2.0
    else:
        centres = rng.normal(size=(len(class_names), 2)) * 3.0
        train = centres[labels] + rng.normal(size=(n, 2))
        queries = rng.normal(size=(30, 2)) * 3.0
    k = int(rng.integers(1, n + 1))
    kind = "grid" if on_grid else "blobs"
    return Scene(
        name=f"hard {kind} scene {number} (N={n}, C={len(class_names)}, K={k})",
        train=train,
        labels=labels,
        class_names=class_names,
        queries=queries,
        k=k,
    )


def read_iris(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read petal length and width as coordinates and species as the label."""
    points, species = [], []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            points.append((float(row["petal_length"]), float(row["petal_width"])))
            species.append(row["species"])
    class_names = list(dict.fromkeys(species))
    labels = np.array([class_names.index(name) for name in species])
    return np.array(points), labels, class_names


def iris_queries(train: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return a regular grid over the data's range, random points, and the training points."""
    low, high = train.min(axis=0) - 0.5, train.max(axis=0) + 0.5
    xs = np.linspace(low[0], high[0], 23)
    ys = np.linspace(low[1], high[1], 17)
    grid = np.array([(x, y) for x in xs for y in ys])
    random = low + (high - low) * rng.random(size=(200, 2))
    return np.concatenate([grid, random, train])


def rounding_sensitivity(
    scene: Scene, reference: tuple[np.ndarray, np.ndarray], rng: np.random.Generator
) -> float:
    """Return how far the soft reference moves under changes as small as rounding.

    The changes are a reversed summation order, and relative changes of d of
    up to 2^-50 (four units in the last place). With beta * gamma large and
    many layers, each layer amplifies the rounding of the layers before it, so
    float64 fixes the result only to this spread. Two correct float64
    implementations cannot be expected to agree more closely.
    """
    output, votes = reference
    spread = 0.0
    jitter = rng.uniform(-(2.0**-50), 2.0**-50, size=(len(scene.queries), len(scene.train)))
    for variant in [soft_reference(scene, reverse=True), soft_reference(scene, jitter=jitter)]:
        variant_output, variant_votes = variant
        spread = max(spread, np.abs(output - variant_output).max(), np.abs(votes - variant_votes).max())
    return float(spread)


def check_soft(binary: Path, rng: np.random.Generator, scenes: int) -> tuple[Tally, int]:
    """Compare random soft scenes with the NumPy reference; return the tally and redraws.

    A scene whose reference moves by more than a tenth of the tolerance under
    changes as small as rounding cannot be tested at that tolerance, so it is
    drawn again.
    """
    tally = Tally()
    redrawn = 0
    number = 0
    while number < scenes:
        scene = random_soft_scene(rng, number)
        reference = soft_reference(scene)
        if rounding_sensitivity(scene, reference, rng) > TOLERANCE / 10:
            redrawn += 1
            if redrawn > scenes:
                raise RuntimeError("most soft scenes are too sensitive to rounding; check the draws")
            continue
        compare(binary, scene, tally, reference)
        number += 1
    return tally, redrawn


def check_hard_iris(binary: Path, iris: Path, rng: np.random.Generator) -> tuple[Tally, list[str]]:
    """Compare hard mode on iris with scikit-learn for several K.

    Returns the tally and, for each K, the count of untied queries.
    """
    tally = Tally()
    notes = []
    if not iris.is_file():
        tally.failed += 1
        tally.failures.append(f"iris data not found at {iris}; pass --iris PATH")
        return tally, notes

    train, labels, class_names = read_iris(iris)
    queries = iris_queries(train, rng)
    for k in [1, 2, 3, 5, 7, 10, 15, 25, len(train)]:
        scene = Scene(f"iris hard K={k}", train, labels, class_names, queries, k)
        mask = untied_queries(scene)
        notes.append(f"K={k}: {mask.sum()}/{len(queries)}")
        compare(binary, scene, tally, hard_reference(scene), (mask, sklearn_proba(scene, queries[mask])))
    return tally, notes


def check_hard_random(binary: Path, rng: np.random.Generator, scenes: int) -> tuple[Tally, int, int]:
    """Compare hard mode on random scenes; return the tally, the untied and all queries."""
    tally = Tally()
    untied = total = 0
    for number in range(scenes):
        scene = random_hard_scene(rng, number, on_grid=number % 2 == 1)
        mask = untied_queries(scene)
        untied += int(mask.sum())
        total += len(mask)
        proba = sklearn_proba(scene, scene.queries[mask])
        compare(binary, scene, tally, hard_reference(scene), (mask, proba))
    return tally, untied, total


def report(group: str, tally: Tally, detail: str = "") -> None:
    print(
        f"{group}: {tally.passed} passed, {tally.failed} failed, "
        f"{tally.values_compared} values compared, max |difference| {tally.max_difference:.3g}"
        + (f"; {detail}" if detail else "")
    )
    for failure in tally.failures[:10]:
        print(f"  FAILED {failure}")
    if len(tally.failures) > 10:
        print(f"  … and {len(tally.failures) - 10} more failures")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", type=Path, help="path to the softknn binary")
    parser.add_argument(
        "--iris",
        type=Path,
        default=REPOSITORY / "data" / "iris.csv",
        help="iris CSV with columns petal_length, petal_width, species (default: data/iris.csv)",
    )
    parser.add_argument("--seed", type=int, default=20240611, help="seed of every random draw")
    parser.add_argument("--soft-scenes", type=int, default=200, help="number of random soft-mode scenes")
    parser.add_argument("--hard-scenes", type=int, default=60, help="number of random hard-mode scenes")
    args = parser.parse_args()

    if not args.binary.is_file():
        print(f"crosscheck: binary not found: {args.binary}", file=sys.stderr)
        return 2

    rng = np.random.default_rng(args.seed)
    soft, redrawn = check_soft(args.binary, rng, args.soft_scenes)
    report(
        "soft mode vs NumPy, random scenes",
        soft,
        f"{redrawn} scenes redrawn as too sensitive to rounding for the tolerance",
    )

    iris, untied_by_k = check_hard_iris(args.binary, args.iris, rng)
    report(
        "hard mode vs scikit-learn, iris",
        iris,
        "untied queries compared with scikit-learn, by K: " + ", ".join(untied_by_k),
    )

    hard, untied, total = check_hard_random(args.binary, rng, args.hard_scenes)
    report(
        "hard mode vs scikit-learn, random scenes",
        hard,
        f"{untied} of {total} queries untied and compared with scikit-learn",
    )

    passed = soft.passed + iris.passed + hard.passed
    failed = soft.failed + iris.failed + hard.failed
    largest = max(soft.max_difference, iris.max_difference, hard.max_difference)
    print(f"max |difference| over all scenes: {largest:.3g} (tolerance {TOLERANCE:g})")
    print(f"crosscheck: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
