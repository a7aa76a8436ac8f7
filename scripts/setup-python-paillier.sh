#!/usr/bin/env bash
# A throwaway virtual environment with python-paillier 1.5 and gmpy2, for
# `blindfold bench paillier` to measure beside blindfold in the same run.
#   scripts/setup-python-paillier.sh [DIR]   (default: target/python-paillier)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-target/python-paillier}"
python3 -m venv "$dir"
"$dir/bin/pip" install --quiet "phe==1.5.0" gmpy2
"$dir/bin/python" -c "import phe, gmpy2; print('python-paillier', phe.__version__, 'gmpy2', gmpy2.version())"
echo "$dir/bin/python"
