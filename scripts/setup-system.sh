#!/usr/bin/env bash
# Installs the Debian packages that the device simulations and browser tests need.
# Idempotent: when everything is present it only checks and exits.
set -euo pipefail

PACKAGES=(openssh-server openssh-client qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi chromium)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup:system: all packages present (${PACKAGES[*]})"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup:system: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "setup:system: installing ${missing[*]}"
# Wait for other apt/dpkg processes instead of failing on the lock.
APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get "${APT_OPTS[@]}" update -qq
$SUDO apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${missing[@]}"
echo "setup:system: done"
