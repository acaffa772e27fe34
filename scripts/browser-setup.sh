#!/usr/bin/env bash
# What the browser tests and the page bench need beyond the Python packages: Debian's
# headless Chromium (never a browser download) and wrk. As root it installs what is
# missing with apt-get; otherwise it says the one command to run and the browser tests
# skip with the same message.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser-setup: installing ${missing[*]} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" fonts-dejavu-core >/dev/null
else
  echo "browser-setup: missing ${missing[*]}; install with:"
  echo "    sudo apt-get install -y ${missing[*]}"
  echo "browser-setup: until then the browser tests skip and the page bench cannot run"
fi
