#!/usr/bin/env bash
# html-screenshots.sh: renders the HTML report of a TLS failure and of a reconnect storm (lab
# captures) and takes a screenshot of each in headless Chromium, into docs/. Look at them after
# a change to the HTML report.
#
#   scripts/html-screenshots.sh      # needs chromium (apt-get install chromium)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
command -v chromium >/dev/null || { echo "chromium is not installed" >&2; exit 1; }
cargo build --release --quiet
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
shoot() { # CAPTURE NAME HEIGHT
    target/release/mqpcap analyze --format html "captures/$1" >"$WORK/$2.html" || true
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$WORK/profile-$2" --window-size="1280,$3" \
        --screenshot="$ROOT/docs/$2.png" "file://$WORK/$2.html" >/dev/null 2>&1
    echo "docs/$2.png"
}
shoot tls12-unknown-ca.pcap report-tls-failure 1500
shoot reconnect-storm.pcap report-storm 1800
