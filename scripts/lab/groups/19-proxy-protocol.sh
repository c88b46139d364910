# shellcheck shell=bash
# ================================================================ group 19: the PROXY protocol (haproxy)
# Two haproxy 2.6 processes (mode tcp) in the broker namespace. The first, the "load balancer",
# takes the client's MQTT connection and opens its own to the next hop with a PROXY protocol header
# in front (send-proxy: v1, text; send-proxy-v2: v2, binary); the second (bind ... accept-proxy)
# strips the header and relays the MQTT to the main mosquitto (2.0.11 cannot read a PROXY header
# itself). A third frontend sends a v1 header straight to the main mosquitto, which does not expect
# one. Every hop after the client's runs between broker-host addresses, i.e. over the broker
# namespace's loopback: the capture is there (CAP_IF=lo), filtered on the hop that carries the
# header; checksum offload is turned off on that lo first so the frames carry real checksums.
#   10.78.0.64 ppv1.proxy.test    frontend -> 10.78.0.66:1883 send-proxy (source 10.78.0.64)
#   10.78.0.65 ppv2.proxy.test    frontend -> 10.78.0.66:1883 send-proxy-v2 (source 10.78.0.65)
#   10.78.0.66                    second haproxy: bind 10.78.0.66:1883 accept-proxy -> 10.78.0.1:1883
#   10.78.0.67 ppraw.proxy.test   frontend -> 10.78.0.1:1883 (plain mosquitto) send-proxy (source 10.78.0.67)
# tshark's PROXY dissector is heuristic, and by port 1883 is MQTT's: the facts need
# `-o tcp.try_heuristic_first:TRUE` so the header is decoded as PROXY and the rest as MQTT.

g19_haproxy() { # TAG CONFIG-BODY: one haproxy in the foreground (-db), logging to stdout
    local tag=$1 body=$2
    cat >"$WORK/haproxy-$tag.cfg" <<EOF
global
    log stdout format raw local0 info
    maxconn 50
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
$body
EOF
    haproxy -c -q -f "$WORK/haproxy-$tag.cfg" || die "haproxy $tag: bad configuration"
    ip netns exec $BRK timeout 90 haproxy -db -f "$WORK/haproxy-$tag.cfg" >"$WORK/haproxy-$tag.out" 2>&1 &
    BG_PIDS+=("$!")
    G19_PIDS+=("$!")
}

g19_check() { # FILE FILTER WHAT: die unless the display filter matches (with the file's options)
    local f=$1 filter=$2 what=$3 frames
    frames=$(tshark -n -r "$OUT/$f" -o tcp.try_heuristic_first:TRUE -Y "$filter" -T fields -e frame.number 2>/dev/null | tr '\n' ' ')
    [ -n "$frames" ] || die "$f: no $what ($filter)"
    log "$f: $what in frame(s) ${frames% }"
}

group19() {
    want proxy-protocol-v1-healthy.pcap || want proxy-protocol-v2-healthy.pcap ||
        want proxy-protocol-unexpected.pcap || return 0
    command -v haproxy >/dev/null || {
        log "installing haproxy"
        DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq haproxy >/dev/null
    }
    local f hv a i
    hv=$(haproxy -v | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p')
    g10_host 10.78.0.64 ppv1.proxy.test
    g10_host 10.78.0.65 ppv2.proxy.test
    g10_host 10.78.0.66 ppaccept.proxy.test
    g10_host 10.78.0.67 ppraw.proxy.test
    in_brk ethtool -K lo tx off tso off gso off gro off >/dev/null 2>&1 || true
    G19_PIDS=()
    g19_haproxy accept "listen accept
    bind 10.78.0.66:1883 accept-proxy
    server mosquitto 10.78.0.1:1883 source 10.78.0.66"
    g19_haproxy front "listen ppv1
    bind 10.78.0.64:1883
    server next 10.78.0.66:1883 send-proxy source 10.78.0.64
listen ppv2
    bind 10.78.0.65:1883
    server next 10.78.0.66:1883 send-proxy-v2 source 10.78.0.65
listen ppraw
    bind 10.78.0.67:1883
    server mosquitto 10.78.0.1:1883 send-proxy source 10.78.0.67"
    for a in 10.78.0.64 10.78.0.65 10.78.0.66 10.78.0.67; do
        for i in $(seq 50); do
            in_brk ss -Htln "( sport = :1883 )" | grep -q "$a:1883" && break
            sleep 0.1
        done
        in_brk ss -Htln "( sport = :1883 )" | grep -q "$a:1883" ||
            die "haproxy is not listening on $a:1883: $(cat "$WORK"/haproxy-*.out)"
    done

    local v
    for v in 1 2; do
        f=proxy-protocol-v$v-healthy.pcap
        want $f || continue
        local src=10.78.0.6$((3 + v))
        CAP_NS=$BRK CAP_IF=lo CAP_FILTER="tcp and host $src and host 10.78.0.66" cap_start $f
        pub -h ppv$v.proxy.test -i lab-ppv$v -t lab/pp -m "behind a PROXY v$v header" -q 1
        cap_stop
        if [ $v = 1 ]; then
            g19_check $f 'proxy.v1.magic' "PROXY v1 header"
        else
            g19_check $f 'proxy.v2.magic' "PROXY v2 header"
        fi
        g19_check $f 'mqtt.msgtype == 1' "MQTT CONNECT after the header"
        g19_check $f 'mqtt.msgtype == 4' "MQTT PUBACK"
        local kind="send-proxy (v1: one text line)"
        [ $v = 2 ] && kind="send-proxy-v2 (v2: binary)"
        record $f true "" "-o tcp.try_heuristic_first:TRUE" \
            "haproxy $hv (mode tcp) on ppv$v.proxy.test:1883 ($src) with server 10.78.0.66:1883 $kind source $src; a second haproxy on 10.78.0.66:1883 accept-proxy relays to mosquitto 10.78.0.1:1883; mosquitto_pub -h ppv$v.proxy.test -q 1; tcpdump on the broker namespace's lo, filter 'tcp and host $src and host 10.78.0.66'" \
            "the load balancer's hop to the next proxy: a PROXY protocol v$v header (TCP4, client 10.78.0.2, destination $src:1883) then the client's MQTT 3.1.1 session relayed unchanged (CONNECT, CONNACK, PUBLISH QoS 1, PUBACK, DISCONNECT); the TCP endpoints are the proxies', the header names the real client"
    done

    f=proxy-protocol-unexpected.pcap
    if want $f; then
        local before
        before=$(wc -l <"$WORK/mosquitto.log")
        CAP_NS=$BRK CAP_IF=lo CAP_FILTER="tcp and host 10.78.0.67 and host 10.78.0.1" cap_start $f
        pub -h ppraw.proxy.test -i lab-ppraw -t lab/pp -m "a header mosquitto does not expect" -q 1
        cap_stop
        log "$f: client: $(tail -2 "$WORK/clients.log" | tr '\n' ' ')"
        log "$f: mosquitto: $(tail -n +$((before + 1)) "$WORK/mosquitto.log" | grep -v -e 'lab-' | head -5 | tr '\n' ' ')"
        g19_check $f 'proxy.v1.magic' "PROXY v1 header"
        # haproxy (default retries 3) tries the server again 1 s later as long as none of the
        # client's bytes went out on the failed connection: one to four connections, run to run.
        local conns connects
        conns=$(tshark -n -r "$OUT/$f" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields -e frame.number 2>/dev/null | wc -l)
        connects=$(tshark -n -r "$OUT/$f" -o tcp.try_heuristic_first:TRUE -Y 'mqtt.msgtype == 1' -T fields -e frame.number 2>/dev/null | wc -l)
        log "$f: $conns connection(s) from haproxy, $connects with the client's CONNECT behind the header"
        record $f false protocol_mismatch "-o tcp.try_heuristic_first:TRUE" \
            "haproxy $hv (mode tcp) on ppraw.proxy.test:1883 (10.78.0.67) with server 10.78.0.1:1883 send-proxy source 10.78.0.67: the main mosquitto 2.0.11, which does not read PROXY headers; mosquitto_pub -h ppraw.proxy.test -q 1; tcpdump on the broker namespace's lo, filter 'tcp and host 10.78.0.67 and host 10.78.0.1'" \
            "a PROXY v1 header (44 bytes, 'PROXY TCP4 10.78.0.2 10.78.0.67 PORT 1883') sent to a plain mosquitto as soon as haproxy connects: mosquitto reads the 'P' (0x50) as the first byte of an MQTT packet that is not a CONNECT, logs 'Client <unknown> disconnected due to protocol error' and closes with unread bytes, i.e. a RST, without any MQTT answer. haproxy retries the server (1 s apart, default retries 3) while none of the client's bytes have gone out, so the count varies from run to run: here $conns connection(s), $connects of them carrying the client's CONNECT (relayed right behind the header) before the RST; then haproxy closes the client's connection"
    fi
    kill -TERM "${G19_PIDS[@]}" 2>/dev/null || true
    wait "${G19_PIDS[@]}" 2>/dev/null || true
}
