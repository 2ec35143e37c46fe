#!/usr/bin/env bash
# Builds one bundle for a lent GPU machine (no Java, no Maven there): a jlinked Java, every jar the benchmarks and
# examples need, the backend-cuda tests (with the core test-jar for the conformance suite) and run.sh.
#
#   backend-cuda/gpu/assemble.sh            -> .gpu-bundle/ (about 55 MiB; the device tool carries at most 64)
#
# Then, with the device tool: carry [".gpu-bundle"], command "cd .gpu-bundle && ./run.sh all" (see run.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS=${TOOLS:-../shared/tools/gpu}
./mvnw -q -B -o -DskipTests -Djavacpp.platform=linux-x86_64 install
mkdir -p benchmarks/target/test-classes
PROJ=$PWD/benchmarks OUT=$PWD/.gpu-bundle JUNIT_CONSOLE=1.11.4 MAX_MIB=58 "$TOOLS/assemble-bundle.sh"
rm -rf .gpu-bundle/test-classes
cp -r backend-cuda/target/test-classes .gpu-bundle/test-classes
cp core/target/gradus-core-*-tests.jar .gpu-bundle/lib/
cp backend-cuda/gpu/run.sh .gpu-bundle/
cp benchmarks/pytorch/train_speed.py .gpu-bundle/
du -sh .gpu-bundle
