#!/usr/bin/env bash
# The paper's analyses on the reference model, the figures of docs/figures.md: coarse-to-fine generation (Fig. 6),
# shared trajectories (Fig. 7), interpolation (Fig. 8) and progressive lossy compression (Fig. 5). Each command's wall
# time goes to $OUT/times.tsv. Run it alone (one heavy job at a time on a 2-core machine).
#   bash bench/figures/run.sh     (MODEL=models/fashion-mnist OUT=docs/figures PRECISION=bf16 RD_COUNT=64)
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="${MODEL:-models/fashion-mnist}"
OUT="${OUT:-docs/figures}"
PRECISION="${PRECISION:-bf16}"
source bench/cli.sh
mkdir -p "$OUT"
: > "$OUT/times.tsv"
timed() { # timed NAME COMMAND...: runs it and appends its wall time in seconds
  local name="$1" start=$SECONDS; shift
  "$@"
  printf '%s\t%s\n' "$name" "$((SECONDS - start))" >> "$OUT/times.tsv"
}
timed progressive ddpm sample --checkpoint "$MODEL" --sampler ddpm --count 8 --seed 0 --frames 10 --precision "$PRECISION" \
  --progressive "$OUT/chain" --out "$OUT/chain-samples.png"
timed share-from ddpm sample --checkpoint "$MODEL" --sampler ddpm --count 8 --seed 0 --precision "$PRECISION" \
  --share-from 1000,750,500,250,100 --out "$OUT/share-from.png"
timed interpolate ddpm interpolate --checkpoint "$MODEL" --a fashion-mnist:test:0 --b fashion-mnist:test:1 \
  --t 250,500,750,999 --count 11 --seed 0 --precision "$PRECISION" --out "$OUT/interpolate.png"
timed rate-distortion ddpm rate-distortion --checkpoint "$MODEL" --dataset fashion-mnist --split test \
  --count "${RD_COUNT:-64}" --seed 0 --precision "$PRECISION" --out "$OUT/rate-distortion"
echo "Done: $OUT"
