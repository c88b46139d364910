#!/usr/bin/env bash
# Benchmark: mqpcap and tshark decode the same capture in one run; prints wall time, MB/s,
# peak memory and the ratio. Not a test: timings vary by machine, so nothing asserts on them.
#
#   scripts/bench.sh [CAPTURE] [RUNS]
#
# With CAPTURE: that file (MQTT decoded on its two busiest ports for tshark).
# Without: two workloads built under target/bench/:
#   plain  the public Plantcube capture (../shared/corpus, MQTT 3.1.1 on port 8884) repeated
#          40 times with shifted timestamps (editcap/mergecap from tshark's package), ~60 MB;
#   tls    a TLS 1.3 MQTT session of ~100 MB made with OpenSSL by keylog-bench-capture.py,
#          decrypted by both tools with its key log (MB/s of TLS application data).
set -euo pipefail
cd "$(dirname "$0")/.."

capture=${1:-}
runs=${2:-3}
command -v tshark >/dev/null || { echo "bench: tshark is not installed (apt-get install tshark)" >&2; exit 2; }
cargo build --release --quiet
mkdir -p target/bench

# best-of-N wall seconds and that run's peak RSS (KB), via /usr/bin/time -v
measure() {
    local best="" rss="" out wall mem
    out=$(mktemp)
    for _ in $(seq "$runs"); do
        /usr/bin/time -v "$@" >/dev/null 2>"$out" || true
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$out")
        mem=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out")
        if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; rss=$mem; fi
    done
    rm -f "$out"
    echo "$best $rss"
}

# compare NAME FILE "MQPCAP ARGS" "TSHARK ARGS"
compare() {
    local name=$1 file=$2 ours_args=$3 tshark_args=$4 ours_s ours_kb tshark_s tshark_kb
    # shellcheck disable=SC2086
    read -r ours_s ours_kb < <(measure target/release/mqpcap analyze --format json $ours_args "$file")
    # tshark doing the comparable job: every frame through TCP reassembly into TLS/MQTT fields.
    # shellcheck disable=SC2086
    read -r tshark_s tshark_kb < <(measure tshark -r "$file" $tshark_args -T fields \
        -e frame.number -e tcp.stream -e mqtt.msgtype -e tls.handshake.type)
    awk -v n="$name" -v b="$(stat -c %s "$file")" -v os="$ours_s" -v ok="$ours_kb" \
        -v ts="$tshark_s" -v tk="$tshark_kb" -v f="$file" 'BEGIN {
        mb = b / 1e6
        printf "%s: %s (%.1f MB)\n", n, f, mb
        printf "  mqpcap: %6.2f s  %8.1f MB/s  peak %7.1f MB\n", os, mb / (os > 0 ? os : 1e-9), ok / 1024
        printf "  tshark: %6.2f s  %8.1f MB/s  peak %7.1f MB\n", ts, mb / (ts > 0 ? ts : 1e-9), tk / 1024
        printf "  ratio:  mqpcap %.1fx faster, %.1fx less memory\n", ts / (os > 0 ? os : 1e-9), tk / (ok > 0 ? ok : 1)
    }'
}

if [ -n "$capture" ]; then
    ports=$(tshark -r "$capture" -c 2000 -T fields -e tcp.dstport 2>/dev/null | sort -n | uniq -c | sort -rn | awk 'NR<=2 {printf "-d tcp.port==%s,mqtt ", $2}')
    compare capture "$capture" "" "$ports"
    exit 0
fi

src=../shared/corpus/plantprism/plantcube_20230617_20230618.pcapng
plain=target/bench/plantprism-x40.pcapng
if [ -f "$src" ] && [ ! -f "$plain" ]; then
    mkdir -p target/bench/parts
    for i in $(seq 0 39); do
        editcap -t $((i * 90000)) "$src" "target/bench/parts/part-$i.pcapng"
    done
    mergecap -a -w "$plain" target/bench/parts/part-*.pcapng
    rm -rf target/bench/parts
fi
if [ -f "$plain" ]; then
    compare plain "$plain" "" "-d tcp.port==8884,mqtt"
else
    echo "plain: skipped ($src is missing)"
fi

tls=target/bench/tls13-mqtt-100mb.pcap
keys=target/bench/tls13-mqtt-100mb.keys
if [ ! -f "$tls" ]; then
    python3 scripts/keylog-bench-capture.py "$tls" "$keys" 1.3 100
fi
compare "tls (decrypted)" "$tls" "--keylog $keys" "-o tls.keylog_file:$keys"
