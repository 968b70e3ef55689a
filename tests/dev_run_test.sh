#!/usr/bin/env bash
# `./dev run` builds the agent, not the test suite: the kvhost-agent target's
# build plan, from a fresh configure of the source, compiles no test, bench or
# fuzz object and links the agent. (What `./dev run` runs is that target: dev's
# build_agent; the fresh-clone figures are in docs/development.md.)
#   dev_run_test.sh SOURCE_DIR
set -euo pipefail
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake -S "$src" -B "$tmp" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# make -n: what the target would build, nothing compiled (the dry run stops at
# the first link, whose libraries it did not make: every object is listed by then).
cmake --build "$tmp" --target kvhost-agent -- -n >"$tmp/plan" 2>&1 || true
objects=$(grep -Eo '"Building CXX object [^"]+"' "$tmp/plan" | sed 's/"Building CXX object //; s/"$//' | sort -u)
total=$(printf '%s\n' "$objects" | grep -c . || true)
extra=$(printf '%s\n' "$objects" | grep -E '^(tests|bench|fuzz)/' || true)
if [ -n "$extra" ]; then
  echo "FAIL: the kvhost-agent target compiles objects of tests, benches or fuzzers:"
  echo "$extra"
  exit 1
fi
if ! printf '%s\n' "$objects" | grep -qx 'agent/cli/CMakeFiles/kvhost-agent.dir/main.cpp.o'; then
  echo "FAIL: the plan does not build the agent's main"
  exit 1
fi
if [ "$total" -lt 20 ]; then
  echo "FAIL: only $total objects in the plan: not the agent's build"
  exit 1
fi
grep -q 'build_agent$' <(sed -n '/^  run)/,/;;/p' "$src/dev") ||
  { echo "FAIL: ./dev run does not build with build_agent"; exit 1; }
echo "ok: kvhost-agent's plan compiles $total objects, none of tests/, bench/ or fuzz/"
