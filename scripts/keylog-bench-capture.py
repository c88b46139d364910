#!/usr/bin/env python3
# Ad-hoc decryption benchmark input: a large key-logged MQTT-over-TLS capture made in memory
# with OpenSSL (Python ssl, MemoryBIO) and written as a pcap with synthetic Ethernet/IPv4/TCP
# headers. Usage: keylog-bench-capture.py OUT.pcap KEYS 1.2|1.3 MEGABYTES  (CIPHER=... picks the
# TLS 1.2 suite, OpenSSL name). Then: time mqpcap analyze --format json --keylog KEYS OUT.pcap
import ssl, struct, sys, os
out, keys, version, mb = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
pki = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "captures", "pki") + "/"
if os.path.exists(keys): os.remove(keys)
sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); sctx.load_cert_chain(pki+"server.pem", pki+"server.key")
cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); cctx.check_hostname=False; cctx.verify_mode=ssl.CERT_NONE
cctx.keylog_filename = keys
v = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
for c in (sctx, cctx): c.minimum_version = v; c.maximum_version = v
if version == "1.2": cctx.set_ciphers(os.environ.get("CIPHER", "ECDHE-RSA-AES128-GCM-SHA256"))
cin, cout, sin, sout = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
cl = cctx.wrap_bio(cin, cout, server_hostname="broker.test"); sv = sctx.wrap_bio(sin, sout, server_side=True)
f = open(out, "wb"); f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
seq = [1000, 5000]; t = [0]
def frame(from_client, payload, flags=0x18):
    src, dst = (b"\x0a\x00\x00\x02", b"\x0a\x00\x00\x01") if from_client else (b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02")
    sp, dp = (40000, 8883) if from_client else (8883, 40000)
    i = 0 if from_client else 1
    tcp = struct.pack("!HHIIBBHHH", sp, dp, seq[i], seq[1-i], 5<<4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20+len(tcp)+len(payload), 0, 0, 64, 6, 0, src, dst)
    eth = b"\x02"*6 + b"\x04"*6 + b"\x08\x00"
    pkt = eth + ip + tcp + payload
    t[0] += 1
    f.write(struct.pack("<IIII", t[0] // 1000000, t[0] % 1000000, len(pkt), len(pkt))); f.write(pkt)
    seq[i] = (seq[i] + len(payload) + (1 if flags & 0x03 else 0)) & 0xffffffff
frame(True, b"", 0x02); seq[0] = 1001; frame(False, b"", 0x12); seq[1] = 5001; frame(True, b"", 0x10)
def pump():
    for bio, frm, dest in ((cout, True, sin), (sout, False, cin)):
        data = bio.read()
        for k in range(0, len(data), 60000):
            frame(frm, data[k:k+60000])
        dest.write(data)
for _ in range(10):
    for s in (cl, sv):
        try: s.do_handshake()
        except ssl.SSLWantReadError: pass
    pump()
def mqtt(ptype, body):
    n = len(body); rl = b""
    while True:
        b = n % 128; n //= 128
        rl += bytes([b | (0x80 if n else 0)])
        if not n: break
    return bytes([ptype]) + rl + body
cid = b"bench"
cl.write(mqtt(0x10, b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack("!H", len(cid)) + cid)); pump()
sv.read(); sv.write(mqtt(0x20, b"\x00\x00")); pump(); cl.read()
payload = os.urandom(16000); topic = b"bench/t"
for _ in range(mb * 1024 * 1024 // 16000):
    cl.write(mqtt(0x30, struct.pack("!H", len(topic)) + topic + payload)); pump(); sv.read(100000)
cl.write(b"\xe0\x00"); pump(); sv.read()
f.close()
