#!/usr/bin/env bash
# Benchmark: mqpcap against tshark on the same captures, in one run, alternately (mqpcap, tshark,
# mqpcap, tshark, ...). Prints per input the size, frames, median wall time, MB/s, frames/s and peak
# RSS of each tool, the ratio, and PASS/MISS against the targets. Nothing is asserted: timings
# depend on the machine. How the inputs are made and what is timed: BENCHMARKS.md.
#
#   scripts/bench.sh [OPTIONS] [INPUT|CAPTURE_FILE]...
#
# INPUT: fleet, large-payload, tls-heavy, fleet-1g, syn-flood, tls-decrypt (default: all of them).
# Generated once under target/bench/ by scripts/bench_captures.py and reused.
# CAPTURE_FILE: any pcap/pcapng; tshark decodes MQTT on its two busiest TCP ports (not 8883: TLS).
#
#   --runs N           runs per tool and input (default 3; the median is reported)
#   --regen            rebuild the generated inputs (and re-record large-payload's recording)
#   --no-tshark        time mqpcap only
#   --skip-tshark-big  do not run tshark on fleet-1g (by default it runs once there, not N times:
#                      tshark needs about a minute and several GB for that file)
#   MQPCAP_ARGS="..."  extra arguments for mqpcap analyze (e.g. "--jobs 1")
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3
regen=0
no_tshark=0
skip_tshark_big=0
targets=()
ALL=(fleet large-payload tls-heavy fleet-1g syn-flood tls-decrypt)

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
        --runs) runs=${2:?--runs needs a number}; shift ;;
        --runs=*) runs=${1#--runs=} ;;
        --regen) regen=1 ;;
        --no-tshark) no_tshark=1 ;;
        --skip-tshark-big) skip_tshark_big=1 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "bench: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) targets+=("$1") ;;
    esac
    shift
done
case $runs in ''|*[!0-9]*|0) echo "bench: --runs needs a positive number" >&2; exit 2 ;; esac
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")
for t in "${targets[@]}"; do
    if [[ " ${ALL[*]} " != *" $t "* ]] && [ ! -f "$t" ]; then
        echo "bench: $t is neither an input (${ALL[*]}) nor a capture file" >&2
        exit 2
    fi
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
if [ $no_tshark = 0 ] && ! command -v tshark >/dev/null; then
    echo "bench: tshark is not installed (apt-get install tshark), or pass --no-tshark" >&2
    exit 2
fi
# shellcheck disable=SC2206
extra=(${MQPCAP_ARGS:-})

cargo build --release --quiet
mkdir -p target/bench
B=target/bench
GEN=(python3 scripts/bench_captures.py --out "$B")
[ $regen = 1 ] && GEN+=(--regen)

# ------------------------------------------------------------------ large-payload recording
# Real traffic: mosquitto 2 in one network namespace, mosquitto_sub (QoS 1) and five mosquitto_pub
# -f (4 MiB of random bytes each, QoS 1) in another, joined by a veth pair (MTU 1500, offloads off,
# so real 1514-byte frames with real checksums), recorded by tcpdump on the broker side. Nothing
# leaves the two namespaces, which are deleted afterwards. Needs root, mosquitto, mosquitto-clients,
# tcpdump, iproute2.
REC=$B/large-payload-recording.pcap
REC_NS=(mqbench-cli mqbench-brk)
REC_PIDS=()
REC_DIR=""
rec_cleanup() {
    local p
    for p in "${REC_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${REC_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    REC_PIDS=()
    for p in "${REC_NS[@]}"; do ip netns del "$p" 2>/dev/null || true; done
    [ -n "$REC_DIR" ] && rm -rf "$REC_DIR"
    REC_DIR=""
}
record_large_payload() {
    local tool
    for tool in mosquitto mosquitto_sub mosquitto_pub tcpdump ip; do
        command -v $tool >/dev/null || { echo "bench: cannot record: $tool is missing" >&2; return 1; }
    done
    [ "$(id -u)" = 0 ] || { echo "bench: cannot record: needs root (network namespaces)" >&2; return 1; }
    trap rec_cleanup EXIT
    trap 'rec_cleanup; exit 130' INT TERM
    local rc=0
    record_in_namespaces || rc=1
    rec_cleanup
    trap - EXIT INT TERM
    return $rc
}
record_in_namespaces() {
    local cli=${REC_NS[0]} brk=${REC_NS[1]} w tpid spid i ns ok=1
    REC_DIR=$(mktemp -d)
    w=$REC_DIR
    chmod 755 "$w"
    for ns in $cli $brk; do ip netns del $ns 2>/dev/null || true; done
    ip netns add $cli || return 1
    ip netns add $brk || return 1
    ip link add mqbc0 netns $cli type veth peer name mqbb0 netns $brk || return 1
    ip -n $cli addr add 10.78.0.2/24 dev mqbc0 || return 1
    ip -n $brk addr add 10.78.0.1/24 dev mqbb0 || return 1
    ip netns exec $cli ethtool -K mqbc0 tso off gso off gro off tx off >/dev/null 2>&1 || true
    ip netns exec $brk ethtool -K mqbb0 tso off gso off gro off tx off >/dev/null 2>&1 || true
    for ns in $cli $brk; do ip -n $ns link set lo up; done
    ip -n $cli link set mqbc0 up || return 1
    ip -n $brk link set mqbb0 up || return 1
    head -c $((4 * 1024 * 1024)) /dev/urandom >"$w/payload.bin"
    printf 'listener 1883 10.78.0.1\nallow_anonymous true\n' >"$w/mosquitto.conf"
    chmod 644 "$w"/*
    ip netns exec $brk timeout 120 mosquitto -c "$w/mosquitto.conf" >"$w/broker.log" 2>&1 &
    REC_PIDS+=($!)
    ip netns exec $brk timeout 120 tcpdump -Z root -i mqbb0 -s 262144 -w "$w/rec.pcap" \
        --immediate-mode -U -B 131072 tcp 2>"$w/tcpdump.log" &
    tpid=$!
    REC_PIDS+=($tpid)
    sleep 1
    ip netns exec $cli timeout 60 mosquitto_sub -h 10.78.0.1 -i bench-sub -q 1 -t 'bench/#' -C 5 >/dev/null &
    spid=$!
    REC_PIDS+=($spid)
    sleep 0.5
    for i in 1 2 3 4 5; do
        ip netns exec $cli timeout 60 mosquitto_pub -h 10.78.0.1 -i "bench-pub-$i" -q 1 \
            -t bench/firmware -f "$w/payload.bin" || ok=0
    done
    wait $spid || ok=0
    sleep 0.7
    kill -INT $tpid 2>/dev/null || true
    wait $tpid 2>/dev/null || true
    if [ $ok = 1 ] && grep -q '^0 packets dropped by kernel' "$w/tcpdump.log" && [ -s "$w/rec.pcap" ]; then
        mv "$w/rec.pcap" "$REC"
        echo "bench: recorded $REC ($(du -h "$REC" | cut -f1))" >&2
        return 0
    fi
    echo "bench: recording failed:" >&2
    cat "$w/tcpdump.log" "$w/broker.log" >&2 || true
    return 1
}

# ------------------------------------------------------------------ inputs
prepare() {  # NAME -> path of the input (generated if needed)
    local name=$1
    case $name in
        fleet|tls-heavy|fleet-1g|syn-flood)
            "${GEN[@]}" "$name" >&2 ;;
        large-payload)
            if [ ! -f "$B/large-payload.pcap" ] || [ $regen = 1 ]; then
                if [ ! -f "$REC" ] || [ $regen = 1 ]; then
                    record_large_payload || echo "bench: large-payload falls back to a lab capture" >&2
                fi
                "${GEN[@]}" --regen --recording "$REC" large-payload >&2
            fi ;;
        tls-decrypt)
            if [ ! -f "$B/tls-decrypt.pcap" ] || [ $regen = 1 ]; then
                echo "bench: writing $B/tls-decrypt.pcap (keylog-bench-capture.py) ..." >&2
                python3 scripts/keylog-bench-capture.py "$B/tls-decrypt.pcap" "$B/tls-decrypt.keys" 1.3 100 >&2
            fi ;;
        *) echo "bench: unknown input $name" >&2; return 1 ;;
    esac
    echo "$B/$name.pcap"
}

frames_of() {
    local f=$1
    if [ -f "$f.meta" ]; then sed -n 's/^frames=//p' "$f.meta"
    elif command -v capinfos >/dev/null; then capinfos -c -M "$f" 2>/dev/null | awk -F': *' '/Number of packets/ {print $2}'
    else echo 0; fi
}
conns_of() { [ -f "$1.meta" ] && sed -n 's/^tcp_connections=//p' "$1.meta" || true; }

# ------------------------------------------------------------------ timing
# run_once CMD...: prints "wall_s rss_kib exit". Peak RSS and exit status come from /usr/bin/time -v;
# the wall time too, but at microsecond resolution (EPOCHREALTIME around it; time -v has 10 ms).
run_once() {
    local tf ef wall rss rc t0 t1
    tf=$(mktemp)
    ef=$(mktemp)
    t0=$EPOCHREALTIME
    /usr/bin/time -v -o "$tf" "$@" >/dev/null 2>"$ef" || true
    t1=$EPOCHREALTIME
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf")
    rc=$(awk -F': ' '/Exit status/ {print $2}' "$tf")
    if [ -z "$rc" ]; then rc=$(head -1 "$tf" | grep -o 'signal [0-9]*' || echo '?'); rc=${rc// /}; fi
    if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
        { echo "bench: $1 exited with $rc:"; grep -v '^Running as user' "$ef" | head -5; } >&2
    fi
    rm -f "$tf" "$ef"
    echo "${wall:-0} ${rss:-0} ${rc:-?}"
}

# warm FILE: reads the input once, untimed, so every run starts from a warm page cache (after a
# tshark run of 450-880 MiB the next mqpcap run was sometimes twice as slow, its input evicted).
warm() { cat "$1" >/dev/null; }

median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print ""; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
maxof() { tr ' ' '\n' | awk 'NF' | sort -g | tail -1; }

summary_rows=()
worst_rss=0
worst_rss_input=""
fleet_ratio=""
large_mbps=""

bench_one() {  # NAME FILE MQPCAP-EXTRA TSHARK-ARGS...
    local name=$1 file=$2 ours_extra=$3
    shift 3
    local tshark_args=("$@") bytes frames conns mb i w m rc
    local o_walls="" o_rss="" t_walls="" t_rss="" o_rcs="" t_rcs="" t_runs=$runs
    bytes=$(stat -c %s "$file")
    frames=$(frames_of "$file")
    conns=$(conns_of "$file")
    mb=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1e6}')
    [ $no_tshark = 1 ] && t_runs=0
    if [ "$name" = fleet-1g ] && [ $t_runs -gt 1 ]; then t_runs=1; fi
    if [ "$name" = fleet-1g ] && [ $skip_tshark_big = 1 ]; then t_runs=0; fi
    echo
    echo "== $name: $file  $mb MB, $frames frames${conns:+, $conns TCP connections}"
    # shellcheck disable=SC2086
    for i in $(seq "$runs"); do
        warm "$file"
        read -r w m rc < <(run_once target/release/mqpcap analyze --format json "${extra[@]}" $ours_extra "$file")
        o_walls+=" $w"; o_rss+=" $m"; o_rcs+=" $rc"
        if [ "$i" -le $t_runs ]; then
            warm "$file"
            read -r w m rc < <(run_once tshark -r "$file" "${tshark_args[@]}")
            t_walls+=" $w"; t_rss+=" $m"; t_rcs+=" $rc"
        fi
    done
    local os ok ts tk
    os=$(echo "$o_walls" | median)
    ok=$(echo "$o_rss" | maxof)
    ts=$(echo "$t_walls" | median)
    tk=$(echo "$t_rss" | maxof)
    awk -v mb="$mb" -v fr="$frames" -v os="$os" -v ok="$ok" -v ts="$ts" -v tk="$tk" \
        -v ow="$o_walls" -v tw="$t_walls" -v orc="$o_rcs" -v trc="$t_rcs" 'BEGIN {
        d = (os > 0 ? os : 0.001)
        printf "  mqpcap  median %8.3f s  %8.1f MB/s  %11.0f frames/s  peak RSS %7.1f MiB   (runs:%s; exit:%s)\n", os, mb / d, fr / d, ok / 1024, ow, orc
        if (ts != "") {
            e = (ts > 0 ? ts : 0.001)
            printf "  tshark  median %8.3f s  %8.1f MB/s  %11.0f frames/s  peak RSS %7.1f MiB   (runs:%s; exit:%s)\n", ts, mb / e, fr / e, tk / 1024, tw, trc
            printf "  tshark/mqpcap time: %.1fx   tshark/mqpcap peak RSS: %.1fx\n", ts / d, tk / (ok > 0 ? ok : 1)
        } else {
            printf "  tshark  not run\n"
        }
    }'
    local row
    row=$(awk -v n="$name" -v mb="$mb" -v fr="$frames" -v os="$os" -v ok="$ok" -v ts="$ts" -v tk="$tk" 'BEGIN {
        d = (os > 0 ? os : 0.001)
        if (ts != "") { tcol = sprintf("%.3f s, %.0f MiB", ts, tk / 1024); rcol = sprintf("%.1fx", ts / d) }
        else { tcol = "not run"; rcol = "-" }
        printf "| %s | %s | %s | %.3f s | %.1f | %.0f | %.1f | %s | %s |", n, mb, fr, os, mb / d, fr / d, ok / 1024, tcol, rcol
    }')
    summary_rows+=("$row")
    if awk -v a="$ok" -v b="$worst_rss" 'BEGIN {exit !(a > b)}'; then worst_rss=$ok; worst_rss_input=$name; fi
    if [ "$name" = fleet ] && [ -n "$ts" ]; then fleet_ratio=$(awk -v t="$ts" -v o="$os" 'BEGIN {printf "%.1f", t / (o > 0 ? o : 0.001)}'); fi
    if [ "$name" = large-payload ]; then large_mbps=$(awk -v mb="$mb" -v o="$os" 'BEGIN {printf "%.1f", mb / (o > 0 ? o : 0.001)}'); fi
}

echo "bench: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(free -g | awk '/Mem:/ {print $2}') GB RAM"
echo "bench: $(target/release/mqpcap --version 2>/dev/null || echo mqpcap), git $(git rev-parse --short HEAD 2>/dev/null || echo '?'); $( [ $no_tshark = 1 ] && echo 'tshark not run' || tshark --version 2>/dev/null | head -1)"
echo "bench: $runs run(s) per tool, alternating; median wall time, peak RSS = max over runs${MQPCAP_ARGS:+; MQPCAP_ARGS=$MQPCAP_ARGS}"

TSHARK_JOB=(-q -z conv,tcp -Y "mqtt.conack.val != 0")
for t in "${targets[@]}"; do
    if [ -f "$t" ] && [[ " ${ALL[*]} " != *" $t "* ]]; then
        # An arbitrary capture: MQTT decode-as on its two busiest TCP ports (8883 is TLS, left alone).
        ports=$(tshark -r "$t" -c 2000 -T fields -e tcp.dstport 2>/dev/null | grep -v '^$' | grep -vx 8883 \
            | sort -n | uniq -c | sort -rn | awk 'NR<=2 {print $2}' || true)
        dargs=()
        for p in $ports; do dargs+=(-d "tcp.port==$p,mqtt"); done
        bench_one "$(basename "$t")" "$t" "" "${dargs[@]}" "${TSHARK_JOB[@]}"
        continue
    fi
    file=$(prepare "$t") || exit 2
    if [ "$t" = tls-decrypt ]; then
        bench_one "$t" "$file" "--keylog $B/tls-decrypt.keys" -d tcp.port==1883,mqtt \
            -o "tls.keylog_file:$B/tls-decrypt.keys" "${TSHARK_JOB[@]}"
    else
        bench_one "$t" "$file" "" -d tcp.port==1883,mqtt "${TSHARK_JOB[@]}"
    fi
done

echo
echo "| input | MB | frames | mqpcap median | mqpcap MB/s | mqpcap frames/s | mqpcap peak RSS MiB | tshark | tshark/mqpcap |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${summary_rows[@]}"
echo
echo "targets (printed, never asserted):"
if [ -n "$fleet_ratio" ]; then
    awk -v r="$fleet_ratio" 'BEGIN {printf "  %s  fleet: tshark/mqpcap time %.1fx (target >= 50x)\n", (r >= 50 ? "PASS" : "MISS"), r}'
else
    echo "  n/a   fleet vs tshark not measured in this run"
fi
if [ -n "$large_mbps" ]; then
    awk -v m="$large_mbps" 'BEGIN {printf "  %s  large-payload: mqpcap %.1f MB/s (target >= 1000 MB/s, 1 GB/s)\n", (m >= 1000 ? "PASS" : "MISS"), m}'
else
    echo "  n/a   large-payload not measured in this run"
fi
awk -v k="$worst_rss" -v n="$worst_rss_input" 'BEGIN {
    printf "  %s  mqpcap peak RSS: max %.1f MiB (%s) over the inputs run (target <= 128 MiB on every input)\n", (k / 1024 <= 128 ? "PASS" : "MISS"), k / 1024, n }'
