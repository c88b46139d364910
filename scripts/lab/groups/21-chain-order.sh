# ================================================================ group 21: a chain sent out of order
# A mosquitto of its own on 10.78.0.30 (disorder.broker.test), TLS listener 8883 capped at TLS 1.2
# (so the Certificate message is readable without keys), whose certfile lists the server
# certificate, then the ROOT, then the intermediate that issued the server certificate: the
# intermediate is not right after the certificate it issued (RFC 5246 §7.4.2). OpenSSL's client
# builds the path from the certificates it got whatever their order, so the session works; a
# strict embedded stack would refuse it. The leaf is made once, when missing, so a partial run
# changes no other capture's PKI.
g21_cert() {
    [ -s "$PKI/disorder.pem" ] && [ -s "$PKI/disorder.key" ] && return 0
    leaf disorder "/O=mqlab/CN=disorder.broker.test" "DNS:disorder.broker.test" inter serverAuth
    rm -f "$PKI"/*.srl
}

group21() {
    local f=tls12-chain-out-of-order.pcap
    want $f || return 0
    g21_cert
    g10_host 10.78.0.30 disorder.broker.test
    cat "$PKI/disorder.pem" "$PKI/root.pem" "$PKI/inter.pem" >"$WORK/disorder-misordered.pem"
    printf '%s\n' "user root" "persistence false" "log_dest file $WORK/disorder.log" "log_type all" \
        "listener 8883 10.78.0.30" "allow_anonymous true" "certfile $WORK/disorder-misordered.pem" \
        "keyfile $PKI/disorder.key" "tls_version tlsv1.2" >"$WORK/disorder.conf"
    ip netns exec $BRK mosquitto -c "$WORK/disorder.conf" >"$WORK/disorder.out" 2>&1 &
    local dbroker=$!
    BG_PIDS+=("$dbroker")
    wait_file "$WORK/disorder.log" "Opening ip" 5 || die "disorder mosquitto did not start: $(cat "$WORK/disorder.out")"
    sleep 0.2
    one_capture $f false cert_chain_order \
        "own mosquitto on disorder.broker.test:8883 (certfile: disorder.pem, then root.pem, then inter.pem; tls_version tlsv1.2); OPENSSL_CONF=openssl-max-tls12.cnf mosquitto_pub -h disorder.broker.test -p 8883 --cafile root.pem -q 1" \
        "TLS 1.2: the broker's Certificate message lists its certificate, the root, then the intermediate that issued its certificate (out of order); OpenSSL's client sorts it out and the session works (CONNACK 0, PUBACK), a strict stack would not" \
        -- in_cli timeout 10 "${MAX12[@]}" mosquitto_pub -h disorder.broker.test -p 8883 "${TLS_CA[@]}" \
        -i lab-disorder -t lab/tls -m hello -q 1
    # The capture must show the three certificates in that order (issuer then subject names of
    # each certificate, as tshark lists them).
    local subjects
    subjects=$(tshark -r "$OUT/$f" -Y 'tls.handshake.type == 11' -T fields \
        -e x509sat.uTF8String 2>/dev/null | head -1)
    log "$f: certificate names in order: $subjects"
    case $subjects in
    *"Intermediate CA,mqlab,disorder.broker.test,"*"Root CA,mqlab,mqlab Root CA,"*"Root CA,mqlab,mqlab Intermediate CA") ;;
    *) die "$f: the Certificate message is not leaf, root, intermediate: $subjects" ;;
    esac
    log "$f client: $(tail -1 "$WORK/$f.client" 2>/dev/null)"
    kill -TERM "$dbroker" 2>/dev/null || true
    wait "$dbroker" 2>/dev/null || true
}
