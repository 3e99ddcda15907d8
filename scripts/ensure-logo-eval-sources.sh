#!/usr/bin/env bash
# What the logo evaluation set (detectors/logo/evalset.py) is built from, on a fresh machine:
# Debian's cairo (cairosvg draws the SVG logos), the Debian wallpaper photographs, Node/npm, and the
# pinned npm logo packages (tools/logo-eval/package-lock.json, `npm ci`). Cheap when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
ldconfig -p 2>/dev/null | grep -q 'libcairo\.so\.2' || missing+=(libcairo2)
[ -d /usr/share/backgrounds/mate/nature ] || missing+=(mate-backgrounds)
[ -f /usr/share/backgrounds/warty-final-ubuntu.png ] || missing+=(lomiri-wallpapers)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (logo evaluation set)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "missing: ${missing[*]} — install them (e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
dir=tools/logo-eval
want=$(sha256sum < "$dir/package-lock.json")
# Re-install only when the lock file changed since the last `npm ci` (or there was none).
if [ "$want" != "$(cat "$dir/node_modules/.cluewatch-lock.sha256" 2>/dev/null)" ]; then
  echo "npm ci in $dir (logo evaluation set sources)"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" > "$dir/node_modules/.cluewatch-lock.sha256"
fi
