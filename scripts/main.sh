#!/usr/bin/env bash
# The main job: installs what is missing, builds the ddpm tool, trains the small U-Net on Fashion-MNIST for at most
# 10 minutes (resuming runs/main if it exists), then draws a grid of samples and prints where it is.
set -euo pipefail
cd "$(dirname "$0")/.."
TRAIN_MINUTES="${TRAIN_MINUTES:-10}"
RUN="${RUN:-runs/main}"
echo "ddpm main job: set-up and build (about 2 min), training at most ${TRAIN_MINUTES} min, sampling about 1 min; under 20 min in all."
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
ddpm sample --checkpoint "$RUN" --sampler ddim --steps 100 --count 64 --seed 0 --out "$RUN/samples.png"
echo "Sample grid: $(pwd)/$RUN/samples.png"
