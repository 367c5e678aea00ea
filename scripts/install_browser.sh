#!/usr/bin/env bash
# Install headless Chromium from Debian's packages for the browser test (tests/test_airflow_ui.py).
# Playwright drives it through executable_path=/usr/bin/chromium; no browser build is ever downloaded
# (`playwright install` is never run). Does nothing when /usr/bin/chromium is already there.
# Usage: scripts/install_browser.sh   (as root, or with sudo on PATH)
set -euo pipefail
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install_browser.sh: need root or sudo to apt-get install chromium" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
