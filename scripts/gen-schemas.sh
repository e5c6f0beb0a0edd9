#!/usr/bin/env bash
# Regenerates schemas/generated/ from schemas/*.fbs with Debian's flatc (2.0.8
# works with the flatbuffers 25.9 runtime). The output is checked in, so only
# run this after editing a schema. flatc 2.0.8 writes extensionless relative
# imports; Node ESM (and tsc's NodeNext resolution) need the `.js` suffix, so
# it is added here.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v flatc >/dev/null || { echo "flatc not found: apt-get install flatbuffers-compiler" >&2; exit 1; }
out=schemas/generated
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flatc --ts -o "$tmp" schemas/*.fbs
find "$tmp" -name '*.ts' -print0 | xargs -0 sed -i -E "s#(from '\.{1,2}/[^']*)';#\1.js';#"
rm -rf "$out"
mkdir -p "$out"
cp -r "$tmp"/. "$out"/
echo "generated $(find "$out" -name '*.ts' | wc -l) files in $out"
