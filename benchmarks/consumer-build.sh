#!/usr/bin/env bash
# A user's build as it sees Gradus: a fresh Maven project with the README's snippet (the BOM imported, gradus-core and
# gradus-backend-cpu) plus gradus-train and gradus-onnx, resolved offline. Fails when a test library (JUnit,
# opentest4j, apiguardian, AssertJ, Hamcrest, Mockito) or XChart's PDF stack (pdfbox, fontbox, commons-logging) is on
# the application's compile class path, or when a module the BOM should version is missing from it.
#
#   benchmarks/consumer-build.sh            (PLATFORM=linux-x86_64 by default; KEEP=1 keeps the work folder)
#
# The published modules are installed into a throwaway local repository; ~/.m2 is only read, as a tail repository
# (maven.repo.local.tail), so that nothing is downloaded and the shared ~/.m2 is not written.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
platform=${PLATFORM:-linux-x86_64}
work=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
repo=$work/repo
tail_repo=${M2_REPO:-$HOME/.m2/repository}
mvn_opts=(-B -q -o -ntp "-Djavacpp.platform=$platform" "-Dmaven.repo.local=$repo" "-Dmaven.repo.local.tail=$tail_repo")

echo "== installing bom, core, backend-cpu, datasets, train, onnx into $repo"
"$root/mvnw" "${mvn_opts[@]}" -f "$root/pom.xml" -pl bom,core,backend-cpu,datasets,train,onnx -am install \
  -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true -Dcheckstyle.skip=true -Dspotless.check.skip=true

version=$(sed -n 's:.*<gradus.version>\(.*\)</gradus.version>.*:\1:p' "$root/bom/pom.xml")
app=$work/app
mkdir -p "$app/.mvn"
echo "-Djavacpp.platform=$platform" > "$app/.mvn/maven.config"
cat > "$app/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>app</artifactId>
  <version>1.0</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
  </properties>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>dev.gradus</groupId>
        <artifactId>gradus-bom</artifactId>
        <version>$version</version>
        <type>pom</type>
        <scope>import</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>dev.gradus</groupId>
      <artifactId>gradus-core</artifactId>
    </dependency>
    <dependency>
      <groupId>dev.gradus</groupId>
      <artifactId>gradus-backend-cpu</artifactId>
      <scope>runtime</scope>
    </dependency>
    <dependency>
      <groupId>dev.gradus</groupId>
      <artifactId>gradus-train</artifactId>
    </dependency>
    <dependency>
      <groupId>dev.gradus</groupId>
      <artifactId>gradus-onnx</artifactId>
    </dependency>
  </dependencies>
</project>
POM

echo "== dependency:tree of a fresh project with gradus-train and gradus-onnx (compile scope)"
# Full plugin coordinates: offline, a bare project cannot look up the plugin's latest version.
(cd "$app" && "$root/mvnw" "${mvn_opts[@]}" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:tree \
  -Dscope=compile "-DoutputFile=$work/tree.txt")
cat "$work/tree.txt"
status=0
bad=$(grep -Ei 'junit|opentest4j|apiguardian|assertj|hamcrest|mockito|pdfbox|fontbox|commons-logging|slf4j-simple' \
  "$work/tree.txt" || true)
if [ -n "$bad" ]; then
  echo "FAIL: test or PDF libraries on the application's compile class path:"
  echo "$bad"
  status=1
else
  echo "held: no test libraries, pdfbox or commons-logging on the compile class path"
fi
for m in gradus-train gradus-onnx gradus-core; do
  grep -q "dev.gradus:$m:jar:$version:compile" "$work/tree.txt" || { echo "FAIL: $m not resolved"; status=1; }
done
exit $status
