#!/usr/bin/env bash
# Does bf16 training hold fp32's accuracy? Trains the small preset on Fashion-MNIST for 2000 steps three times
# (fp32 with seeds 0 and 1, bf16 with seed 0) and compares the mean loss over steps 1501-2000: the bf16 mean must lie
# inside the range spanned by the two fp32 means. Takes about an hour of an idle 2-core machine; resumable (rerun it).
#
#   bash bench/loss-parity.sh [RUNS_DIR]      # default runs/loss-parity; writes RUNS_DIR/parity.md
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs/loss-parity}
mkdir -p "$runs"
dotnet build -c Release src/Ddpm.Cli -v quiet -nologo >/dev/null
ddpm() { dotnet src/Ddpm.Cli/bin/Release/net10.0/Ddpm.Cli.dll "$@"; }

train() { # name precision seed
  local dir="$runs/$1"
  if [[ -f "$dir/config.json" ]]; then
    ddpm train --out "$dir" --resume
  else
    ddpm train --dataset fashion-mnist --preset small --steps 2000 --batch-size 64 --warmup 1000 \
      --sample-every 0 --checkpoint-every 250 --precision "$2" --seed "$3" --out "$dir"
  fi
}

train fp32-seed0 fp32 0
train fp32-seed1 fp32 1
train bf16-seed0 bf16 0

mean() { awk -F, 'NR > 1 && $1 > 1500 && $1 <= 2000 { s += $2; n++ } END { if (n != 500) exit 1; printf "%.5f", s / n }' "$runs/$1/metrics.csv"; }
a=$(mean fp32-seed0); b=$(mean fp32-seed1); c=$(mean bf16-seed0)
verdict=$(awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN { lo = a < b ? a : b; hi = a < b ? b : a; print (c >= lo && c <= hi) ? "inside" : "outside" }')
{
  echo "| run | mean loss, steps 1501-2000 |"
  echo "|---|---|"
  echo "| fp32, seed 0 | $a |"
  echo "| fp32, seed 1 | $b |"
  echo "| bf16, seed 0 | $c |"
  echo
  echo "bf16 lies $verdict the fp32 spread."
} | tee "$runs/parity.md"
