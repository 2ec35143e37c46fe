#!/usr/bin/env bash
# A real full disk during every kind of save the examples make: a good run writes the model and its reports into a
# small tmpfs, filler takes the free space, the same run again must fail with one line naming a file and "No space
# left on device"; every file must then be either the good run's, byte for byte, or a complete new one (a save that
# fitted), never a truncated one, and no temporary file may be left.
# Needs root (mount) and a built examples jar; MNIST from $GRADUS_DATA/mnist.
#
#   sudo GRADUS_DATA=../shared/datasets benchmarks/full-disk.sh
set -euo pipefail
cd "$(dirname "$0")/.."
jar=${JAR:-examples/target/gradus-examples.jar}
[ -f "$jar" ] || { echo "build first: ./mvnw -Djavacpp.platform=linux-x86_64 -DskipTests package" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root to mount a tmpfs" >&2; exit 2; }
data=${GRADUS_DATA:?set GRADUS_DATA to the folder holding mnist/}/mnist
disk=$(mktemp -d)
mount -t tmpfs -o size=4m tmpfs "$disk"
trap 'umount "$disk"; rmdir "$disk"' EXIT

java -jar "$jar" mlp --epochs 1 --data "$data" --out "$disk/run" --save "$disk/run/model.safetensors" > "$disk.good.log" 2>&1
(cd "$disk/run" && sha256sum -- * > "$disk.sums")
echo "good run wrote: $(cd "$disk/run" && ls | tr '\n' ' ')"

# Leave a few KB free: the next save of each file runs out of space part way.
free=$(df --output=avail -B1 "$disk" | tail -1)
fallocate -l $((free - 8192)) "$disk/filler" 2> /dev/null || head -c $((free - 8192)) /dev/zero > "$disk/filler" || true
echo "free after filler: $(df --output=avail -B1 "$disk" | tail -1) bytes"

status=0
# Twice: with --save the model is the first file written; without it the reports (metrics.json, CSV, PNGs) are.
for save in yes no; do
  args=(mlp --epochs 1 --data "$data" --out "$disk/run")
  [ $save = yes ] && args+=(--save "$disk/run/model.safetensors")
  if java -jar "$jar" "${args[@]}" > "$disk.full.log" 2>&1; then
    echo "FAIL: the run on a full disk (--save $save) reported success"
    status=1
  fi
  err=$(grep -m1 "^error" "$disk.full.log" || true)
  echo "message (--save $save): $err"
  if ! grep -q "No space left on device" <<< "$err" || ! grep -q "$disk/run/" <<< "$err"; then
    echo "FAIL: the error line does not name the file and the full disk"
    status=1
  fi
  if [ "$(grep -c . <<< "$err")" != 1 ]; then
    echo "FAIL: not one line"
    status=1
  fi
  while read -r sum name; do
    f="$disk/run/${name#\*}"
    [ "$(sha256sum < "$f" | cut -d' ' -f1)" = "$sum" ] && continue
    case "$f" in # rewritten whole by a save that fitted: it must be complete
      *.png) tail -c 12 "$f" | grep -q IEND || { echo "FAIL: $f is a truncated PNG"; status=1; } ;;
      *.json) python3 -m json.tool "$f" > /dev/null || { echo "FAIL: $f is not whole JSON"; status=1; } ;;
      *.csv) [ -z "$(tail -c 1 "$f")" ] || { echo "FAIL: $f does not end with a whole line"; status=1; } ;;
      *) echo "FAIL: $f changed"; status=1 ;;
    esac
    echo "  ${name#\*}: rewritten whole by a save that fitted"
  done < "$disk.sums"
done
left=$(find "$disk" -name '*.gradus-tmp' -o -name '*.tmp' | wc -l)
if [ "$left" != 0 ]; then
  echo "FAIL: $left temporary files left behind"
  status=1
fi
rm -f "$disk.good.log" "$disk.full.log" "$disk.sums"
[ $status = 0 ] && echo "full disk: nothing saved before was lost or changed; one line named the file"
exit $status
