#!/usr/bin/env bash
# Reruns the shared-machine cases: one `cnn --epochs 1` alone, then two at once on the same cores, then one beside
# two busy single-threaded loops (an application's own threads), and prints each epoch's seconds and the slowdown
# (goal: at most 2.5x the epoch alone in both cases; fair sharing of 2 cores is 2x beside a second training and
# 1.5-2x beside two loops).
#
#   benchmarks/contention.sh                       (MNIST from $GRADUS_DATA/mnist or ~/.gradus/datasets/mnist)
#   EXAMPLE=bn-cnn JAVA_OPTS=-Dgradus.dnnl=false benchmarks/contention.sh
#   ONEDNN_MAX_CPU_ISA=AVX2 benchmarks/contention.sh   (oneDNN's AVX2 kernels on an AVX-512 machine)
#   CASES=loops benchmarks/contention.sh               (only one case: training | loops)
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
cases=${CASES:-training loops}
echo "== $ex, 1 epoch, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-unset}, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
alone=$(run alone)
echo "alone:        ${alone} s"
slowdown() { awk -v x="$alone" -v a="$1" 'BEGIN { printf "%.2fx", a / x }'; }
if [[ " $cases " == *" training "* ]]; then
  run side-a > "$out/a.sec" &
  pa=$!
  run side-b > "$out/b.sec" &
  pb=$!
  wait $pa $pb
  a=$(cat "$out/a.sec")
  b=$(cat "$out/b.sec")
  echo "beside a second $ex: ${a} s and ${b} s, slowdown $(slowdown "$a") and $(slowdown "$b") (goal <= 2.5x)"
fi
if [[ " $cases " == *" loops "* ]]; then
  loops=()
  for _ in 1 2; do
    (while :; do :; done) &
    loops+=($!)
  done
  trap 'kill "${loops[@]}" 2> /dev/null || true' EXIT
  l=$(run beside-loops)
  kill "${loops[@]}" 2> /dev/null || true
  echo "beside two busy loops: ${l} s, slowdown $(slowdown "$l") (goal <= 2.5x)"
fi
