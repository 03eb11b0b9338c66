#!/usr/bin/env bash
# Installs what Ddpm needs on a fresh Debian machine, idempotently:
#  - libstdc++ with GLIBCXX_3.4.32 (TorchSharp 0.107's native library needs it; Debian 12 ships 3.4.30),
#    taken from Debian trixie pinned at priority 100 so nothing else is upgraded;
#  - the Fashion-MNIST data set (Debian package dataset-fashion-mnist), unless DDPM_SKIP_DATA=1.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

have_glibcxx() {
  local lib
  for lib in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/aarch64-linux-gnu/libstdc++.so.6; do
    [ -e "$lib" ] && grep -q GLIBCXX_3.4.32 "$lib" && return 0
  done
  return 1
}

apt_updated=0
apt_update() {
  if [ "$apt_updated" -eq 0 ]; then
    $SUDO apt-get update -qq
    apt_updated=1
  fi
}

if ! have_glibcxx; then
  echo "setup: installing libstdc++6 from Debian trixie (GLIBCXX_3.4.32 is missing)"
  if [ ! -e /etc/apt/sources.list.d/trixie.sources ]; then
    $SUDO tee /etc/apt/sources.list.d/trixie.sources >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  if [ ! -e /etc/apt/preferences.d/trixie-pin ]; then
    $SUDO tee /etc/apt/preferences.d/trixie-pin >/dev/null <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
  fi
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t trixie libstdc++6 >/dev/null
  have_glibcxx || { echo "setup: libstdc++6 from trixie did not provide GLIBCXX_3.4.32" >&2; exit 1; }
fi

if [ "${DDPM_SKIP_DATA:-0}" != "1" ] && [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "setup: installing dataset-fashion-mnist"
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi
