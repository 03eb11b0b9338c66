#!/usr/bin/env bash
# The main job: installs what is missing, builds the ddpm tool, trains the small U-Net on Fashion-MNIST for at most
# 10 minutes (resuming runs/main if it exists), draws a grid of samples, then scores this run and the published reference
# model (models/fashion-mnist) with ddpm eval at a small N beside the real-data floor at the same N.
set -euo pipefail
cd "$(dirname "$0")/.."
TRAIN_MINUTES="${TRAIN_MINUTES:-10}"
RUN="${RUN:-runs/main}"
echo "ddpm main job: set-up and build (about 2 min), training at most ${TRAIN_MINUTES} min, sampling and scoring about 3 min; under 15 min in all."
bash scripts/setup.sh
dotnet build src/Ddpm.Cli -c Release -v q -nologo
ddpm() { dotnet src/Ddpm.Cli/bin/Release/net10.0/Ddpm.Cli.dll "$@"; }
if [ -e "$RUN/config.json" ]; then
  ddpm train --out "$RUN" --resume --time-limit "$TRAIN_MINUTES"
else
  # A 10-minute demo: batch 64 and a 200-step warm-up reach the full learning rate early enough to show shapes.
  ddpm train --dataset fashion-mnist --preset small --out "$RUN" --steps 100000 --batch-size 64 --warmup 200 \
    --sample-every 0 --checkpoint-every 250 --time-limit "$TRAIN_MINUTES"
fi
# The grid and the scores use ddpm sample's default sampler, chosen by measurement (docs/sampling.md).
ddpm sample --checkpoint "$RUN" --count 64 --seed 0 --out "$RUN/samples.png"
echo "Sample grid: $(pwd)/$RUN/samples.png"

# Sample quality at a small N: FID is biased by N, so both models are quoted beside the real-data floor (test images
# against the training statistics) at the same N. The training split's features are cached in ~/.cache/ddpm.
EVAL_N="${EVAL_N:-256}"
# The reference is the whole 60,000-image training split (its features are cached after the first run, about 20 s).
rm -rf "$RUN/eval-run" "$RUN/eval-reference" "$RUN/eval-floor"
ddpm eval --checkpoint "$RUN" --count "$EVAL_N" --seed 0 --out "$RUN/eval-run"
ddpm eval --checkpoint models/fashion-mnist --count "$EVAL_N" --seed 0 --out "$RUN/eval-reference"
ddpm eval --dataset fashion-mnist --split test --count "$EVAL_N" --out "$RUN/eval-floor"
metric() { sed -n "s/^ *\"$2\": \([-0-9.eE+]*\).*/\1/p" "$1/eval.json" | head -n 1; }
echo
echo "Sample quality at N = $EVAL_N against the 60,000 Fashion-MNIST training images (the default sampler):"
printf '%-34s %10s %10s %10s %10s\n' "images" "FID" "KID" "precision" "recall"
for row in "this run:$RUN/eval-run" "reference model (models/fashion-mnist):$RUN/eval-reference" "real test images (the floor):$RUN/eval-floor"; do
  name="${row%%:*}"; dir="${row#*:}"
  printf '%-34s %10.3f %10.5f %10.3f %10.3f\n' "$name" "$(metric "$dir" fid)" "$(metric "$dir" kid_mean)" "$(metric "$dir" precision)" "$(metric "$dir" recall)"
done
echo "Reports: $RUN/eval-run/report.md, $RUN/eval-reference/report.md, $RUN/eval-floor/report.md"
