#!/usr/bin/env python3
"""Derive captures/expected.json from the captures with tshark (the reference decoder).

Reads captures/scenarios.tsv (written by make-captures.sh: file, healthy, expected rules, tshark
options, how it was made, what it shows), runs tshark on each file and writes one manifest:

  {"generator": ..., "tshark": "4.0.17", "files": {FILE: {"file", "frames", "format",
   "tshark_options", "healthy", "expected_rules", "streams": {"0": {...}}}}}

Per tcp.stream: client/server ("ip:port" of the innermost IP header, the one carrying the TCP, when
the frame is tunnelled; the SYN sender is the client, else the SYN-ACK's receiver), sni, ch_max, sh_version,
cipher (ServerHello), alerts [{description, from}] (readable alerts only; RFC 8446 §6 names),
encrypted_alerts [{from}] (TLS <= 1.2 alert records tshark could not decrypt), client_id, mqtt
version, connack (3.1.1 return code / 5.0 reason code), suback_codes (3.1.1 return codes / 5.0
reason codes, in order), pub_ack_reasons (5.0 PUBACK/PUBREC reason codes), disconnects [{from,
reason_code}] (null when the packet has no reason byte, i.e. 0), mqtt {TYPE: count}, close {how, by}: the
first segment with FIN or RST decides (how = "rst" if it carries RST), resets_by (every side that
sent a RST). Same normalisations as shared/corpus/tshark-facts.json. Standard library only.

tshark 4.0 does not hand a WebSocket whose negotiated subprotocol is "mqtt" to its MQTT dissector
(nothing registers "mqtt" in the "ws.protocol" table; Decode As cannot reach that table either), so
every run loads WS_MQTT_LUA (one line of Lua, written to a temporary file) that registers it. It
changes nothing for a capture without WebSocket frames.
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile

FIELDS = [
    "frame.number", "frame.protocols", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
    "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset",
    "tls.handshake.type", "tls.handshake.version", "tls.handshake.extensions.supported_version",
    "tls.handshake.extensions_server_name", "tls.handshake.ciphersuite", "tls.record.content_type",
    "tls.alert_message.desc", "mqtt.msgtype", "mqtt.clientid", "mqtt.conack.val", "mqtt.connack.reason_code", "mqtt.ver",
    "mqtt.disconnect.reason_code", "mqtt.suback.qos", "mqtt.suback.reason_code", "mqtt.puback.reason_code",
    "mqtt.pubrec.reason_code", "frame.protocols",
]

VERSIONS = {0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2", 0x0304: "TLS 1.3"}

ALERTS = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
    22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure", 41: "no_certificate",
    42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
    45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
    49: "access_denied", 50: "decode_error", 51: "decrypt_error", 60: "export_restriction",
    70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
    86: "inappropriate_fallback", 90: "user_canceled", 100: "no_renegotiation", 109: "missing_extension",
    110: "unsupported_extension", 111: "certificate_unobtainable", 112: "unrecognized_name",
    113: "bad_certificate_status_response", 114: "bad_certificate_hash_value",
    115: "unknown_psk_identity", 116: "certificate_required", 120: "no_application_protocol",
}

MQTT_TYPES = {
    1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL", 7: "PUBCOMP",
    8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK", 12: "PINGREQ", 13: "PINGRESP",
    14: "DISCONNECT", 15: "AUTH",
}


def ints(value: str) -> list:
    out = []
    for part in value.split("|") if value else []:
        part = part.strip()
        if not part:
            continue
        try:
            out.append(int(part, 0))
        except ValueError:
            pass
    return out


def strs(value: str) -> list:
    return [p for p in value.split("|")] if value else []


# MQTT over WebSocket (RFC 6455 subprotocol "mqtt", MQTT 3.1.1 §6 / 5.0 §6): see the docstring.
WS_MQTT_LUA = 'DissectorTable.get("ws.protocol"):add("mqtt", Dissector.get("mqtt"))\n'
LUA_OPTIONS = []


def run_tshark(path: str, options: list) -> list:
    cmd = ["tshark", "-n", "-r", path] + LUA_OPTIONS + options + ["-T", "fields", "-E", "separator=\t",
                                                    "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in FIELDS:
        cmd += ["-e", f]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    rows = []
    for line in res.stdout.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(FIELDS) - len(cols))
        rows.append(dict(zip(FIELDS, cols)))
    return rows


def endpoint(ip: str, port: str) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def inner_address(r: dict, which: str) -> str:
    """The address of the IP header that carries the TCP segment: the innermost one.

    In a tunnelled frame (VXLAN, GTP-U, GRE, ...) tshark gives every ip.src occurrence, outer
    first ("10.78.0.2|10.79.0.2"). Whether the innermost header is IPv4 or IPv6 (6in4, 4in6) is
    told by the last "ip"/"ipv6" layer in frame.protocols. Frames with a single IP layer are
    unchanged.
    """
    v4, v6 = strs(r["ip." + which]), strs(r["ipv6." + which])
    layers = [p for p in r["frame.protocols"].split(":") if p in ("ip", "ipv6")]
    if v4 and v6 and layers:
        return v6[-1] if layers[-1] == "ipv6" else v4[-1]
    return (v4 or v6 or [""])[-1]


def stream_facts(rows: list) -> dict:
    streams = {}
    for r in rows:
        if not r["tcp.stream"]:
            continue
        # An ICMP error quoting a segment carries that segment's tcp.stream, and tshark decodes
        # the TCP payload it quotes (as MQTT, say): a stream's facts are its own segments only.
        layers = r["frame.protocols"].split(":")
        if "icmp" in layers or "icmpv6" in layers:
            continue
        s = streams.setdefault(int(r["tcp.stream"]), {"rows": []})
        s["rows"].append(r)
    out = {}
    for sid, s in sorted(streams.items()):
        rows = s["rows"]

        def src(r):
            return endpoint(inner_address(r, "src"), r["tcp.srcport"])

        def dst(r):
            return endpoint(inner_address(r, "dst"), r["tcp.dstport"])

        def flagged(r, flag):
            return r[flag] in ("1", "True")

        syn = next((r for r in rows if flagged(r, "tcp.flags.syn") and
                    not flagged(r, "tcp.flags.ack")), None)
        # Without the SYN (a capture of the server's direction only), the SYN-ACK's receiver.
        syn_ack = next((r for r in rows if flagged(r, "tcp.flags.syn") and
                        flagged(r, "tcp.flags.ack")), None)
        if syn is not None or syn_ack is None:
            first = syn or rows[0]
            client, server = src(first), dst(first)
        else:
            client, server = dst(syn_ack), src(syn_ack)

        def side(r):
            return "client" if src(r) == client else "server"

        facts = {"client": client, "server": server}
        mqtt_counts = {}
        alerts, encrypted_alerts, resets, disconnects = [], [], set(), []
        close = {"how": "none", "by": None, "frame": None}
        for r in rows:
            types = ints(r["tls.handshake.type"])
            versions = ints(r["tls.handshake.version"])
            supported = ints(r["tls.handshake.extensions.supported_version"])
            if 1 in types and "ch_max" not in facts:
                offered = supported or versions[:1]
                if offered:
                    facts["ch_max"] = VERSIONS.get(max(offered), hex(max(offered)))
                sni = strs(r["tls.handshake.extensions_server_name"])
                if sni:
                    facts["sni"] = sni[0]
            if 2 in types and "sh_version" not in facts:
                chosen = supported[-1:] or versions[-1:]
                if chosen:
                    facts["sh_version"] = VERSIONS.get(chosen[0], hex(chosen[0]))
                suites = ints(r["tls.handshake.ciphersuite"])
                if suites and 1 not in types:
                    facts["cipher_suite"] = f"0x{suites[-1]:04x}"
            descs = ints(r["tls.alert_message.desc"])
            for d in descs:
                alerts.append({"description": ALERTS.get(d, str(d)), "from": side(r)})
            alert_records = ints(r["tls.record.content_type"]).count(21)
            for _ in range(max(0, alert_records - len(descs))):
                encrypted_alerts.append({"from": side(r)})
            for t in ints(r["mqtt.msgtype"]):
                name = MQTT_TYPES.get(t, f"TYPE{t}")
                mqtt_counts[name] = mqtt_counts.get(name, 0) + 1
            ids = strs(r["mqtt.clientid"])
            if ids and "client_id" not in facts:
                facts["client_id"] = ids[0]
            ver = ints(r["mqtt.ver"])
            if ver and "mqtt_version" not in facts:
                facts["mqtt_version"] = ver[0]
            codes = ints(r["mqtt.conack.val"]) or ints(r["mqtt.connack.reason_code"])
            if codes and "connack" not in facts:
                facts["connack"] = codes[0]
            types_here = [MQTT_TYPES.get(t) for t in ints(r["mqtt.msgtype"])]
            if "DISCONNECT" in types_here:
                reasons = ints(r["mqtt.disconnect.reason_code"])
                disconnects.append({"from": side(r), "reason_code": reasons[0] if reasons else None})
            suback = ints(r["mqtt.suback.qos"]) or ints(r["mqtt.suback.reason_code"])
            if suback:
                facts.setdefault("suback_codes", []).extend(suback)
            for field in ("mqtt.puback.reason_code", "mqtt.pubrec.reason_code"):
                for code in ints(r[field]):
                    facts.setdefault("pub_ack_reasons", []).append(code)
            fin = r["tcp.flags.fin"] in ("1", "True")
            rst = r["tcp.flags.reset"] in ("1", "True")
            if rst:
                resets.add(side(r))
            if (fin or rst) and close["how"] == "none":
                close = {"how": "rst" if rst else "fin", "by": side(r), "frame": int(r["frame.number"])}
        if alerts:
            facts["alerts"] = alerts
        if encrypted_alerts:
            facts["encrypted_alerts"] = encrypted_alerts
        if mqtt_counts:
            facts["mqtt"] = dict(sorted(mqtt_counts.items()))
        if disconnects:
            facts["disconnects"] = disconnects
        facts["close"] = close
        facts["resets_by"] = sorted(resets)
        facts["frames"] = len(rows)
        out[str(sid)] = facts
    return out


def file_format(path: str) -> str:
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == b"\x0a\x0d\x0d\x0a":
        return "pcapng"
    if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        return "pcap-ns"
    return "pcap"


def main() -> int:
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "captures")
    out_dir = os.path.abspath(out_dir)
    # tshark resolves relative -o paths (key logs) against the working directory: run in captures/.
    os.chdir(out_dir)
    version = subprocess.run(["tshark", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(WS_MQTT_LUA)
    LUA_OPTIONS[:] = ["-X", "lua_script:" + lua.name]
    try:
        return write_manifest(out_dir, version)
    finally:
        os.unlink(lua.name)


def write_manifest(out_dir: str, version: str) -> int:
    manifest = {"generator": "scripts/expected-facts.py", "tshark": version, "files": {}}
    with open(os.path.join(out_dir, "scenarios.tsv"), encoding="utf-8") as fh:
        scenarios = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
    for cols in scenarios:
        cols += [""] * (6 - len(cols))
        name, healthy, rules, opts = cols[0], cols[1], cols[2], cols[3]
        options = shlex.split(opts)
        rows = run_tshark(os.path.join(out_dir, name), options)
        manifest["files"][name] = {
            "file": name,
            "format": file_format(os.path.join(out_dir, name)),
            "frames": len(rows),
            "tshark_options": options,
            "healthy": healthy == "true",
            "expected_rules": [r for r in rules.split(",") if r],
            "streams": stream_facts(rows),
        }
    with open(os.path.join(out_dir, "expected.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=False)
        fh.write("\n")
    print(f"expected.json: {len(manifest['files'])} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
