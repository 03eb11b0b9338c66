#!/usr/bin/env bash
# A better reference model (the evaluation issue, item 5): continue models/fashion-mnist's run from its committed mirror
# (models/fashion-mnist-run), scoring EMA samples every EVERY steps (the training-time sampler, N samples against the
# training split) into eval.csv and fid.png, until FID has not improved for PATIENCE evaluations in a row or MAX steps.
# After every EVERY steps the latest checkpoint is mirrored back into models/fashion-mnist-run (commit it: run folders
# do not survive a sitting) and, when FID improved, the EMA weights are exported to $RUN/best. Resumable; run it alone.
#   bash bench/reference-model/run.sh          (RUN=runs/fashion-mnist-reference EVERY=5000 MAX=80000 N=2000 PATIENCE=3 PRECISION=bf16)
#   bash bench/reference-model/run.sh publish  score $RUN/best at N = 5000 beside the floor and copy it to models/fashion-mnist
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN="${RUN:-runs/fashion-mnist-reference}"
MIRROR=models/fashion-mnist-run
EVERY="${EVERY:-5000}" MAX="${MAX:-80000}" N="${N:-2000}" PATIENCE="${PATIENCE:-3}" PRECISION="${PRECISION:-bf16}"
source bench/cli.sh

step_of() { sed -n 's/^ *"step": *\([0-9]*\).*/\1/p' "$1/checkpoints/$(cat "$1/checkpoints/latest")/state.json"; }

# Evaluations since the best one (0 when the last is the best), from eval.csv (step,fid,...).
since_best() {
  [ -e "$RUN/eval.csv" ] || { echo 0; return; }
  awk -F, 'NR > 1 { n++; if (n == 1 || $2 < best) { best = $2; at = n } } END { print n - at }' "$RUN/eval.csv"
}

mirror() {
  local latest; latest=$(cat "$RUN/checkpoints/latest")
  rm -rf "$MIRROR.tmp" && mkdir -p "$MIRROR.tmp/checkpoints"
  cp -r "$RUN/checkpoints/$latest" "$MIRROR.tmp/checkpoints/"
  printf '%s' "$latest" > "$MIRROR.tmp/checkpoints/latest"
  for f in config.json metrics.csv eval.csv loss.png fid.png; do [ -e "$RUN/$f" ] && cp "$RUN/$f" "$MIRROR.tmp/"; done
  rm -rf "$MIRROR" && mv "$MIRROR.tmp" "$MIRROR"
}

if [ "${1:-}" = publish ]; then
  ddpm eval --dataset fashion-mnist --split test --count 5000 --out "$RUN/floor-5000"
  ddpm eval --checkpoint "$RUN/best" --count 5000 --seed 0 --precision "$PRECISION" --out "$RUN/best-5000"
  rm -rf models/fashion-mnist.tmp && cp -r "$RUN/best" models/fashion-mnist.tmp && rm -rf models/fashion-mnist && mv models/fashion-mnist.tmp models/fashion-mnist
  echo "Published $RUN/best to models/fashion-mnist; figures in $RUN/best-5000 and $RUN/floor-5000"
  exit 0
fi

[ -e "$RUN/config.json" ] || { mkdir -p "$(dirname "$RUN")"; cp -r "$MIRROR" "$RUN"; }
# The starting point, scored as the evaluations during training are (the training-time sampler, N and the run's seed).
[ -e "$RUN/start/eval.json" ] || ddpm eval --checkpoint "$RUN" --sampler sde-dpm-solver++ --steps "$(sed -n 's/^ *"sample_steps": *\([0-9]*\).*/\1/p' "$RUN/config.json")" \
  --count "$N" --seed "$(sed -n 's/^ *"seed": *\([0-9]*\).*/\1/p' "$RUN/config.json" | head -n 1)" --precision "$PRECISION" --out "$RUN/start"
while :; do
  step=$(step_of "$RUN")
  if [ "$step" -ge "$MAX" ]; then echo "Reached $MAX steps."; break; fi
  if [ "$(since_best)" -ge "$PATIENCE" ]; then echo "FID has not improved for $PATIENCE evaluations."; break; fi
  next=$(( (step / EVERY + 1) * EVERY ))
  ddpm train --out "$RUN" --resume --steps "$next" --precision "$PRECISION" --eval-every "$EVERY" --eval-count "$N" --sample-every "$EVERY"
  mirror
  if [ "$(since_best)" -eq 0 ]; then rm -rf "$RUN/best" && ddpm export "$RUN" --out "$RUN/best"; fi
  tail -n 1 "$RUN/eval.csv"
done
echo "Best: $(awk -F, 'NR > 1 && (NR == 2 || $2 < b) { b = $2; s = $1 } END { print "step " s ", FID " b }' "$RUN/eval.csv")"
