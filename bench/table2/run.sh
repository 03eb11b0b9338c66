#!/usr/bin/env bash
# The paper's Table 2 in miniature on Fashion-MNIST: every objective trained with one budget (small preset, same steps,
# batch, warm-up and seed, bf16), then its test NLL (ddpm nll, N = 256) and FID (ddpm eval, DDIM-100 with clip-eps,
# N = 2000, against the training split). Run it alone: one heavy job at a time on a 2-core machine.
#
#   bash bench/table2/run.sh [ROW...]   rows are listed in `rows` below, plus floor (the real-data FID at N = 2000) and
#                                       reference (models/fashion-mnist); default: all, the paper's own rows first
#   bash bench/table2/run.sh report     only rewrite docs/table2.md from docs/table2/*.json
#
# Resumable at two levels. A finished row leaves docs/table2/ROW.json (its figures) and ROW.png (its samples), which are
# committed; rows with a results file are skipped, so the table survives the loss of the run folders. An unfinished
# row continues from its run folder (RUNS, default runs/table2): training from its last checkpoint, the bound and the
# sampling from their finished batches. Pause it with kill -STOP and continue with kill -CONT.
#   Settings: STEPS=2000 BATCH=64 WARMUP=200 LR=2e-4 SEED=0 PRECISION=bf16 NLL_COUNT=256 FID_COUNT=2000 RUNS=runs/table2
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS="${STEPS:-2000}" BATCH="${BATCH:-64}" WARMUP="${WARMUP:-200}" LR="${LR:-2e-4}" SEED="${SEED:-0}"
PRECISION="${PRECISION:-bf16}" NLL_COUNT="${NLL_COUNT:-256}" FID_COUNT="${FID_COUNT:-2000}"
RUNS="${RUNS:-runs/table2}"
RESULTS="${RESULTS:-docs/table2}"
mkdir -p "$RESULTS" "$RUNS"

# name | ddpm train options | Table 2's wording | the paper's CIFAR-10 FID | the paper's NLL
rows=(
  "mu-kl-learned|--mean-type mu --loss kl --variance learned|μ̃ prediction, L, learned diagonal Σ|23.69|–"
  "mu-kl-fixed|--mean-type mu --loss kl --variance fixed-large|μ̃ prediction, L, fixed isotropic Σ|13.22|–"
  "mu-mse|--mean-type mu --loss simple --variance fixed-large|μ̃ prediction, ‖μ̃ − μ̃θ‖²|unstable|–"
  "eps-kl-learned|--mean-type eps --loss kl --variance learned|ε prediction, L, learned diagonal Σ|unstable|–"
  "eps-kl-fixed|--mean-type eps --loss kl --variance fixed-large|ε prediction, L, fixed isotropic Σ|13.51|≤ 3.70"
  "eps-simple|--mean-type eps --loss simple --variance fixed-large|ε prediction, ‖ε̃ − εθ‖² (L_simple)|3.17|≤ 3.75"
  "hybrid-learned-range|--mean-type eps --loss hybrid --variance learned-range|ε prediction, L_hybrid, learned-range Σ (Nichol & Dhariwal)|–|–"
)

reference_row="reference||reference model (models/fashion-mnist, L_simple, 6,800 steps)|–|–"

field() { # field FILE KEY: a scalar of a flat JSON file
  sed -n "s/^ *\"$2\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$1" | head -n 1
}

sampling=(--sampler ddim --steps 100 --clip clip-eps --count "$FID_COUNT" --seed "$SEED" --precision "$PRECISION")

# Scores a model (NLL and FID) into its run folder; prints "seconds_nll seconds_fid".
measure() {
  local checkpoint="$1" dir="$2" start
  start=$SECONDS
  ddpm nll --checkpoint "$checkpoint" --dataset fashion-mnist --split test --count "$NLL_COUNT" --seed "$SEED" \
    --precision "$PRECISION" --out "$dir/nll" >&2
  local nll_seconds=$((SECONDS - start))
  start=$SECONDS
  ddpm eval --checkpoint "$checkpoint" "${sampling[@]}" --out "$dir/eval" >&2
  echo "$nll_seconds $((SECONDS - start))"
}

# Writes the figures of a scored model: NAME DIR TRAIN_SECONDS FINAL_LOSS NLL_SECONDS FID_SECONDS [STEPS].
write_result() {
  local name="$1" dir="$2" nll="$2/nll/nll-images.csv" eval="$2/eval/eval.json"
  local stats
  stats=$(awk -F, 'NR > 1 { n++; p += $2; d += $3; l += $4; s += $5; ss += $5 * $5 }
    END { m = s / n; printf "%.6f %.6f %.3e %.6f %.6f", m, sqrt((ss / n - m * m) / (n - 1)), p / n, d / n, l / n }' "$nll")
  read -r mean stderr prior diffusion decoder <<< "$stats"
  cat > "$RESULTS/$name.json.tmp" <<EOF
{
  "row": "$name",
  "status": "finished",
  "steps": ${7:-$STEPS},
  "final_loss": $4,
  "nll_bits_per_dim": $mean,
  "nll_standard_error": $stderr,
  "nll_prior": $prior,
  "nll_diffusion": $diffusion,
  "nll_decoder": $decoder,
  "nll_count": $NLL_COUNT,
  "fid": $(field "$eval" fid),
  "precision": $(field "$eval" precision),
  "recall": $(field "$eval" recall),
  "fid_count": $FID_COUNT,
  "train_seconds": $3,
  "nll_seconds": $5,
  "fid_seconds": $6
}
EOF
  mv "$RESULTS/$name.json.tmp" "$RESULTS/$name.json"
  cp "$dir/eval/samples.png" "$RESULTS/$name.png"
}

train_row() {
  local name="$1" options="$2" dir="$RUNS/$1" log="$RUNS/$1/train.log"
  mkdir -p "$dir"
  local resume=()
  [ -e "$dir/config.json" ] && resume=(--resume)
  # shellcheck disable=SC2086 # the row's options are words
  if ! ddpm train --out "$dir" "${resume[@]}" --dataset fashion-mnist --preset small --steps "$STEPS" --batch-size "$BATCH" \
      --warmup "$WARMUP" --lr "$LR" --seed "$SEED" --precision "$PRECISION" --sample-every 0 --checkpoint-every 250 \
      $options 2> >(tee -a "$log" >&2); then
    if grep -q "The loss became" "$log"; then
      local message; message=$(grep -o "The loss became [^;]*" "$log" | tail -n 1)
      printf '{\n  "row": "%s",\n  "status": "diverged",\n  "steps": %s,\n  "message": "%s"\n}\n' "$name" "$STEPS" "$message" \
        > "$RESULTS/$name.json"
      echo "$name diverged: $message" >&2
      return 1
    fi
    echo "$name: training failed (see $log)" >&2
    exit 1
  fi
  awk -F, 'NR > 1 { t = $6 } END { print t }' "$dir/metrics.csv" > "$dir/train-seconds"
  return 0
}

row() {
  local spec name options
  for spec in "${rows[@]}"; do
    IFS='|' read -r name options _ _ _ <<< "$spec"
    [ "$name" = "$1" ] || continue
    if [ -e "$RESULTS/$name.json" ]; then echo "$name: done ($RESULTS/$name.json)"; return; fi
    echo "== $name: ddpm train $options"
    train_row "$name" "$options" || return 0
    local loss times
    loss=$(awk -F, 'NR > 1 { v[NR] = $2; n = NR } END { for (i = n - 99; i <= n; i++) s += v[i]; printf "%.6f", s / 100 }' "$RUNS/$name/metrics.csv")
    times=$(measure "$RUNS/$name" "$RUNS/$name")
    # shellcheck disable=SC2086
    write_result "$name" "$RUNS/$name" "$(cat "$RUNS/$name/train-seconds")" "$loss" $times
    echo "$name: $(cat "$RESULTS/$name.json" | tr -d '\n ')"
    return
  done
  echo "unknown row $1" >&2; exit 2
}

floor() {
  [ -e "$RESULTS/floor.json" ] && { echo "floor: done"; return; }
  ddpm eval --dataset fashion-mnist --split test --count "$FID_COUNT" --out "$RUNS/floor"
  printf '{\n  "row": "floor",\n  "fid": %s,\n  "fid_count": %s\n}\n' "$(field "$RUNS/floor/eval.json" fid)" "$FID_COUNT" > "$RESULTS/floor.json"
}

reference() {
  [ -e "$RESULTS/reference.json" ] && { echo "reference: done"; return; }
  local times
  times=$(measure models/fashion-mnist "$RUNS/reference")
  # shellcheck disable=SC2086
  write_result reference "$RUNS/reference" null null $times 6800
}

# each_row FUNCTION: calls FUNCTION for every row and the reference, with name, options, label, paper_fid, paper_nll and
# json (the row's results file) set.
each_row() {
  local spec name options label paper_fid paper_nll json
  for spec in "${rows[@]}" "$reference_row"; do
    IFS='|' read -r name options label paper_fid paper_nll <<< "$spec"
    json="$RESULTS/$name.json"
    "$1"
  done
}

# The main table's line of a row: its figures, "not run yet" or "diverged".
results_row() {
  local shown="\`$options\`"; [ -z "$options" ] && shown="–"
  if [ ! -e "$json" ]; then
    echo "| $label | $shown | not run yet | | | | $paper_fid | $paper_nll |"
  elif [ "$(field "$json" status)" = diverged ]; then
    echo "| $label | $shown | **diverged**: $(field "$json" message) | | | | $paper_fid | $paper_nll |"
  else
    local train="–" loss="–" seconds
    seconds=$(field "$json" train_seconds); [ "$seconds" != null ] && train=$(awk -v s="$seconds" 'BEGIN { printf "%.1f", s / 60 }')
    [ "$(field "$json" final_loss)" != null ] && loss=$(printf '%.4f' "$(field "$json" final_loss)")
    printf '| %s | %s | %.2f ± %.2f | %.2f | %s | %s | %s | %s |\n' "$label" "$shown" "$(field "$json" nll_bits_per_dim)" \
      "$(field "$json" nll_standard_error)" "$(field "$json" fid)" "$loss" "$train" "$paper_fid" "$paper_nll"
  fi
}

# The bound's parts, precision and recall of a finished row.
parts_row() {
  [ -e "$json" ] && [ "$(field "$json" status)" = finished ] || return 0
  printf '| %s | %s | %.4f | %.4f | %.3f | %.3f |\n' "$label" "$(field "$json" nll_prior)" "$(field "$json" nll_diffusion)" \
    "$(field "$json" nll_decoder)" "$(field "$json" precision)" "$(field "$json" recall)"
}

# A row's sample grid, when it has one.
samples_row() {
  [ -e "$RESULTS/$name.png" ] || return 0
  printf '%s\n\n![%s](table2/%s.png)\n\n' "**$label**" "$name" "$name"
}

report() {
  local out="${REPORT:-docs/table2.md}"
  local floor_fid="–"; [ -e "$RESULTS/floor.json" ] && floor_fid=$(printf '%.2f' "$(field "$RESULTS/floor.json" fid)")
  {
    echo "# Table 2 in miniature"
    echo
    echo "Every objective of the paper's Table 2 trained on Fashion-MNIST with one budget: the \`small\` preset, $STEPS steps"
    echo "of batch $BATCH, Adam $LR with $WARMUP warm-up steps, seed $SEED, $PRECISION. NLL: \`ddpm nll\`, the full bound on the"
    echo "first $NLL_COUNT test images (± standard error). FID: \`ddpm eval\`, $FID_COUNT DDIM-100 samples (clip-eps) against"
    echo "the 60,000 training images, features of \`models/fashion-mnist-classifier\`; the real-data floor at this N is"
    echo "**$floor_fid**. The paper's figures are CIFAR-10's (FID at 50,000 samples, NLL on the test set): compare rankings, not values."
    echo
    echo "| objective | \`ddpm train\` options | NLL (bits/dim) | FID | final loss | train (min) | paper FID | paper NLL |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
    each_row results_row
    echo
    echo "Final loss: the mean of the last 100 steps' training loss, in each objective's own units (kl: bits/dim;"
    echo "simple: mean squared error of the network's target; hybrid: the MSE plus λ·T times the bound term)."
    echo
    echo "DDIM uses only the mean a model predicts, so the FID column compares the means the objectives train (a learned"
    echo "variance acts on it through training alone); the NLL uses each model's own variance. Rows marked diverged stopped"
    echo "with a non-finite loss (\`ddpm train\` keeps the last checkpoint and exits with one line)."
    echo
    echo "| objective | prior L_T | diffusion Σ L_t-1 | decoder L_0 | precision | recall |"
    echo "|---|---:|---:|---:|---:|---:|"
    each_row parts_row
    echo
    echo "## Samples (DDIM-100, clip-eps, seed $SEED)"
    echo
    each_row samples_row
    echo "## Reproduce"
    echo
    echo '```bash'
    echo "bash bench/table2/run.sh             # resumable; docs/table2/ROW.json per finished row; about 40 min per row alone"
    echo "bash bench/table2/run.sh report      # this page from the committed results"
    echo '```'
  } > "$out.tmp"
  mv "$out.tmp" "$out"
  echo "Wrote $out"
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(floor reference eps-simple eps-kl-fixed hybrid-learned-range mu-kl-fixed mu-mse mu-kl-learned eps-kl-learned)
if [ "${targets[*]}" != report ]; then source bench/cli.sh; fi
for target in "${targets[@]}"; do
  case "$target" in
    report) ;;
    floor) floor ;;
    reference) reference ;;
    *) row "$target" ;;
  esac
  report
done
