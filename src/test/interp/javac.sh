#!/usr/bin/env bash
# javac.sh JAVAC SOURCES_DIR - a JVM as the host: javac compiles every .java
# file under SOURCES_DIR into a fresh directory and prints each class file's
# SHA-256, sorted by name.  javac's output does not depend on the allocator,
# so a run on glibc and one on the preload library must print the same.
# The JVM allocates from many threads (the compiler's, the garbage
# collector's, the main one) and frees blocks on threads other than the one
# that allocated them.
set -euo pipefail
javac="${1:?usage: javac.sh JAVAC SOURCES_DIR}"
sources="${2:?usage: javac.sh JAVAC SOURCES_DIR}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
find "$sources" -name '*.java' | sort > "$out/sources.txt"
"$javac" -J-Xshare:off -nowarn -d "$out/classes" "@$out/sources.txt"
cd "$out/classes"
find . -name '*.class' | sort | xargs sha256sum
