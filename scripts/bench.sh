#!/usr/bin/env bash
# Benchmark: mqpcap and tshark decode the same capture in one run; prints wall time, MB/s,
# peak memory and the ratio. Not a test: timings vary by machine, so nothing asserts on them.
#
#   scripts/bench.sh [CAPTURE] [RUNS]
#
# Without CAPTURE it builds target/bench/plantprism-x40.pcapng: the public Plantcube capture
# (../shared/corpus, MQTT 3.1.1 on port 8884) repeated 40 times with shifted timestamps
# (editcap/mergecap from tshark's package), about 60 MB.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${2:-3}
capture=${1:-}
if [ -z "$capture" ]; then
    src=../shared/corpus/plantprism/plantcube_20230617_20230618.pcapng
    [ -f "$src" ] || { echo "bench: no CAPTURE given and $src is missing" >&2; exit 2; }
    capture=target/bench/plantprism-x40.pcapng
    if [ ! -f "$capture" ]; then
        mkdir -p target/bench/parts
        for i in $(seq 0 39); do
            editcap -t $((i * 90000)) "$src" "target/bench/parts/part-$i.pcapng"
        done
        mergecap -a -w "$capture" target/bench/parts/part-*.pcapng
        rm -rf target/bench/parts
    fi
fi
command -v tshark >/dev/null || { echo "bench: tshark is not installed (apt-get install tshark)" >&2; exit 2; }
cargo build --release --quiet

bytes=$(stat -c %s "$capture")
# best-of-N wall seconds and the peak RSS (KB) of that run, via /usr/bin/time -v
measure() {
    local best="" rss="" out
    out=$(mktemp)
    for _ in $(seq "$runs"); do
        /usr/bin/time -v "$@" >/dev/null 2>"$out" || true
        local wall mem
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$out")
        mem=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out")
        if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; rss=$mem; fi
    done
    rm -f "$out"
    echo "$best $rss"
}

read -r ours_s ours_kb < <(measure target/release/mqpcap analyze --format json "$capture")
# tshark doing the comparable job: dissect every frame through TCP reassembly into TLS/MQTT
# fields, with MQTT decoded on any port the capture uses.
ports=$(tshark -r "$capture" -c 2000 -T fields -e tcp.dstport 2>/dev/null | sort -n | uniq -c | sort -rn | awk 'NR<=2 {printf "-d tcp.port==%s,mqtt ", $2}')
read -r tshark_s tshark_kb < <(measure tshark -r "$capture" $ports -T fields -e frame.number -e tcp.stream -e mqtt.msgtype -e tls.handshake.type)

awk -v b="$bytes" -v os="$ours_s" -v ok="$ours_kb" -v ts="$tshark_s" -v tk="$tshark_kb" -v f="$capture" 'BEGIN {
    mb = b / 1e6
    printf "capture: %s (%.1f MB)\n", f, mb
    printf "mqpcap: %6.2f s  %8.1f MB/s  peak %7.1f MB\n", os, mb / (os > 0 ? os : 1e-9), ok / 1024
    printf "tshark: %6.2f s  %8.1f MB/s  peak %7.1f MB\n", ts, mb / (ts > 0 ? ts : 1e-9), tk / 1024
    printf "ratio:  mqpcap is %.1fx faster, uses %.1fx less memory\n", ts / (os > 0 ? os : 1e-9), tk / (ok > 0 ? ok : 1)
}'
