#!/usr/bin/env bash
# The sample-quality figures of docs/evaluation.md and docs/sampling.md: the real-data floor and its spread, the
# reference model under every sampler and step count, and the x̂0-handling study. Resumable: each evaluation is one
# folder under $OUT, and an interrupted one keeps its images (ddpm eval continues). A finished one copies its eval.json
# to docs/quality/evals/NAME/ (commit it): that is what report.sh draws from and what marks it done, so the figures
# survive the loss of the run folders.
# Pause it with kill -STOP and resume with kill -CONT (one heavy job at a time on a 2-core machine).
#   bash bench/quality/run.sh [GROUP...]     groups: floor grid ddpm1000 clip fp32 spread grid100 sde (default: all, in that order)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-runs/quality}"
N="${N:-1000}"
MODEL="${MODEL:-models/fashion-mnist}"
PRECISION="${PRECISION:-bf16}"
EVALS="${EVALS:-docs/quality/evals}"
source bench/cli.sh
mkdir -p "$OUT"
log="$OUT/times.tsv"
run() { # run NAME ARGS...: one evaluation, skipped when done; its wall time appended to times.tsv
  local name="$1"; shift
  [ -e "$EVALS/$name/eval.json" ] && return 0
  local start=$SECONDS
  ddpm eval "$@" --out "$OUT/$name"
  printf '%s\t%s\n' "$name" "$((SECONDS - start))" >> "$log"
  mkdir -p "$EVALS/$name" && cp "$OUT/$name/eval.json" "$EVALS/$name/eval.json"
}
sample() { local name="$1"; shift; run "$name" --checkpoint "$MODEL" --count "$N" --seed 0 --precision "$PRECISION" "$@"; }

groups=("$@"); [ ${#groups[@]} -eq 0 ] && groups=(floor grid ddpm1000 clip fp32 spread grid100 sde)
for group in "${groups[@]}"; do
  case "$group" in
    floor)
      for n in 1000 5000 10000; do run "floor-$n" --dataset fashion-mnist --split test --count "$n"; done
      for i in 1 2 3 4 5 6 7 8 9; do run "floor-1000-at-$((i * 1000))" --dataset fashion-mnist --split test --count 1000 --offset $((i * 1000)); done ;;
    grid)
      for k in 5 10 20 50; do
        sample "ddim-$k" --sampler ddim --steps "$k"
        sample "dpmpp2m-$k" --sampler dpm-solver++ --order 2 --steps "$k"
        sample "dpmpp3m-$k" --sampler dpm-solver++ --order 3 --steps "$k"
        sample "unipc-$k" --sampler unipc --order 2 --steps "$k"
        sample "ddpm-$k" --sampler ddpm --steps "$k"
      done ;;
    grid100) # the solvers have converged by 50 calls (100 shows it); DDIM and respaced DDPM are still moving at 250
      sample dpmpp2m-100 --sampler dpm-solver++ --order 2 --steps 100
      sample dpmpp3m-100 --sampler dpm-solver++ --order 3 --steps 100
      sample unipc-100 --sampler unipc --order 2 --steps 100
      for k in 100 250; do
        sample "ddim-$k" --sampler ddim --steps "$k"
        sample "ddpm-$k" --sampler ddpm --steps "$k"
      done ;;
    clip)
      for k in ${CLIP_STEPS:-10 20 100}; do
        for c in none clip-eps dynamic; do sample "ddim-$k-$c" --sampler ddim --steps "$k" --clip "$c"; done
      done ;;
    ddpm1000) sample ddpm-1000 --sampler ddpm --steps 1000 ;;
    fp32) PRECISION=fp32 sample sdedpmpp2m-20-fp32 --sampler sde-dpm-solver++ --order 2 --steps 20 ;;
    spread) # the run-to-run spread of a model's FID at N: the default setting under more seeds (seed 0 is in the sde group)
      for seed in 1 2 3; do run "sdedpmpp2m-20-seed$seed" --checkpoint "$MODEL" --count "$N" --seed "$seed" --precision "$PRECISION" --sampler sde-dpm-solver++ --order 2 --steps 20; done ;;
    sde) # the reverse SDE solved by SDE-DPM-Solver++(2M): the stochastic sampler that reaches DDPM-1000 fastest
      for k in ${SDE_STEPS:-5 10 20 50 100}; do sample "sdedpmpp2m-$k" --sampler sde-dpm-solver++ --order 2 --steps "$k"; done ;;
    *) echo "unknown group $group (floor grid ddpm1000 clip fp32 spread grid100 sde)" >&2; exit 2 ;;
  esac
done
echo "Done: $OUT"
