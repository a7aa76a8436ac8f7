#!/usr/bin/env bash
# Accuracy against ε for DP-SGD (docs/differential-privacy.md): the diabetes
# table with the label "target above the training rows' median", the first
# 342 rows split between two data owners, the other 100 rows as the test;
# logistic regression, 10 epochs of batch 32 at rate 0.5, C = 1, δ = 1e-5,
# for several noise multipliers σ. Prints one markdown row per σ.
#
#     scripts/dp-accuracy.sh [SIGMA ...]     # default: none 4 2 1 0.5
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p blindfold-cli
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import csv, sys
out = sys.argv[1]
rows = list(csv.reader(open("data/diabetes.csv")))
head, rows = rows[0], rows[1:]
train, test = rows[:342], rows[342:]
targets = sorted(float(r[-1]) for r in train)
median = (targets[170] + targets[171]) / 2
def write(name, part):
    with open(f"{out}/{name}.csv", "w") as f:
        f.write(",".join(head[:-1] + ["above_median"]) + "\n")
        for r in part:
            f.write(",".join(r[:-1] + ["1" if float(r[-1]) > median else "0"]) + "\n")
write("a", train[:171]); write("b", train[171:]); write("test", test)
PY
echo "| σ | ε (model owner) | ε (a colluding server) | test accuracy, private | its f64 twin | time | rounds |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for sigma in "${@:-none 4 2 1 0.5}"; do
  for s in $sigma; do
    dp=()
    if [ "$s" != none ]; then dp=(--dp-noise-multiplier "$s" --max-grad-norm 1 --dp-delta 1e-5); fi
    ./target/release/blindfold train logreg --data a="$work/a.csv" --data b="$work/b.csv" --test "$work/test.csv" \
      --label-column above_median --epochs 10 --batch-size 32 --learning-rate 0.5 "${dp[@]}" --json 2>/dev/null |
      python3 -c "
import json, sys
r = json.load(sys.stdin); d = r['dp'] or {}
eps = lambda k: f\"{d[k]:.3g}\" if k in d else '—'
print(f\"| $s | {eps('epsilon')} | {eps('epsilon_colluding_server')} | {r['test_accuracy']:.2f} | {r['plaintext_test_accuracy']:.2f} | {r['wall_s']:.2f} s | {r['rounds']} |\")"
  done
done
