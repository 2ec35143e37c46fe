#!/usr/bin/env bash
# Runs a command with the CUDA backend on the CUDA emulator (see CudaEmulator): stand-ins for the NVIDIA libraries,
# built with g++, on LD_LIBRARY_PATH, with the real NVRTC. For trying the examples and benchmarks' CUDA paths on a
# machine without a GPU before spending device time; speeds are meaningless here.
#
#   backend-cuda/gpu/emulate.sh java -jar examples/target/gradus-examples.jar mlp --epochs 1
#   backend-cuda/gpu/emulate.sh java -jar benchmarks/target/gradus-benchmarks.jar MatmulBenchmark -p backend=cuda ...
#
# Needs the modules built (./mvnw -DskipTests -Djavacpp.platform=linux-x86_64 install), g++, and no NVIDIA driver.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
emu=${EMU_DIR:-$root/backend-cuda/target/cuda-emulator}
nvrtc=$root/backend-cuda/target/nvrtc/org/bytedeco/cuda/linux-x86_64
[ -f "$nvrtc/libnvrtc.so.13" ] || { echo "emulate.sh: no $nvrtc/libnvrtc.so.13; build backend-cuda first" >&2; exit 1; }
java -cp "$root/backend-cuda/target/test-classes:$root/backend-cuda/target/classes" \
  dev.gradus.backend.cuda.CudaEmulator "$emu"
export LD_LIBRARY_PATH="$emu:$nvrtc${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GRADUS_CUDA_EXPERIMENTAL=1 GRADUS_BACKEND=${GRADUS_BACKEND:-cuda}
# Preloaded, the stand-ins come first for every library name, even where JavaCPP also loads a real libcudart by its
# path (it looks in /usr/local/cuda/lib64); JMH's forked JVMs inherit this.
preload=
for lib in libcuda.so.1 libcudart.so.13 libcublasLt.so.13 libcublas.so.13 libcudnn_graph.so.9 libcudnn_ops.so.9 \
           libcudnn_cnn.so.9 libcudnn_adv.so.9; do
  preload="$preload${preload:+:}$emu/$lib"
done
export LD_PRELOAD="$preload${LD_PRELOAD:+:$LD_PRELOAD}"
exec "$@"
