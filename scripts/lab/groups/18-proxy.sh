# shellcheck shell=bash
# ================================================================ group 18: MQTT through forward proxies
# Real proxies on broker-host addresses, each a "host" of its own, between the client and the main
# broker: tinyproxy 1.11 (HTTP CONNECT, port 3128, which tshark decodes as HTTP) and dante 1.4
# (danted, SOCKS5, port 1080, which tshark decodes as SOCKS). The capture is the default one, `tcp`
# on mqb0: it holds the client <-> proxy connection only (the proxy's own connection to the broker
# runs over the broker namespace's loopback), i.e. the CONNECT / SOCKS exchange and then the
# tunnelled TLS or MQTT.
#   10.78.0.60 proxy.test         tinyproxy, Allow 10.78.0.0/24, ConnectPort 8883
#   10.78.0.61 strict.proxy.test  tinyproxy, ConnectPort 443 only: CONNECT to 8883 refused (403)
#   10.78.0.62 socks.proxy.test   danted, socks pass
#   10.78.0.63 blocked.proxy.test danted, socks block to port 1883 (reply 2, not allowed by ruleset)
# The proxies resolve broker.test themselves (the client sends the name: CONNECT broker.test:8883,
# SOCKS5 ATYP 3), so the broker namespace gets a hosts file while the group runs (removed after).
PYSOCKS_VERSION=1.7.1

g18_deps() {
    local need=()
    command -v tinyproxy >/dev/null || need+=(tinyproxy-bin)
    command -v danted >/dev/null || need+=(dante-server)
    if [ ${#need[@]} -gt 0 ]; then
        log "installing ${need[*]}"
        DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq "${need[@]}" >/dev/null
    fi
    if [ "$("$PY" -c 'import socks; print(socks.__version__)' 2>/dev/null)" != "$PYSOCKS_VERSION" ]; then
        log "installing PySocks==$PYSOCKS_VERSION"
        timeout 300 "$PY" -m pip install -q "PySocks==$PYSOCKS_VERSION"
    fi
}

# g18_brk_hosts: names the proxies in the broker namespace resolve (ip netns exec bind-mounts
# /etc/netns/NS/hosts over /etc/hosts for the processes it starts).
g18_brk_hosts() {
    mkdir -p "/etc/netns/$BRK"
    { echo "127.0.0.1 localhost"; echo "$BROKER_HOSTS"; } >"/etc/netns/$BRK/hosts"
}

# g18_tinyproxy ADDR TAG CONNECTPORT: one tinyproxy in the foreground (-d) on ADDR:3128.
g18_tinyproxy() {
    local addr=$1 tag=$2 cport=$3
    cat >"$WORK/tinyproxy-$tag.conf" <<EOF
Port 3128
Listen $addr
Bind $addr
Timeout 30
LogFile "$WORK/tinyproxy-$tag.log"
LogLevel Info
MaxClients 10
Allow 10.78.0.0/24
ConnectPort $cport
DisableViaHeader Yes
EOF
    ip netns exec $BRK timeout 60 tinyproxy -d -c "$WORK/tinyproxy-$tag.conf" >"$WORK/tinyproxy-$tag.out" 2>&1 &
    BG_PIDS+=("$!")
    G18_PIDS+=("$!")
    wait_file "$WORK/tinyproxy-$tag.log" "Accepting connections" 5 ||
        die "tinyproxy $tag did not start: $(cat "$WORK/tinyproxy-$tag.out" "$WORK/tinyproxy-$tag.log" 2>/dev/null)"
}

# dante's rules: one keyword per line (a rule on one line is a syntax error).
G18_SOCKS_PASS="socks pass {
    from: 0.0.0.0/0 to: 0.0.0.0/0
    command: connect
    log: connect disconnect error
}"

# g18_danted ADDR TAG RULES: one danted (foreground, one process) on ADDR:1080.
g18_danted() {
    local addr=$1 tag=$2 rules=$3
    cat >"$WORK/danted-$tag.conf" <<EOF
logoutput: $WORK/danted-$tag.log
debug: 0
internal: $addr port = 1080
external: $addr
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {
    from: 10.78.0.0/24 to: 0.0.0.0/0
    log: connect disconnect error
}
$rules
EOF
    ip netns exec $BRK timeout 60 danted -f "$WORK/danted-$tag.conf" -N 1 >"$WORK/danted-$tag.out" 2>&1 &
    BG_PIDS+=("$!")
    G18_PIDS+=("$!")
    local i
    for i in $(seq 50); do
        in_brk ss -Htln "( sport = :1080 )" | grep -q "$addr:1080" && return 0
        sleep 0.1
    done
    die "danted $tag did not start: $(cat "$WORK/danted-$tag.out" "$WORK/danted-$tag.log" 2>/dev/null)"
}

# g18_check FILE FILTER WHAT [tshark options...]: die unless the display filter matches; logs the
# frame numbers.
g18_check() {
    local f=$1 filter=$2 what=$3 frames
    shift 3
    frames=$(cd "$OUT" && tshark -n -r "$f" "$@" -Y "$filter" -T fields -e frame.number 2>/dev/null | tr '\n' ' ')
    [ -n "$frames" ] || die "$f: no $what ($filter)"
    log "$f: $what in frame(s) ${frames% }"
}

group18() {
    want proxy-connect-tls-healthy.pcap || want proxy-connect-refused.pcap || want socks5-mqtt-healthy.pcap ||
        want socks5-refused.pcap || want socks4-mqtt-healthy.pcap || return 0
    g18_deps
    g18_brk_hosts
    G18_PIDS=() # the proxies (timeout's pid: it passes the TERM on), stopped at the end
    local f pahov socksv tpv dv
    pahov=$("$PY" -c 'import paho.mqtt; print(paho.mqtt.__version__)')
    socksv=$("$PY" -c 'import socks; print(socks.__version__)')
    tpv=$(tinyproxy -v 2>&1 | awk '{print $2}')
    dv=$(danted -v 2>&1 | sed -n 's/^Dante v\([0-9.]*\).*/\1/p')
    local pc=(in_cli timeout 20 "$PY" "$LAB/proxy_client.py")

    f=proxy-connect-tls-healthy.pcap
    if want $f; then
        g10_host 10.78.0.60 proxy.test
        g18_tinyproxy 10.78.0.60 ok 8883
        local keys="keys/${f%.pcap}.keys"
        rm -f "$OUT/$keys"
        cap_start $f
        "${pc[@]}" --proxy-type http --proxy-host proxy.test --proxy-port 3128 --host broker.test --port 8883 \
            --cafile "$PKI/root.pem" --keylog "$OUT/$keys" --id lab-proxy-connect --publish lab/proxy "through an HTTP proxy" 1 \
            >"$WORK/$f.client" 2>&1 || true
        cap_stop
        log "$f client: $(tail -1 "$WORK/$f.client")"
        g18_check $f 'http.request.method == "CONNECT"' "HTTP CONNECT request"
        g18_check $f 'http.response.code == 200' "HTTP 200 answer"
        g18_check $f 'tls.handshake.type == 1 && tls.handshake.extensions_server_name == "broker.test"' "ClientHello (SNI broker.test) in the tunnel"
        [ -s "$OUT/$keys" ] || die "no key log for $f"
        g18_check $f 'mqtt.msgtype == 3' "MQTT PUBLISH (decrypted) in the tunnel" -o "tls.keylog_file:$keys"
        record $f true "" "-o tls.keylog_file:$keys" \
            "tinyproxy $tpv on proxy.test:3128 (10.78.0.60; Allow 10.78.0.0/24, ConnectPort 8883); scripts/lab/proxy_client.py (paho-mqtt $pahov, proxy_set(proxy_type=socks.HTTP) through PySocks $socksv) --host broker.test --port 8883 --cafile root.pem --keylog -q 1" \
            "HTTP CONNECT broker.test:8883 to tinyproxy, 'HTTP/1.0 200 Connection established' (Proxy-agent: tinyproxy/1.11.1), then a TLS 1.3 MQTT session (CONNECT, PUBLISH QoS 1, DISCONNECT) inside the tunnel, readable with the key file keys/proxy-connect-tls-healthy.keys; the capture shows the client <-> proxy connection only"
    fi

    f=proxy-connect-refused.pcap
    if want $f; then
        g10_host 10.78.0.61 strict.proxy.test
        g18_tinyproxy 10.78.0.61 strict 443
        cap_start $f
        "${pc[@]}" --proxy-type http --proxy-host strict.proxy.test --proxy-port 3128 --host broker.test \
            --port 8883 --cafile "$PKI/root.pem" --id lab-proxy-refused --publish lab/proxy x 1 \
            >"$WORK/$f.client" 2>&1 || true
        cap_stop
        log "$f client: $(tail -1 "$WORK/$f.client")"
        g18_check $f 'http.request.method == "CONNECT"' "HTTP CONNECT request"
        # The 403's HTML body arrives after the client (PySocks read the status line) has closed: the
        # client's kernel resets it and the proxy never sends its FIN, so tshark's HTTP reassembly
        # of the body (no Content-Length, Connection: close) never completes: check the header alone.
        g18_check $f 'http.response.code == 403' "HTTP 403 answer" -o http.desegment_body:FALSE
        record $f false proxy_refused "" \
            "tinyproxy $tpv on strict.proxy.test:3128 (10.78.0.61; ConnectPort 443 only); scripts/lab/proxy_client.py (paho-mqtt $pahov, PySocks $socksv, HTTP proxy) --host broker.test --port 8883 --cafile root.pem" \
            "HTTP CONNECT broker.test:8883 refused by the proxy: 'HTTP/1.1 403 Access violation' (status and headers in one segment, the HTML body in the next; Connection: close, no Content-Length), then the connection ends (the client, done with the status line, resets); no TLS ever starts"
    fi

    f=socks5-mqtt-healthy.pcap
    if want $f; then
        g10_host 10.78.0.62 socks.proxy.test
        g18_danted 10.78.0.62 ok "$G18_SOCKS_PASS"
        cap_start $f
        in_cli timeout 10 mosquitto_pub --proxy socks5h://socks.proxy.test:1080 -h broker.test -p 1883 \
            -i lab-socks5 -t lab/socks -m "through a SOCKS5 proxy" -q 1 >"$WORK/$f.client" 2>&1 || true
        cap_stop
        log "$f client: $(tail -1 "$WORK/$f.client" 2>/dev/null)"
        g18_check $f 'socks.version == 5 && socks.results == 0' "SOCKS5 reply succeeded"
        g18_check $f 'mqtt.msgtype == 1' "MQTT CONNECT in the tunnel"
        record $f true "" "" \
            "dante $dv (danted) on socks.proxy.test:1080 (10.78.0.62; socksmethod none, socks pass); mosquitto_pub --proxy socks5h://socks.proxy.test:1080 -h broker.test -p 1883 -q 1" \
            "SOCKS5 (no authentication) CONNECT to the name broker.test port 1883, reply succeeded, then a plain MQTT 3.1.1 session (CONNECT, CONNACK, PUBLISH QoS 1, PUBACK, DISCONNECT) inside; the capture shows the client <-> proxy connection only"
    fi

    f=socks5-refused.pcap
    if want $f; then
        g10_host 10.78.0.63 blocked.proxy.test
        g18_danted 10.78.0.63 blocked "socks block {
    from: 0.0.0.0/0 to: 0.0.0.0/0 port = 1883
    log: connect error
}
$G18_SOCKS_PASS"
        cap_start $f
        in_cli timeout 10 mosquitto_pub --proxy socks5h://blocked.proxy.test:1080 -h broker.test -p 1883 \
            -i lab-socks5-blocked -t lab/socks -m x -q 1 >"$WORK/$f.client" 2>&1 || true
        cap_stop
        log "$f client: $(tr '\n' ' ' <"$WORK/$f.client")"
        g18_check $f 'socks.version == 5 && socks.results == 2' "SOCKS5 reply 2 (not allowed by ruleset)"
        record $f false proxy_refused "" \
            "dante $dv (danted) on blocked.proxy.test:1080 (10.78.0.63; socks block to port 1883 before a socks pass); mosquitto_pub --proxy socks5h://blocked.proxy.test:1080 -h broker.test -p 1883" \
            "SOCKS5 CONNECT to the name broker.test port 1883 refused by the proxy's ruleset: reply 2 (connection not allowed by ruleset), and the client resets the connection at once (mosquitto_pub: 'Authorisation failed'); no MQTT is sent"
    fi
    # SOCKS4 (IPv4 address, no name: PySocks resolves broker.test itself with proxy_rdns=False) through
    # the same permissive danted.
    f=socks4-mqtt-healthy.pcap
    if want $f; then
        g10_host 10.78.0.62 socks.proxy.test
        in_brk ss -Htln "( sport = :1080 )" | grep -q "10.78.0.62:1080" ||
            g18_danted 10.78.0.62 ok "$G18_SOCKS_PASS"
        cap_start $f
        "${pc[@]}" --proxy-type socks4 --proxy-host socks.proxy.test --proxy-port 1080 --no-rdns --host broker.test \
            --port 1883 --id lab-socks4 --publish lab/socks "through a SOCKS4 proxy" 1 >"$WORK/$f.client" 2>&1 || true
        cap_stop
        log "$f client: $(tail -1 "$WORK/$f.client")"
        g18_check $f 'socks.results == 90' "SOCKS4 reply 90 (request granted; reply version byte 0)"
        g18_check $f 'mqtt.msgtype == 1' "MQTT CONNECT in the tunnel"
        record $f true "" "" \
            "dante $dv (danted) on socks.proxy.test:1080 (10.78.0.62; socks pass); scripts/lab/proxy_client.py (paho-mqtt $pahov, proxy_set(proxy_type=socks.SOCKS4, proxy_rdns=False) through PySocks $socksv) --host broker.test --port 1883 -q 1" \
            "SOCKS4 CONNECT to 10.78.0.1:1883 (the client resolved broker.test itself), reply 90 (request granted), then a plain MQTT 3.1.1 session (CONNECT, CONNACK, PUBLISH QoS 1, PUBACK, DISCONNECT) inside; the capture shows the client <-> proxy connection only"
    fi
    kill -TERM "${G18_PIDS[@]}" 2>/dev/null || true
    wait "${G18_PIDS[@]}" 2>/dev/null || true
    rm -rf "/etc/netns/$BRK"
}
