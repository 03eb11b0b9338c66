#!/usr/bin/env bash
# Builds (once) a Debian trixie root file system with PyTorch 2.6 (python3-torch) and OpenBLAS, the software of the
# reference figures, so that bench/Ddpm.Bench --pytorch-root DIR can measure PyTorch on this machine in the same run
# as Ddpm. Idempotent; needs root, debootstrap and about 2.5 GB.
#   bash bench/reference/setup-pytorch.sh [DIR]     (default /opt/pytorch-trixie)
set -euo pipefail
root="${1:-/opt/pytorch-trixie}"
if ! command -v debootstrap >/dev/null; then
  apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
fi
if [ ! -x "$root/usr/bin/python3" ]; then
  debootstrap --variant=minbase trixie "$root" http://deb.debian.org/debian
fi
if ! chroot "$root" python3 -c 'import torch' 2>/dev/null; then
  chroot "$root" apt-get update -qq
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch libopenblas0-openmp >/dev/null
fi
if ! mountpoint -q "$root/proc"; then
  mount -t proc proc "$root/proc"
fi
chroot "$root" python3 -c 'import torch; print("PyTorch", torch.__version__, "ready in '"$root"'")'
