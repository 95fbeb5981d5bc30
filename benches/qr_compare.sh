#!/usr/bin/env bash
# QR decode-rate comparison on one manifest, in one run, each decoder pinned to one core:
# kuzet's pipeline, a single plain rqrr call (same loader), zbarimg --xml and zxing-cpp.
#
#   benches/qr_compare.sh [CORPUS_DIR]      (default ../shared/corpus/qr/zxing-blackbox)
#
# Needs: apt-get install -y zbar-tools; pip install zxing-cpp pillow.
# The kuzet figures come from the classifier's `qr_eval` bench (the same library calls as
# `kuzet eval qr --corpus DIR [--plain-rqrr]`, without building the whole binary in release).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$(cd "${1:-$here/../shared/corpus/qr/zxing-blackbox}" && pwd)"
cd "$here"
cargo bench -p kuzet-classifier --bench qr_eval --no-run >/dev/null 2>&1
bin="$(cargo bench -p kuzet-classifier --bench qr_eval --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="qr_eval" and m.get("executable"): print(m["executable"])' | tail -1)"
echo "# corpus: $corpus"
echo "# kuzet pipeline"
taskset -c 0 "$bin" "$corpus" 2>/dev/null
echo "# plain rqrr (one call per image)"
taskset -c 0 "$bin" --plain-rqrr "$corpus" 2>/dev/null | grep -v ' attempt '
echo "# zbar (zbarimg --xml) and zxing-cpp (python binding), exact matches"
taskset -c 0 python3 benches/qr_peers.py "$corpus"
