# shellcheck shell=bash
# ================================================================ group 17: device-side captures, offloads on
# Every other capture is taken at the broker with offloads off. Here tcpdump runs on the CLIENT's
# own interface of a veth pair whose offloads are left at the kernel's defaults (veth: TSO, GSO and
# tx checksum offload on), as on a real device whose NIC segments and checksums: the capture holds
# TCP "super-frames" larger than the MTU (one frame per GSO packet, up to 64 KB, never segmented on
# a veth) and TCP checksums that are not filled in (CHECKSUM_PARTIAL: only the pseudo-header sum),
# in both directions (the broker's packets cross the veth unsegmented and unchecksummed too).
#   DV_CLI 10.81.0.2/24 (dc0, MTU 1500)  <->  DV_BRK (db0, MTU 1500): 10.81.0.1 broker.test (plain
#   1883, TLS 8883 with the lab's server chain) and 10.81.0.15 auth.broker.test (1883,
#   password_file). The names resolve through /etc/netns/DV_CLI/hosts.
DV_CLI=mqlab-dcli-$RUN_ID
DV_BRK=mqlab-dbrk-$RUN_ID
DV_SIZE=60000 # bytes published in the large messages

dv_topology() {
    local ns
    for ns in $DV_CLI $DV_BRK; do
        ip netns del "$ns" 2>/dev/null || true
        ip netns add "$ns"
        EXTRA_NS+=("$ns")
        ip netns exec "$ns" ip link set lo up
    done
    ip link add dc0 netns $DV_CLI type veth peer name db0 netns $DV_BRK
    ip netns exec $DV_CLI sysctl -qw net.ipv6.conf.dc0.disable_ipv6=1
    ip netns exec $DV_BRK sysctl -qw net.ipv6.conf.db0.disable_ipv6=1
    ip netns exec $DV_CLI ip addr add 10.81.0.2/24 dev dc0
    ip netns exec $DV_BRK ip addr add 10.81.0.1/24 dev db0
    ip netns exec $DV_BRK ip addr add 10.81.0.15/24 dev db0
    ip netns exec $DV_CLI ip link set dc0 up
    ip netns exec $DV_BRK ip link set db0 up
    mkdir -p /etc/netns/$DV_CLI
    printf '%s\n' "127.0.0.1 localhost" "10.81.0.1 broker.test" "10.81.0.15 auth.broker.test" >/etc/netns/$DV_CLI/hosts
    # The point of the group: offloads on. Fail rather than record something else.
    local k
    for k in tcp-segmentation-offload generic-segmentation-offload tx-checksumming; do
        ip netns exec $DV_CLI ethtool -k dc0 | grep -q "^$k: on" || die "dc0: $k is not on"
        ip netns exec $DV_BRK ethtool -k db0 | grep -q "^$k: on" || die "db0: $k is not on"
    done
    DV_OFFLOADS=$(ip netns exec $DV_CLI ethtool -k dc0 |
        grep -E '^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload|tx-checksumming):' |
        sed 's/: */ /' | paste -sd, | sed 's/,/, /g')
    log "dc0 offloads: $DV_OFFLOADS"
}

# dv_check FILE [LARGE]: frames larger than 1514 bytes (when LARGE) and TCP checksums tshark finds bad
dv_check() {
    local f=$1 big bad
    big=$(tshark -r "$OUT/$f" -Y 'frame.len > 1514' -T fields -e frame.number -e frame.len 2>/dev/null |
        tr '\t' ':' | tr '\n' ' ')
    bad=$(tshark -r "$OUT/$f" -o tcp.check_checksum:TRUE -Y 'tcp.checksum.status == 0' -T fields -e frame.number 2>/dev/null | wc -l)
    [ "$bad" -gt 0 ] || die "$f: no TCP checksum left unfilled (offload not in effect?)"
    if [ -n "${2:-}" ]; then
        [ -n "$big" ] || die "$f: no frame larger than 1514 bytes"
    fi
    log "$f: frames > 1514 bytes (frame:len): ${big:-none}; $bad of $(tshark -r "$OUT/$f" -Y tcp 2>/dev/null | wc -l) TCP frames with a checksum tshark calls bad"
}

group17() {
    want device-offload-mqtt311-healthy.pcap || want device-offload-tls13-healthy.pcap ||
        want device-offload-bad-password.pcap || return 0
    dv_topology
    local pw=$WORK/dv-passwd
    : >"$pw"
    mosquitto_passwd -b "$pw" lab-user correct-horse >/dev/null 2>&1
    printf '%s\n' "user root" "per_listener_settings true" "persistence false" "log_dest file $WORK/dv-mosquitto.log" \
        "log_type all" "listener 1883 10.81.0.1" "allow_anonymous true" \
        "listener 8883 10.81.0.1" "allow_anonymous true" "certfile $PKI/server-chain.pem" "keyfile $PKI/server.key" \
        "listener 1883 10.81.0.15" "allow_anonymous false" "password_file $pw" >"$WORK/dv.conf"
    # Not through a subshell: $! must be mosquitto itself (ip netns exec execs it).
    ip netns exec $DV_BRK mosquitto -c "$WORK/dv.conf" >"$WORK/dv-mosquitto.out" 2>&1 &
    local dbroker=$!
    BG_PIDS+=("$dbroker")
    local i n
    for i in $(seq 50); do
        n=$(grep -c 'Opening ip' "$WORK/dv-mosquitto.log" 2>/dev/null || true)
        [ "${n:-0}" -ge 3 ] && break
        sleep 0.1
    done
    grep -q "listen socket on port 8883" "$WORK/dv-mosquitto.log" || die "device-side mosquitto did not start: $(cat "$WORK/dv-mosquitto.out")"
    sleep 0.2
    head -c $((DV_SIZE * 3 / 4)) /dev/urandom | base64 -w 0 | head -c $DV_SIZE >"$WORK/dv-payload.txt"
    local f sub how0
    how0="own namespaces pair, veth dc0 (client 10.81.0.2) <-> db0 with offloads left on ($DV_OFFLOADS); own mosquitto on 10.81.0.1 (broker.test) and 10.81.0.15 (auth.broker.test); tcpdump on the CLIENT's dc0"

    f=device-offload-mqtt311-healthy.pcap
    if want $f; then
        CAP_NS=$DV_CLI CAP_IF=dc0 cap_start $f
        ip netns exec $DV_CLI timeout 10 mosquitto_sub -h broker.test -V mqttv311 -i lab-dv-sub -t lab/dv -q 1 -C 1 \
            >"$WORK/dv-sub.out" 2>&1 &
        sub=$!
        BG_PIDS+=("$sub")
        wait_file "$WORK/dv-mosquitto.log" "Sending SUBACK to lab-dv-sub" 5 || die "device-side subscriber did not subscribe"
        ip netns exec $DV_CLI timeout 10 mosquitto_pub -h broker.test -V mqttv311 -i lab-dv-pub -t lab/dv -q 1 \
            -f "$WORK/dv-payload.txt" >"$WORK/$f.client" 2>&1 || true
        wait "$sub" || true
        cap_stop
        [ "$(head -c $DV_SIZE "$WORK/dv-sub.out" | cmp -s - "$WORK/dv-payload.txt" && echo same)" = same ] ||
            die "$f: the subscriber did not receive the $DV_SIZE-byte message"
        dv_check $f large
        record $f true "" "" \
            "$how0; mosquitto_sub -V mqttv311 -q 1 -C 1 -t lab/dv, mosquitto_pub -q 1 -f ($DV_SIZE bytes)" \
            "MQTT 3.1.1 plain, seen from the device with TSO/GSO and tx checksum offload on: the publisher's $DV_SIZE-byte PUBLISH and the broker's delivery to the subscriber travel as TCP frames far larger than the MTU (up to ~64 KB each), and the TCP checksums are not filled in (tshark: bad) in both directions; a healthy session all the same"
    fi

    f=device-offload-tls13-healthy.pcap
    if want $f; then
        CAP_NS=$DV_CLI CAP_IF=dc0 cap_start $f
        ip netns exec $DV_CLI timeout 10 mosquitto_pub -h broker.test -p 8883 "${TLS_CA[@]}" -i lab-dv-tls -t lab/dv -q 1 \
            -f "$WORK/dv-payload.txt" >"$WORK/$f.client" 2>&1 || true
        cap_stop
        [ -n "$(tshark -r "$OUT/$f" -Y 'tls.handshake.type==2 && tls.handshake.extensions.supported_version==0x0304' -T fields -e frame.number 2>/dev/null)" ] ||
            die "$f: no TLS 1.3 ServerHello"
        dv_check $f large
        record $f true "" "" \
            "$how0; mosquitto_pub -h broker.test -p 8883 --cafile root.pem -q 1 -f ($DV_SIZE bytes)" \
            "MQTT 3.1.1 over TLS 1.3 with a $DV_SIZE-byte PUBLISH, seen from the device with offloads on: the encrypted records (16 KB each) leave in TCP frames larger than the MTU, checksums not filled in; healthy"
    fi

    f=device-offload-bad-password.pcap
    if want $f; then
        CAP_NS=$DV_CLI CAP_IF=dc0 cap_start $f
        ip netns exec $DV_CLI timeout 10 mosquitto_pub -h auth.broker.test -V mqttv311 -i lab-dv-badpw -u lab-user -P wrong \
            -t lab/dv -q 1 -f "$WORK/dv-payload.txt" >"$WORK/$f.client" 2>&1 || true
        cap_stop
        log "$f client: $(tr '\n' ' ' <"$WORK/$f.client")"
        [ -n "$(tshark -r "$OUT/$f" -Y 'mqtt.conack.val==5' -T fields -e frame.number 2>/dev/null)" ] ||
            die "$f: no CONNACK 5 (not authorized)"
        dv_check $f
        record $f false connack_refused "" \
            "$how0; mosquitto_pub -h auth.broker.test -V mqttv311 -u lab-user -P wrong -q 1 -f ($DV_SIZE bytes)" \
            "MQTT 3.1.1 CONNECT with a wrong password, seen from the device with offloads on: CONNACK 5 (not authorized), the broker closes, the $DV_SIZE-byte PUBLISH is never sent; every TCP checksum in the file is left unfilled"
    fi
    kill -TERM "$dbroker" 2>/dev/null || true
    wait "$dbroker" 2>/dev/null || true
}
