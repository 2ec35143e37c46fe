#!/usr/bin/env bash
# Trains examples for 10 epochs with --memory-report and prints, per example, whether the backend's live bytes
# (limit 1%) and the process's resident memory (limit 5%) stayed flat after the first epoch.
#
#   benchmarks/memory-stability.sh [example ...]        (default: mlp fashion-mlp cnn bn-cnn)
#   KAGGLE_TRAIN=train.csv KAGGLE_TEST=test.csv benchmarks/memory-stability.sh kaggle
#   JAVA_OPTS="-Xms1g -Xmx1g -XX:+AlwaysPreTouch" EPOCHS=10 benchmarks/memory-stability.sh mlp
#
# The heap is fixed and touched up front by default (-Xms = -Xmx, AlwaysPreTouch), as for a server: otherwise
# G1 commits more heap as it sizes itself and touches fresh pages of it for a while, which moves resident memory
# without any leak (the report's heap_committed and heap_used columns show it).
set -euo pipefail
cd "$(dirname "$0")/.."
jar=examples/target/gradus-examples.jar
[ -f "$jar" ] || { echo "build first: ./mvnw -Djavacpp.platform=linux-x86_64 -DskipTests package" >&2; exit 2; }
out=${OUT:-out/memory}
mkdir -p "$out"
status=0
for ex in "${@:-mlp fashion-mlp cnn bn-cnn}"; do
  for e in $ex; do
    args=()
    if [ "$e" = kaggle ]; then
      args=(--train "${KAGGLE_TRAIN:?set KAGGLE_TRAIN and KAGGLE_TEST for kaggle}" --test "${KAGGLE_TEST:?}")
    fi
    echo "== $e: ${EPOCHS:-10} epochs, java ${JAVA_OPTS:--Xms1g -Xmx1g -XX:+AlwaysPreTouch}"
    # shellcheck disable=SC2086
    java ${JAVA_OPTS:--Xms1g -Xmx1g -XX:+AlwaysPreTouch} -jar "$jar" "$e" "${args[@]}" --epochs "${EPOCHS:-10}" --memory-report --out "$out/$e" \
      > "$out/$e.log" 2>&1 || { echo "$e failed: see $out/$e.log"; status=1; continue; }
    grep -E "^  (mem|[0-9]+ )" "$out/$e.log" || true
    grep "^memory after epoch 1" "$out/$e.log"
    grep -q ": FLAT$" "$out/$e.log" || status=1
  done
done
exit $status
