# Sourced by the scripts in .ci: puts the project's tools on PATH.
# wasm-opt comes from .ci/node_modules (npm package binaryen); Trunk and
# wasm-bindgen from cargo's bin folder.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$root/.ci/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
