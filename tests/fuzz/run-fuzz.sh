#!/usr/bin/env bash
# Build the config-parser fuzzer (tests/fuzz/fuzz_config.cpp + spec/*.cpp) with
# clang's libFuzzer, ASan and UBSan, and run it for a bounded time from the
# hand-written seed corpus in tests/fuzz/corpus.
#
#   tests/fuzz/run-fuzz.sh [WORKDIR]        (default: build/fuzz)
#   FUZZ_SECONDS=60  how long to fuzz (libFuzzer -max_total_time)
#   FUZZ_JOBS=1      parallel fuzzing processes (-fork)
#
# The seed corpus is never modified: new inputs go to WORKDIR/corpus. A crash
# leaves WORKDIR/crash-* (reproduce: WORKDIR/fuzz-config FILE) and exits non-zero.
# Exit 77 (skipped) when clang++ or its libFuzzer runtime is missing
# (apt-get install clang).
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd -- "$here/../.." && pwd)
work=${1:-$repo/build/fuzz}
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
cxx=${CLANGXX:-clang++}

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "run-fuzz: $cxx not found (apt-get install clang); skipping" >&2
  exit 77
fi
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
    "$cxx" -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
  echo "run-fuzz: $cxx cannot link -fsanitize=fuzzer (libFuzzer runtime missing); skipping" >&2
  exit 77
fi

mkdir -p "$work/obj" "$work/corpus"
flags=(-std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -I"$repo")
objs=()
for src in "$repo"/spec/*.cpp "$here/fuzz_config.cpp"; do
  obj=$work/obj/$(basename "${src%.cpp}").o
  # -fsanitize=fuzzer only for the target itself; the library gets coverage
  # instrumentation through fuzzer-no-link.
  if [[ $src == */fuzz_config.cpp ]]; then
    f=("${flags[@]}")
  else
    f=("${flags[@]/-fsanitize=fuzzer,address,undefined/-fsanitize=fuzzer-no-link,address,undefined}")
  fi
  if [[ ! -e $obj || $src -nt $obj || -n $(find "$repo/spec" -name '*.hpp' -newer "$obj" -print -quit) ]]; then
    "$cxx" "${f[@]}" -c "$src" -o "$obj"
  fi
  objs+=("$obj")
done
"$cxx" "${flags[@]}" "${objs[@]}" -o "$work/fuzz-config"

cp -n "$here"/corpus/* "$work/corpus/" 2>/dev/null || true
echo "run-fuzz: fuzzing for ${seconds}s with $jobs job(s); corpus $work/corpus"
args=(-max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=25
      -dict="$here/config.dict" -artifact_prefix="$work/" -print_final_stats=1)
if (( jobs > 1 )); then
  args+=(-fork="$jobs" -ignore_crashes=0)
fi
# The first directory receives new inputs; the seed corpus is read only.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
  "$work/fuzz-config" "${args[@]}" "$work/corpus" "$here/corpus"
