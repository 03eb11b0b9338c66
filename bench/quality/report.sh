#!/usr/bin/env bash
# Tables and charts of the figures bench/quality/run.sh drew: writes docs/quality/*.md and *.png with ddpm compare,
# from the eval.json files run.sh keeps in docs/quality/evals.
#   bash bench/quality/report.sh [EVALS]     (default docs/quality/evals)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-${EVALS:-docs/quality/evals}}"
DOCS=docs/quality
mkdir -p "$DOCS"
source bench/cli.sh
have() { for d in "$@"; do if [ -e "$OUT/$d/eval.json" ]; then printf '%s\n' "$OUT/$d"; fi; done; }
lines=(--line "$OUT/floor-1000"); [ -e "$OUT/ddpm-1000/eval.json" ] && lines+=(--line "$OUT/ddpm-1000")

# Samplers against model calls (docs/sampling.md).
mapfile -t runs < <(for k in 5 10 20 50 100 250; do have "ddim-$k" "dpmpp2m-$k" "dpmpp3m-$k" "unipc-$k" "ddpm-$k" "sdedpmpp2m-$k"; done)
ddpm compare "${runs[@]}" "${lines[@]}" --markdown "$DOCS/samplers-fid.md" --plot "$DOCS/samplers-fid.png" \
  --title "Reference model: FID against model calls (N = 1000, bf16)"
for metric in precision recall; do
  ddpm compare "${runs[@]}" "${lines[@]}" --metric "$metric" --markdown "$DOCS/samplers-$metric.md" >/dev/null
done

# x̂0 handling of DDIM (docs/evaluation.md).
mapfile -t clips < <(for k in 5 10 20 50 100 250; do have "ddim-$k" "ddim-$k-none" "ddim-$k-clip-eps" "ddim-$k-dynamic"; done)
ddpm compare "${clips[@]}" "${lines[@]}" --markdown "$DOCS/clipping-fid.md" --plot "$DOCS/clipping-fid.png" \
  --title "DDIM: x̂0 handling against steps (N = 1000, bf16)"
echo "Wrote $DOCS"
