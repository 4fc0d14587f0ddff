# Glimmer - the front door.
#
#   make              build: target/glimmer-*.jar with linux-x86_64/libglimmer.so inside
#   make test         native checks (C contract against target/native; perl, python3 and lua5.4 on the
#                     preload library), then the whole Maven test suite
#   make run          the quick benchmark against the peers (a few minutes): prints the main table
#   make run-java     the Java side-by-side tool, Glimmer vs glibc through FFM (ARGS="..." passes arguments)
#   make native       only the plain shared library: target/native/libglimmer.so (no JDK needed)
#   make bench        the side-by-side benchmarks (benches/): regenerates docs/performance.md
#   make bench-quick  the same at small counts, prints the main table (report in benches/out)
#   make bench-smoke  tiny counts end to end (CI keeps the benchmarks working; not a timing)
#   make clean        remove target/
#
# Options:  SEED=123 OPS=1000000   seed / operation count of the randomized tests
#           MVNFLAGS="-Dtest=CContractTest"   anything else for Maven
#           JAVA_HOME=/path/to/jdk-25          a JDK to use (otherwise one is found, see below)
#
# Maven must run on a JDK >= 25 (java.lang.foreign; the build targets release 25).
# The JDK is JAVA_HOME if that is one, else the newest JDK >= 25 in /usr/lib/jvm
# (by the JAVA_VERSION line of its `release` file).

SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DEFAULT_GOAL := build
MAKEFLAGS   += --no-print-directory

JDK_MIN     := 25
JVM_DIR     := /usr/lib/jvm

# ---- find a JDK >= $(JDK_MIN) ------------------------------------------------
# prints the JDK's home, or nothing
define FIND_JDK
major() { sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$$1/release" 2>/dev/null || true; };
jh='$(JAVA_HOME)';
if [ -n "$$jh" ] && [ -x "$$jh/bin/javac" ]; then v=$$(major "$$jh"); if [ "$${v:-0}" -ge $(JDK_MIN) ]; then echo "$$jh"; exit 0; fi; fi;
best=; bestv=0;
for d in $(JVM_DIR)/*/; do d=$${d%/}; if [ -x "$$d/bin/javac" ]; then v=$$(major "$$d"); if [ "$${v:-0}" -ge $(JDK_MIN) ] && [ "$${v:-0}" -gt $$bestv ]; then best=$$d; bestv=$$v; fi; fi; done;
echo "$$best"
endef

JDK := $(shell $(FIND_JDK))
ORIGINAL_JAVA_HOME := $(JAVA_HOME)
override JAVA_HOME := $(JDK)
export JAVA_HOME
# Maven 3.8's bundled Guava calls sun.misc.Unsafe: silence JDK 25's warnings.
# (Not in .mvn/jvm.config: a Maven started on JDK 17 would refuse the flag.)
export MAVEN_OPTS := --sun-misc-unsafe-memory-access=allow $(MAVEN_OPTS)

# ---- tools -------------------------------------------------------------------
CC          := gcc
ifdef SEED
MVNFLAGS    += -Dglimmer.seed=$(SEED)
endif
ifdef OPS
MVNFLAGS    += -Dglimmer.ops=$(OPS)
endif
MVN         := $(strip mvn -B -ntp $(MVNFLAGS))
# Debian's Maven 3.8.7 prints stray colour resets even in batch mode
DECOLOR     := sed -u 's/\x1b\[[0-9;]*m//g'
JAVA        := $(JAVA_HOME)/bin/java
JAVA_OPTS   := --enable-native-access=ALL-UNNAMED

NATIVE_OUT  := $(CURDIR)/target/native
CONTRACT    := $(NATIVE_OUT)/contract
CONTRACT_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread

.PHONY: build test test-native test-interpreters test-java run run-java native clean jdk help bench bench-quick bench-smoke

help:
	@sed -n '3,19p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# \{0,1\}//'

# ---- JDK check: every target that runs Maven or java depends on it -----------
jdk:
ifeq ($(JDK),)
	@{ echo "Glimmer needs a JDK $(JDK_MIN) or newer (with javac) to build, and none was found."; \
	   if [ -n "$(ORIGINAL_JAVA_HOME)" ]; then \
	     echo "  JAVA_HOME=$(ORIGINAL_JAVA_HOME): $$(sed -n 's/^JAVA_VERSION=//p' '$(ORIGINAL_JAVA_HOME)/release' 2>/dev/null || echo 'not a JDK')"; \
	   else echo "  JAVA_HOME is not set"; fi; \
	   for d in $(JVM_DIR)/*/; do [ -d "$$d" ] || { echo "  $(JVM_DIR): no JDKs"; continue; }; \
	     echo "  $${d%/}: $$(sed -n 's/^JAVA_VERSION=//p' "$${d}release" 2>/dev/null || echo '?')"; done; \
	   echo "Install a JDK $(JDK_MIN) (e.g. Temurin from https://adoptium.net) under $(JVM_DIR),"; \
	   echo "or point to one:  make JAVA_HOME=/path/to/jdk-$(JDK_MIN) $(or $(MAKECMDGOALS),build)"; } >&2; exit 1
else
ifneq ($(ORIGINAL_JAVA_HOME),)
ifneq ($(ORIGINAL_JAVA_HOME),$(JDK))
	@echo "note: JAVA_HOME=$(ORIGINAL_JAVA_HOME) is not a JDK >= $(JDK_MIN); using $(JDK) instead"
endif
endif
	@echo "JDK: $(JDK) ($$(sed -n 's/^JAVA_VERSION="\(.*\)"/\1/p' '$(JDK)/release'))"
endif

# ---- build -------------------------------------------------------------------
build: jdk
	$(MVN) -q -DskipTests package 2>&1 | $(DECOLOR)
	@echo "built: $$(ls target/glimmer-*.jar) (with linux-x86_64/libglimmer.so)"

# ---- tests -------------------------------------------------------------------
# The native checks run first so that Surefire's summary is the last thing printed;
# when they fail, the Maven suite still runs (the whole picture), and make fails after it.
test:
	@native=0; $(MAKE) test-native || native=$$?; \
	if [ $$native -ne 0 ]; then echo "!! native checks failed (above); running the Maven suite anyway"; fi; \
	$(MAKE) test-java; \
	if [ $$native -ne 0 ]; then echo "!! make test: the Maven suite passed, but the native checks (make test-native) failed"; exit 1; fi

# the C contract against the plain library the README tells C users to link, then real
# interpreters (perl, python3, lua5.4) on the default heap through the preload library
test-native: native
	@echo "== C contract against target/native/libglimmer.so"
	$(CC) $(CONTRACT_CFLAGS) -Isrc/main/asm src/test/c/contract.c \
	    -L$(NATIVE_OUT) -lglimmer -Wl,-rpath,$(NATIVE_OUT) -o $(CONTRACT)
	timeout 300 $(CONTRACT) $(SEED)
	$(MAKE) test-interpreters

test-interpreters:
	@$(MAKE) -s -C benches native
	@echo "== real interpreters on libglimmer-preload.so, their output against glibc's"
	timeout 300 src/test/interp/run.sh $(CURDIR)/benches/out/native/libglimmer-preload.so

test-java: jdk
	$(MVN) test 2>&1 | $(DECOLOR)

# ---- run ---------------------------------------------------------------------
run: bench-quick

run-java: build
	$(JAVA) $(JAVA_OPTS) -cp target/classes dev.glimmer.tool.SideBySide $(ARGS)

# ---- the plain shared library, for C programs ----------------------------------
native:
	$(MAKE) -C src/main/asm OUT=$(NATIVE_OUT) OBJDIR=$(NATIVE_OUT)/obj

# ---- benchmarks: benches/Makefile does the work on the classes `build` made ------
bench: build
	$(MAKE) -C benches bench

bench-quick: build
	$(MAKE) -C benches quick

bench-smoke: build
	$(MAKE) -C benches smoke

clean:
	rm -rf target
