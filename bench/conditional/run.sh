#!/usr/bin/env bash
# The measurements of docs/conditional.md: a class-conditional model with classifier-free guidance, inpainting with
# RePaint against replacement, SDEdit, and SR3 super-resolution, all on Fashion-MNIST. Resumable (training resumes from
# its last checkpoint, ddpm eval keeps the images it drew, finished steps are skipped); run it alone, one heavy job at a
# time on a 2-core machine. Each command's wall time goes to $OUT/times.tsv.
#   bash bench/conditional/run.sh [GROUP...]   groups: classes guidance inpaint sdedit sr (default: all, in that order)
#   OUT=runs/conditional PRECISION=bf16 CLASS_STEPS=6800 SR_STEPS=4000 BATCH=64 N=2000 INPAINT_N=500
# The models train as the reference model did (small preset, batch 64, Adam 2e-4, 1000 warm-up steps, 6800 steps), so
# the class-conditional model's figures compare with it at the same budget.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-runs/conditional}"
PRECISION="${PRECISION:-bf16}"
CLASS_STEPS="${CLASS_STEPS:-6800}"
SR_STEPS="${SR_STEPS:-4000}"
BATCH="${BATCH:-64}"
N="${N:-2000}"
INPAINT_N="${INPAINT_N:-500}"
source bench/cli.sh
mkdir -p "$OUT"
timed() { # timed NAME COMMAND...: runs it unless NAME is done, and appends its wall time in seconds
  local name="$1" start=$SECONDS; shift
  if grep -q "^$name	" "$OUT/times.tsv" 2>/dev/null; then echo "$name: done"; return; fi
  "$@"
  printf '%s\t%s\n' "$name" "$((SECONDS - start))" >> "$OUT/times.tsv"
}
train() { # train RUN STEPS OPTIONS...: a new run or its resumption
  local run="$1" steps="$2"; shift 2
  if [ -e "$run/config.json" ]; then ddpm train --out "$run" --resume --steps "$steps" --precision "$PRECISION"
  else ddpm train --dataset fashion-mnist --preset small --batch-size "$BATCH" --steps "$steps" --precision "$PRECISION" --sample-every 1000 --checkpoint-every 250 --seed 0 --out "$run" "$@"; fi
}
ddim=(--sampler ddim --steps 100 --clip clip-eps --count "$N" --seed 0 --precision "$PRECISION")

groups=("$@"); [ ${#groups[@]} -eq 0 ] && groups=(classes guidance inpaint sdedit sr)
for group in "${groups[@]}"; do
  case "$group" in
    classes) # the class-conditional model, the reference model's recipe and length, published as models/fashion-mnist-classes
      timed train-classes train "$OUT/classes" "$CLASS_STEPS" --class-cond --cond-drop 0.1
      timed export-classes ddpm export "$OUT/classes" --out models/fashion-mnist-classes ;;
    guidance) # FID and the share classified as asked, classes in turn, at guidance 0, 1, 2 and 4; the real-data floor at N.
      # Each finished evaluation's eval.json is kept in docs/conditional/evals (commit it); the table and plot read those.
      evals=docs/conditional/evals
      keep() { mkdir -p "$evals/$1" && cp "$OUT/$1/eval.json" "$evals/$1/eval.json"; }
      timed floor ddpm eval --dataset fashion-mnist --split test --count "$N" --out "$OUT/floor"; keep floor
      for w in 0 1 2 4; do timed "guidance-$w" ddpm eval --checkpoint models/fashion-mnist-classes "${ddim[@]}" --guidance "$w" --out "$OUT/guidance-$w"; keep "guidance-$w"; done
      timed reference ddpm eval --checkpoint models/fashion-mnist "${ddim[@]}" --out "$OUT/reference"; keep reference
      ddpm compare "$evals"/guidance-{0,1,2,4} --against guidance --line "$evals/floor" --line "$evals/reference" \
        --markdown docs/conditional/guidance-fid.md --plot docs/conditional/guidance-fid.png --title "Class-conditional model: FID against guidance (DDIM-100, N = $N)"
      ddpm compare "$evals"/guidance-{0,1,2,4} --against guidance --metric class-accuracy \
        --markdown docs/conditional/guidance-accuracy.md --plot docs/conditional/guidance-accuracy.png --title "Samples classified as their class (N = $N)" ;;
    inpaint) # the centre (14×14) or the left half masked on the first INPAINT_N test images: RePaint against replacement
      last=$((INPAINT_N - 1))
      timed "sources-$INPAINT_N" ddpm eval --dataset fashion-mnist --split test --count "$INPAINT_N" --reference test --out "$OUT/sources-$INPAINT_N"
      for mask in centre:7,7,14,14 half:0,0,14,28; do
        name="${mask%%:*}" box="${mask#*:}"
        for method in repaint:5 replace:1; do
          m="${method%%:*}" r="${method#*:}"
          timed "inpaint-$name-$m" ddpm inpaint --checkpoint models/fashion-mnist --image "fashion-mnist:test:0-$last" --mask-box "$box" \
            --sampler ddpm --steps 100 --jump-length 5 --resample "$r" --precision "$PRECISION" --seed 0 \
            --out "$OUT/inpaint-$name-$m.png" --out-dir "$OUT/inpaint-$name-$m" --metrics "$OUT/inpaint-$name-$m.json"
          timed "inpaint-$name-$m-fid" ddpm eval --images "$OUT/inpaint-$name-$m" --reference test --out "$OUT/inpaint-$name-$m-eval"
        done
      done ;;
    sdedit) # SDEdit of 16 test images at three strengths, for the picture
      for s in 0.25 0.5 0.75; do
        timed "sdedit-$s" ddpm img2img --checkpoint models/fashion-mnist --image fashion-mnist:test:0-15 --strength "$s" --precision "$PRECISION" \
          --out "$OUT/sdedit-$s.png" --metrics "$OUT/sdedit-$s.json"
      done ;;
    sr) # SR3 ×4 (7×7 → 28×28) trained on the training split, measured on the first INPAINT_N test images against bicubic
      timed train-sr train "$OUT/sr4" "$SR_STEPS" --task super-resolution --scale 4
      timed upscale ddpm upscale --checkpoint "$OUT/sr4" --image "fashion-mnist:test:0-$((INPAINT_N - 1))" --precision "$PRECISION" --seed 0 \
        --out "$OUT/upscale.png" --out-dir "$OUT/upscale" --metrics "$OUT/upscale.json" ;;
    *) echo "unknown group $group (classes guidance inpaint sdedit sr)" >&2; exit 2 ;;
  esac
done
echo "Done: $OUT"
