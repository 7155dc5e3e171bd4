#!/usr/bin/env bash
# Installs lull's Debian dependencies, only those that are missing.
# Idempotent: when everything is present it touches nothing (no apt-get update).
# Usage: scripts/install-deps.sh [--with-bench] [--with-fuzz]
#   --with-bench  (kept for make bench; python3-torch is now always installed: the lull
#                 Python package's tests need it)
#   --with-fuzz   clang 14 with libFuzzer and the sanitizer runtimes (make fuzz)
set -euo pipefail

packages=(
  build-essential cmake make pkg-config
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev hdf5-tools
  libspdlog-dev libfmt-dev libgtest-dev libcli11-dev libtomlplusplus-dev
  nlohmann-json3-dev libxxhash-dev
  python3 python3-h5py python3-numpy python3-matplotlib
  python3-dev pybind11-dev python3-torch python3-mpi4py
  slurm-wlm munge
)
for option in "$@"; do
  case "$option" in
    --with-bench) ;;
    --with-fuzz) packages+=(clang-14 libclang-rt-14-dev libfuzzer-14-dev) ;;
    *) echo "install-deps: unknown option $option (known: --with-bench, --with-fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing missing packages: ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
