#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time and keeps what it finds.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET ...]     (default 120 s, all targets)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). libFuzzer needs nightly compiler flags; on the
# stable toolchain RUSTC_BOOTSTRAP=1 allows them. Targets are built without a sanitizer (kuzet is
# safe Rust; what fuzzing looks for here is panics, failed invariants, hangs and memory blow-ups)
# but with debug assertions, so integer overflow is a finding too.
#
# Seeds come from ../shared/ when it is there (pages, QR photos) and from fuzz/seeds/; the
# working corpus stays in fuzz/corpus/ (not committed). A crash, timeout or out-of-memory input is
# copied to fuzz/regressions/<target>/, which tests/it/fuzz_regressions.rs replays on stable Rust
# in every test run: fix the bug, keep the file.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-120}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(html text rules robots qr url)
shared=../../shared/corpus
export RUSTC_BOOTSTRAP=1

seed() { # target, files...
  local dir=corpus/$1
  shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp -n "$f" "$dir/$(sha1sum "$f" | cut -c1-16)" || true; done
}
seed html seeds/html/* ../demo/site/*/*.html "$shared"/pages-dev/pages/*.html \
  $(find "$shared"/telegram-dev -name '*.html' 2>/dev/null)
seed text seeds/text/* ../classifier/rules/*.toml
seed rules seeds/rules/* ../classifier/rules/*.toml
seed robots seeds/robots/*
# every 8th photo of the zxing set (small ones first): mutations of real photos reach deeper.
seed qr seeds/qr/* $(find "$shared"/qr/zxing-blackbox -name '*.png' -size -60k 2>/dev/null | sort | awk 'NR % 8 == 0')
seed url seeds/url/*

cargo fuzz build --sanitizer none --debug-assertions 2>&1 | tail -n 3 || true
summary=()
for t in "${targets[@]}"; do
  # Findings of earlier runs are already in regressions/: count only this run's.
  rm -rf "artifacts/$t"
  mkdir -p "artifacts/$t" "regressions/$t"
  echo "== $t: ${secs}s"
  set +e
  cargo fuzz run --sanitizer none --debug-assertions "$t" "corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
    -print_final_stats=1 >"artifacts/$t.log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "artifacts/$t.log" | grep -o '[0-9]*$' || echo "?")
  found=0
  for a in artifacts/"$t"/crash-* artifacts/"$t"/timeout-* artifacts/"$t"/oom-* artifacts/"$t"/slow-unit-*; do
    [ -f "$a" ] || continue
    cp -n "$a" "regressions/$t/$(basename "$a")"
    found=$((found + 1))
  done
  summary+=("$t: exit $rc, $execs runs in ${secs}s, $(ls "corpus/$t" | wc -l) corpus inputs, $found findings")
done
printf '%s\n' "${summary[@]}"
