#!/usr/bin/env bash
# Reruns the shared-machine case: one `cnn --epochs 1` alone, then two at once on the same cores, and prints each
# epoch's seconds and the slowdown (goal: at most 2.5x the epoch alone; fair sharing of the cores is 2x).
#
#   benchmarks/contention.sh                       (MNIST from $GRADUS_DATA/mnist or ~/.gradus/datasets/mnist)
#   EXAMPLE=bn-cnn JAVA_OPTS=-Dgradus.dnnl=false benchmarks/contention.sh
#
# Run it on a quiet machine: check `uptime` first.
set -euo pipefail
cd "$(dirname "$0")/.."
jar=examples/target/gradus-examples.jar
[ -f "$jar" ] || { echo "build first: ./mvnw -Djavacpp.platform=linux-x86_64 -DskipTests package" >&2; exit 2; }
ex=${EXAMPLE:-cnn}
out=${OUT:-out/contention}
mkdir -p "$out"
data=()
[ -n "${DATA:-}" ] && data=(--data "$DATA")
run() { # name
  # shellcheck disable=SC2086
  java ${JAVA_OPTS:-} -jar "$jar" "$ex" --epochs 1 "${data[@]}" --out "$out/$1" > "$out/$1.log" 2>&1
  awk '$1 == "1" && $NF ~ /s$/ {sub(/s$/, "", $NF); print $NF}' "$out/$1.log"
}
echo "== $ex, 1 epoch, $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
alone=$(run alone)
echo "alone:        ${alone} s"
run side-a > "$out/a.sec" &
pa=$!
run side-b > "$out/b.sec" &
pb=$!
wait $pa $pb
a=$(cat "$out/a.sec")
b=$(cat "$out/b.sec")
echo "side by side: ${a} s and ${b} s"
awk -v x="$alone" -v a="$a" -v b="$b" 'BEGIN {
  printf "slowdown:     %.2fx and %.2fx the epoch alone (goal <= 2.5x)\n", a / x, b / x }'
