#!/usr/bin/env bash
# `make setup` runs this first: it stops with one sentence when Java 17+ or Python 3.11 is missing.
# Usage: scripts/check_prereqs.sh [PYTHON]   (PYTHON: the interpreter to create .venv with; empty: search)
# Prints the Python to use on stdout; messages go to stderr.
set -uo pipefail

supported() {  # supported PYTHON: true when it runs and is 3.11 (the version requirements.lock is compiled for)
  "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1
}

python=${1:-}
if [ -n "$python" ]; then
  if ! supported "$python"; then
    echo "faqmine set-up: PYTHON=$python is not a working Python 3.11; install Python 3.11 or point PYTHON at one." >&2
    exit 1
  fi
else
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && supported "$candidate"; then python=$candidate; break; fi
  done
  if [ -z "$python" ]; then
    echo "faqmine set-up: Python 3.11 was not found (tried python3.11 and python3); install it or run make PYTHON=/path/to/python3.11." >&2
    exit 1
  fi
fi

java_bin=java
[ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] && java_bin=$JAVA_HOME/bin/java
if ! command -v "$java_bin" >/dev/null 2>&1; then
  echo "faqmine set-up: Java was not found on PATH (nor in JAVA_HOME); Spark needs Java 17 or later (e.g. apt install openjdk-17-jre-headless, brew install openjdk@17)." >&2
  exit 1
fi
# `java -version` prints e.g. `openjdk version "17.0.15" 2025-04-15` or `java version "1.8.0_402"`
version=$("$java_bin" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -1)
major=${version%%.*}
[ "$major" = 1 ] && major=$(echo "$version" | cut -d. -f2)
if ! [ "$major" -ge 17 ] 2>/dev/null; then
  echo "faqmine set-up: Java ${version:-of unknown version} was found ($java_bin), but Spark needs Java 17 or later." >&2
  exit 1
fi
echo "$python"
