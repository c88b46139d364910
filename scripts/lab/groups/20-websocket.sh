# shellcheck shell=bash
# ================================================================ group 20: MQTT over WebSockets
# A mosquitto of its own in the broker namespace with WebSocket listeners: plain ws on 8080 (tshark
# decodes 8080 as HTTP, then the Upgrade as WebSocket, then the "mqtt" subprotocol as MQTT) and ws
# over TLS on 443 (TLS, then HTTP, by default), with a server certificate for ws.test (pki/ws*.pem,
# made when missing). mosquitto 2.0.11 binds a websockets listener on every address of the
# namespace whatever address the listener line names, and refuses to start with websockets
# listeners only ("Unable to start any listening sockets"), so it also has a plain MQTT listener on
# 10.78.0.70:1883 (unused). The client is paho-mqtt (transport="websockets", path /mqtt):
# scripts/lab/ws_client.py.
#   10.78.0.70 ws.test         the WebSocket mosquitto (8080 ws, 443 wss)
#   10.78.0.71 web.ws.test     python3 -m http.server 8080: a plain web server, no WebSocket
#   10.78.0.72 echo.ws.test    scripts/lab/ws_echo_server.py (websockets library): no subprotocol
WEBSOCKETS_VERSION=15.0.1

g20_cert() {
    [ -s "$PKI/ws-chain.pem" ] && [ -s "$PKI/ws.key" ] && return 0
    leaf ws "/O=mqlab/CN=ws.test" "DNS:ws.test" inter serverAuth
    cat "$PKI/ws.pem" "$PKI/inter.pem" >"$PKI/ws-chain.pem"
    rm -f "$PKI"/*.srl
}

# g20_check FILE FILTER WHAT [tshark options...]: die unless the display filter matches. tshark 4.0
# does not pass the WebSocket subprotocol "mqtt" to its MQTT dissector by itself: the same line of
# Lua as scripts/expected-facts.py's registers it.
g20_check() {
    local f=$1 filter=$2 what=$3 frames
    shift 3
    [ -s "$WORK/ws_mqtt.lua" ] ||
        echo 'DissectorTable.get("ws.protocol"):add("mqtt", Dissector.get("mqtt"))' >"$WORK/ws_mqtt.lua"
    frames=$(cd "$OUT" && tshark -n -r "$f" -X "lua_script:$WORK/ws_mqtt.lua" "$@" -Y "$filter" -T fields -e frame.number 2>/dev/null | tr '\n' ' ')
    [ -n "$frames" ] || die "$f: no $what ($filter)"
    log "$f: $what in frame(s) ${frames% }"
}

group20() {
    want ws-mqtt311-healthy.pcap || want wss-keylog-healthy.pcap || want ws-upgrade-failed.pcap ||
        want ws-no-subprotocol.pcap || return 0
    local f pahov wsc=(in_cli timeout 20 "$PY" "$LAB/ws_client.py")
    pahov=$("$PY" -c 'import paho.mqtt; print(paho.mqtt.__version__)')

    if want ws-mqtt311-healthy.pcap || want wss-keylog-healthy.pcap; then
        g20_cert
        g10_host 10.78.0.70 ws.test
        printf '%s\n' "user root" "persistence false" "log_dest file $WORK/ws.log" "log_type all" \
            "listener 1883 10.78.0.70" "allow_anonymous true" \
            "listener 8080 10.78.0.70" "protocol websockets" "allow_anonymous true" \
            "listener 443 10.78.0.70" "protocol websockets" "allow_anonymous true" \
            "certfile $PKI/ws-chain.pem" "keyfile $PKI/ws.key" >"$WORK/ws.conf"
        # Not through in_brk (a function: $! would be its subshell): $! must be mosquitto itself, so
        # that stopping it frees *:8080 for the web server below.
        ip netns exec $BRK mosquitto -c "$WORK/ws.conf" >"$WORK/ws.out" 2>&1 &
        local wsb=$!
        BG_PIDS+=("$wsb")
        wait_file "$WORK/ws.log" "mosquitto version .* running" 5 || die "websocket mosquitto did not start: $(cat "$WORK/ws.out" "$WORK/ws.log")"
        sleep 0.2
        f=ws-mqtt311-healthy.pcap
        if want $f; then
            cap_start $f
            "${wsc[@]}" --host ws.test --port 8080 --id lab-ws --topic lab/ws --message "hello over ws" \
                >"$WORK/$f.client" 2>&1 || true
            cap_stop
            log "$f client: $(tail -1 "$WORK/$f.client")"
            g20_check $f 'http.response.code == 101' "HTTP 101 Switching Protocols"
            g20_check $f 'websocket && mqtt.msgtype == 1' "MQTT CONNECT in a WebSocket frame"
            g20_check $f 'websocket && mqtt.msgtype == 3' "MQTT PUBLISH in a WebSocket frame"
            record $f true "" "" \
                "own mosquitto (listener 8080, protocol websockets) on ws.test (10.78.0.70); scripts/lab/ws_client.py (paho-mqtt $pahov, transport=websockets, path /mqtt) --host ws.test --port 8080: SUBSCRIBE lab/ws QoS 1, PUBLISH to it QoS 1, receive, DISCONNECT" \
                "MQTT 3.1.1 over a plain WebSocket: GET /mqtt Upgrade (Sec-WebSocket-Protocol: mqtt), 101 Switching Protocols, then CONNECT/CONNACK/SUBSCRIBE/SUBACK/PUBLISH/PUBACK/PUBLISH/PUBACK/DISCONNECT each in a WebSocket binary frame (masked from the client)"
        fi
        f=wss-keylog-healthy.pcap
        if want $f; then
            local keys="keys/${f%.pcap}.keys"
            rm -f "$OUT/$keys"
            cap_start $f
            "${wsc[@]}" --host ws.test --port 443 --cafile "$PKI/root.pem" --keylog "$OUT/$keys" --id lab-wss \
                --topic lab/wss --message "hello over wss" >"$WORK/$f.client" 2>&1 || true
            cap_stop
            log "$f client: $(tail -1 "$WORK/$f.client")"
            [ -s "$OUT/$keys" ] || die "no key log for $f"
            g20_check $f 'tls.handshake.type == 1 && tls.handshake.extensions_server_name == "ws.test"' "ClientHello (SNI ws.test)"
            g20_check $f 'http.response.code == 101' "HTTP 101 (decrypted)" -o "tls.keylog_file:$keys"
            g20_check $f 'websocket && mqtt.msgtype == 3' "MQTT PUBLISH in a WebSocket frame (decrypted)" -o "tls.keylog_file:$keys"
            record $f true "" "-o tls.keylog_file:$keys" \
                "own mosquitto (listener 443, protocol websockets, certfile ws-chain.pem for ws.test) on ws.test (10.78.0.70); scripts/lab/ws_client.py (paho-mqtt $pahov, transport=websockets, path /mqtt, Python ssl keylog_filename) --host ws.test --port 443 --cafile root.pem --keylog" \
                "MQTT 3.1.1 over a WebSocket over TLS 1.3 (wss, SNI ws.test): with the key file keys/wss-keylog-healthy.keys the Upgrade, 101 and the MQTT session (SUBSCRIBE, PUBLISH QoS 1 both ways, DISCONNECT) in WebSocket frames are readable"
        fi
        kill -TERM "$wsb" 2>/dev/null || true
        wait "$wsb" 2>/dev/null || true
        log "websocket mosquitto: $(grep -c 'New client connected' "$WORK/ws.log") client(s) logged"
    fi

    f=ws-upgrade-failed.pcap
    if want $f; then
        g10_host 10.78.0.71 web.ws.test
        mkdir -p "$WORK/www"
        echo "not a broker" >"$WORK/www/index.html"
        ip netns exec $BRK timeout 30 "$PY" -m http.server --bind 10.78.0.71 --directory "$WORK/www" 8080 \
            >"$WORK/http.server.out" 2>&1 &
        local web=$!
        BG_PIDS+=("$web")
        local i
        for i in $(seq 50); do
            in_brk ss -Htln "( sport = :8080 )" | grep -q "10.78.0.71:8080" && break
            sleep 0.1
        done
        in_brk ss -Htlnp "( sport = :8080 )" | grep -q python3 || die "http.server is not listening on 8080: $(in_brk ss -Htlnp)"
        cap_start $f
        "${wsc[@]}" --host web.ws.test --port 8080 --id lab-ws-nows >"$WORK/$f.client" 2>&1 || true
        cap_stop
        kill -TERM "$web" 2>/dev/null || true
        wait "$web" 2>/dev/null || true
        log "$f client: $(tail -1 "$WORK/$f.client"); server: $(grep -m1 GET "$WORK/http.server.out")"
        g20_check $f 'http.request.method == "GET" && http.upgrade' "GET with Upgrade: websocket"
        # paho stops reading at the status line's Connection header and closes: the body (second
        # segment) is on the wire or not depending on who is quicker, and tshark's reassembly of it
        # may never complete: check the header alone.
        g20_check $f 'http.response.code == 404' "HTTP 404 answer" -o http.desegment_body:FALSE
        record $f false websocket_upgrade_failed "" \
            "python3 -m http.server --bind 10.78.0.71 8080 (Python $("$PY" -c 'import platform; print(platform.python_version())'), a plain web server) on web.ws.test; scripts/lab/ws_client.py (paho-mqtt $pahov, transport=websockets, path /mqtt) --host web.ws.test --port 8080" \
            "WebSocket Upgrade (GET /mqtt, Sec-WebSocket-Protocol: mqtt) to a web server that knows no WebSocket: 'HTTP/1.0 404 File not found' (Connection: close, Content-Length 335; status and headers in one segment, the HTML body in a second one if the client has not closed yet); paho stops at the Connection header and closes, which ends in a RST from the client; no 101, no MQTT"
    fi

    f=ws-no-subprotocol.pcap
    if want $f; then
        if [ "$("$PY" -c 'import websockets; print(websockets.__version__)' 2>/dev/null)" != "$WEBSOCKETS_VERSION" ]; then
            log "installing websockets==$WEBSOCKETS_VERSION"
            timeout 300 "$PY" -m pip install -q "websockets==$WEBSOCKETS_VERSION"
        fi
        g10_host 10.78.0.72 echo.ws.test
        ip netns exec $BRK timeout 30 "$PY" "$LAB/ws_echo_server.py" 10.78.0.72 8080 25 >"$WORK/ws-echo.out" 2>&1 &
        local echo_pid=$!
        BG_PIDS+=("$echo_pid")
        wait_file "$WORK/ws-echo.out" listening 10 || die "ws_echo_server.py did not start: $(cat "$WORK/ws-echo.out")"
        cap_start $f
        "${wsc[@]}" --host echo.ws.test --port 8080 --id lab-ws-nosub >"$WORK/$f.client" 2>&1 || true
        cap_stop
        kill -TERM "$echo_pid" 2>/dev/null || true
        wait "$echo_pid" 2>/dev/null || true
        log "$f client: $(tail -1 "$WORK/$f.client")"
        g20_check $f 'http.response.code == 101 && !http.sec_websocket_protocol' "101 without Sec-WebSocket-Protocol"
        record $f false websocket_upgrade_failed "" \
            "scripts/lab/ws_echo_server.py on echo.ws.test:8080 (10.78.0.72; websockets $WEBSOCKETS_VERSION, the library's echo server, no subprotocols); scripts/lab/ws_client.py (paho-mqtt $pahov, transport=websockets, path /mqtt) --host echo.ws.test --port 8080" \
            "WebSocket Upgrade offering the subprotocol mqtt answered 101 Switching Protocols without Sec-WebSocket-Protocol (a generic WebSocket server); paho-mqtt does not check, sends its CONNECT in a masked binary frame and gets it back (unmasked) from the echo server; a CONNECT from the server is a protocol error to paho, which closes with a FIN and no WebSocket close frame"
    fi
}
