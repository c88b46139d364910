#!/usr/bin/env python3
"""Build the benchmark inputs of scripts/bench.sh from real captures (see BENCHMARKS.md).

    scripts/bench_captures.py [--out DIR] [--regen] [--corpus DIR] [--recording PCAP] NAME...

NAME: fleet, large-payload, tls-heavy, fleet-1g, syn-flood (or all). Each input is written as
DIR/NAME.pcap (classic pcap, Ethernet, microsecond timestamps) with DIR/NAME.pcap.meta beside it
(key=value lines: frames, bytes, tcp_connections, replicas, ...). An input that already exists is
reused unless --regen is given.

Every input replicates frames that real programs exchanged (the lab captures in captures/, the
public corpus in ../shared/corpus when present, and for large-payload a mosquitto recording made
by bench.sh). A replica gets its own client IPv4 address and client ports and, for plain MQTT, a
client id made unique by rewriting its last characters (same length); the broker's address and
port stay as recorded. Replicas start at random times (fixed seed, so output is reproducible), so
many are open at once, and frames are merged in time order. IPv4 and TCP checksums are recomputed
for every rewritten frame. Only the standard library; streams its output.
"""
import argparse
import heapq
import os
import random
import struct
import sys
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
LAB = os.path.join(ROOT, "captures")

# ------------------------------------------------------------------ mixes (weights per replica)
# Plain MQTT on 1883 and MQTT over TLS on 8883 against the lab broker, mostly healthy, some failures.
FLEET = [
    ("mqtt311-healthy", 14), ("mqtt5-healthy", 10), ("mqtt31-healthy", 3),
    ("format-ethernet-us", 8), ("mqtt311-publish-denied-silently", 4),
    ("mqtt5-publish-refused", 3), ("mqtt311-subscribe-refused", 2),
    ("mqtt5-subscribe-refused", 2), ("mqtt311-aclfile-subscribe-granted", 2),
    ("mqtt311-will-forbidden-topic", 2), ("mqtt5-oversized-packet", 1),
    ("mqtt311-oversized-packet", 0.1), ("mqtt311-bad-password", 4), ("mqtt5-bad-password", 3),
    ("mqtt311-not-authorized", 3), ("mqtt5-not-authorized", 2),
    ("mqtt311-duplicate-client-id", 1), ("mqtt5-duplicate-client-id", 1),
    ("mqtt311-fighting-client-ids", 0.3), ("reconnect-storm", 0.5), ("reconnect-backoff", 0.5),
    ("mqtt311-keepalive-lapse", 0.5), ("mqtt5-keepalive-lapse", 0.5), ("silent-client", 1),
    ("connection-refused", 0.5),
    ("tls12-healthy", 1.2), ("tls13-healthy", 2), ("mtls13-healthy", 0.4), ("mtls12-healthy", 0.2),
    ("tls12-unknown-ca", 0.2), ("tls13-unknown-ca", 0.2), ("tls13-expired-cert", 0.2),
    ("mtls13-missing-client-cert", 0.2), ("middlebox-rst-after-clienthello", 0.1),
]
# From ../shared/corpus when present: (path, weight, broker port the server side is moved to).
FLEET_CORPUS = [
    ("arkime/mqtt_big.pcap", 0.05, 1883),
    ("suricata-verify/mqtt-frames-truncated/input.pcap", 0.5, 1883),
]
TLS_HEAVY = [
    ("tls12-healthy", 10), ("tls13-healthy", 14), ("mtls12-healthy", 4), ("mtls13-healthy", 6),
    ("alpn-mqtt", 2), ("sni-none", 2), ("sni-ip-literal", 1),
    ("keylog-tls12-aes128gcm", 1), ("keylog-tls12-cbc", 1), ("keylog-tls12-chacha20", 1),
    ("keylog-tls13-aes256gcm", 1), ("keylog-tls13-chacha20", 1),
    ("keylog-tls12-bad-password", 1), ("keylog-tls13-bad-password", 1),
    ("tls12-unknown-ca", 2), ("tls13-unknown-ca", 2), ("tls12-expired-cert", 1),
    ("tls13-expired-cert", 1), ("tls12-not-yet-valid-cert", 1), ("tls13-not-yet-valid-cert", 1),
    ("tls12-wrong-host-cert", 1), ("tls13-wrong-host-cert", 1), ("tls12-client-clock-ahead", 1),
    ("tls13-client-clock-ahead", 1), ("mtls12-missing-client-cert", 1),
    ("mtls13-missing-client-cert", 1), ("mtls12-untrusted-client-cert", 1),
    ("mtls13-untrusted-client-cert", 1), ("tls11-to-tls12-broker", 1),
    ("middlebox-rst-after-clienthello", 1), ("middlebox-rst-every-second-attempt", 0.5),
]
TLS_CORPUS = [
    ("zeek/hrr.pcap", 0.3, 8883), ("zeek/tls13_psk_succesfull.pcap", 0.3, 8883),
    ("zeek/tls-1.2-handshake-failure.pcap", 0.3, 8883), ("zeek/missing-intermediate.pcap", 0.2, 8883),
    ("zeek/tls-expired-cert.pcap", 0.2, 8883), ("zeek/tls12-decryption.pcap", 0.2, 8883),
    ("arkime/openssl-tls1_2-tls1.pcap", 0.2, 8883),
    ("suricata-verify/tls-client-hello-frag-01/dump_mtu300.pcap", 0.2, 8883),
]
BROKER_IP = bytes([10, 78, 0, 1])  # the lab's broker.test; corpus servers are moved here
LARGE_FALLBACK = "mqtt311-oversized-packet"  # largest single-PUBLISH lab capture

# name: (target bytes, replica starts per second of capture time, seed)
TARGETS = {
    "fleet": (120_000_000, 700.0, 1),
    "fleet-1g": (1_000_000_000, 700.0, 2),
    "tls-heavy": (100_000_000, 400.0, 3),
    "large-payload": (400_000_000, None, 4),
}
SYN_FLOOD_COUNT = 1_000_000
SYN_FLOOD_SECONDS = 100


# ------------------------------------------------------------------ pcap reading
def read_pcap(path):
    """Yield (ts_ns, data, orig_len) of a classic pcap file; the link type must be Ethernet."""
    with open(path, "rb") as f:
        head = f.read(24)
        magic = head[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            e = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            e = ">"
        else:
            raise ValueError(f"{path}: not a classic pcap file")
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        linktype = struct.unpack(e + "I", head[20:24])[0] & 0x0FFFFFFF
        if linktype != 1:
            raise ValueError(f"{path}: link type {linktype}, only Ethernet (1) is replicated")
        rec = struct.Struct(e + "IIII")
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            sec, frac, caplen, orig = rec.unpack(h)
            data = f.read(caplen)
            if len(data) < caplen:
                return
            yield sec * 1_000_000_000 + (frac if nano else frac * 1000), data, orig


def csum(data, start=0):
    """Ones-complement sum (not folded, not inverted) of data as 16-bit big-endian words."""
    if len(data) % 2:
        data = data + b"\x00"
    return start + sum(struct.unpack("!%dH" % (len(data) // 2), data))


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def fix_checksums(buf):
    """Recompute the IPv4 header and TCP checksums of a whole Ethernet/IPv4/TCP frame in place."""
    ihl = (buf[14] & 15) * 4
    iplen = struct.unpack_from("!H", buf, 16)[0]
    buf[24:26] = b"\0\0"
    struct.pack_into("!H", buf, 24, ~fold(csum(bytes(buf[14:14 + ihl]))) & 0xFFFF)
    t = 14 + ihl
    tlen = iplen - ihl
    buf[t + 16:t + 18] = b"\0\0"
    s = csum(bytes(buf[26:34])) + 6 + tlen
    struct.pack_into("!H", buf, t + 16, ~fold(csum(bytes(buf[t:t + tlen]), s)) & 0xFFFF)


def mqtt_client_id(payload):
    """(offset, length) of the client id string in an MQTT CONNECT at the start of payload."""
    if len(payload) < 12 or payload[0] != 0x10:
        return None
    i = 1
    for _ in range(4):  # remaining length
        if i >= len(payload):
            return None
        b = payload[i]
        i += 1
        if not b & 0x80:
            break
    if i + 2 > len(payload):
        return None
    n = struct.unpack_from("!H", payload, i)[0]
    i += 2
    if payload[i:i + n] not in (b"MQTT", b"MQIsdp"):
        return None
    i += n
    if i + 4 > len(payload):
        return None
    level = payload[i]
    i += 4  # level, flags, keep-alive
    if level == 5:  # properties: variable byte integer length
        plen, mult = 0, 1
        for _ in range(4):
            if i >= len(payload):
                return None
            b = payload[i]
            i += 1
            plen += (b & 0x7F) * mult
            mult *= 128
            if not b & 0x80:
                break
        i += plen
    if i + 2 > len(payload):
        return None
    n = struct.unpack_from("!H", payload, i)[0]
    if n == 0 or i + 2 + n > len(payload):
        return None
    return i + 2, n


B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def replica_tag(r, width):
    s = ""
    for _ in range(width):
        s = B36[r % 36] + s
        r //= 36
    return s.encode()


def client_ip(r):
    """Distinct client address per replica: 10.128.0.1 upwards, host part never 0 or 255."""
    a, h = divmod(r, 254)
    return bytes([10, 128 + ((a >> 8) & 127), a & 255, h + 1])


def client_port(orig, r):
    """A replica's port for a recorded client port: the Linux ephemeral range, shifted per replica."""
    if orig < 1024:
        return orig
    return 32768 + (orig + r * 7919) % 28232


# ------------------------------------------------------------------ templates
class Template:
    """The TCP/IPv4 frames of one capture, ready to be stamped with a replica's client identity.

    packets: (rel_ns, data, orig_len, cip_off, cport_off, tck_off, ip_base, tcp_base, flow, cid)
    where ip_base/tcp_base are the checksum sums without the client address/port words, and cid
    is (offset, length) of an MQTT client id to rewrite (such a frame is re-summed in full).
    """

    def __init__(self, name, path, server_port=None, move_server=None):
        self.name = name
        frames = []
        for ts, data, orig in read_pcap(path):
            if len(data) < 54 or data[12:14] != b"\x08\x00" or data[23] != 6:
                continue  # Ethernet/IPv4/TCP only (ICMP and the like are dropped)
            ihl = (data[14] & 15) * 4
            if (struct.unpack_from("!H", data, 20)[0] & 0x3FFF) or len(data) < 14 + ihl + 20:
                continue  # IP fragments
            frames.append((ts, bytearray(data), orig, ihl))
        if not frames:
            raise ValueError(f"{path}: no Ethernet/IPv4/TCP frames")
        frames.sort(key=lambda x: x[0])
        # Which side of each TCP connection is the client: the SYN sender, else not the server port.
        client = {}
        for _, d, _, ihl in frames:
            t = 14 + ihl
            src, dst = (bytes(d[26:30]), d[t] << 8 | d[t + 1]), (bytes(d[30:34]), d[t + 2] << 8 | d[t + 3])
            key = frozenset((src, dst))
            flags = d[t + 13]
            if flags & 0x12 == 0x02:
                client[key] = src
            elif key not in client:
                if server_port is not None and dst[1] == server_port:
                    client[key] = src
                elif server_port is not None and src[1] == server_port:
                    client[key] = dst
                else:
                    client[key] = src if src[1] > dst[1] else dst
        flows = {}
        self.flow_ports = []
        self.packets = []
        t0 = frames[0][0]
        nbytes = 0
        seen_connect = set()
        for ts, d, orig, ihl in frames:
            t = 14 + ihl
            src, dst = (bytes(d[26:30]), d[t] << 8 | d[t + 1]), (bytes(d[30:34]), d[t + 2] << 8 | d[t + 3])
            key = frozenset((src, dst))
            from_client = client[key] == src
            srv_off, sport_off = (30, t + 2) if from_client else (26, t)
            old_srv = csum(bytes(d[srv_off:srv_off + 4])) + struct.unpack_from("!H", d, sport_off)[0]
            if move_server is not None:  # corpus file: its server becomes the lab broker
                if from_client:
                    d[30:34] = BROKER_IP
                    struct.pack_into("!H", d, t + 2, move_server)
                else:
                    d[26:30] = BROKER_IP
                    struct.pack_into("!H", d, t, move_server)
            cl = client[key]
            if key not in flows:
                flows[key] = len(self.flow_ports)
                self.flow_ports.append(cl[1])
            flow = flows[key]
            cip_off = 26 if from_client else 30
            cport_off = t if from_client else t + 2
            iplen = struct.unpack_from("!H", d, 16)[0]
            tlen = iplen - ihl
            whole = len(d) >= 14 + iplen
            cid = None
            if whole and from_client and flow not in seen_connect:
                off = t + (d[t + 12] >> 4) * 4
                if off < 14 + iplen:
                    seen_connect.add(flow)
                    found = mqtt_client_id(bytes(d[off:14 + iplen]))
                    if found:
                        cid = (off + found[0], found[1])
            # Checksum sums without the client address and port: adding a word's ones complement
            # subtracts it, so a replica only adds its own address and port words back.
            hdr = bytes(d[14:14 + ihl])
            cipw = fold(csum(bytes(d[cip_off:cip_off + 4])))
            cpw = struct.unpack_from("!H", d, cport_off)[0]
            if whole:
                seg = bytes(d[t:t + 16]) + b"\0\0" + bytes(d[t + 18:14 + iplen])
                full = csum(seg, csum(bytes(d[26:34])) + 6 + tlen)
            else:  # truncated frame: start from the recorded checksum (and a moved server)
                new_srv = csum(bytes(d[srv_off:srv_off + 4])) + struct.unpack_from("!H", d, sport_off)[0]
                full = fold((~struct.unpack_from("!H", d, t + 16)[0] & 0xFFFF)
                            + (~fold(old_srv) & 0xFFFF) + new_srv)
            tcp_base = fold(full + (~cipw & 0xFFFF) + (~cpw & 0xFFFF))
            ip_base = fold(csum(hdr[:10] + b"\0\0" + hdr[12:]) + (~cipw & 0xFFFF))
            self.packets.append((ts - t0, bytes(d), orig, cip_off, cport_off, t + 16,
                                 ip_base, tcp_base, flow, cid))
            nbytes += 16 + len(d)
        self.frames = len(self.packets)
        self.bytes = nbytes
        self.conns = len(self.flow_ports)
        self.duration = self.packets[-1][0]
        self.start_ns = t0


def lab(name):
    return Template(name, os.path.join(LAB, name + ".pcap"))


def load_mix(lab_mix, corpus_mix, corpus_dir):
    names, weights = [], []
    for name, w in lab_mix:
        names.append(lab(name))
        weights.append(w)
    if corpus_dir and os.path.isdir(corpus_dir):
        for rel, w, port in corpus_mix:
            p = os.path.join(corpus_dir, rel)
            if os.path.exists(p):
                try:
                    names.append(Template("corpus:" + rel, p, server_port=None, move_server=port))
                    weights.append(w)
                except ValueError as e:
                    print(f"bench_captures: skipping {rel}: {e}", file=sys.stderr)
    return names, weights


# ------------------------------------------------------------------ writing
PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
REC = struct.Struct("<IIII")
H = struct.Struct("!H")


class Writer:
    def __init__(self, path):
        self.path = path
        self.tmp = path + ".part"
        self.f = open(self.tmp, "wb", buffering=0)
        self.f.write(PCAP_HEADER)
        self.chunks = []
        self.size = 0
        self.bytes = 24
        self.frames = 0

    def add(self, ts_ns, data, orig):
        us = ts_ns // 1000
        self.chunks.append(REC.pack(us // 1_000_000, us % 1_000_000, len(data), orig))
        self.chunks.append(data)
        self.size += 16 + len(data)
        self.frames += 1
        if self.size > 4 << 20:
            self.flush()

    def flush(self):
        self.f.write(b"".join(self.chunks))
        self.bytes += self.size
        self.chunks = []
        self.size = 0

    def close(self):
        self.flush()
        self.f.close()
        os.replace(self.tmp, self.path)


def replicate(path, templates, weights, target_bytes, starts_per_s, seed, base_ns=None):
    """Replicas of weighted random templates until target_bytes, merged in time order."""
    rng = random.Random(seed)
    cum = []
    acc = 0.0
    for w in weights:
        acc += w
        cum.append(acc)
    if base_ns is None:  # when the lab recorded them: certificates are valid then
        base_ns = min(t.start_ns for t in templates if not t.name.startswith("corpus:"))

    def starts():
        planned = 24
        t = base_ns
        r = 0
        while planned < target_bytes:
            tpl = templates[0] if len(templates) == 1 else rng.choices(templates, cum_weights=cum)[0]
            yield t, r, tpl
            planned += tpl.bytes
            r += 1
            if starts_per_s is None:  # large payload: the next replica starts part-way through
                t += int(tpl.duration * rng.uniform(0.2, 0.6)) + 1000
            else:
                t += int(rng.expovariate(starts_per_s) * 1e9) // 1000 * 1000

    w = Writer(path)
    counts = {}
    conns = 0
    replicas = 0
    heap = []
    state = {}
    it = starts()
    nxt = next(it, None)
    pack_into = H.pack_into
    add = w.add
    last_ts = base_ns
    while True:
        if nxt is not None and (not heap or nxt[0] <= heap[0][0]):
            t, r, tpl = nxt
            ip = client_ip(r)
            ipw = fold(csum(ip))
            ports = [client_port(p, r) for p in tpl.flow_ports]
            state[r] = (tpl.packets, t, ip, ipw, ports, r)
            heapq.heappush(heap, (t + tpl.packets[0][0], r, 0))
            counts[tpl.name] = counts.get(tpl.name, 0) + 1
            conns += tpl.conns
            replicas += 1
            nxt = next(it, None)
            continue
        if not heap:
            break
        ts, r, i = heap[0]
        pk, t, ip, ipw, ports, rr = state[r]
        rel, data, orig, cip_off, cport_off, tck_off, ip_base, tcp_base, flow, cid = pk[i]
        b = bytearray(data)
        b[cip_off:cip_off + 4] = ip
        port = ports[flow]
        pack_into(b, cport_off, port)
        if cid is None:
            pack_into(b, 24, ~fold(ip_base + ipw) & 0xFFFF)
            pack_into(b, tck_off, ~fold(tcp_base + ipw + port) & 0xFFFF)
        else:
            off, n = cid
            k = min(n, 5)  # 36**5 replicas before a client id repeats
            b[off + n - k:off + n] = replica_tag(rr, k)
            fix_checksums(b)
        add(ts, b, orig)
        last_ts = ts
        i += 1
        if i < len(pk):
            heapq.heapreplace(heap, (t + pk[i][0], r, i))
        else:
            heapq.heappop(heap)
            del state[r]
    w.close()
    return {"frames": w.frames, "bytes": w.bytes, "tcp_connections": conns, "replicas": replicas,
            "capture_seconds": round((last_ts - base_ns) / 1e9, 1),
            "templates": ",".join(f"{k}:{v}" for k, v in sorted(counts.items(), key=lambda x: -x[1]))}


def syn_flood(path, count, seconds, seed):
    """count unanswered SYNs, each from its own address/port, from the lab's recorded SYN."""
    rng = random.Random(seed)
    ts0, syn, orig = next(read_pcap(os.path.join(LAB, "silent-client.pcap")))
    syn = bytearray(syn)
    ihl = (syn[14] & 15) * 4
    t = 14 + ihl
    assert syn[t + 13] & 0x12 == 0x02, "first frame of silent-client.pcap is not a SYN"
    tlen = struct.unpack_from("!H", syn, 16)[0] - ihl
    w = Writer(path)
    base = ts0
    step = seconds * 1_000_000_000 // count
    # checksum sums without source address, source port and sequence number
    hdr = bytearray(syn[14:t])
    hdr[10:12] = b"\0\0"
    hdr[12:16] = b"\0\0\0\0"
    ip_base = csum(bytes(hdr))
    seg = bytearray(syn[t:t + tlen])
    seg[0:2] = b"\0\0"
    seg[4:8] = b"\0\0\0\0"
    seg[16:18] = b"\0\0"
    tcp_base = csum(bytes(seg), csum(bytes(syn[30:34])) + 6 + tlen)
    for i in range(count):
        ip = client_ip(i)
        port = 32768 + (i * 7919) % 28232
        seq = rng.getrandbits(32)
        ipw = (ip[0] << 8 | ip[1]) + (ip[2] << 8 | ip[3])
        b = bytearray(syn)
        b[26:30] = ip
        struct.pack_into("!H", b, t, port)
        struct.pack_into("!I", b, t + 4, seq)
        struct.pack_into("!H", b, 24, ~fold(ip_base + ipw) & 0xFFFF)
        struct.pack_into("!H", b, t + 16,
                         ~fold(tcp_base + ipw + port + (seq >> 16) + (seq & 0xFFFF)) & 0xFFFF)
        w.add(base + i * step, b, orig)
    w.close()
    return {"frames": w.frames, "bytes": w.bytes, "tcp_connections": count, "replicas": count,
            "capture_seconds": seconds, "templates": f"silent-client.pcap first SYN:{count}"}


def write_meta(path, meta):
    with open(path + ".meta", "w") as f:
        for k, v in meta.items():
            f.write(f"{k}={v}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="+", help="fleet large-payload tls-heavy fleet-1g syn-flood | all")
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "bench"))
    ap.add_argument("--regen", action="store_true", help="rebuild even if the file exists")
    ap.add_argument("--corpus", default=os.path.normpath(os.path.join(ROOT, "..", "shared", "corpus")))
    ap.add_argument("--recording", help="mosquitto recording to replicate for large-payload")
    a = ap.parse_args()
    names = ["fleet", "large-payload", "tls-heavy", "fleet-1g", "syn-flood"] if "all" in a.names else a.names
    os.makedirs(a.out, exist_ok=True)
    for name in names:
        path = os.path.join(a.out, name + ".pcap")
        if os.path.exists(path) and os.path.exists(path + ".meta") and not a.regen:
            continue
        started = time.time()
        print(f"bench_captures: writing {os.path.relpath(path)} ...", file=sys.stderr, flush=True)
        if name in ("fleet", "fleet-1g"):
            tpls, ws = load_mix(FLEET, FLEET_CORPUS, a.corpus)
            target, rate, seed = TARGETS[name]
            meta = replicate(path, tpls, ws, target, rate, seed)
        elif name == "tls-heavy":
            tpls, ws = load_mix(TLS_HEAVY, TLS_CORPUS, a.corpus)
            target, rate, seed = TARGETS[name]
            meta = replicate(path, tpls, ws, target, rate, seed)
        elif name == "large-payload":
            target, rate, seed = TARGETS[name]
            if a.recording and os.path.exists(a.recording):
                tpl = Template("recording:" + os.path.basename(a.recording), a.recording, server_port=1883)
                source = "mosquitto recording"
            else:
                print(f"bench_captures: no mosquitto recording, large-payload replicates "
                      f"captures/{LARGE_FALLBACK}.pcap instead", file=sys.stderr)
                tpl = lab(LARGE_FALLBACK)
                source = f"fallback {LARGE_FALLBACK}"
            meta = replicate(path, [tpl], [1], target, rate, seed)
            meta["source"] = source
        elif name == "syn-flood":
            meta = syn_flood(path, SYN_FLOOD_COUNT, SYN_FLOOD_SECONDS, 5)
        else:
            ap.error(f"unknown input {name}")
        meta["generated_in_s"] = round(time.time() - started, 1)
        write_meta(path, meta)
        print(f"bench_captures: {name}: {meta['bytes'] / 1e6:.1f} MB, {meta['frames']} frames, "
              f"{meta['tcp_connections']} TCP connections, {meta['generated_in_s']} s",
              file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
