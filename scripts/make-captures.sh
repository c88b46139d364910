#!/usr/bin/env bash
# make-captures.sh: regenerate captures/ from scratch with real software (mosquitto, its clients,
# OpenSSL, paho-mqtt) talking across a veth pair between two network namespaces, recorded by
# tcpdump. Run as root. Traffic never leaves the namespaces: every address used here is one this
# script put on an interface inside them (10.78.0.0/24, fd78::/64).
#
#   sudo scripts/make-captures.sh            # everything (a few minutes)
#   ONLY='tls13|mqtt5' scripts/make-captures.sh   # only scenarios whose file name matches (dev aid)
#
# Then captures/expected.json is derived by scripts/expected-facts.py (tshark) and
# captures/README.md's table by scripts/readme-table.py.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/captures
LAB=$ROOT/scripts/lab
# Namespace names carry this run's process id, so two runs (or a stale one) cannot collide.
RUN_ID=$$
CLI=mqlab-cli-$RUN_ID
BRK=mqlab-brk-$RUN_ID
LOSSY_CLI=mqlab-lcli-$RUN_ID
LOSSY_MID=mqlab-lmid-$RUN_ID
LOSSY_BRK=mqlab-lbrk-$RUN_ID
EXTRA_NS=() # namespaces a group adds: deleted on exit
# Versions of what the script installs from PyPI and npm (Debian's packages come from the release).
PAHO_VERSION=2.2.0
AEDES_VERSION=0.51.3
ONLY=${ONLY:-}
T_START=$(date +%s)
WORK=$(mktemp -d /tmp/mqlab.XXXXXX)
PKI=$OUT/pki
declare -a BG_PIDS=()

log() { printf '[%4ss] %s\n' "$(($(date +%s) - T_START))" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill -CONT "$pid" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
    done
    sleep 0.3
    for pid in "${BG_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    for ns in $CLI $BRK $LOSSY_CLI $LOSSY_MID $LOSSY_BRK "${EXTRA_NS[@]}"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
    for ns in $CLI $LOSSY_CLI "${EXTRA_NS[@]}"; do rm -rf "/etc/netns/$ns"; done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || die "run as root"

# ---------------------------------------------------------------- dependencies
install_deps() {
    local need=()
    command -v mosquitto >/dev/null || need+=(mosquitto)
    command -v mosquitto_pub >/dev/null || need+=(mosquitto-clients)
    command -v tcpdump >/dev/null || need+=(tcpdump)
    command -v openssl >/dev/null || need+=(openssl)
    command -v gnutls-cli >/dev/null || need+=(gnutls-bin)
    command -v faketime >/dev/null || need+=(faketime)
    command -v ip >/dev/null || need+=(iproute2)
    command -v ethtool >/dev/null || need+=(ethtool)
    command -v tshark >/dev/null || need+=(tshark)
    command -v editcap >/dev/null || need+=(tshark)
    command -v ping >/dev/null || need+=(iputils-ping)
    if [ ${#need[@]} -gt 0 ]; then
        log "installing ${need[*]}"
        DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq "${need[@]}" >/dev/null
    fi
    PY=$(command -v python3)
    # Pinned: the captures' README names these versions, and a new paho changes what is on the wire.
    if [ "$("$PY" -c 'import paho.mqtt; print(paho.mqtt.__version__)' 2>/dev/null)" != "$PAHO_VERSION" ]; then
        log "installing paho-mqtt==$PAHO_VERSION"
        timeout 300 "$PY" -m pip install -q "paho-mqtt==$PAHO_VERSION"
    fi
    # Stop a packaged mosquitto service from holding ports in the root namespace (harmless if none).
    systemctl stop mosquitto 2>/dev/null || true
}

# ---------------------------------------------------------------- topology
in_cli() { ip netns exec $CLI "$@"; }
in_brk() { ip netns exec $BRK "$@"; }

# Extra broker addresses stand for separate hosts (one certificate problem each), all on port 8883
# so tshark needs no decode-as option.
BROKER_HOSTS="10.78.0.1 broker.test
10.78.0.11 expired.broker.test
10.78.0.12 notyet.broker.test
10.78.0.13 wronghost.broker.test
10.78.0.14 mtls.broker.test
10.78.0.15 auth.broker.test
10.78.0.16 chacha.broker.test
10.78.0.17 middlebox.broker.test
10.78.0.18 flaky.broker.test
10.78.0.21 aclfile.broker.test
fd78::1 broker6.test"

make_topology() {
    for ns in $CLI $BRK; do ip netns del "$ns" 2>/dev/null || true; done
    ip netns add $CLI
    ip netns add $BRK
    ip link add mqc0 netns $CLI type veth peer name mqb0 netns $BRK
    in_cli ip link set lo up
    in_brk ip link set lo up
    in_cli ip addr add 10.78.0.2/24 dev mqc0
    in_cli ip -6 addr add fd78::2/64 dev mqc0 nodad
    in_brk ip -6 addr add fd78::1/64 dev mqb0 nodad
    local a
    while read -r a _; do
        case $a in *:*) ;; *) in_brk ip addr add "$a/24" dev mqb0 ;; esac
    done <<<"$BROKER_HOSTS"
    # Real on-the-wire segmentation and checksums, not 64 KB GSO super-frames.
    in_cli ethtool -K mqc0 tso off gso off gro off tx off >/dev/null 2>&1 || true
    in_brk ethtool -K mqb0 tso off gso off gro off tx off >/dev/null 2>&1 || true
    in_cli ip link set mqc0 up
    in_brk ip link set mqb0 up
    mkdir -p /etc/netns/$CLI
    { echo "127.0.0.1 localhost"; echo "$BROKER_HOSTS"; } >/etc/netns/$CLI/hosts
    in_cli ip link show mqc0 | grep -q "state UP" || sleep 0.5
}

# ---------------------------------------------------------------- PKI
# leaf NAME "SUBJECT" "SAN" ISSUER EKU [faketime-date] [days]
leaf() {
    local name=$1 subj=$2 san=$3 issuer=$4 eku=$5 when=${6:-} days=${7:-825}
    openssl req -newkey rsa:2048 -nodes -keyout "$PKI/$name.key" -out "$WORK/$name.csr" \
        -subj "$subj" 2>/dev/null
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s' \
        "$eku" "${san:+subjectAltName=$san}" >"$WORK/$name.ext"
    local -a pre=()
    [ -n "$when" ] && pre=(faketime "$when")
    "${pre[@]}" openssl x509 -req -in "$WORK/$name.csr" -CA "$PKI/$issuer.pem" -CAkey "$PKI/$issuer.key" \
        -CAcreateserial -out "$PKI/$name.pem" -days "$days" -sha256 -extfile "$WORK/$name.ext" 2>/dev/null
}

make_pki() {
    rm -rf "$PKI"
    mkdir -p "$PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/root.key" -out "$PKI/root.pem" -days 3650 \
        -subj "/O=mqlab/CN=mqlab Root CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/other-root.key" -out "$PKI/other-root.pem" \
        -days 3650 -subj "/O=elsewhere/CN=Unrelated Root CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout "$PKI/inter.key" -out "$WORK/inter.csr" \
        -subj "/O=mqlab/CN=mqlab Intermediate CA" 2>/dev/null
    printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$WORK/inter.ext"
    openssl x509 -req -in "$WORK/inter.csr" -CA "$PKI/root.pem" -CAkey "$PKI/root.key" -CAcreateserial \
        -out "$PKI/inter.pem" -days 3650 -sha256 -extfile "$WORK/inter.ext" 2>/dev/null
    leaf server "/O=mqlab/CN=broker.test" \
        "DNS:broker.test,DNS:mtls.broker.test,DNS:auth.broker.test,DNS:chacha.broker.test,DNS:middlebox.broker.test,DNS:flaky.broker.test,DNS:broker6.test,IP:10.78.0.1,IP:fd78::1" \
        inter serverAuth
    leaf expired "/O=mqlab/CN=expired.broker.test" "DNS:expired.broker.test" inter serverAuth \
        "2020-01-01 00:00:00" 30
    leaf notyet "/O=mqlab/CN=notyet.broker.test" "DNS:notyet.broker.test" inter serverAuth \
        "2036-01-01 00:00:00" 365
    leaf wronghost "/O=mqlab/CN=other.example" "DNS:other.example" inter serverAuth
    leaf client "/O=mqlab/CN=lab-client" "" inter clientAuth
    leaf rogue-client "/O=elsewhere/CN=lab-client" "" other-root clientAuth
    for n in server expired notyet wronghost client; do cat "$PKI/$n.pem" "$PKI/inter.pem" >"$PKI/$n-chain.pem"; done
    rm -f "$PKI"/*.srl
    # A client-side OpenSSL configuration that caps the protocol at TLS 1.2 (mosquitto_pub's
    # --tls-version is only a minimum).
    cat >"$PKI/openssl-max-tls12.cnf" <<'EOF'
openssl_conf = mqlab_conf
[mqlab_conf]
ssl_conf = mqlab_ssl
[mqlab_ssl]
system_default = mqlab_sys
[mqlab_sys]
MaxProtocol = TLSv1.2
EOF
}

# ---------------------------------------------------------------- broker
start_broker() {
    local pw=$WORK/passwd
    : >"$pw"
    mosquitto_passwd -b "$pw" lab-user correct-horse >/dev/null 2>&1
    printf 'topic readwrite lab/#\n' >"$WORK/aclfile"
    cat >"$WORK/mosquitto.conf" <<EOF
user root
per_listener_settings true
persistence false
log_dest file $WORK/mosquitto.log
log_type all
connection_messages true
# Small enough that the oversized-packet scenario trips it; far above every other scenario.
max_packet_size 20000

listener 1883 10.78.0.1
allow_anonymous true

listener 1883 fd78::1
allow_anonymous true

listener 1883 10.78.0.15
allow_anonymous false
password_file $pw

listener 1883 10.78.0.21
allow_anonymous true
acl_file $WORK/aclfile

listener 8883 10.78.0.1
allow_anonymous true
certfile $PKI/server-chain.pem
keyfile $PKI/server.key
tls_version tlsv1.2

listener 8883 fd78::1
allow_anonymous true
certfile $PKI/server-chain.pem
keyfile $PKI/server.key
tls_version tlsv1.2

listener 8883 10.78.0.11
allow_anonymous true
certfile $PKI/expired-chain.pem
keyfile $PKI/expired.key

listener 8883 10.78.0.12
allow_anonymous true
certfile $PKI/notyet-chain.pem
keyfile $PKI/notyet.key

listener 8883 10.78.0.13
allow_anonymous true
certfile $PKI/wronghost-chain.pem
keyfile $PKI/wronghost.key

listener 8883 10.78.0.14
allow_anonymous true
certfile $PKI/server-chain.pem
keyfile $PKI/server.key
cafile $PKI/root.pem
require_certificate true

listener 8883 10.78.0.15
allow_anonymous false
password_file $pw
certfile $PKI/server-chain.pem
keyfile $PKI/server.key

listener 8883 10.78.0.16
allow_anonymous true
certfile $PKI/server-chain.pem
keyfile $PKI/server.key
ciphers_tls1.3 TLS_CHACHA20_POLY1305_SHA256
EOF
    in_brk mosquitto -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.out" 2>&1 &
    BROKER_PID=$!
    BG_PIDS+=("$BROKER_PID")
    local i
    for i in $(seq 50); do
        grep -q "listen socket on port 8883" "$WORK/mosquitto.log" 2>/dev/null &&
            [ "$(grep -c 'Opening ip' "$WORK/mosquitto.log")" -ge 12 ] && break
        kill -0 "$BROKER_PID" 2>/dev/null || { cat "$WORK/mosquitto.out" "$WORK/mosquitto.log" >&2; die "mosquitto died"; }
        sleep 0.1
    done
    sleep 0.3
    log "mosquitto $(mosquitto -h 2>/dev/null | sed -n 's/^mosquitto version //p') up"
}

# ---------------------------------------------------------------- capture helpers
declare -a CAP_PIDS=() CAP_LOGS=()
# cap_start FILE [tcpdump options...]: capture TCP on the broker's veth (Ethernet link type).
# CAP_FILTER overrides the capture filter `tcp` (tunnels: `udp port 4789`...); CAP_FILTER="" records
# everything.
cap_start() {
    local file=$1
    shift
    local iface=${CAP_IF:-mqb0} ns=${CAP_NS:-$BRK} filter=${CAP_FILTER-tcp}
    local logf=$WORK/$(basename "$file").tcpdump
    local -a expr=()
    [ -n "$filter" ] && expr=("$filter")
    ip netns exec $ns tcpdump -i "$iface" -n -Z root --immediate-mode -U -B 131072 -s 262144 \
        "$@" -w "$OUT/$file" "${expr[@]}" >"$logf" 2>&1 &
    local pid=$!
    BG_PIDS+=("$pid")
    CAP_PIDS+=("$pid")
    CAP_LOGS+=("$logf")
    local i
    for i in $(seq 50); do
        grep -q "listening on" "$logf" 2>/dev/null && return 0
        sleep 0.1
    done
    die "tcpdump did not start for $file: $(cat "$logf")"
}

cap_stop() {
    sleep 0.7 # drain: let the last segments (FIN/ACK, RST) reach tcpdump
    local i pid logf
    for i in "${!CAP_PIDS[@]}"; do
        pid=${CAP_PIDS[$i]}
        logf=${CAP_LOGS[$i]}
        kill -INT "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        grep -q "^0 packets dropped by kernel" "$logf" || die "tcpdump dropped packets: $(cat "$logf")"
    done
    CAP_PIDS=()
    CAP_LOGS=()
}

# record FILE HEALTHY RULES TSHARK_OPTS HOW SHOWS: one row of captures/scenarios.tsv
record() {
    local f=$1
    [ -s "$OUT/$f" ] || die "capture $f missing"
    grep -v -P "^\Q$f\E\t" "$OUT/scenarios.tsv" >"$WORK/s.tsv" || true
    local how=${5//$OUT\//}
    how=${how//$WORK\//}
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$how" "$6" >>"$WORK/s.tsv"
    sort "$WORK/s.tsv" >"$OUT/scenarios.tsv"
    log "captured $f ($(stat -c %s "$OUT/$f") bytes)"
}

want() { [ -z "$ONLY" ] || [[ $1 =~ $ONLY ]]; }

# Clients. Each call is bounded by timeout; a failing client is often the point of the scenario.
pub() { in_cli timeout 10 mosquitto_pub "$@" >>"$WORK/clients.log" 2>&1 || true; }
paho() { in_cli timeout 20 "$PY" "$LAB/mqtt_client.py" "$@" >>"$WORK/clients.log" 2>&1 || true; }
TLS_CA=(--cafile "$PKI/root.pem")
MAX12=(env OPENSSL_CONF="$PKI/openssl-max-tls12.cnf")

wait_log() { # wait_log PATTERN SECONDS: wait until the broker log shows PATTERN
    local i
    for i in $(seq $(($2 * 10))); do
        grep -q -- "$1" "$WORK/mosquitto.log" && return 0
        sleep 0.1
    done
    return 1
}

# ================================================================ group 1: healthy sessions
healthy_plain() { # FILE VERSION
    local f=$1 v=$2
    want "$f" || return 0
    cap_start "$f"
    in_cli timeout 10 mosquitto_sub -h broker.test -V "$v" -i "lab-sub-$v" -t 'lab/#' -q 2 -C 3 >/dev/null &
    local sub=$!
    BG_PIDS+=("$sub")
    wait_log "Sending SUBACK to lab-sub-$v" 5 || die "subscriber did not subscribe"
    local q
    for q in 0 1 2; do
        pub -h broker.test -V "$v" -i "lab-pub-$v-q$q" -t "lab/q$q" -m "hello qos $q" -q "$q"
    done
    wait "$sub" || true
    cap_stop
}

group1() {
    healthy_plain mqtt311-healthy.pcap mqttv311
    want mqtt311-healthy.pcap && record mqtt311-healthy.pcap true "" "" \
        "mosquitto_sub -V mqttv311 -q 2 -C 3 -t 'lab/#'; mosquitto_pub -q 0/1/2 (three runs)" \
        "MQTT 3.1.1 plain: subscriber (CONNECT, SUBSCRIBE, 3 PUBLISH in, DISCONNECT) and three publishers QoS 0, 1, 2"
    healthy_plain mqtt5-healthy.pcap mqttv5
    want mqtt5-healthy.pcap && record mqtt5-healthy.pcap true "" "" \
        "mosquitto_sub -V mqttv5 -q 2 -C 3 -t 'lab/#'; mosquitto_pub -V mqttv5 -q 0/1/2" \
        "MQTT 5.0 plain: same session as mqtt311-healthy with v5 properties and reason codes"

    one_capture mqtt31-healthy.pcap true "" \
        "mosquitto_pub -V mqttv31 -q 1 (protocol name MQIsdp, level 3)" \
        "MQTT 3.1 (MQIsdp) plain session: CONNECT, CONNACK 0, PUBLISH QoS 1, PUBACK, DISCONNECT" \
        -- pub -h broker.test -V mqttv31 -i lab-mqtt31 -t lab/v31 -m hello -q 1

    if want tls13-healthy.pcap; then
        cap_start tls13-healthy.pcap
        pub -h broker.test -p 8883 "${TLS_CA[@]}" -i lab-tls13 -t lab/tls -m hello -q 1
        cap_stop
        record tls13-healthy.pcap true "" "" \
            "mosquitto_pub -h broker.test -p 8883 --cafile root.pem -q 1" \
            "MQTT 3.1.1 over TLS 1.3 (SNI broker.test, chain server+intermediate); MQTT encrypted"
    fi
    if want tls12-healthy.pcap; then
        cap_start tls12-healthy.pcap
        in_cli timeout 10 "${MAX12[@]}" mosquitto_pub -h broker.test -p 8883 "${TLS_CA[@]}" -i lab-tls12 \
            -t lab/tls -m hello -q 1 || true
        cap_stop
        record tls12-healthy.pcap true "" "" \
            "OPENSSL_CONF=openssl-max-tls12.cnf mosquitto_pub -h broker.test -p 8883 --cafile root.pem -q 1" \
            "MQTT 3.1.1 over TLS 1.2 (ECDHE-RSA-AES256-GCM); certificates visible in clear"
    fi
    if want mtls13-healthy.pcap; then
        cap_start mtls13-healthy.pcap
        pub -h mtls.broker.test -p 8883 "${TLS_CA[@]}" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" \
            -i lab-mtls13 -t lab/mtls -m hello -q 1
        cap_stop
        record mtls13-healthy.pcap true "" "" \
            "mosquitto_pub -h mtls.broker.test -p 8883 --cafile root.pem --cert client-chain.pem --key client.key" \
            "mutual TLS 1.3 (require_certificate true); client certificate encrypted"
    fi
    if want mtls12-healthy.pcap; then
        cap_start mtls12-healthy.pcap
        in_cli timeout 10 "${MAX12[@]}" mosquitto_pub -h mtls.broker.test -p 8883 "${TLS_CA[@]}" \
            --cert "$PKI/client-chain.pem" --key "$PKI/client.key" -i lab-mtls12 -t lab/mtls -m hello -q 1 || true
        cap_stop
        record mtls12-healthy.pcap true "" "" \
            "OPENSSL_CONF=openssl-max-tls12.cnf mosquitto_pub -h mtls.broker.test --cert client-chain.pem ..." \
            "mutual TLS 1.2: CertificateRequest and the client certificate visible in clear"
    fi
}


# ================================================================ group 2: refusals and TLS failures
# one_capture FILE HEALTHY RULES HOW SHOWS -- CMD...: capture one client command.
one_capture() {
    local f=$1 healthy=$2 rules=$3 how=$4 shows=$5
    shift 6
    want "$f" || return 0
    cap_start "$f"
    "$@" >"$WORK/$f.client" 2>&1 || true
    cap_stop
    record "$f" "$healthy" "$rules" "" "$how" "$shows"
}

group2() {
    local v tag rc
    for v in mqttv311 mqttv5; do
        tag=${v#mqttv}
        one_capture "mqtt$tag-bad-password.pcap" false connack_refused \
            "mosquitto_pub -h auth.broker.test -V $v -u lab-user -P wrong (password_file listener)" \
            "MQTT $tag CONNECT with a wrong password: CONNACK refusal, broker closes" \
            -- pub -h auth.broker.test -V "$v" -i "lab-badpw-$tag" -u lab-user -P wrong -t lab/x -m x
        one_capture "mqtt$tag-not-authorized.pcap" false connack_refused \
            "mosquitto_pub -h auth.broker.test -V $v (no username; allow_anonymous false)" \
            "MQTT $tag anonymous CONNECT to a listener that needs a login: CONNACK refusal" \
            -- pub -h auth.broker.test -V "$v" -i "lab-anon-$tag" -t lab/x -m x
    done

    for v in 13 12; do
        local -a pre=()
        [ "$v" = 12 ] && pre=("${MAX12[@]}")
        local t="TLS 1.${v#1}"
        one_capture "tls$v-unknown-ca.pcap" false tls_alert \
            "${pre[*]:+OPENSSL_CONF=max-tls12 }mosquitto_pub -h broker.test -p 8883 --cafile other-root.pem" \
            "$t: client trusts only an unrelated root, rejects the server chain with a fatal alert" \
            -- in_cli timeout 10 "${pre[@]}" mosquitto_pub -h broker.test -p 8883 --cafile "$PKI/other-root.pem" \
            -i lab-unknown-ca -t lab/x -m x
        local cert_rule=""
        [ "$v" = 12 ] && cert_rule=",cert_expired"
        # TLS 1.2 shows the server's refusal of a client certificate as a plaintext alert; TLS 1.3
        # encrypts it, and the size of the client's encrypted Certificate tells which refusal it
        # was (an inference: client_cert_missing / client_cert_rejected).
        local mtls_rule="encrypted_alert"
        [ "$v" = 12 ] && mtls_rule="tls_alert"
        one_capture "tls$v-expired-cert.pcap" false "tls_alert$cert_rule" \
            "${pre[*]:+OPENSSL_CONF=max-tls12 }mosquitto_pub -h expired.broker.test -p 8883 --cafile root.pem" \
            "$t: server certificate expired (2020-01-01 + 30 days); client aborts with a fatal alert" \
            -- in_cli timeout 10 "${pre[@]}" mosquitto_pub -h expired.broker.test -p 8883 "${TLS_CA[@]}" \
            -i lab-expired -t lab/x -m x
        one_capture "tls$v-not-yet-valid-cert.pcap" false "tls_alert${cert_rule:+,cert_not_yet_valid}" \
            "${pre[*]:+OPENSSL_CONF=max-tls12 }mosquitto_pub -h notyet.broker.test -p 8883 --cafile root.pem" \
            "$t: server certificate valid from 2036 only; client aborts with a fatal alert" \
            -- in_cli timeout 10 "${pre[@]}" mosquitto_pub -h notyet.broker.test -p 8883 "${TLS_CA[@]}" \
            -i lab-notyet -t lab/x -m x
        one_capture "tls$v-wrong-host-cert.pcap" false "tls_alert${cert_rule:+,hostname_mismatch}" \
            "${pre[*]:+OPENSSL_CONF=max-tls12 }mosquitto_pub -h wronghost.broker.test -p 8883 --cafile root.pem" \
            "$t: server certificate is for other.example, SNI wronghost.broker.test; client aborts" \
            -- in_cli timeout 10 "${pre[@]}" mosquitto_pub -h wronghost.broker.test -p 8883 "${TLS_CA[@]}" \
            -i lab-wronghost -t lab/x -m x
        one_capture "tls$v-client-clock-ahead.pcap" false "tls_alert${cert_rule:+,clock_skew_suspected}" \
            "${pre[*]:+OPENSSL_CONF=max-tls12 }faketime -f +3000d mosquitto_pub -h broker.test -p 8883 --cafile root.pem" \
            "$t: client clock ~8 years ahead (faketime) sees the valid server certificate as expired" \
            -- in_cli timeout 10 "${pre[@]}" faketime -f +3000d mosquitto_pub -h broker.test -p 8883 "${TLS_CA[@]}" \
            -i lab-clock -t lab/x -m x
        one_capture "mtls$v-missing-client-cert.pcap" false "$mtls_rule,client_cert_missing" \
            "${pre[*]:+OPENSSL_CONF=max-tls12 }mosquitto_pub -h mtls.broker.test -p 8883 --cafile root.pem (no --cert)" \
            "$t to a require_certificate listener without a client certificate: server refuses" \
            -- in_cli timeout 10 "${pre[@]}" mosquitto_pub -h mtls.broker.test -p 8883 "${TLS_CA[@]}" \
            -i lab-nocert -t lab/x -m x
        one_capture "mtls$v-untrusted-client-cert.pcap" false "$mtls_rule,client_cert_rejected" \
            "${pre[*]:+OPENSSL_CONF=max-tls12 }mosquitto_pub -h mtls.broker.test --cert rogue-client.pem (other root)" \
            "$t: client certificate from an unrelated CA; server rejects it" \
            -- in_cli timeout 10 "${pre[@]}" mosquitto_pub -h mtls.broker.test -p 8883 "${TLS_CA[@]}" \
            --cert "$PKI/rogue-client.pem" --key "$PKI/rogue-client.key" -i lab-rogue -t lab/x -m x
    done

    one_capture mqtt311-aclfile-subscribe-granted.pcap true "" \
        "mosquitto_sub -V mqttv311 -t secret/x -W 2 to a listener whose acl_file allows only lab/#" \
        "negative control: mosquitto 2.0's acl_file does not refuse the SUBSCRIBE (SUBACK grants QoS), it only withholds messages" \
        -- in_cli timeout 10 mosquitto_sub -h aclfile.broker.test -V mqttv311 -i lab-aclfile -t secret/x -q 1 -W 2

    one_capture tls11-to-tls12-broker.pcap false "low_tls_version,tls_alert" \
        "openssl s_client -connect 10.78.0.1:8883 -servername broker.test -tls1_1 -cipher DEFAULT@SECLEVEL=0" \
        "client offers only TLS 1.1 to a broker with tls_version tlsv1.2" \
        -- in_cli timeout 10 openssl s_client -connect 10.78.0.1:8883 -servername broker.test -tls1_1 \
        -cipher DEFAULT@SECLEVEL=0 -CAfile "$PKI/root.pem" </dev/null

    one_capture connection-refused.pcap false connection_refused \
        "mosquitto_pub -h broker.test -p 1999 (no listener)" \
        "SYN answered by RST/ACK: nothing listens on the port" \
        -- pub -h broker.test -p 1999 -i lab-refused -t lab/x -m x

    one_capture silent-client.pcap false no_connect_sent \
        "scripts/lab/silent_client.py 10.78.0.1 1883 12 (python socket, sends nothing)" \
        "TCP handshake to the MQTT port, then silence: no CONNECT; see notes for who closes" \
        -- in_cli timeout 20 "$PY" "$LAB/silent_client.py" 10.78.0.1 1883 12

    for v in mqttv311 mqttv5; do
        tag=${v#mqttv}
        if want "mqtt$tag-keepalive-lapse.pcap"; then
            cap_start "mqtt$tag-keepalive-lapse.pcap"
            in_cli timeout 40 mosquitto_sub -h broker.test -V "$v" -i "lab-ka-$tag" -k 5 -t lab/ka >/dev/null 2>&1 &
            local sub=$!
            BG_PIDS+=("$sub")
            wait_log "Sending SUBACK to lab-ka-$tag" 5 || die "keepalive subscriber did not subscribe"
            # Stop the real client process (timeout's child); the kernel still ACKs, MQTT goes silent.
            local child=""
            child=$(pgrep -n -f "^mosquitto_sub -h broker.test -V $v -i lab-ka-$tag " || true)
            [ -n "$child" ] || die "keepalive client pid not found"
            BG_PIDS+=("$child")
            kill -STOP "$child"
            wait_log "Client lab-ka-$tag has exceeded timeout" 20 || log "WARN: no keepalive timeout logged"
            sleep 1
            kill -KILL "$child" 2>/dev/null || true
            wait "$sub" 2>/dev/null || true
            cap_stop
            record "mqtt$tag-keepalive-lapse.pcap" false keepalive_lapse "" \
                "mosquitto_sub -V $v -k 5, then SIGSTOP until the broker closes, then SIGKILL" \
                "MQTT $tag client silent past 1.5 x keep-alive 5 s; broker closes the TCP connection"
        fi
    done

    for v in mqttv311 mqttv5; do
        tag=${v#mqttv}
        local f="mqtt$tag-duplicate-client-id.pcap" v5=()
        [ "$tag" = 5 ] && v5=(--v5)
        want "$f" || continue
        cap_start "$f"
        paho --host broker.test --id "lab-dup-$tag" "${v5[@]}" --hold 6 >"$WORK/dup1.out" &
        local first=$!
        BG_PIDS+=("$first")
        wait_log "as lab-dup-$tag " 5 || die "first duplicate client did not connect"
        sleep 0.5
        pub -h broker.test -V "$v" -i "lab-dup-$tag" -t lab/dup -m second -q 1
        wait "$first" || true
        cap_stop
        record "$f" false duplicate_client_id "" \
            "paho-mqtt client id lab-dup-$tag (no auto-reconnect) holds; mosquitto_pub -V $v -i lab-dup-$tag connects 0.5 s later" \
            "MQTT $tag: two connections with one client id: the broker drops the first when the second connects"
    done
}


# ================================================================ group 3: middleboxes, storms, IPv6, formats, key logs
proxy() { # ADDR MODE MAXCONN: start rst_proxy.py in the broker namespace
    in_brk timeout 30 "$PY" "$LAB/rst_proxy.py" "$1" 8883 10.78.0.1 8883 "$2" "$3" 25 >"$WORK/proxy.$1" 2>&1 &
    BG_PIDS+=("$!")
    local i
    for i in $(seq 50); do grep -q listening "$WORK/proxy.$1" && return 0; sleep 0.1; done
    die "proxy on $1 did not start"
}

group3() {
    local f i
    f=middlebox-rst-after-clienthello.pcap
    if want $f; then
        proxy 10.78.0.17 always 5
        cap_start $f
        pub -h middlebox.broker.test -p 8883 "${TLS_CA[@]}" -i lab-mbox -t lab/x -m x
        cap_stop
        record $f false rst_without_alert "" \
            "scripts/lab/rst_proxy.py (reads the ClientHello, closes with SO_LINGER 0); mosquitto_pub -h middlebox.broker.test -p 8883" \
            "a middlebox resets the connection right after the ClientHello; no TLS alert from anyone"
    fi
    f=middlebox-rst-every-second-attempt.pcap
    if want $f; then
        proxy 10.78.0.18 alternate 6
        cap_start $f
        for i in 1 2 3 4; do
            pub -h flaky.broker.test -p 8883 "${TLS_CA[@]}" -i lab-flaky -t lab/x -m "attempt $i" -q 1
            sleep 0.3
        done
        cap_stop
        record $f false "rst_without_alert,rst_intermittent" "" \
            "rst_proxy.py in 'alternate' mode relaying every second connection to mosquitto; 4 x mosquitto_pub -h flaky.broker.test" \
            "identical TLS attempts: 1st and 3rd reset after the ClientHello, 2nd and 4th succeed"
    fi

    f=reconnect-storm.pcap
    if want $f; then
        cap_start $f
        for i in $(seq 15); do
            pub -h auth.broker.test -i lab-storm -u lab-user -P wrong -t lab/x -m x
        done
        cap_stop
        record $f false "connack_refused,reconnect_storm" "" \
            "15 x mosquitto_pub -h auth.broker.test -i lab-storm -P wrong, back to back (no delay)" \
            "one client id retries a refused login 15 times within about a second"
    fi
    f=reconnect-backoff.pcap
    if want $f; then
        cap_start $f
        for i in 1 2 4 0; do
            pub -h auth.broker.test -i lab-backoff -u lab-user -P wrong -t lab/x -m x
            [ "$i" -gt 0 ] && sleep "$i"
        done
        cap_stop
        record $f false connack_refused "" \
            "4 x mosquitto_pub -h auth.broker.test -i lab-backoff -P wrong with 1, 2, 4 s pauses" \
            "the same refused login retried with exponential backoff: not a storm"
    fi
    f=mqtt311-fighting-client-ids.pcap
    if want $f; then
        cap_start $f
        in_cli timeout 6 mosquitto_sub -h broker.test -i lab-fight -t lab/fight >/dev/null 2>&1 &
        BG_PIDS+=("$!")
        sleep 0.3
        in_cli timeout 5.7 mosquitto_sub -h broker.test -i lab-fight -t lab/fight >/dev/null 2>&1 || true
        wait "${BG_PIDS[-1]}" 2>/dev/null || true
        cap_stop
        record $f false duplicate_client_id "" \
            "two mosquitto_sub -i lab-fight (auto-reconnecting), run for ~6 s (timeout)" \
            "two auto-reconnecting clients with one id take turns kicking each other off"
    fi
    f=mqtt311-oversized-packet.pcap
    if want $f; then
        head -c 30000 /dev/zero | tr '\0' 'x' >"$WORK/big.txt"
        one_capture $f false server_closed_after_request \
            "mosquitto_pub -V mqttv311 -f big.txt (30000 bytes) to a broker with max_packet_size 20000" \
            "MQTT 3.1.1 PUBLISH larger than the broker's max_packet_size: broker closes without an answer" \
            -- pub -h broker.test -V mqttv311 -i lab-big-311 -t lab/big -f "$WORK/big.txt" -q 1
        f=mqtt5-oversized-packet.pcap
        one_capture $f true "" \
            "mosquitto_pub -V mqttv5 -f big.txt (30000 bytes) to a broker with max_packet_size 20000" \
            "MQTT 5.0: CONNACK announces Maximum Packet Size 20000, so mosquitto_pub never sends the PUBLISH and disconnects (negative control)" \
            -- pub -h broker.test -V mqttv5 -i lab-big-5 -t lab/big -f "$WORK/big.txt" -q 1
    fi

    f=ipv6-healthy.pcap
    if want $f; then
        cap_start $f
        pub -h broker6.test -p 1883 -i lab-v6-plain -t lab/v6 -m hello -q 1
        pub -h broker6.test -p 8883 "${TLS_CA[@]}" -i lab-v6-tls -t lab/v6 -m hello -q 1
        cap_stop
        record $f true "" "" \
            "mosquitto_pub -h broker6.test (fd78::1) on 1883, then on 8883 with TLS" \
            "IPv6: a plain MQTT 3.1.1 session and a TLS 1.3 session"
    fi
    f=sni-ip-literal.pcap
    if want $f; then
        one_capture $f false sni_ip_literal \
            "mosquitto_pub -h 10.78.0.1 -p 8883 --cafile root.pem (certificate has IP SAN 10.78.0.1)" \
            "TLS 1.3 session that works, but see the SNI (IP literal forbidden by RFC 6066 §3)" \
            -- pub -h 10.78.0.1 -p 8883 "${TLS_CA[@]}" -i lab-sni-ip -t lab/x -m x -q 1
    fi
    f=sni-none.pcap
    if want $f; then
        one_capture $f false sni_missing \
            "scripts/lab/mqtt_client.py (paho-mqtt) --host 10.78.0.1 --port 8883 (Python ssl sends no SNI for an IP)" \
            "TLS 1.3 session that works, with no server_name extension" \
            -- paho --host 10.78.0.1 --port 8883 --cafile "$PKI/root.pem" --id lab-sni-none --publish lab/x x 1
    fi
    f=alpn-mqtt.pcap
    if want $f; then
        one_capture $f true "" \
            "scripts/lab/mqtt_client.py (paho-mqtt) --alpn mqtt to broker.test:8883" \
            "client offers ALPN 'mqtt'; see notes for whether mosquitto 2.0.11 answers it" \
            -- paho --host broker.test --port 8883 --cafile "$PKI/root.pem" --alpn mqtt --id lab-alpn --publish lab/x x 1
    fi

    # The same healthy session recorded at once in every file format / link type.
    if want format-; then
        CAP_IF=mqb0 cap_start format-ethernet-us.pcap
        CAP_IF=mqb0 cap_start format-ethernet-ns.pcap --time-stamp-precision nano
        CAP_IF=any cap_start format-sll2.pcap
        CAP_IF=any cap_start format-sll.pcap -y LINUX_SLL
        pub -h broker.test -i lab-formats -t lab/formats -m "same session, many formats" -q 1
        cap_stop
        editcap -F pcapng "$OUT/format-ethernet-us.pcap" "$OUT/format-pcapng.pcapng"
        local g
        for g in format-ethernet-us.pcap format-ethernet-ns.pcap format-sll2.pcap format-sll.pcap format-pcapng.pcapng; do
            record $g true "" "" "tcpdump (one of four at once) around mosquitto_pub -q 1; pcapng via editcap -F pcapng" \
                "one healthy MQTT 3.1.1 QoS 1 session; file format/link type: ${g#format-}"
        done
    fi

    # Key-logged TLS sessions (paho-mqtt on Python ssl, keylog_filename = NSS key log).
    keylogged() { # FILE HEALTHY RULES SHOWS -- paho args
        local kf=$1 healthy=$2 rules=$3 shows=$4
        shift 5
        want "$kf" || return 0
        local keys="keys/${kf%.pcap}.keys"
        rm -f "$OUT/$keys"
        cap_start "$kf"
        paho --keylog "$OUT/$keys" "$@" >"$WORK/$kf.client" 2>&1
        cap_stop
        [ -s "$OUT/$keys" ] || die "no key log for $kf"
        record "$kf" "$healthy" "$rules" "-o tls.keylog_file:$keys" \
            "scripts/lab/mqtt_client.py (paho-mqtt $("$PY" -c 'import paho.mqtt; print(paho.mqtt.__version__)')) $*" "$shows"
    }
    local common=(--port 8883 --cafile "$PKI/root.pem" --publish lab/keys "decrypt me" 1)
    keylogged keylog-tls13-aes256gcm.pcap true "" "TLS 1.3 TLS_AES_256_GCM_SHA384 with key file keys/keylog-tls13-aes256gcm.keys" \
        -- --host broker.test --id lab-kl13 "${common[@]}"
    keylogged keylog-tls13-chacha20.pcap true "" "TLS 1.3 TLS_CHACHA20_POLY1305_SHA256 (listener ciphers_tls1.3) with key file" \
        -- --host chacha.broker.test --id lab-kl13c "${common[@]}"
    keylogged keylog-tls12-aes128gcm.pcap true "" "TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256 with key file" \
        -- --host broker.test --id lab-kl12 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 "${common[@]}"
    keylogged keylog-tls12-chacha20.pcap true "" "TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305 with key file" \
        -- --host broker.test --id lab-kl12c --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305 "${common[@]}"
    keylogged keylog-tls12-cbc.pcap true "" "TLS 1.2 ECDHE-RSA-AES128-SHA256 (CBC) with key file" \
        -- --host broker.test --id lab-kl12b --tls-max 1.2 --ciphers ECDHE-RSA-AES128-SHA256 "${common[@]}"
    keylogged keylog-tls13-bad-password.pcap false connack_refused \
        "TLS 1.3 to a password listener with a wrong password: the CONNACK refusal is visible only with the key file" \
        -- --host auth.broker.test --id lab-kl-badpw --user lab-user --password wrong "${common[@]}"
    keylogged keylog-tls12-bad-password.pcap false connack_refused \
        "TLS 1.2 wrong password: CONNACK refusal (and the encrypted close_notify alerts) visible only with the key file" \
        -- --host auth.broker.test --id lab-kl12-badpw --tls-max 1.2 --user lab-user --password wrong "${common[@]}"
    keylogged keylog-mtls13-missing-client-cert.pcap false "client_cert_missing,tls_alert" \
        "TLS 1.3 to a require_certificate listener without a client certificate: with the key file the empty client Certificate and the server's alert become readable" \
        -- --host mtls.broker.test --id lab-kl-nocert "${common[@]}"
    if want keylog-tls13-bad-password.pcap; then
        editcap --inject-secrets "tls,$OUT/keys/keylog-tls13-bad-password.keys" \
            "$OUT/keylog-tls13-bad-password.pcap" "$OUT/keys-embedded-tls13-bad-password.pcapng"
        record keys-embedded-tls13-bad-password.pcapng false connack_refused "" \
            "editcap --inject-secrets tls,keys/keylog-tls13-bad-password.keys keylog-tls13-bad-password.pcap" \
            "same as keylog-tls13-bad-password.pcap with the keys in a pcapng Decryption Secrets Block"
    fi
}

# ================================================================ group 4: a lossy, reordering, small-MTU path
# LOSSY_CLI (10.78.0.2, MTU 576) -- LOSSY_MID (lossy_bridge.py) -- LOSSY_BRK (10.78.0.1, MTU 576)
group4() {
    local f=lossy-reordered-small-mtu.pcap
    want $f || return 0
    local L=$LOSSY_CLI M=$LOSSY_MID B=$LOSSY_BRK ns
    for ns in $L $M $B; do
        ip netns del $ns 2>/dev/null || true
        ip netns add $ns
        ip netns exec $ns ip link set lo up
    done
    ip link add lc0 netns $L type veth peer name la0 netns $M
    ip link add lbr0 netns $B type veth peer name lb0 netns $M
    local n i
    for n in "$L:lc0" "$M:la0" "$M:lb0" "$B:lbr0"; do
        ip netns exec "${n%%:*}" ip link set "${n#*:}" mtu 576
        ip netns exec "${n%%:*}" ethtool -K "${n#*:}" tso off gso off gro off tx off >/dev/null 2>&1 || true
        ip netns exec "${n%%:*}" ip link set "${n#*:}" up
    done
    ip netns exec $L ip addr add 10.78.0.2/24 dev lc0
    ip netns exec $B ip addr add 10.78.0.1/24 dev lbr0
    mkdir -p /etc/netns/$L
    printf '127.0.0.1 localhost\n10.78.0.1 broker.test\n' >/etc/netns/$L/hosts
    ip netns exec $M timeout 40 "$PY" "$LAB/lossy_bridge.py" la0 lb0 0.05 1 25 35 >"$WORK/bridge.out" 2>&1 &
    BG_PIDS+=("$!")
    printf '%s\n' "user root" "persistence false" "log_dest file $WORK/lossy-mosquitto.log" "log_type all" \
        "listener 1883 10.78.0.1" "allow_anonymous true" "listener 8883 10.78.0.1" "allow_anonymous true" \
        "certfile $PKI/server-chain.pem" "keyfile $PKI/server.key" >"$WORK/lossy.conf"
    ip netns exec $B mosquitto -c "$WORK/lossy.conf" >/dev/null 2>&1 &
    local lbroker=$!
    BG_PIDS+=("$lbroker")
    for i in $(seq 50); do
        [ "$(grep -c 'Opening ip' "$WORK/lossy-mosquitto.log" 2>/dev/null || true)" -ge 2 ] && break
        sleep 0.1
    done
    for i in $(seq 20); do grep -q bridging "$WORK/bridge.out" && break; sleep 0.1; done
    head -c 12000 /dev/urandom | base64 -w 0 >"$WORK/payload.txt"
    CAP_NS=$B CAP_IF=lbr0 cap_start $f
    ip netns exec $L timeout 15 mosquitto_sub -h broker.test -i lab-lossy-sub -t lab/lossy -q 1 -C 1 >/dev/null 2>&1 &
    local sub=$!
    BG_PIDS+=("$sub")
    for i in $(seq 50); do
        grep -q "Sending SUBACK to lab-lossy-sub" "$WORK/lossy-mosquitto.log" 2>/dev/null && break
        sleep 0.1
    done
    ip netns exec $L timeout 15 mosquitto_pub -h broker.test -i lab-lossy-pub -t lab/lossy -q 1 \
        -f "$WORK/payload.txt" >/dev/null 2>&1 || true
    wait "$sub" || true
    ip netns exec $L timeout 15 mosquitto_pub -h broker.test -p 8883 "${TLS_CA[@]}" -i lab-lossy-tls \
        -t lab/lossy -q 1 -m tls >/dev/null 2>&1 || true
    cap_stop
    kill -TERM "$lbroker" 2>/dev/null || true
    record $f false tcp_retransmissions "-o tcp.reassemble_out_of_order:TRUE" \
        "3 namespaces, MTU 576, scripts/lab/lossy_bridge.py (5% drop, 1-25 ms jitter, seed 78); mosquitto_sub -C 1 + mosquitto_pub -f 16 KB; mosquitto_pub over TLS" \
        "healthy sessions (plain 16 KB PUBLISH QoS 1 to a subscriber, then TLS 1.3) across a lossy, reordering path: retransmissions, out-of-order and small segments; captured at the broker"
    log "bridge: $(tail -1 "$WORK/bridge.out")"
}

# ================================================================ group 5: ACL refusals (dynamic-security plugin)
# A second mosquitto on 10.78.0.19 (acl.broker.test) with the dynamic-security plugin: the client
# lab-acl may publish and subscribe under lab/# only (dynsec's default denies everything else).
# mosquitto 2.0's acl_file does not refuse a SUBSCRIBE in the SUBACK; dynsec does.
group5() {
    want mqtt311-subscribe-refused.pcap || want mqtt5-subscribe-refused.pcap || want mqtt5-publish-refused.pcap || want mqtt311-publish-denied-silently.pcap || want mqtt311-will-forbidden-topic.pcap || return 0
    local conf=$WORK/dynsec.conf i
    in_brk ip addr add 10.78.0.19/24 dev mqb0 2>/dev/null || true
    grep -q acl.broker.test /etc/netns/$CLI/hosts || echo "10.78.0.19 acl.broker.test" >>/etc/netns/$CLI/hosts
    mosquitto_ctrl dynsec init "$WORK/dynsec.json" lab-admin admin-pass >/dev/null
    printf '%s\n' "user root" "persistence false" "log_dest file $WORK/dynsec.log" "log_type all" \
        "plugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so" \
        "plugin_opt_config_file $WORK/dynsec.json" "listener 1883 10.78.0.19" "allow_anonymous false" >"$conf"
    in_brk mosquitto -c "$conf" >"$WORK/dynsec.out" 2>&1 &
    local dbroker=$!
    BG_PIDS+=("$dbroker")
    for i in $(seq 50); do grep -q "Opening ip" "$WORK/dynsec.log" 2>/dev/null && break; sleep 0.1; done
    sleep 0.3
    local ctl=(in_cli timeout 10 mosquitto_ctrl -h acl.broker.test -u lab-admin -P admin-pass dynsec)
    "${ctl[@]}" createClient lab-acl -p acl-pass >/dev/null 2>&1
    "${ctl[@]}" createRole lab-role >/dev/null 2>&1
    "${ctl[@]}" addRoleACL lab-role subscribePattern 'lab/#' allow >/dev/null 2>&1
    "${ctl[@]}" addRoleACL lab-role publishClientSend 'lab/#' allow >/dev/null 2>&1
    "${ctl[@]}" addClientRole lab-acl lab-role >/dev/null 2>&1
    local acl=(-h acl.broker.test -u lab-acl -P acl-pass)
    local v tag
    for v in mqttv311 mqttv5; do
        tag=${v#mqttv}
        one_capture "mqtt$tag-subscribe-refused.pcap" false subscribe_refused \
            "mosquitto_sub -V $v -t lab/ok -t secret/x -W 2 against mosquitto + dynamic-security (role allows lab/#)" \
            "MQTT $tag SUBSCRIBE with two filters: lab/ok granted, secret/x refused in the SUBACK" \
            -- in_cli timeout 10 mosquitto_sub "${acl[@]}" -V "$v" -i "lab-sub-acl-$tag" -t lab/ok -t secret/x -q 1 -W 2
    done
    one_capture mqtt5-publish-refused.pcap false publish_refused \
        "mosquitto_pub -V mqttv5 -q 1 -t secret/x against mosquitto + dynamic-security" \
        "MQTT 5.0 PUBLISH QoS 1 to a denied topic: PUBACK with a refusal reason code" \
        -- pub "${acl[@]}" -V mqttv5 -i lab-pub-acl-5 -t secret/x -m x -q 1
    one_capture mqtt311-publish-denied-silently.pcap true "" \
        "mosquitto_pub -V mqttv311 -q 1 -t secret/x against mosquitto + dynamic-security" \
        "MQTT 3.1.1 PUBLISH QoS 1 to a denied topic: 3.1.1 has no way to say no, the PUBACK looks like success (negative control)" \
        -- pub "${acl[@]}" -V mqttv311 -i lab-pub-acl-311 -t secret/x -m x -q 1
    one_capture mqtt311-will-forbidden-topic.pcap true "" \
        "mosquitto_pub -V mqttv311 --will-topic secret/will (denied by dynamic-security) -t lab/ok" \
        "CONNECT whose will topic the ACL denies: what mosquitto 2.0.11 does with it (see notes)" \
        -- pub "${acl[@]}" -V mqttv311 -i lab-will-311 --will-topic secret/will --will-payload gone -t lab/ok -m x -q 1
    kill -TERM "$dbroker" 2>/dev/null || true
}

# ================================================================ group 6: a second broker (aedes, npm)
AEDES_DIR=/var/cache/mqlab-aedes
aedes_log_wait() { # PATTERN SECONDS
    local i
    for i in $(seq $(($2 * 10))); do grep -q -- "$1" "$WORK/aedes.log" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

group6() {
    want aedes- || return 0
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq nodejs npm >/dev/null
    fi
    if [ ! -f "$AEDES_DIR/node_modules/aedes/package.json" ]; then
        mkdir -p "$AEDES_DIR"
        (cd "$AEDES_DIR" && timeout 300 npm install --no-audit --no-fund aedes@$AEDES_VERSION >/dev/null 2>&1)
    fi
    local aver i
    aver=$(node -p "require('$AEDES_DIR/node_modules/aedes/package.json').version")
    in_brk ip addr add 10.78.0.20/24 dev mqb0 2>/dev/null || true
    grep -q aedes.broker.test /etc/netns/$CLI/hosts || echo "10.78.0.20 aedes.broker.test" >>/etc/netns/$CLI/hosts
    in_brk timeout 150 node "$LAB/aedes_broker.js" "$AEDES_DIR/node_modules" 10.78.0.20 1883 140 >"$WORK/aedes.log" 2>&1 &
    local abroker=$!
    BG_PIDS+=("$abroker")
    aedes_log_wait "listening" 10 || die "aedes did not start: $(cat "$WORK/aedes.log")"
    local A=(-h aedes.broker.test)
    local f=aedes-mqtt311-healthy.pcap
    if want $f; then
        cap_start $f
        in_cli timeout 10 mosquitto_sub "${A[@]}" -i lab-aedes-sub -t 'lab/#' -q 2 -C 3 >/dev/null 2>&1 &
        local sub=$!
        BG_PIDS+=("$sub")
        aedes_log_wait "subscribe lab-aedes-sub" 5 || die "aedes subscriber did not subscribe"
        for i in 0 1 2; do pub "${A[@]}" -i "lab-aedes-pub-q$i" -t "lab/q$i" -m "hello qos $i" -q "$i"; done
        wait "$sub" || true
        cap_stop
        record $f true "" "" "aedes $aver (node $(node --version)); mosquitto_sub -q 2 -C 3 + mosquitto_pub -q 0/1/2" \
            "MQTT 3.1.1 healthy session against aedes instead of mosquitto"
    fi
    one_capture aedes-mqtt311-bad-password.pcap false connack_refused \
        "aedes $aver with an authenticate hook (returnCode 4); mosquitto_pub -u lab-user -P wrong" \
        "MQTT 3.1.1 wrong password against aedes: CONNACK refusal" \
        -- pub "${A[@]}" -i lab-aedes-badpw -u lab-user -P wrong -t lab/x -m x
    one_capture aedes-mqtt5-connect.pcap false connack_refused \
        "aedes $aver; mosquitto_pub -V mqttv5" \
        "an MQTT 5.0 CONNECT to aedes (3.1.1 only): aedes answers a 4-byte 3.1.1-style CONNACK, return code 1 (unacceptable protocol version)" \
        -- pub "${A[@]}" -V mqttv5 -i lab-aedes-v5 -t lab/x -m x -q 1
    f=aedes-duplicate-client-id.pcap
    if want $f; then
        cap_start $f
        paho --host aedes.broker.test --id lab-aedes-dup --hold 6 &
        local first=$!
        BG_PIDS+=("$first")
        aedes_log_wait "client lab-aedes-dup" 5 || die "aedes first duplicate did not connect"
        sleep 0.5
        pub "${A[@]}" -i lab-aedes-dup -t lab/dup -m second -q 1
        wait "$first" || true
        cap_stop
        record $f false duplicate_client_id "" \
            "aedes $aver; paho-mqtt client id lab-aedes-dup holds, mosquitto_pub -i lab-aedes-dup 0.5 s later" \
            "two connections with one client id against aedes: the first is dropped"
    fi
    f=aedes-keepalive-lapse.pcap
    if want $f; then
        cap_start $f
        in_cli timeout 40 mosquitto_sub "${A[@]}" -i lab-aedes-ka -k 5 -t lab/ka >/dev/null 2>&1 &
        local sub=$! child=""
        BG_PIDS+=("$sub")
        aedes_log_wait "subscribe lab-aedes-ka" 5 || die "aedes keepalive subscriber did not subscribe"
        child=$(pgrep -n -f "^mosquitto_sub -h aedes.broker.test -i lab-aedes-ka " || true)
        [ -n "$child" ] || die "aedes keepalive client pid not found"
        BG_PIDS+=("$child")
        kill -STOP "$child"
        aedes_log_wait "disconnect lab-aedes-ka" 20 || log "WARN: aedes did not drop the silent client"
        sleep 1
        kill -KILL "$child" 2>/dev/null || true
        wait "$sub" 2>/dev/null || true
        cap_stop
        record $f false keepalive_lapse "" \
            "aedes $aver; mosquitto_sub -k 5, SIGSTOP until aedes closes, then SIGKILL" \
            "MQTT 3.1.1 client silent past 1.5 x keep-alive against aedes: broker closes"
    fi
    kill -TERM "$abroker" 2>/dev/null || true
}

# ================================================================ group 7: tunnels and other traffic
# A healthy MQTT 3.1.1 session (mosquitto_sub -C 1 + mosquitto_pub -q 1) carried inside a tunnel
# between the two namespaces: the files hold only the outer packets (capture filter on the tunnel's
# port/protocol), the TCP in them is the inner one. VXLAN is the kernel's own; this kernel has no
# gtp/ip_gre/mpls_router/pppoe modules, so GTP-U, GRE, MPLS and PPPoE come from
# scripts/lab/tunnel.py (a TUN device in each namespace). Overlay 10.79.N.0/24 (.2 client, .1
# broker) on the underlay 10.78.0.2 <-> 10.78.0.1 (MPLS, PPPoE: Ethernet frames on a veth pair of
# their own, mqlc0 <-> mqlb0, without addresses); overlay MTU 1400 so an encapsulated packet (+50
# bytes VXLAN, +36 GTP-U, +24 GRE, +4 MPLS, +8 PPPoE) fits the veth's 1500.
OVL_MTU=1400
declare -a TUN_PIDS=()

wait_file() { # FILE PATTERN SECONDS
    local i
    for i in $(seq $(($3 * 10))); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

# overlay_broker ADDR TAG: a mosquitto of its own on the broker's overlay address (the main broker
# started before the overlay existed, so it could not listen there). Sets OVL_BROKER.
overlay_broker() {
    local addr=$1 tag=$2
    printf '%s\n' "user root" "persistence false" "log_dest file $WORK/ovl-$tag.log" "log_type all" \
        "listener 1883 $addr" "allow_anonymous true" >"$WORK/ovl-$tag.conf"
    in_brk mosquitto -c "$WORK/ovl-$tag.conf" >"$WORK/ovl-$tag.out" 2>&1 &
    OVL_BROKER=$!
    BG_PIDS+=("$OVL_BROKER")
    wait_file "$WORK/ovl-$tag.log" "Opening ip" 5 || die "overlay mosquitto ($tag) did not start: $(cat "$WORK/ovl-$tag.out")"
    sleep 0.2
}

# overlay_session ADDR TAG: subscriber first (so the PUBLISH is delivered to it), then one QoS 1
# publisher; two TCP connections through the tunnel.
overlay_session() {
    local addr=$1 tag=$2
    in_cli timeout 10 mosquitto_sub -h "$addr" -i "lab-$tag-sub" -t "lab/$tag" -q 1 -C 1 >/dev/null 2>&1 &
    local sub=$!
    BG_PIDS+=("$sub")
    wait_file "$WORK/ovl-$tag.log" "Sending SUBACK to lab-$tag-sub" 5 || die "$tag subscriber did not subscribe"
    pub -h "$addr" -i "lab-$tag-pub" -t "lab/$tag" -m "hello through $tag" -q 1
    wait "$sub" || true
}

tunnel_vxlan() {
    local f=tunnel-vxlan.pcap
    want $f || return 0
    # Point-to-point VXLAN (remote = the peer's underlay address, no multicast), VNI 42, on the
    # IANA port 4789: Linux's default 8472 is not what Wireshark decodes as VXLAN.
    local spec ns dev lo re under ov
    for spec in "$CLI mqvxc0 10.78.0.2 10.78.0.1 mqc0 10.79.0.2" "$BRK mqvxb0 10.78.0.1 10.78.0.2 mqb0 10.79.0.1"; do
        read -r ns dev lo re under ov <<<"$spec"
        ip netns exec "$ns" ip link add "$dev" type vxlan id 42 local "$lo" remote "$re" dstport 4789 dev "$under"
        ip netns exec "$ns" ip link set "$dev" mtu $OVL_MTU
        # No IPv6 router solicitations / MLD inside the tunnel: the overlay is IPv4 (ARP stays).
        ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off >/dev/null 2>&1 || true
        ip netns exec "$ns" ip addr add "$ov/24" dev "$dev"
        ip netns exec "$ns" ip link set "$dev" up
    done
    overlay_broker 10.79.0.1 vxlan
    CAP_FILTER="udp port 4789" cap_start $f
    overlay_session 10.79.0.1 vxlan
    cap_stop
    kill -TERM "$OVL_BROKER" 2>/dev/null || true
    wait "$OVL_BROKER" 2>/dev/null || true
    in_cli ip link del mqvxc0
    in_brk ip link del mqvxb0
    record $f true "" "" \
        "ip link add type vxlan id 42 dstport 4789 (kernel VXLAN, overlay 10.79.0.0/24, MTU 1400) in both namespaces; own mosquitto on 10.79.0.1; mosquitto_sub -C 1 + mosquitto_pub -q 1; tcpdump 'udp port 4789' on the underlay veth" \
        "healthy MQTT 3.1.1 session inside VXLAN (UDP 4789, VNI 42): the TCP is inner (10.79.0.2 -> 10.79.0.1:1883), outer UDP 10.78.0.2 <-> 10.78.0.1"
}

# tunnel_end MODE NS SIDE OVERLAY [tunnel.py options...]: one tunnel.py endpoint, bounded
# (--seconds 30, timeout 40); its pid is appended to TUN_PIDS.
tunnel_end() {
    local mode=$1 ns=$2 side=$3 ov=$4
    shift 4
    ip netns exec "$ns" timeout 40 "$PY" "$LAB/tunnel.py" "$mode" --dev "mq$mode${side}0" --addr "$ov/24" \
        --mtu $OVL_MTU --seconds 30 "$@" >"$WORK/tunnel-$mode-$side.out" 2>&1 &
    BG_PIDS+=("$!")
    TUN_PIDS+=("$!")
    wait_file "$WORK/tunnel-$mode-$side.out" forwarding 5 ||
        die "tunnel.py $mode ($side) did not start: $(cat "$WORK/tunnel-$mode-$side.out")"
}

# link_veth: a second veth pair between the namespaces (mqlc0 client, mqlb0 broker) for the
# Ethernet-level tunnels. No IPv4 address and IPv6 off before the link goes up, so the kernel sends
# nothing on it (no ARP, router solicitation, MLD) and answers nothing; offloads off as on mqc0/mqb0.
link_veth() {
    ip link add mqlc0 netns $CLI type veth peer name mqlb0 netns $BRK
    local spec ns dev
    for spec in "$CLI mqlc0" "$BRK mqlb0"; do
        read -r ns dev <<<"$spec"
        ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off >/dev/null 2>&1 || true
        ip netns exec "$ns" ip link set "$dev" up
    done
}

# user_tunnel FILE MODE NET FILTER SHOWS: tunnel.py in each namespace (overlay 10.79.NET.0/24), its
# own mosquitto on 10.79.NET.1, capture filter FILTER on the underlay (gtpu, gre: the main veth;
# mpls, pppoe: the link_veth pair, captured on mqlb0).
user_tunnel() {
    local f=$1 mode=$2 net=$3 filter=$4 shows=$5
    want "$f" || return 0
    local -a copt=() bopt=()
    local cap_if=mqb0 where="the underlay veth" under="in both namespaces"
    case $mode in
    gtpu | gre)
        copt=(--local 10.78.0.2 --remote 10.78.0.1)
        bopt=(--local 10.78.0.1 --remote 10.78.0.2)
        ;;
    mpls | pppoe)
        link_veth
        cap_if=mqlb0
        where="mqlb0"
        under="in both namespaces, Ethernet frames through an AF_PACKET socket on a veth pair without addresses (mqlc0 <-> mqlb0)"
        copt=(--iface mqlc0 --peer-mac "$(in_brk cat /sys/class/net/mqlb0/address)")
        bopt=(--iface mqlb0 --peer-mac "$(in_cli cat /sys/class/net/mqlc0/address)")
        ;;
    esac
    # GTP-U: the TEID in a packet names the receiving end's tunnel, so each direction has its own:
    # 0x1001 on the uplink (client -> broker), 0x2002 on the downlink. MPLS likewise: label 16
    # towards the broker, 17 back. PPPoE: one session id, 0x0042, both ways.
    case $mode in
    gtpu) copt+=(--teid-tx 0x1001 --teid-rx 0x2002) && bopt+=(--teid-tx 0x2002 --teid-rx 0x1001) ;;
    mpls) copt+=(--label-tx 16 --label-rx 17) && bopt+=(--label-tx 17 --label-rx 16) ;;
    pppoe) copt+=(--session 0x0042) && bopt+=(--session 0x0042) ;;
    esac
    TUN_PIDS=()
    tunnel_end "$mode" $CLI c "10.79.$net.2" "${copt[@]}"
    tunnel_end "$mode" $BRK b "10.79.$net.1" "${bopt[@]}"
    overlay_broker "10.79.$net.1" "$mode"
    CAP_IF=$cap_if CAP_FILTER=$filter cap_start "$f"
    overlay_session "10.79.$net.1" "$mode"
    cap_stop
    kill -TERM "$OVL_BROKER" "${TUN_PIDS[@]}" 2>/dev/null || true
    wait "$OVL_BROKER" "${TUN_PIDS[@]}" 2>/dev/null || true
    if [ "$cap_if" = mqlb0 ]; then in_cli ip link del mqlc0; fi # takes mqlb0 with it
    log "tunnel.py $mode: client $(tail -1 "$WORK/tunnel-$mode-c.out"), broker $(tail -1 "$WORK/tunnel-$mode-b.out")"
    record "$f" true "" "" \
        "scripts/lab/tunnel.py $mode (TUN device, overlay 10.79.$net.0/24, MTU 1400) $under; own mosquitto on 10.79.$net.1; mosquitto_sub -C 1 + mosquitto_pub -q 1; tcpdump '$filter' on $where" \
        "$shows"
}

# dns_query SERVER NAME: one real DNS query (A, IN, recursion desired) over UDP from the client
# namespace. Nothing listens on port 53 there, so the broker's kernel answers ICMP port unreachable.
dns_query() {
    in_cli timeout 5 "$PY" - "$1" "$2" >>"$WORK/clients.log" 2>&1 <<'EOF' || true
import socket, struct, sys
server, name = sys.argv[1], sys.argv[2]
# RFC 1035 §4.1: header (id, flags = RD, 1 question), QNAME as length-prefixed labels, QTYPE A, QCLASS IN.
query = struct.pack("!HHHHHH", 0x4D51, 0x0100, 1, 0, 0, 0)
query += b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
query += struct.pack("!HH", 1, 1)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect((server, 53))  # connected, so the ICMP port unreachable surfaces as ECONNREFUSED
sock.settimeout(2)
sock.send(query)
try:
    print("dns answer", sock.recv(512))
except ConnectionRefusedError:
    print("dns: ICMP port unreachable")
except socket.timeout:
    print("dns: no answer")
EOF
}

group7() {
    tunnel_vxlan
    user_tunnel tunnel-gtpu.pcap gtpu 1 "udp port 2152" \
        "healthy MQTT 3.1.1 session inside GTPv1-U (UDP 2152, G-PDU, TEID 0x1001 up / 0x2002 down): the TCP is inner (10.79.1.2 -> 10.79.1.1:1883)"
    user_tunnel tunnel-gre.pcap gre 2 "ip proto 47" \
        "healthy MQTT 3.1.1 session inside GRE (IP protocol 47, RFC 2784 header, no key/checksum): the TCP is inner (10.79.2.2 -> 10.79.2.1:1883)"
    user_tunnel tunnel-mpls.pcap mpls 3 mpls \
        "healthy MQTT 3.1.1 session inside MPLS over Ethernet (EtherType 0x8847, one label, 16 towards the broker / 17 back, S=1, TTL 64): the TCP is inner (10.79.3.2 -> 10.79.3.1:1883)"
    user_tunnel tunnel-pppoe.pcap pppoe 4 pppoes \
        "healthy MQTT 3.1.1 session inside PPPoE session frames (EtherType 0x8864, session 0x0042, PPP protocol 0x0021; no discovery stage, the session is pre-agreed): the TCP is inner (10.79.4.2 -> 10.79.4.1:1883)"
    local f=other-traffic.pcap
    if want $f; then
        CAP_FILTER="" cap_start $f
        in_cli ping -c 2 10.78.0.1 >>"$WORK/clients.log" 2>&1 || true
        dns_query 10.78.0.1 broker.test
        pub -h broker.test -i lab-other -t lab/other -m "among other traffic" -q 1
        cap_stop
        record $f true "" "" \
            "tcpdump with no filter on the broker veth around: ping -c 2 10.78.0.1; a DNS A query (python, struct) to 10.78.0.1:53 where nothing listens; mosquitto_pub -h broker.test -q 1" \
            "one healthy MQTT 3.1.1 QoS 1 session among non-TCP traffic: ICMP echo, a DNS query over UDP answered by ICMP port unreachable, perhaps ARP"
    fi
}

# ================================================================ group 8: views a capture can give
# Not new recordings: cuts of the healthy captures above, as a mirror port that copies one
# direction or a capture started late would give them. tshark keeps one direction (display filter
# on the source address); editcap keeps a range of frames. Frame numbers restart at 1.
cut_capture() { # FILE SOURCE HEALTHY RULES HOW SHOWS -- command ({in} and {out} replaced)
    local f=$1 src=$2 healthy=$3 rules=$4 how=$5 shows=$6
    shift 7
    want "$f" || return 0
    [ -s "$OUT/$src" ] || die "$f needs $src"
    local -a cmd=()
    local a
    for a in "$@"; do
        a=${a//\{in\}/$OUT/$src}
        cmd+=("${a//\{out\}/$OUT/$f}")
    done
    "${cmd[@]}" >>"$WORK/cuts.log" 2>&1 || die "cutting $f failed: $(tail -3 "$WORK/cuts.log")"
    record "$f" "$healthy" "$rules" "" "$how" "$shows"
}

group8() {
    cut_capture one-sided-client-mqtt311.pcap mqtt311-healthy.pcap false capture_one_sided \
        "tshark -r mqtt311-healthy.pcap -Y 'ip.src==10.78.0.2' -F pcap -w (the client's packets only)" \
        "four healthy MQTT 3.1.1 connections of which only the client's direction was captured: its ACKs prove the broker answered" \
        -- tshark -r {in} -Y "ip.src==10.78.0.2" -F pcap -w {out}
    cut_capture one-sided-server-tls12.pcap tls12-healthy.pcap false capture_one_sided \
        "tshark -r tls12-healthy.pcap -Y 'ip.src==10.78.0.1' -F pcap -w (the broker's packets only)" \
        "a healthy TLS 1.2 session of which only the broker's direction was captured, ending with its encrypted close_notify" \
        -- tshark -r {in} -Y "ip.src==10.78.0.1" -F pcap -w {out}
    cut_capture one-sided-client-tls13.pcap tls13-healthy.pcap false capture_one_sided \
        "tshark -r tls13-healthy.pcap -Y 'ip.src==10.78.0.2' -F pcap -w (the client's packets only)" \
        "a healthy TLS 1.3 session of which only the client's direction was captured: the server's flight is missing, not absent" \
        -- tshark -r {in} -Y "ip.src==10.78.0.2" -F pcap -w {out}
    cut_capture mid-stream-tls12-close.pcap tls12-healthy.pcap true "" \
        "editcap -F pcap -r tls12-healthy.pcap frames 16-20 (the capture starts after the handshake)" \
        "the end of a healthy TLS 1.2 session, seen mid-stream: the last application data, both encrypted close_notify alerts (26 bytes under AES-GCM), FIN and RST" \
        -- editcap -F pcap -r {in} {out} 16-20
}

# ================================================================ group 9: rules no other capture exercises
# One capture per rule: SYNs a firewall drops (nftables in the broker namespace), the wrong
# protocol on a port (both ways), an MQTT packet that breaks the specification, a TLS handshake
# that stops without an alert or a reset, and bytes missing from a capture (a cut, as in group 8).
group9() {
    local f n
    f=syn-dropped-by-firewall.pcap
    if want $f; then
        command -v nft >/dev/null ||
            DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq nftables >/dev/null
        in_brk ip addr add 10.78.0.22/24 dev mqb0 2>/dev/null || true
        grep -q firewalled.broker.test /etc/netns/$CLI/hosts ||
            echo "10.78.0.22 firewalled.broker.test" >>/etc/netns/$CLI/hosts
        # The address is the broker host's own (it answers ARP), but its firewall drops every
        # packet to port 1883 there without a word (no RST, no ICMP).
        in_brk nft add table inet mqlab
        in_brk nft add chain inet mqlab input '{ type filter hook input priority 0; policy accept; }'
        in_brk nft add rule inet mqlab input ip daddr 10.78.0.22 tcp dport 1883 drop
        cap_start $f
        # The kernel retries the SYN (every second at first on Linux 6.x: tcp_syn_linear_timeouts);
        # the client gives up at 5 s (timeout).
        in_cli timeout 5 mosquitto_pub -h firewalled.broker.test -i lab-dropped -t lab/x -m x \
            >>"$WORK/clients.log" 2>&1 || true
        cap_stop
        in_brk nft delete table inet mqlab
        record $f false syn_unanswered "" \
            "nft rule in the broker namespace: ip daddr 10.78.0.22 tcp dport 1883 drop; timeout 5 mosquitto_pub -h firewalled.broker.test (10.78.0.22)" \
            "a firewall silently drops the SYNs to port 1883: the client's SYN and its retransmissions, no answer at all; the client gives up after 5 s"
    fi

    f=tls-to-plain-port.pcap
    if want $f; then
        cap_start $f
        pub -h broker.test -p 1883 "${TLS_CA[@]}" -i lab-tls-to-plain -t lab/x -m x
        cap_stop
        # tshark decodes port 1883 as MQTT (the ClientHello as a malformed CONNECT): the facts
        # need it told that these bytes are TLS.
        record $f false protocol_mismatch "-d tcp.port==1883,tls" \
            "mosquitto_pub -h broker.test -p 1883 --cafile root.pem (TLS client, plain MQTT listener)" \
            "a TLS ClientHello sent to mosquitto's plain MQTT port 1883: the broker closes without any TLS answer"
    fi
    # Not mosquitto_pub: given -p 8883 and no TLS option it uses TLS with the system CAs anyway.
    one_capture plain-to-tls-port.pcap false protocol_mismatch \
        "scripts/lab/mqtt_client.py (paho-mqtt) --host broker.test --port 8883 without --cafile (plain MQTT client, TLS listener)" \
        "a plain MQTT CONNECT sent to mosquitto's TLS port 8883: no CONNACK, no TLS answer, the broker closes" \
        -- paho --host broker.test --port 8883 --id lab-plain-to-tls --publish lab/x x 1

    one_capture mqtt311-malformed-subscribe.pcap false malformed_mqtt \
        "scripts/lab/malformed_client.py broker.test 1883 lab-malformed 5 (python socket: a valid CONNECT, then a SUBSCRIBE built with first byte 0x80)" \
        "MQTT 3.1.1 SUBSCRIBE with fixed-header flags 0000 instead of 0010 (§3.8.1), after a valid CONNECT and CONNACK 0: mosquitto closes the connection without a SUBACK" \
        -- in_cli timeout 15 "$PY" "$LAB/malformed_client.py" broker.test 1883 lab-malformed 5

    f=tls-hung-broker.pcap
    if want $f; then
        # A mosquitto of its own on 10.78.0.23, frozen (SIGSTOP) once it listens: the kernel still
        # completes the TCP handshake and ACKs the ClientHello, the broker never answers it.
        in_brk ip addr add 10.78.0.23/24 dev mqb0 2>/dev/null || true
        grep -q hung.broker.test /etc/netns/$CLI/hosts ||
            echo "10.78.0.23 hung.broker.test" >>/etc/netns/$CLI/hosts
        printf '%s\n' "user root" "persistence false" "log_dest file $WORK/hung.log" "log_type all" \
            "listener 8883 10.78.0.23" "allow_anonymous true" "certfile $PKI/server-chain.pem" \
            "keyfile $PKI/server.key" >"$WORK/hung.conf"
        # Not through in_brk: $! must be mosquitto itself (ip netns exec execs it), not a subshell.
        ip netns exec $BRK mosquitto -c "$WORK/hung.conf" >"$WORK/hung.out" 2>&1 &
        local hung=$!
        BG_PIDS+=("$hung")
        wait_file "$WORK/hung.log" "Opening ip" 5 || die "hung mosquitto did not start: $(cat "$WORK/hung.out")"
        sleep 0.2
        kill -STOP "$hung"
        [ "$(ps -o comm= -p "$hung")" = mosquitto ] && ps -o stat= -p "$hung" | grep -q '^T' ||
            die "hung mosquitto ($hung) is not a stopped mosquitto"
        cap_start $f
        in_cli timeout 5 mosquitto_pub -h hung.broker.test -p 8883 "${TLS_CA[@]}" -i lab-hung -t lab/x -m x \
            >>"$WORK/clients.log" 2>&1 || true
        cap_stop
        kill -KILL "$hung" 2>/dev/null || true
        wait "$hung" 2>/dev/null || true
        record $f false handshake_incomplete "" \
            "own mosquitto on hung.broker.test (10.78.0.23:8883) stopped with SIGSTOP after it started listening; timeout 5 mosquitto_pub -h hung.broker.test -p 8883 --cafile root.pem" \
            "TLS handshake that stops after the ClientHello: the frozen broker's kernel accepts and ACKs, the broker never answers; the client gives up after 5 s with a FIN (no alert, no RST)"
    fi

    f=capture-gap-mqtt311.pcap
    if want $f; then
        [ -s "$OUT/mqtt311-healthy.pcap" ] || die "$f needs mqtt311-healthy.pcap"
        n=$(tshark -r "$OUT/mqtt311-healthy.pcap" -Y 'mqtt.msgtype == 3 && mqtt.qos == 1 && tcp.dstport == 1883' \
            -T fields -e frame.number 2>/dev/null | sed -n 1p)
        [ -n "$n" ] || die "no QoS 1 PUBLISH towards the broker in mqtt311-healthy.pcap"
        # An info rule on a healthy session: healthy (no warning/error) with capture_gap expected.
        cut_capture $f mqtt311-healthy.pcap true capture_gap \
            "editcap -F pcap mqtt311-healthy.pcap FILE $n (deletes frame $n: the QoS 1 publisher's PUBLISH)" \
            "mqtt311-healthy with one data-carrying frame missing, as a capture that dropped it gives: the broker's PUBACK acknowledges bytes the capture lacks" \
            -- editcap -F pcap {in} {out} "$n"
    fi
}

# ================================================================ group 10: weak TLS, MQTT out of order, a broker on 1884
# Key logs that match a session mqpcap cannot decrypt (a suite or a TLS version it does not
# implement) and a weak suite; a client that keeps sending after a refusing CONNACK and one that
# sends CONNECT twice (scripts/lab/sequence_client.py, hand-built packets); a mosquitto on the
# non-standard port 1884 (analysed with --broker-port 1884). Own brokers, each on an address of
# its own: 10.78.0.24 weak.broker.test (mosquitto 8883, cipher list CAMELLIA + NULL),
# 10.78.0.25 legacy.broker.test (aedes behind node's TLS server, TLS 1.0 only, 8883),
# 10.78.0.26 altport.broker.test (mosquitto, plain MQTT on 1884). The two TLS hosts get a server
# certificate of their own from the lab's intermediate CA (pki/legacy*.pem), made once.
g10_host() { # ADDR NAME: one more broker address and its name for the client
    in_brk ip addr add "$1/24" dev mqb0 2>/dev/null || true
    grep -q " $2\$" /etc/netns/$CLI/hosts || echo "$1 $2" >>/etc/netns/$CLI/hosts
}

g10_cert() {
    [ -s "$PKI/legacy-chain.pem" ] && [ -s "$PKI/legacy.key" ] && return 0
    leaf legacy "/O=mqlab/CN=legacy.broker.test" "DNS:legacy.broker.test,DNS:weak.broker.test" inter serverAuth
    cat "$PKI/legacy.pem" "$PKI/inter.pem" >"$PKI/legacy-chain.pem"
    rm -f "$PKI"/*.srl
}

# g10_keylogged FILE HEALTHY RULES HOW SHOWS -- CMD...: CMD gets `--keylog keys/STEM.keys` appended.
g10_keylogged() {
    local f=$1 healthy=$2 rules=$3 how=$4 shows=$5
    shift 6
    local keys="keys/${f%.pcap}.keys"
    rm -f "$OUT/$keys"
    cap_start "$f"
    "$@" --keylog "$OUT/$keys" >"$WORK/$f.client" 2>&1 || true
    cap_stop
    [ -s "$OUT/$keys" ] || die "no key log for $f: $(cat "$WORK/$f.client")"
    log "$f client: $(tail -1 "$WORK/$f.client")"
    record "$f" "$healthy" "$rules" "-o tls.keylog_file:$keys" "$how" "$shows"
}

group10() {
    local f i pahov
    pahov=$("$PY" -c 'import paho.mqtt; print(paho.mqtt.__version__)')
    local common=(--port 8883 --cafile "$PKI/root.pem" --publish lab/keys "decrypt me" 1)

    # --- weak.broker.test: a mosquitto whose cipher list holds only suites mqpcap cannot decrypt.
    # 3DES is not among them: Debian's OpenSSL 3.0 is built without weak-ssl-ciphers, so
    # DES-CBC3-SHA / ECDHE-RSA-DES-CBC3-SHA do not exist in it even at @SECLEVEL=0 ("no cipher
    # match"), for mosquitto, paho (Python ssl) and node alike. A NULL suite does exist.
    if want keylog-tls12-camellia.pcap || want keylog-tls12-null.pcap; then
        if openssl ciphers 'DES-CBC3-SHA:ECDHE-RSA-DES-CBC3-SHA:@SECLEVEL=0' >/dev/null 2>&1; then
            log "NOTE: this OpenSSL has 3DES suites; group 10 still records CAMELLIA and NULL"
        else
            log "OpenSSL $(openssl version | cut -d' ' -f2) has no 3DES suite: recording CAMELLIA and NULL instead"
        fi
        g10_cert
        g10_host 10.78.0.24 weak.broker.test
        printf '%s\n' "user root" "persistence false" "log_dest file $WORK/weak.log" "log_type all" \
            "listener 8883 10.78.0.24" "allow_anonymous true" "certfile $PKI/legacy-chain.pem" \
            "keyfile $PKI/legacy.key" "tls_version tlsv1.2" \
            "ciphers ECDHE-RSA-CAMELLIA128-SHA256:ECDHE-RSA-NULL-SHA:@SECLEVEL=0" >"$WORK/weak.conf"
        ip netns exec $BRK mosquitto -c "$WORK/weak.conf" >"$WORK/weak.out" 2>&1 &
        local weak=$!
        BG_PIDS+=("$weak")
        wait_file "$WORK/weak.log" "Opening ip" 5 || die "weak mosquitto did not start: $(cat "$WORK/weak.out")"
        sleep 0.2
        local cl=(in_cli timeout 20 "$PY" "$LAB/mqtt_client.py")
        f=keylog-tls12-camellia.pcap
        want $f && g10_keylogged $f true keys_not_applied \
            "own mosquitto on weak.broker.test:8883 (tls_version tlsv1.2, ciphers ECDHE-RSA-CAMELLIA128-SHA256:ECDHE-RSA-NULL-SHA:@SECLEVEL=0); scripts/lab/mqtt_client.py (paho-mqtt $pahov) --tls-max 1.2 --ciphers ECDHE-RSA-CAMELLIA128-SHA256 --keylog" \
            "healthy TLS 1.2 session with TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256 and its key log: the keys match but mqpcap does not decrypt Camellia (tshark does). Stands in for 3DES, which this OpenSSL lacks" \
            -- "${cl[@]}" --host weak.broker.test --id lab-kl12-camellia --tls-max 1.2 \
            --ciphers ECDHE-RSA-CAMELLIA128-SHA256 "${common[@]}"
        f=keylog-tls12-null.pcap
        want $f && g10_keylogged $f false "weak_cipher_suite,keys_not_applied" \
            "own mosquitto on weak.broker.test:8883 (same listener); scripts/lab/mqtt_client.py (paho-mqtt $pahov) --tls-max 1.2 --ciphers 'ECDHE-RSA-NULL-SHA:@SECLEVEL=0' --keylog" \
            "TLS 1.2 session whose ServerHello chose TLS_ECDHE_RSA_WITH_NULL_SHA: authenticated, not encrypted (the MQTT is readable in the records); the key log matches but mqpcap does not use it for a NULL suite" \
            -- "${cl[@]}" --host weak.broker.test --id lab-kl12-null --tls-max 1.2 \
            --ciphers 'ECDHE-RSA-NULL-SHA:@SECLEVEL=0' "${common[@]}"
        kill -TERM "$weak" 2>/dev/null || true
        wait "$weak" 2>/dev/null || true
    fi

    # --- legacy.broker.test: TLS 1.0. mosquitto 2.0.11 cannot offer it (tls_version accepts
    # tlsv1.1 at the lowest, and it always sets SSL_OP_NO_TLSv1), so the broker is aedes behind
    # node's tls.createServer with minVersion = maxVersion = TLSv1 and DEFAULT:@SECLEVEL=0.
    f=keylog-tls10.pcap
    if want $f; then
        aedes_install_g10
        g10_cert
        g10_host 10.78.0.25 legacy.broker.test
        ip netns exec $BRK timeout 60 node "$LAB/aedes_tls_broker.js" "$AEDES_DIR/node_modules" 10.78.0.25 8883 \
            "$PKI/legacy-chain.pem" "$PKI/legacy.key" TLSv1 TLSv1 'DEFAULT:@SECLEVEL=0' 50 >"$WORK/aedes-tls.log" 2>&1 &
        local atls=$!
        BG_PIDS+=("$atls")
        wait_file "$WORK/aedes-tls.log" listening 10 || die "aedes TLS did not start: $(cat "$WORK/aedes-tls.log")"
        local aver
        aver=$(node -p "require('$AEDES_DIR/node_modules/aedes/package.json').version")
        g10_keylogged $f false "low_tls_version,keys_not_applied" \
            "aedes $aver behind node $(node --version) tls.createServer (scripts/lab/aedes_tls_broker.js, TLSv1 only, DEFAULT:@SECLEVEL=0) on legacy.broker.test:8883; scripts/lab/legacy_tls_client.py --tls-version 1.0 (paho-mqtt $pahov, Python ssl min = max TLSv1) --ciphers 'DEFAULT:@SECLEVEL=0' --keylog" \
            "TLS 1.0 session (ECDHE-RSA-AES256-SHA, 1/n-1 record splitting) that works: MQTT CONNECT, PUBLISH QoS 1, DISCONNECT inside; the key log matches but mqpcap does not implement TLS 1.0 key derivation" \
            -- in_cli timeout 20 "$PY" "$LAB/legacy_tls_client.py" --tls-version 1.0 --host legacy.broker.test \
            --id lab-kl10 --ciphers 'DEFAULT:@SECLEVEL=0' "${common[@]}"
        log "aedes TLS: $(grep '^tls ' "$WORK/aedes-tls.log" | head -1)"
        kill -TERM "$atls" 2>/dev/null || true
        wait "$atls" 2>/dev/null || true
    fi

    # --- MQTT packets in a forbidden order, to the main broker (hand-built by sequence_client.py).
    one_capture mqtt311-publish-after-refusal.pcap false "connack_refused,mqtt_sequence_violation" \
        "scripts/lab/sequence_client.py auth.broker.test 1883 lab-after-refusal 3 publish-after-refusal 0.2 lab-user wrong (python socket)" \
        "MQTT 3.1.1 CONNECT with a wrong password, CONNACK 5; the client ignores it and sends a QoS 1 PUBLISH 0.2 s later: mosquitto had already closed (FIN right after the CONNACK), so its kernel answers the PUBLISH with a RST" \
        -- in_cli timeout 15 "$PY" "$LAB/sequence_client.py" auth.broker.test 1883 lab-after-refusal 3 \
        publish-after-refusal 0.2 lab-user wrong
    one_capture mqtt311-second-connect.pcap false mqtt_sequence_violation \
        "scripts/lab/sequence_client.py broker.test 1883 lab-second-connect 3 second-connect 0.2 (python socket)" \
        "MQTT 3.1.1 CONNECT, CONNACK 0, then a second CONNECT on the same connection 0.2 s later: mosquitto logs 'sending multiple CONNECT messages' and closes with a FIN, no answer" \
        -- in_cli timeout 15 "$PY" "$LAB/sequence_client.py" broker.test 1883 lab-second-connect 3 second-connect 0.2

    # --- altport.broker.test: mosquitto with a plain MQTT listener on 1884 only.
    if want broker-port-silent-client.pcap || want broker-port-tls-to-plain.pcap || want broker-port-learned.pcap; then
        g10_host 10.78.0.26 altport.broker.test
        printf '%s\n' "user root" "persistence false" "log_dest file $WORK/altport.log" "log_type all" \
            "listener 1884 10.78.0.26" "allow_anonymous true" >"$WORK/altport.conf"
        ip netns exec $BRK mosquitto -c "$WORK/altport.conf" >"$WORK/altport.out" 2>&1 &
        local alt=$!
        BG_PIDS+=("$alt")
        wait_file "$WORK/altport.log" "Opening ip" 5 || die "port-1884 mosquitto did not start: $(cat "$WORK/altport.out")"
        sleep 0.2
        f=broker-port-silent-client.pcap
        if want $f; then
            cap_start $f
            in_cli timeout 15 "$PY" "$LAB/silent_client.py" altport.broker.test 1884 4 >"$WORK/$f.client" 2>&1 || true
            cap_stop
            log "$f: $(cat "$WORK/$f.client")"
            # tshark does not know 1884 (nor does mqpcap without --broker-port 1884).
            record $f false no_connect_sent "-d tcp.port==1884,mqtt" \
                "own mosquitto, listener 1884 on altport.broker.test (10.78.0.26); scripts/lab/silent_client.py altport.broker.test 1884 4 (python socket, sends nothing). mqpcap: --broker-port 1884" \
                "TCP handshake to a broker on the non-standard port 1884, then silence: no CONNECT; the client gives up after 4 s (FIN). A diagnosis needs the port declared (--broker-port 1884)"
        fi
        f=broker-port-learned.pcap
        if want $f; then
            cap_start $f
            pub -h altport.broker.test -p 1884 -i lab-learned -t lab/x -m x -q 1
            in_cli timeout 15 "$PY" "$LAB/silent_client.py" altport.broker.test 1884 4 >"$WORK/$f.client" 2>&1 || true
            cap_stop
            record $f false no_connect_sent "-d tcp.port==1884,mqtt" \
                "own mosquitto, listener 1884 on altport.broker.test; mosquitto_pub -p 1884 -q 1, then scripts/lab/silent_client.py altport.broker.test 1884 4. mqpcap: no flag" \
                "a healthy MQTT session to a broker on port 1884, then a client that connects to the same broker and sends nothing: the first connection shows the endpoint is a broker, so the second is judged without --broker-port"
        fi
        f=broker-port-tls-to-plain.pcap
        if want $f; then
            cap_start $f
            pub -h altport.broker.test -p 1884 "${TLS_CA[@]}" -i lab-tls-to-1884 -t lab/x -m x
            cap_stop
            record $f false protocol_mismatch "-d tcp.port==1884,tls" \
                "own mosquitto, plain listener 1884 on altport.broker.test; mosquitto_pub -h altport.broker.test -p 1884 --cafile root.pem (TLS client). mqpcap: --broker-port 1884 or 1884/plain" \
                "a TLS ClientHello sent to mosquitto's plain MQTT listener on 1884: the broker closes without any TLS answer (as tls-to-plain-port, on a port only --broker-port declares)"
        fi
        kill -TERM "$alt" 2>/dev/null || true
        wait "$alt" 2>/dev/null || true
    fi
    # aedes (0.51.3) closes right after every refusing CONNACK (bad credentials: CONNACK then
    # client.close(); protocol version or client id refused: an error that closes the client),
    # as mosquitto does, so there is no "refused but kept open" capture (tried against aedes with
    # sequence_client.py hold-after-refusal while preparing this group: FIN 5 ms after CONNACK 4).

    # --- GnuTLS refusing the broker's chain in TLS 1.3, with its key log: it names an unknown
    # issuer bad_certificate (OpenSSL says unknown_ca), a verdict that says nothing about dates,
    # so nothing may blame the device clock.
    f=keylog-tls13-gnutls-unknown-ca.pcap
    if want $f; then
        local keys="keys/${f%.pcap}.keys"
        rm -f "$OUT/$keys"
        cap_start $f
        # GnuTLS writes NSS key log lines to the file named by SSLKEYLOGFILE (3.7) or
        # GNUTLS_KEYLOGFILE (older releases).
        in_cli env SSLKEYLOGFILE="$OUT/$keys" GNUTLS_KEYLOGFILE="$OUT/$keys" timeout 10 \
            gnutls-cli --x509cafile "$PKI/other-root.pem" -p 8883 broker.test \
            </dev/null >"$WORK/$f.client" 2>&1 || true
        cap_stop
        [ -s "$OUT/$keys" ] || die "no key log for $f: $(tail -3 "$WORK/$f.client")"
        log "$f client: $(grep -m1 -i 'error\|verif' "$WORK/$f.client")"
        record $f false tls_alert "-o tls.keylog_file:$keys" \
            "gnutls-cli $(gnutls-cli --version | head -1 | awk '{print $NF}') --x509cafile other-root.pem -p 8883 broker.test, SSLKEYLOGFILE" \
            "TLS 1.3: GnuTLS does not trust the broker's chain and says so with an encrypted bad_certificate alert (readable with the key log); the certificate is valid, the clock is not in question"
    fi
}

# aedes_install_g10: the aedes package group 6 uses (same cache folder), for a partial run that
# skips group 6.
aedes_install_g10() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq nodejs npm >/dev/null
    fi
    if [ ! -f "$AEDES_DIR/node_modules/aedes/package.json" ]; then
        mkdir -p "$AEDES_DIR"
        (cd "$AEDES_DIR" && timeout 300 npm install --no-audit --no-fund aedes@$AEDES_VERSION >/dev/null 2>&1)
    fi
}

# ================================================================ group 11: a broker that serves its leaf without the intermediate
# A mosquitto of its own on 10.78.0.27 (leafonly.broker.test), TLS listener 8883 capped at TLS 1.2,
# whose certfile is a server certificate from the lab's INTERMEDIATE CA alone (pki/leafonly.pem, no
# leafonly-chain.pem on purpose): the Certificate message carries one certificate, and a client
# that trusts only the root cannot link it to anything. Made once, when missing, so a partial run
# changes no other capture's PKI.
g11_cert() {
    [ -s "$PKI/leafonly.pem" ] && [ -s "$PKI/leafonly.key" ] && return 0
    leaf leafonly "/O=mqlab/CN=leafonly.broker.test" "DNS:leafonly.broker.test" inter serverAuth
    rm -f "$PKI"/*.srl
}

group11() {
    want tls12-leaf-only-chain.pcap || want tls12-leaf-only-chain-trusted.pcap || return 0
    local f
    g11_cert
    g10_host 10.78.0.27 leafonly.broker.test
    printf '%s\n' "user root" "persistence false" "log_dest file $WORK/leafonly.log" "log_type all" \
        "listener 8883 10.78.0.27" "allow_anonymous true" "certfile $PKI/leafonly.pem" \
        "keyfile $PKI/leafonly.key" "tls_version tlsv1.2" >"$WORK/leafonly.conf"
    ip netns exec $BRK mosquitto -c "$WORK/leafonly.conf" >"$WORK/leafonly.out" 2>&1 &
    local lbroker=$!
    BG_PIDS+=("$lbroker")
    wait_file "$WORK/leafonly.log" "Opening ip" 5 || die "leaf-only mosquitto did not start: $(cat "$WORK/leafonly.out")"
    sleep 0.2
    # A client that trusts the intermediate directly: root and intermediate in one CA file.
    cat "$PKI/root.pem" "$PKI/inter.pem" >"$WORK/root+inter.pem"

    f=tls12-leaf-only-chain.pcap
    one_capture $f false intermediate_missing \
        "own mosquitto on leafonly.broker.test:8883 (certfile leafonly.pem: the leaf alone, no intermediate; tls_version tlsv1.2); OPENSSL_CONF=openssl-max-tls12.cnf mosquitto_pub -h leafonly.broker.test -p 8883 --cafile root.pem -q 1" \
        "TLS 1.2: the broker's Certificate message holds only its leaf (issuer: the intermediate CA); a client trusting the root alone cannot build the chain and aborts with a fatal unknown_ca alert" \
        -- in_cli timeout 10 "${MAX12[@]}" mosquitto_pub -h leafonly.broker.test -p 8883 "${TLS_CA[@]}" \
        -i lab-leafonly -t lab/tls -m hello -q 1
    want $f && log "$f client: $(tail -1 "$WORK/$f.client")"

    f=tls12-leaf-only-chain-trusted.pcap
    # Healthy: the session works, and a leaf issued straight by a root would look the same on
    # the wire, so the rule only says so at info level here.
    one_capture $f true intermediate_missing \
        "own mosquitto on leafonly.broker.test:8883 (same leaf-only listener); OPENSSL_CONF=openssl-max-tls12.cnf mosquitto_pub -h leafonly.broker.test -p 8883 --cafile root+inter.pem (root and intermediate in one file) -q 1" \
        "TLS 1.2 session that works although the broker sends only its leaf: this client trusts the intermediate directly; a client that trusts only the root would fail (tls12-leaf-only-chain)" \
        -- in_cli timeout 10 "${MAX12[@]}" mosquitto_pub -h leafonly.broker.test -p 8883 --cafile "$WORK/root+inter.pem" \
        -i lab-leafonly-trusted -t lab/tls -m hello -q 1
    want $f && log "$f client: $(tail -1 "$WORK/$f.client" 2>/dev/null)"

    kill -TERM "$lbroker" 2>/dev/null || true
    wait "$lbroker" 2>/dev/null || true
}

# ================================================================ group 12: a stalled reader (zero window)
# A subscriber on broker.test:1883 whose application stops reading (SIGSTOP) while a publisher
# keeps the broker delivering: its kernel receive buffer fills and its TCP advertises a zero
# window; the broker's kernel probes it until the subscriber reads again (SIGCONT). The client
# namespace gets a small receive buffer (net.ipv4.tcp_rmem is per network namespace) for the
# stretch, so ~2 KB fill it and 20 KB keep the broker waiting; restored afterwards (and the
# namespace is deleted on exit anyway).
ZW_MSGS=20     # messages the publisher sends (and the subscriber waits for)
ZW_SIZE=1000   # bytes per message
ZW_STALL=7     # seconds the subscriber stays stopped after the publisher is done
group12() {
    local f=mqtt311-zero-window.pcap
    want $f || return 0
    local rmem i
    rmem=$(in_cli sysctl -n net.ipv4.tcp_rmem | tr -s '\t ' ' ')
    in_cli sysctl -q -w net.ipv4.tcp_rmem='4096 4096 4096'
    for i in $(seq "$ZW_MSGS"); do
        printf 'zw-%03d %s\n' "$i" "$(head -c $((ZW_SIZE - 7)) /dev/zero | tr '\0' x)"
    done >"$WORK/zw.lines"
    cap_start $f
    # Not through in_cli/timeout: $! must be mosquitto_sub itself (ip netns exec execs it), so
    # that SIGSTOP stops the reader. Bounded below (kill after the SIGCONT).
    ip netns exec $CLI mosquitto_sub -h broker.test -V mqttv311 -i lab-zw-sub -t lab/zw -q 0 \
        -C "$ZW_MSGS" >"$WORK/zw-sub.out" 2>&1 &
    local sub=$!
    BG_PIDS+=("$sub")
    wait_log "Sending SUBACK to lab-zw-sub" 5 || die "zero-window subscriber did not subscribe"
    sleep 0.2
    kill -STOP "$sub"
    [ "$(ps -o comm= -p "$sub")" = mosquitto_sub ] && ps -o stat= -p "$sub" | grep -q '^T' ||
        die "zero-window subscriber ($sub) is not a stopped mosquitto_sub"
    pub -h broker.test -V mqttv311 -i lab-zw-pub -t lab/zw -q 0 -l <"$WORK/zw.lines"
    sleep "$ZW_STALL"
    kill -CONT "$sub"
    for i in $(seq 100); do
        kill -0 "$sub" 2>/dev/null || break
        sleep 0.1
    done
    kill -TERM "$sub" 2>/dev/null || true
    wait "$sub" 2>/dev/null || true
    cap_stop
    in_cli sysctl -q -w net.ipv4.tcp_rmem="$rmem"
    log "$f: subscriber got $(grep -c '^zw-' "$WORK/zw-sub.out") of $ZW_MSGS messages; broker: $(grep -c 'lab-zw-sub' "$WORK/mosquitto.log") log lines about it"
    local zw
    zw=$(tshark -r "$OUT/$f" -Y 'tcp.analysis.zero_window && ip.src==10.78.0.2' -T fields -e frame.number \
        -e frame.time_relative 2>/dev/null | sed -n '1p;$p' | tr '\n\t' '  ')
    [ -n "$zw" ] || die "$f: no zero window from the subscriber"
    log "$f: subscriber zero-window frames (first, last): $zw"
    record $f false zero_window "" \
        "ip netns exec <client namespace> sysctl -w net.ipv4.tcp_rmem='4096 4096 4096' (client namespace only, restored after); mosquitto_sub -V mqttv311 -q 0 -t lab/zw -C $ZW_MSGS, SIGSTOP once subscribed; mosquitto_pub -q 0 -l -t lab/zw ($ZW_MSGS lines of $ZW_SIZE bytes); SIGCONT ${ZW_STALL} s after the publisher is done" \
        "MQTT 3.1.1 subscriber that stops reading while the broker delivers: its receive buffer fills, it advertises a zero window for ~${ZW_STALL} s while the broker's kernel probes it, then reads again (window update) and gets every message"
}

# ================================================================ group 13: a peer that vanished (dead path)
# A subscriber on broker.test:1883 with a long keep-alive (600 s, so it sends nothing by itself)
# subscribes; then the path from the broker to it dies: an nftables rule in the CLIENT namespace
# drops every packet from 10.78.0.1 to the subscriber's local port (that port only: the
# publisher, in the same namespace, still works). A publisher's QoS 1 messages make the broker
# deliver to the subscriber: the PUBLISH segments cross the veth (the capture on the broker side
# records them) and are dropped at the client, so no ACK ever comes back and the broker's kernel
# retransmits with exponential backoff. The capture stops PV_WAIT s after the broker's first
# PUBLISH to the subscriber; only then is the rule removed and the subscriber killed (neither is
# in the file).
PV_MSGS=3   # messages the publisher sends (one connection, --repeat)
PV_WAIT=15  # seconds recorded after the broker's first PUBLISH to the subscriber
group13() {
    local f=mqtt311-peer-vanished.pcap
    want $f || return 0
    command -v nft >/dev/null ||
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq nftables >/dev/null
    local i port=""
    cap_start $f
    # Not through in_cli/timeout: $! must be mosquitto_sub itself (ip netns exec execs it), so
    # that its socket can be found by pid. Bounded below (killed once the capture is stopped).
    ip netns exec $CLI mosquitto_sub -h broker.test -t lab/pv -q 1 -k 600 -i lab-pv-sub \
        >"$WORK/pv-sub.out" 2>&1 &
    local sub=$!
    BG_PIDS+=("$sub")
    wait_log "Sending SUBACK to lab-pv-sub" 5 || die "peer-vanished subscriber did not subscribe"
    sleep 0.3 # the subscriber's ACK of the SUBACK goes out before the path dies
    for i in $(seq 20); do
        port=$(in_cli ss -Htnp state established '( dport = :1883 )' | grep "pid=$sub," |
            grep -o '10\.78\.0\.2:[0-9]*' | head -1 | cut -d: -f2 || true)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || die "peer-vanished subscriber's local port not found: $(in_cli ss -tnp)"
    in_cli nft add table inet mqlab
    in_cli nft add chain inet mqlab input '{ type filter hook input priority 0; policy accept; }'
    in_cli nft add rule inet mqlab input ip saddr 10.78.0.1 tcp dport "$port" drop
    log "$f: subscriber on 10.78.0.2:$port, incoming packets from 10.78.0.1 to it dropped"
    pub -h broker.test -i lab-pv-pub -t lab/pv -m "to a vanished peer" -q 1 --repeat "$PV_MSGS" \
        --repeat-delay 0.5
    wait_log "Sending PUBLISH to lab-pv-sub" 5 || die "the broker did not send to the peer-vanished subscriber"
    sleep "$PV_WAIT"
    cap_stop
    in_cli nft delete table inet mqlab
    kill -TERM "$sub" 2>/dev/null || true
    for i in $(seq 30); do
        kill -0 "$sub" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$sub" 2>/dev/null || true
    wait "$sub" 2>/dev/null || true
    # The file must show what the rule needs: the broker's first PUBLISH to the subscriber, its
    # retransmissions, nothing from the subscriber after that PUBLISH; and a healthy publisher.
    local first last_sub rtx pubacks
    first=$(tshark -r "$OUT/$f" -Y "ip.src==10.78.0.1 && tcp.dstport==$port && mqtt.msgtype==3" \
        -T fields -e frame.number 2>/dev/null | sed -n 1p)
    last_sub=$(tshark -r "$OUT/$f" -Y "tcp.srcport==$port" -T fields -e frame.number 2>/dev/null | sed -n '$p')
    rtx=$(tshark -r "$OUT/$f" -Y "tcp.analysis.retransmission && tcp.dstport==$port" -T fields \
        -e frame.number -e frame.time_relative 2>/dev/null | tr '\t' '@' | tr '\n' ' ')
    pubacks=$(tshark -r "$OUT/$f" -Y "mqtt.msgtype==4 && ip.src==10.78.0.1 && tcp.dstport!=$port" \
        -T fields -e frame.number 2>/dev/null | wc -l)
    [ -n "$first" ] || die "$f: no PUBLISH from the broker to the subscriber"
    [ -n "$rtx" ] || die "$f: no retransmission from the broker to the subscriber"
    [ -n "$last_sub" ] && [ "$last_sub" -lt "$first" ] ||
        die "$f: the subscriber sent frame $last_sub after the broker's first PUBLISH (frame $first)"
    [ "$pubacks" -eq "$PV_MSGS" ] || die "$f: the publisher got $pubacks PUBACK(s), not $PV_MSGS"
    log "$f: subscriber's last frame $last_sub, broker's first PUBLISH to it frame $first, retransmissions (frame@s): ${rtx% }; publisher PUBACKs: $pubacks"
    record $f false peer_unresponsive "" \
        "mosquitto_sub -t lab/pv -q 1 -k 600 -i lab-pv-sub; once subscribed, nft rule in the client namespace: ip saddr 10.78.0.1 tcp dport SUBSCRIBER-PORT drop; mosquitto_pub -q 1 -t lab/pv --repeat $PV_MSGS --repeat-delay 0.5; capture stopped ${PV_WAIT} s after the broker's first PUBLISH to the subscriber, then the rule deleted and the subscriber killed" \
        "MQTT 3.1.1 subscriber whose incoming path dies after its SUBACK (a firewall drops the broker's packets to it): the broker's PUBLISH to it and the kernel's retransmissions with exponential backoff for ${PV_WAIT} s, the subscriber silent throughout; the publisher's own session is healthy (PUBACKs)"
}

# ================================================================ group 14: a firewall that rejects with ICMP
# Like group 9's syn-dropped-by-firewall, but the firewall answers: an nftables rule in the broker
# namespace rejects TCP to port 1883 on 10.78.0.28 (rejected.broker.test, an address the broker host
# owns, so ARP is answered) with ICMP destination unreachable, code 13 (communication
# administratively prohibited). The client's kernel takes that as a hard error for a connection in
# SYN-SENT (EHOSTUNREACH) and mosquitto_pub gives up at once. The capture filter keeps ICMP.
group14() {
    local f=icmp-admin-prohibited.pcap
    want $f || return 0
    command -v nft >/dev/null ||
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq nftables >/dev/null
    g10_host 10.78.0.28 rejected.broker.test
    in_brk nft add table inet mqlab
    in_brk nft add chain inet mqlab input '{ type filter hook input priority 0; policy accept; }'
    in_brk nft add rule inet mqlab input ip daddr 10.78.0.28 tcp dport 1883 reject with icmp type admin-prohibited
    CAP_FILTER="tcp or icmp" cap_start $f
    in_cli timeout 5 mosquitto_pub -h rejected.broker.test -i lab-rejected -t lab/x -m x \
        >"$WORK/$f.client" 2>&1 || true
    cap_stop
    in_brk nft delete table inet mqlab
    log "$f client: $(tr '\n' ' ' <"$WORK/$f.client")"
    # The file must show the client's SYN and the ICMP error (type 3 code 13) quoting it. (An
    # ICMP error quoting a SYN matches tcp.flags.syn too: hence !icmp for the client's own.)
    local syns icmp
    syns=$(tshark -r "$OUT/$f" -Y '!icmp && tcp.flags.syn==1 && tcp.flags.ack==0 && ip.dst==10.78.0.28' \
        -T fields -e frame.number 2>/dev/null | tr '\n' ' ')
    icmp=$(tshark -r "$OUT/$f" -Y 'icmp.type==3 && icmp.code==13 && ip.src==10.78.0.28 && tcp.dstport==1883' \
        -T fields -e frame.number 2>/dev/null | tr '\n' ' ')
    [ -n "$syns" ] || die "$f: no SYN from the client"
    [ -n "$icmp" ] || die "$f: no ICMP administratively prohibited quoting a SYN to 1883"
    log "$f: client SYN frame(s) ${syns% }; ICMP 3/13 frame(s) ${icmp% }"
    record $f false icmp_unreachable "" \
        "nft rule in the broker namespace: ip daddr 10.78.0.28 tcp dport 1883 reject with icmp type admin-prohibited; timeout 5 mosquitto_pub -h rejected.broker.test (10.78.0.28); capture filter 'tcp or icmp'" \
        "a firewall rejects the SYN to port 1883 with ICMP destination unreachable, communication administratively prohibited (type 3 code 13) quoting it: no SYN-ACK, no RST; the client gives up with No route to host (in the recorded run after one SYN retransmission 1 s later and a second ICMP error)"
}

# ================================================================ groups 15 on: one file each
# Each scripts/lab/groups/NN-name.sh defines a function `groupNN` using the helpers above; main
# calls them in file-name order after group 14.
GROUP_FILES=()
for g in "$LAB"/groups/[0-9]*.sh; do
    [ -e "$g" ] || continue
    # shellcheck source=/dev/null
    source "$g"
    GROUP_FILES+=("$g")
done

# ================================================================ main
main() {
    install_deps
    if [ -z "$ONLY" ]; then
        rm -rf "$OUT"/*.pcap "$OUT"/*.pcapng "$OUT"/keys "$OUT"/scenarios.tsv
    fi
    mkdir -p "$OUT" "$OUT/keys"
    touch "$OUT/scenarios.tsv"
    # A partial run keeps the PKI it finds: the TLS captures and key logs already in captures/ were
    # made with it, and a new one would no longer match them.
    if [ -z "$ONLY" ] || [ ! -s "$PKI/server-chain.pem" ]; then make_pki; fi
    make_topology
    start_broker
    group1
    group2
    group3
    group4
    group5
    group6
    group7
    group8
    group9
    group10
    group11
    group12
    group13
    group14
    local g
    for g in "${GROUP_FILES[@]}"; do
        g=$(basename "$g" .sh)
        "group${g%%-*}"
    done
    kill -TERM "$BROKER_PID" 2>/dev/null || true
    cp "$WORK/mosquitto.log" /tmp/mqlab-last-mosquitto.log 2>/dev/null || true
    "$PY" "$ROOT/scripts/expected-facts.py" "$OUT"
    local elapsed=""
    [ -z "$ONLY" ] && elapsed=$(($(date +%s) - T_START))
    MQLAB_ELAPSED=$elapsed MQLAB_WHEN="$(date -u +%Y-%m-%dT%H:%MZ)" "$PY" "$ROOT/scripts/readme-table.py" "$OUT"
    log "done in $(($(date +%s) - T_START)) s; captures/ is $(du -sh "$OUT" | cut -f1)"
}

main "$@"
