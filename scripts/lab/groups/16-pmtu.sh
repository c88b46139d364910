# shellcheck shell=bash
# ================================================================ group 16: a path MTU black hole
# Three namespaces of their own, a router between client and broker:
#   PM_CLI 10.80.0.2/24 (pc0, MTU 1500, default route via 10.80.0.1)
#     -- PM_RTR pr0 10.80.0.1/24 (MTU 1500) | pr1 10.80.1.1/24 (MTU 1280), ip_forward=1
#     -- PM_BRK 10.80.1.2/24 (pb0, MTU 1500, default route via 10.80.1.1), its own mosquitto on :1883
# The narrow hop is the router's egress pr1 (as a tunnel or a PPPoE/VPN uplink would be): both
# end hosts sit on 1500-byte links, so each advertises MSS 1460 and the client sends full-size
# 1514-byte frames (DF set, Linux's default: net.ipv4.ip_no_pmtu_disc = 0) that the router cannot
# forward. (The broker's pb0 keeps 1500 so that its SYN-ACK says MSS 1460; only small segments go
# from the broker to the client here, which pr1 accepts.) Offloads off everywhere, so every
# segment on the wire is a real one. The client (mosquitto_pub -q 1 -f, 20 KB) is captured on
# ITS OWN interface pc0 (the device side), filter 'tcp or icmp'.
#   pmtu-blackhole: an nftables rule in the router's output chain drops its ICMP fragmentation
#       needed (type 3 code 4): the client never learns the path MTU.
#   pmtu-blackhole-icmp-filtered: the router sends the ICMP (next-hop MTU 1280), tcpdump on pc0
#       records it (AF_PACKET sees a frame before netfilter), and an nftables rule in the client's
#       own input chain drops it.
#   pmtu-icmp-honoured: nothing filtered; the client lowers its path MTU and the publish succeeds.
# The client keeps net.ipv4.tcp_mtu_probing = 0 (the default): no black-hole detection by TCP.
PM_CLI=mqlab-pcli-$RUN_ID
PM_RTR=mqlab-prtr-$RUN_ID
PM_BRK=mqlab-pbrk-$RUN_ID
PM_SIZE=20000 # bytes of payload the client publishes
PM_WAIT=15    # seconds the client is given in a black hole (timeout)
PM_NARROW=1280

pm_topology() {
    local ns n
    for ns in $PM_CLI $PM_RTR $PM_BRK; do
        ip netns del "$ns" 2>/dev/null || true
        ip netns add "$ns"
        EXTRA_NS+=("$ns")
        ip netns exec "$ns" ip link set lo up
    done
    ip link add pc0 netns $PM_CLI type veth peer name pr0 netns $PM_RTR
    ip link add pr1 netns $PM_RTR type veth peer name pb0 netns $PM_BRK
    for n in "$PM_CLI:pc0:1500" "$PM_RTR:pr0:1500" "$PM_RTR:pr1:$PM_NARROW" "$PM_BRK:pb0:1500"; do
        IFS=: read -r ns dev mtu <<<"$n"
        ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
        ip netns exec "$ns" ip link set "$dev" mtu "$mtu"
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off >/dev/null 2>&1 || true
        ip netns exec "$ns" ip link set "$dev" up
    done
    ip netns exec $PM_CLI ip addr add 10.80.0.2/24 dev pc0
    ip netns exec $PM_RTR ip addr add 10.80.0.1/24 dev pr0
    ip netns exec $PM_RTR ip addr add 10.80.1.1/24 dev pr1
    ip netns exec $PM_BRK ip addr add 10.80.1.2/24 dev pb0
    ip netns exec $PM_CLI ip route add default via 10.80.0.1
    ip netns exec $PM_BRK ip route add default via 10.80.1.1
    ip netns exec $PM_RTR sysctl -qw net.ipv4.ip_forward=1
    [ "$(ip netns exec $PM_CLI sysctl -n net.ipv4.tcp_mtu_probing)" = 0 ] || die "client tcp_mtu_probing is not 0"
    [ "$(ip netns exec $PM_CLI sysctl -n net.ipv4.ip_no_pmtu_disc)" = 0 ] || die "client ip_no_pmtu_disc is not 0"
    ip netns exec $PM_CLI ping -c 1 -W 2 10.80.1.2 >/dev/null 2>&1 || die "pmtu topology: no route to 10.80.1.2"
}

pm_tables() { # NS CHAIN-HOOK RULE: one nftables table mqlab16 with one chain and one rule
    ip netns exec "$1" nft add table inet mqlab16
    ip netns exec "$1" nft add chain inet mqlab16 "$2" "{ type filter hook $2 priority 0; policy accept; }"
    ip netns exec "$1" nft add rule inet mqlab16 "$2" $3
}

# pm_run FILE SECONDS: capture one mosquitto_pub of the 20 KB payload on the client's pc0
pm_run() {
    local f=$1 secs=$2
    ip netns exec $PM_CLI ip route flush cache
    CAP_NS=$PM_CLI CAP_IF=pc0 CAP_FILTER="tcp or icmp" cap_start "$f"
    ip netns exec $PM_CLI timeout "$secs" mosquitto_pub -h 10.80.1.2 -i "lab-${f%.pcap}" -t lab/pmtu -q 1 \
        -f "$WORK/pmtu-payload.txt" >"$WORK/$f.client" 2>&1 || true
    cap_stop
    # The client's kernel keeps an orphaned socket retransmitting the unsent data after timeout
    # kills mosquitto_pub (FIN_WAIT1 behind the data): abort it (ss -K, outside the capture), so
    # that it does not show up in the next file.
    ip netns exec $PM_CLI ss -K dst 10.80.1.2 >/dev/null 2>&1 || true
    [ -z "$(ip netns exec $PM_CLI ss -tnH dst 10.80.1.2)" ] ||
        die "$f: a client socket to 10.80.1.2 survived ss -K: $(ip netns exec $PM_CLI ss -tn)"
    log "$f client: $(tr '\n' ' ' <"$WORK/$f.client") (route: $(ip netns exec $PM_CLI ip route get 10.80.1.2 | tr -s ' \n' ' '))"
}

pm_frames() { # FILE DISPLAY-FILTER: frame numbers, space-separated
    tshark -r "$OUT/$1" -Y "$2" -T fields -e frame.number 2>/dev/null | tr '\n' ' ' | sed 's/ $//'
}

# pm_check_blackhole FILE: full-size data segments retransmitted, never acknowledged; small ones
# (CONNECT) acknowledged and answered (CONNACK); no PUBACK.
pm_check_blackhole() {
    local f=$1 big rtx connack puback acked first_seq
    big=$(pm_frames "$f" '!icmp && ip.src==10.80.0.2 && frame.len==1514')
    rtx=$(pm_frames "$f" '!icmp && ip.src==10.80.0.2 && frame.len==1514 && tcp.analysis.retransmission')
    connack=$(pm_frames "$f" '!icmp && mqtt.msgtype==2 && ip.src==10.80.1.2')
    puback=$(pm_frames "$f" '!icmp && mqtt.msgtype==4')
    [ -n "$big" ] || die "$f: no 1514-byte frame from the client"
    [ -n "$rtx" ] || die "$f: no retransmitted 1514-byte frame"
    [ -n "$connack" ] || die "$f: no CONNACK (the small segments should pass)"
    [ -z "$puback" ] || die "$f: a PUBACK came back (frame $puback): no black hole"
    # The broker's highest ACK must stay at or below the first full-size segment's sequence number.
    first_seq=$(tshark -r "$OUT/$f" -Y '!icmp && ip.src==10.80.0.2 && frame.len==1514' -T fields -e tcp.seq 2>/dev/null | sort -n | head -1)
    acked=$(tshark -r "$OUT/$f" -Y '!icmp && ip.src==10.80.1.2 && tcp.flags.ack==1' -T fields -e tcp.ack 2>/dev/null | sort -n | tail -1)
    [ "$acked" -le "$first_seq" ] || die "$f: the broker acknowledged $acked, past the first full-size segment ($first_seq)"
    log "$f: CONNACK frame $connack; 1514-byte frames ${big%% *}..${big##* } ($(wc -w <<<"$big")), retransmissions: $rtx; broker's highest ACK $acked <= first full-size seq $first_seq"
}

group16() {
    want pmtu-blackhole.pcap || want pmtu-blackhole-icmp-filtered.pcap || want pmtu-icmp-honoured.pcap || return 0
    command -v nft >/dev/null ||
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq nftables >/dev/null
    pm_topology
    head -c $((PM_SIZE * 3 / 4)) /dev/urandom | base64 -w 0 | head -c $PM_SIZE >"$WORK/pmtu-payload.txt"
    printf '%s\n' "user root" "persistence false" "log_dest file $WORK/pmtu-mosquitto.log" "log_type all" \
        "listener 1883 10.80.1.2" "allow_anonymous true" >"$WORK/pmtu.conf"
    # Not through a subshell: $! must be mosquitto itself (ip netns exec execs it).
    ip netns exec $PM_BRK mosquitto -c "$WORK/pmtu.conf" >"$WORK/pmtu-mosquitto.out" 2>&1 &
    local pbroker=$!
    BG_PIDS+=("$pbroker")
    wait_file "$WORK/pmtu-mosquitto.log" "Opening ip" 5 || die "pmtu mosquitto did not start: $(cat "$WORK/pmtu-mosquitto.out")"
    sleep 0.2
    local f icmp how0
    how0="3 namespaces: client 10.80.0.2 (MTU 1500) -- router (ip_forward=1; egress to the broker MTU $PM_NARROW) -- broker 10.80.1.2 (MTU 1500, own mosquitto), offloads off; mosquitto_pub -h 10.80.1.2 -q 1 -f ($PM_SIZE bytes)"

    f=pmtu-blackhole.pcap
    if want $f; then
        pm_tables $PM_RTR output "icmp type destination-unreachable icmp code frag-needed drop"
        pm_run $f $PM_WAIT
        ip netns exec $PM_RTR nft delete table inet mqlab16
        pm_check_blackhole $f
        [ -z "$(pm_frames $f icmp)" ] || die "$f: an ICMP message reached the client"
        record $f false pmtu_blackhole "" \
            "$how0; nft in the router's output chain: icmp type destination-unreachable icmp code frag-needed drop; timeout $PM_WAIT; tcpdump 'tcp or icmp' on the client's interface" \
            "MQTT 3.1.1 through a router whose next hop has MTU $PM_NARROW and which sends no ICMP fragmentation-needed: handshake, CONNECT and CONNACK (small) pass; the 20 KB PUBLISH goes out as 1514-byte frames (1448 bytes of payload, DF) that vanish, the client retransmits the first one with exponential backoff, never acknowledged, until it is stopped after $PM_WAIT s"
    fi

    f=pmtu-blackhole-icmp-filtered.pcap
    if want $f; then
        pm_tables $PM_CLI input "icmp type destination-unreachable icmp code frag-needed drop"
        pm_run $f $PM_WAIT
        ip netns exec $PM_CLI nft delete table inet mqlab16
        pm_check_blackhole $f
        icmp=$(pm_frames $f "icmp.type==3 && icmp.code==4 && icmp.mtu==$PM_NARROW && ip.src==10.80.0.1")
        [ -n "$icmp" ] || die "$f: no ICMP fragmentation needed (MTU $PM_NARROW) from the router"
        log "$f: ICMP 3/4 mtu $PM_NARROW frames $icmp"
        record $f false pmtu_blackhole "" \
            "$how0; the router sends ICMP fragmentation needed, nft in the CLIENT's input chain drops it (icmp type destination-unreachable icmp code frag-needed drop); timeout $PM_WAIT; tcpdump 'tcp or icmp' on the client's interface (it sees the ICMP before netfilter)" \
            "as pmtu-blackhole, but the router does answer each 1514-byte frame with ICMP destination unreachable, fragmentation needed (type 3 code 4, next-hop MTU $PM_NARROW, from 10.80.0.1) quoting it: the capture shows the ICMP, the client's own firewall drops it, so the client keeps retransmitting full-size segments, never acknowledged"
    fi

    f=pmtu-icmp-honoured.pcap
    if want $f; then
        pm_run $f 10
        local small puback after
        icmp=$(pm_frames $f "icmp.type==3 && icmp.code==4 && icmp.mtu==$PM_NARROW")
        puback=$(pm_frames $f '!icmp && mqtt.msgtype==4 && ip.src==10.80.1.2')
        [ -n "$icmp" ] || die "$f: no ICMP fragmentation needed"
        [ -n "$puback" ] || die "$f: no PUBACK: the client did not recover"
        after=$(pm_frames $f "!icmp && ip.src==10.80.0.2 && frame.number > ${icmp%% *} && frame.len > $((PM_NARROW + 14))")
        small=$(pm_frames $f "!icmp && ip.src==10.80.0.2 && frame.number > ${icmp%% *} && frame.len == $((PM_NARROW + 14))")
        [ -z "$after" ] || log "NOTE $f: frames larger than $PM_NARROW bytes of IP after the first ICMP: $after"
        [ -n "$small" ] || die "$f: no $PM_NARROW-byte (IP) segment after the ICMP"
        log "$f: ICMP 3/4 frames $icmp; $((PM_NARROW + 14))-byte frames after it: $small; PUBACK frame $puback"
        record $f true "" "" \
            "$how0; nothing filtered; tcpdump 'tcp or icmp' on the client's interface" \
            "negative control: the router answers the first full-size frames with ICMP fragmentation needed (MTU $PM_NARROW); the client lowers its path MTU at once, resends the data in $((PM_NARROW + 14))-byte frames and gets its PUBACK"
    fi
    kill -TERM "$pbroker" 2>/dev/null || true
    wait "$pbroker" 2>/dev/null || true
}
