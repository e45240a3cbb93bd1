#!/usr/bin/env bash
# Render a review.html in headless Chromium and save a PNG, to look at the page as a person
# would. Usage: scripts/screenshot-review.sh [HTML] [PNG] [WIDTHxHEIGHT] [SCROLL_PX]
#   defaults: reports/review.html  reports/out/review.png  1280x2400  0
# SCROLL_PX > 0 shows the page from that offset (a shifted temporary copy is rendered).
# Exit 0 with the PNG written; 3 when no Chromium is installed (the message says so);
# 1 when Chromium ran but produced no image.
set -euo pipefail
html="${1:-reports/review.html}"
png="${2:-reports/out/review.png}"
size="${3:-1280x2400}"
scroll="${4:-0}"

chrome=""
for c in "${CHROMIUM:-}" chromium chromium-browser google-chrome-stable google-chrome; do
  if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1; then chrome="$(command -v "$c")"; break; fi
done
if [ -z "$chrome" ]; then
  echo "screenshot-review: no Chromium found (install the Debian package: apt-get install -y chromium)" >&2
  exit 3
fi
if [ ! -f "$html" ]; then
  echo "screenshot-review: $html does not exist (run: npm run review)" >&2
  exit 2
fi

mkdir -p "$(dirname "$png")"
abs_html="$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"
abs_png="$(cd "$(dirname "$png")" && pwd)/$(basename "$png")"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
rm -f "$abs_png"
if [ "$scroll" != "0" ]; then
  shifted="$profile/shifted.html"
  sed "s#</head>#<style>body{margin-top:-${scroll}px}</style></head>#" "$abs_html" > "$shifted"
  abs_html="$shifted"
fi
# A network-free render: the page must not need any (it is self-contained).
timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --disable-dev-shm-usage \
  --user-data-dir="$profile" --hide-scrollbars --window-size="${size/x/,}" \
  --screenshot="$abs_png" "file://$abs_html" >/dev/null 2>&1 || true
if [ ! -s "$abs_png" ]; then
  echo "screenshot-review: Chromium produced no image at $abs_png" >&2
  exit 1
fi
echo "$abs_png"
