# shellcheck shell=bash
# ================================================================ group 15: DNS before the connection
# The client resolves the broker's name through DNS instead of its hosts file: a dnsmasq of its own
# in the broker namespace on 10.78.0.53 (authoritative for lab.test only: mqtt.lab.test is
# 10.78.0.1, the main broker; any other lab.test name is NXDOMAIN; names outside lab.test are
# REFUSED, it has no upstream), pointed at by /etc/netns/<client>/resolv.conf (glibc's stub
# resolver, `options timeout:1 attempts:2`). The client names used here are not in the client's
# hosts file, so glibc (nsswitch `files dns`) asks DNS. Other resolver addresses:
#   10.78.0.54  the broker host owns it (ARP answered) but an nftables rule drops UDP/TCP port 53
#               to it: a resolver that never answers.
#   10.78.0.59  a second dnsmasq, the upstream for broken.lab.test, serving that zone unsigned
#               while the first dnsmasq holds a DNSSEC trust anchor for it: validation fails
#               (BOGUS) and the client gets SERVFAIL. The forwarding runs over the broker host's
#               loopback, so the capture (on the veth) shows only the client's side.
# Every file is captured with 'tcp or udp port 53' on the broker's veth.
G15_DNS=10.78.0.53
G15_DEAD=10.78.0.54
G15_UP=10.78.0.59
G15_FILTER='tcp or udp port 53'

g15_resolv() { # NAMESERVER... : the client's resolv.conf (options after the servers)
    local s
    { for s in "$@"; do echo "nameserver $s"; done; echo "options timeout:1 attempts:2${G15_OPTS:+ $G15_OPTS}"; } \
        >"/etc/netns/$CLI/resolv.conf"
}

# g15_check FILE WHAT DISPLAY-FILTER: die unless tshark finds at least one frame
g15_check() {
    local n
    n=$(tshark -r "$OUT/$1" -Y "$3" -T fields -e frame.number 2>/dev/null | tr '\n' ' ')
    [ -n "$n" ] || die "$1: no $2 ($3)"
    log "$1: $2: frame(s) ${n% }"
}
g15_none() { # FILE WHAT DISPLAY-FILTER: die if tshark finds any frame
    local n
    n=$(tshark -r "$OUT/$1" -Y "$3" -T fields -e frame.number 2>/dev/null | tr '\n' ' ')
    [ -z "$n" ] || die "$1: unexpected $2 ($3): frame(s) $n"
}

# g15_pub FILE NAME: one mosquitto_pub to NAME:1883, its output kept for the log
g15_pub() {
    in_cli timeout 10 mosquitto_pub -h "$2" -i "lab-dns-${1%.pcap}" -t lab/dns -m "resolved by DNS" -q 1 \
        >"$WORK/$1.client" 2>&1 || true
    log "$1 client: $(tr '\n' ' ' <"$WORK/$1.client")"
}

group15() {
    want dns-healthy.pcap || want dns-nxdomain.pcap || want dns-refused.pcap ||
        want dns-servfail.pcap || want dns-no-answer.pcap || want dns-retry-then-ok.pcap ||
        want dns-tcp-healthy.pcap || return 0
    command -v dnsmasq >/dev/null ||
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq dnsmasq-base >/dev/null
    command -v nft >/dev/null ||
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq nftables >/dev/null
    local a f dver
    for a in $G15_DNS $G15_DEAD $G15_UP; do in_brk ip addr add "$a/24" dev mqb0 2>/dev/null || true; done
    for a in mqtt.lab.test missing.lab.test mqtt.broken.lab.test broker.elsewhere.test; do
        ! grep -q " $a\$" /etc/netns/$CLI/hosts || die "$a is in the client's hosts file: DNS would not be asked"
    done
    dver=$(dnsmasq --version | sed -n '1s/^Dnsmasq version \([^ ]*\).*/\1/p')
    local common=(--no-daemon --no-resolv --no-hosts --conf-file=/dev/null --bind-interfaces --user=root
        --pid-file= --log-queries=extra)
    # The upstream for broken.lab.test: serves it without any signature.
    # Not through in_brk: $! must be dnsmasq itself (ip netns exec execs it); stopped at the end.
    ip netns exec $BRK dnsmasq "${common[@]}" --listen-address=$G15_UP --log-facility="$WORK/dns-up.log" \
        --host-record=mqtt.broken.lab.test,10.78.0.1 --local=/broken.lab.test/ >"$WORK/dns-up.out" 2>&1 &
    local up=$!
    BG_PIDS+=("$up")
    # The client's resolver. The root trust anchor is IANA's KSK-2017 (dnsmasq needs one to
    # validate at all); the one for broken.lab.test is a DS no key will ever match.
    ip netns exec $BRK dnsmasq "${common[@]}" --listen-address=$G15_DNS --log-facility="$WORK/dns.log" \
        --host-record=mqtt.lab.test,10.78.0.1 --local=/lab.test/ --server=/broken.lab.test/$G15_UP \
        --dnssec --trust-anchor=.,20326,8,2,E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D \
        --trust-anchor=broken.lab.test,4242,13,2,0000000000000000000000000000000000000000000000000000000000000000 \
        >"$WORK/dns.out" 2>&1 &
    local dns=$!
    BG_PIDS+=("$dns")
    wait_file "$WORK/dns.log" "cleared cache" 5 || die "dnsmasq did not start: $(cat "$WORK/dns.out")"
    wait_file "$WORK/dns-up.log" "cleared cache" 5 || die "upstream dnsmasq did not start: $(cat "$WORK/dns-up.out")"
    sleep 0.2
    in_brk nft add table inet mqlab15
    in_brk nft add chain inet mqlab15 input '{ type filter hook input priority 0; policy accept; }'
    in_brk nft add rule inet mqlab15 input ip daddr $G15_DEAD udp dport 53 drop
    in_brk nft add rule inet mqlab15 input ip daddr $G15_DEAD tcp dport 53 drop
    local how0="dnsmasq $dver in the broker namespace on $G15_DNS (--no-resolv --no-hosts --host-record=mqtt.lab.test,10.78.0.1 --local=/lab.test/); client resolv.conf"

    f=dns-healthy.pcap
    if want $f; then
        g15_resolv $G15_DNS
        CAP_FILTER=$G15_FILTER cap_start $f
        g15_pub $f mqtt.lab.test
        cap_stop
        g15_check $f "A answer 10.78.0.1 for mqtt.lab.test" 'dns.flags.response==1 && dns.qry.type==1 && dns.a==10.78.0.1 && dns.qry.name=="mqtt.lab.test"'
        g15_check $f "AAAA answer NOERROR without data (NODATA)" 'dns.flags.response==1 && dns.qry.type==28 && dns.flags.rcode==0 && dns.count.answers==0'
        g15_check $f "MQTT PUBACK" 'mqtt.msgtype==4'
        record $f true "" "" \
            "$how0 'nameserver $G15_DNS'; mosquitto_pub -h mqtt.lab.test -q 1 (glibc getaddrinfo)" \
            "the client asks $G15_DNS for mqtt.lab.test over UDP (A and AAAA): A 10.78.0.1, AAAA NOERROR with no answer (NODATA); then a healthy MQTT 3.1.1 QoS 1 session to 10.78.0.1:1883"
    fi

    f=dns-tcp-healthy.pcap
    if want $f; then
        G15_OPTS=use-vc g15_resolv $G15_DNS
        CAP_FILTER=$G15_FILTER cap_start $f
        g15_pub $f mqtt.lab.test
        cap_stop
        g15_check $f "DNS over TCP answer 10.78.0.1" 'tcp.port==53 && dns.flags.response==1 && dns.a==10.78.0.1'
        g15_check $f "MQTT PUBACK" 'mqtt.msgtype==4'
        record $f true "" "" \
            "$how0 'nameserver $G15_DNS' + 'options use-vc' (glibc asks over TCP); mosquitto_pub -h mqtt.lab.test -q 1" \
            "DNS over TCP: the client opens a TCP connection to $G15_DNS:53 and sends the A and AAAA queries (each with its 2-byte length prefix) in one segment; A 10.78.0.1, AAAA NODATA; then a healthy MQTT 3.1.1 QoS 1 session to 10.78.0.1:1883"
    fi

    f=dns-nxdomain.pcap
    if want $f; then
        g15_resolv $G15_DNS
        CAP_FILTER=$G15_FILTER cap_start $f
        g15_pub $f missing.lab.test
        cap_stop
        g15_check $f "NXDOMAIN answers" 'dns.flags.response==1 && dns.flags.rcode==3 && dns.qry.name=="missing.lab.test"'
        g15_none $f "TCP" 'tcp'
        record $f false dns_failure "" \
            "$how0 'nameserver $G15_DNS'; mosquitto_pub -h missing.lab.test (a lab.test name dnsmasq does not know)" \
            "the client asks for missing.lab.test (A and AAAA): both answers NXDOMAIN (rcode 3); mosquitto_pub gives up (Lookup error), no TCP at all"
    fi

    f=dns-refused.pcap
    if want $f; then
        g15_resolv $G15_DNS
        CAP_FILTER=$G15_FILTER cap_start $f
        g15_pub $f broker.elsewhere.test
        cap_stop
        g15_check $f "REFUSED answers" 'dns.flags.response==1 && dns.flags.rcode==5 && dns.qry.name=="broker.elsewhere.test"'
        g15_none $f "TCP" 'tcp'
        record $f false dns_failure "" \
            "$how0 'nameserver $G15_DNS'; mosquitto_pub -h broker.elsewhere.test (outside lab.test; dnsmasq has no upstream)" \
            "the client asks for broker.elsewhere.test (A and AAAA): both answers REFUSED (rcode 5); glibc asks again once (attempts:2), REFUSED again; mosquitto_pub gives up (Lookup error), no TCP"
    fi

    f=dns-servfail.pcap
    if want $f; then
        g15_resolv $G15_DNS
        CAP_FILTER=$G15_FILTER cap_start $f
        g15_pub $f mqtt.broken.lab.test
        cap_stop
        grep -q "mqtt.broken.lab.test is BOGUS" "$WORK/dns.log" || die "$f: dnsmasq did not find the answer BOGUS"
        g15_check $f "SERVFAIL answers" 'dns.flags.response==1 && dns.flags.rcode==2 && dns.qry.name=="mqtt.broken.lab.test"'
        g15_none $f "TCP" 'tcp'
        record $f false dns_failure "" \
            "$how0 'nameserver $G15_DNS'; dnsmasq --dnssec with a trust anchor for broken.lab.test, forwarding it to a second dnsmasq ($G15_UP) that serves it unsigned; mosquitto_pub -h mqtt.broken.lab.test" \
            "the client asks for mqtt.broken.lab.test (A and AAAA): the resolver's DNSSEC validation fails (BOGUS) and both answers are SERVFAIL (rcode 2); glibc asks again once, SERVFAIL again; mosquitto_pub gives up (Lookup error), no TCP"
    fi

    f=dns-no-answer.pcap
    if want $f; then
        g15_resolv $G15_DEAD
        CAP_FILTER=$G15_FILTER cap_start $f
        g15_pub $f mqtt.lab.test
        cap_stop
        g15_check $f "queries to the dead resolver" "dns.flags.response==0 && ip.dst==$G15_DEAD"
        g15_none $f "DNS answer or TCP" 'dns.flags.response==1 || tcp || icmp'
        record $f false dns_failure "" \
            "nft rule in the broker namespace: ip daddr $G15_DEAD udp/tcp dport 53 drop; client resolv.conf 'nameserver $G15_DEAD' + 'options timeout:1 attempts:2'; mosquitto_pub -h mqtt.lab.test" \
            "the client asks $G15_DEAD for mqtt.lab.test (A and AAAA), no answer; the same two queries again 1 s later, no answer; mosquitto_pub gives up after 2 s (Lookup error), no TCP"
    fi

    f=dns-retry-then-ok.pcap
    if want $f; then
        g15_resolv $G15_DEAD $G15_DNS
        CAP_FILTER=$G15_FILTER cap_start $f
        g15_pub $f mqtt.lab.test
        cap_stop
        g15_check $f "unanswered queries to the first resolver" "dns.flags.response==0 && ip.dst==$G15_DEAD"
        g15_check $f "A answer from the second resolver" "dns.flags.response==1 && ip.src==$G15_DNS && dns.a==10.78.0.1"
        g15_check $f "MQTT PUBACK" 'mqtt.msgtype==4'
        record $f true "" "" \
            "client resolv.conf 'nameserver $G15_DEAD' (dropped by nft) then 'nameserver $G15_DNS' (dnsmasq $dver), 'options timeout:1 attempts:2'; mosquitto_pub -h mqtt.lab.test -q 1" \
            "negative control: the first resolver never answers; 1 s later glibc asks the second, which answers A 10.78.0.1 (AAAA NODATA); then a healthy MQTT 3.1.1 QoS 1 session to 10.78.0.1:1883"
    fi

    in_brk nft delete table inet mqlab15
    rm -f "/etc/netns/$CLI/resolv.conf"
    kill -TERM "$dns" "$up" 2>/dev/null || true
    wait "$dns" "$up" 2>/dev/null || true
}
