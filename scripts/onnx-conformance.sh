#!/usr/bin/env bash
# ONNX's own backend node tests through blindfold: every test whose ops are
# all claimed as supported (docs/onnx-support.md), run under Pond and
# compared with its expected outputs (crates/onnx/tests/conformance.rs says
# how). onnx 1.16 ships the tests (newer wheels do not): PYTHON names an
# interpreter that has it, or a virtual environment is made in
# target/onnx-venv.
#
#     scripts/onnx-conformance.sh            # all applicable tests
#     BLINDFOLD_ONNX_ONLY=maxpool scripts/onnx-conformance.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ ! -x target/onnx-venv/bin/python ]; then
        python3 -m venv target/onnx-venv
        target/onnx-venv/bin/pip install --quiet "onnx==1.16.2"
    fi
    python=target/onnx-venv/bin/python
fi
node_tests="$("$python" -c 'import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node"))')"
if [ ! -d "$node_tests" ]; then
    echo "onnx-conformance: $node_tests is missing: the onnx package must be 1.16 (newer wheels ship no node tests)" >&2
    exit 1
fi
BLINDFOLD_ONNX_NODE_TESTS="$node_tests" cargo test -q -p blindfold-onnx --test conformance -- --ignored --nocapture
