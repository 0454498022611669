#!/usr/bin/env bash
# Peer comparison: the same soft k-NN decision map (the lecture scene: 300
# points, 4 classes, K = 10, on a 200 × 200 grid) computed by NumPy float32,
# the native fast engine and the wasm fast engine in Chromium, in one run.
# Prints the three times and the ratios. Sets up what it needs first.
# Usage: tests/peers/run.sh [BETA [GAMMA]]   (defaults 30 and 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
./.ci/setup
source .ci/env.sh
tests/crosscheck/venv.sh
python=tests/crosscheck/.venv/bin/python

beta="${1:-30}"
gamma="${2:-2}"
k=10
resolution=200
repeats=5
scene="$(mktemp --suffix=.csv)"
trap 'rm -f "$scene"' EXIT

# The native engine is built for this CPU (AVX2 where present), as NumPy picks
# its SIMD kernels for the CPU at run time. Its own target folder keeps the
# main build's flags and artefacts apart.
native=(env RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR="$PWD/target/host-cpu"
    cargo run --release --quiet --example peer_grid --)
trunk build --release --offline > /dev/null 2>&1 || trunk build --release --offline

native_ms="$("${native[@]}" "$scene" "$beta" "$gamma" "$k" "$resolution" "$repeats")"
numpy_ms="$("$python" tests/peers/numpy_grid.py "$scene" "$beta" "$gamma" "$k" "$resolution" "$repeats")"
wasm_ms="$(node tests/peers/wasm_grid.mjs "$scene" "$beta" "$gamma" "$k" "$resolution" "$repeats")"

"$python" - "$numpy_ms" "$native_ms" "$wasm_ms" "$beta" "$gamma" <<'PY'
import sys
numpy_ms, native_ms, wasm_ms = map(float, sys.argv[1:4])
units = 200 * 200 * 300 * 10
print(f"lecture scene, 200x200 cells, N=300, C=4, K=10, beta={sys.argv[4]}, gamma={sys.argv[5]}; fastest of 5 runs")
for name, ms in [("NumPy float32", numpy_ms), ("native engine", native_ms), ("wasm engine (Chromium)", wasm_ms)]:
    print(f"  {name:24} {ms:9.1f} ms  {ms * 1e6 / units:6.2f} ns per cell-point-layer  {numpy_ms / ms:5.1f}x NumPy")
PY
