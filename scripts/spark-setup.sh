#!/usr/bin/env bash
# Installs what k2ops' Spark engine runs on, at pinned versions, into one private folder:
#   <dir>/venv            a Python venv with pyspark (its package folder is a SPARK_HOME)
#   <dir>/jars            the Iceberg Spark runtime jar
# <dir> is $K2OPS_SPARK_DIR, or .spark in this checkout. A second run checks and stops early.
# Needs: python3 (3.8+), Java 17 (or 11) on PATH or JAVA_HOME, and mvn to fetch the jar.
set -euo pipefail

PYSPARK_VERSION=3.5.9
ICEBERG_VERSION=1.10.1
ICEBERG_ARTIFACT=iceberg-spark-runtime-3.5_2.12

checkout="$(cd "$(dirname "$0")/.." && pwd)"
dir="${K2OPS_SPARK_DIR:-$checkout/.spark}"
venv="$dir/venv"
jars="$dir/jars"
jar="$jars/$ICEBERG_ARTIFACT-$ICEBERG_VERSION.jar"

say() { printf 'spark-setup: %s\n' "$*"; }
fail() { printf 'spark-setup: error: %s\n' "$*" >&2; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || fail "$1 is not on PATH: $2"
}

# As spark-submit finds Java: $JAVA_HOME/bin/java when JAVA_HOME is set, else java on PATH.
java_bin() {
  if [ -n "${JAVA_HOME:-}" ]; then
    [ -x "$JAVA_HOME/bin/java" ] && echo "$JAVA_HOME/bin/java"
    return 0
  fi
  command -v java 2>/dev/null || true
}

installed_pyspark() {
  [ -x "$venv/bin/python" ] || return 0
  "$venv/bin/python" -c 'import pyspark, os; print(pyspark.__version__, os.path.dirname(pyspark.__file__))' 2>/dev/null || true
}

spark_home() {
  "$venv/bin/python" -c 'import pyspark, os; print(os.path.dirname(pyspark.__file__))'
}

javacmd="$(java_bin)"
[ -n "$javacmd" ] || fail "no Java found (no java on PATH and no JAVA_HOME, or JAVA_HOME has no bin/java): install Java 17, e.g. 'apt-get install openjdk-17-jre-headless'"

mkdir -p "$dir"
chmod 700 "$dir"

read -r have_version have_home <<<"$(installed_pyspark)" || true
if [ "${have_version:-}" = "$PYSPARK_VERSION" ] && [ -x "$have_home/bin/spark-submit" ]; then
  say "pyspark $PYSPARK_VERSION already installed in $venv"
else
  need python3 "install Python 3 (3.8 or newer)"
  if [ ! -x "$venv/bin/python" ]; then
    say "creating the venv $venv"
    python3 -m venv "$venv" || fail "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  fi
  say "installing pyspark $PYSPARK_VERSION (about 320 MB)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "pyspark==$PYSPARK_VERSION" || fail "pip could not install pyspark==$PYSPARK_VERSION"
fi
sparkhome="$(spark_home)"
[ -x "$sparkhome/bin/spark-submit" ] || fail "pyspark installed but $sparkhome/bin/spark-submit is missing"

# A jar cut short by an interrupted download is fetched again (unzip checks it where it is installed).
jar_ok() {
  [ -s "$jar" ] || return 1
  command -v unzip >/dev/null 2>&1 || return 0
  unzip -tq "$jar" >/dev/null 2>&1
}

if jar_ok; then
  say "$ICEBERG_ARTIFACT $ICEBERG_VERSION already in $jars"
else
  need mvn "install Maven (e.g. 'apt-get install maven') to fetch the Iceberg jar"
  mkdir -p "$jars"
  rm -f "$jar"
  say "fetching org.apache.iceberg:$ICEBERG_ARTIFACT:$ICEBERG_VERSION from Maven Central"
  mvn -q -B dependency:copy "-Dartifact=org.apache.iceberg:$ICEBERG_ARTIFACT:$ICEBERG_VERSION" "-DoutputDirectory=$jars" \
    || fail "mvn could not fetch org.apache.iceberg:$ICEBERG_ARTIFACT:$ICEBERG_VERSION"
  [ -s "$jar" ] || fail "mvn finished but $jar is not there"
fi

# Versions as installed, for k2ops and for people: k2ops reads sparkHome and the jar from here.
cat >"$dir/versions.json" <<JSON
{"pyspark": "$PYSPARK_VERSION", "iceberg": "$ICEBERG_VERSION", "sparkHome": "$sparkhome", "jars": ["$jar"]}
JSON

say "ready: Spark $PYSPARK_VERSION ($sparkhome), Iceberg $ICEBERG_VERSION, Java: $("$javacmd" -version 2>&1 | head -n 1)"
cat <<EOF

k2ops finds this installation by itself$([ -n "${K2OPS_SPARK_DIR:-}" ] && printf ' while K2OPS_SPARK_DIR=%s is set' "$dir"). To use Spark, put in <home>/config.json:

  {
    "engine": "spark",
    "spark": {
      "master": "local[2]",
      "sparkHome": "$sparkhome",
      "jars": ["$jar"],
      "catalog": {"name": "iceberg", "type": "hadoop", "warehouse": "file:///path/to/iceberg"},
      "namespace": "market_data"
    }
  }

(or set K2OPS_ENGINE=spark, or pass --engine spark; sparkHome and jars may be left out.)
EOF
