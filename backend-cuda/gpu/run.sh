#!/usr/bin/env bash
# Runs on the GPU machine inside the bundle made by assemble.sh. Results go to $OUT (the device tool brings
# them back).
#   ./run.sh tests     backend-cuda's tests with the backend switched on (conformance suite on the GPU)
#   ./run.sh bench     JMH: GEMM (API vs raw cuBLAS), conv layers, cnn/bn-cnn steps, on -p backend=cuda
#   ./run.sh torch     the same models in PyTorch eager (benchmarks/pytorch/train_speed.py)
#   ./run.sh example mlp|cnn|bn-cnn [args]   an example on the GPU (needs GRADUS_DATA with mnist/)
#   ./run.sh all       tests, bench and torch
set -euo pipefail
B=$(cd "$(dirname "$0")" && pwd)
cd "$B"
OUT=${OUT:-$B/out}
mkdir -p "$OUT"
export GRADUS_CUDA_EXPERIMENTAL=1
what=${1:-all}
shift || true
case "$what" in
  tests) CHECK_ONLY=0 ./run-tests.sh --config=junit.jupiter.extensions.autodetection.enabled=true "$@" 2>&1 \
           | tee "$OUT/tests.log" ;;
  bench|example)
    # run-tests.sh sets up the Java runtime and LD_LIBRARY_PATH; reuse it with a preflight only, then run java here.
    CHECK_ONLY=1 ./run-tests.sh > "$OUT/preflight.log" 2>&1 || true
    LD_LIBRARY_PATH=$(grep '^LD_LIBRARY_PATH=' "$OUT/preflight.log" | head -1 | cut -d= -f2-)
    export LD_LIBRARY_PATH
    cp="$B/classes"; for j in "$B"/lib/*.jar; do cp="$cp:$j"; done
    opts=(-Dorg.bytedeco.javacpp.cachedir="$B/.javacpp-cache" -Dorg.bytedeco.javacpp.pathsFirst=true
          -Dgradus.cuda.experimental=true --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow)
    if [ "$what" = bench ]; then
      [ $# -gt 0 ] || set -- MatmulBenchmark ConvBenchmark CnnBenchmark
      jre/bin/java "${opts[@]}" -cp "$cp" org.openjdk.jmh.Main -p backend=cuda -rf json -rff "$OUT/jmh.json" \
        -jvmArgsAppend "-Dgradus.cuda.experimental=true -Dorg.bytedeco.javacpp.pathsFirst=true" \
        "$@" 2>&1 | tee "$OUT/bench.log"
    else
      GRADUS_BACKEND=cuda jre/bin/java "${opts[@]}" -cp "$cp" dev.gradus.examples.Main "$@" --out "$OUT/example" \
        2>&1 | tee "$OUT/example.log"
    fi ;;
  torch) /opt/torch/.venv/bin/python train_speed.py --out "$OUT/torch.json" 2>&1 | tee "$OUT/torch.log" ;;
  all) "$0" tests || true; "$0" bench || true; "$0" torch || true ;;
  *) echo "usage: $0 tests|bench|torch|example <name>|all" >&2; exit 2 ;;
esac
