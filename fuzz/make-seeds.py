#!/usr/bin/env python3
"""Derives the committed fuzz seed corpora, fuzz/seeds/<target>/, from the lab captures.

Run from anywhere: `python3 fuzz/make-seeds.py`. Needs tshark (for TCP/UDP payloads and stream
numbers); everything else is the standard library. Each target's directory is emptied and
rewritten, so the seeds are always regenerated, never edited by hand. File names say where a
seed came from (capture, stream, side); the content is shaped as the target's entry point reads
its bytes (see the doc comment of each `fuzz_*` function named below).
"""

import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
from collections import OrderedDict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAPTURES = os.path.join(ROOT, "captures")
SEEDS = os.path.join(ROOT, "fuzz", "seeds")

# Whole-capture seeds: captures up to this size (the larger ones only slow the fuzzer down).
MAX_CAPTURE = 10 * 1024
# Stream prefixes and per-target seed sizes are kept small for the same reason.
STREAM_PREFIX = 4096
MAX_SEEDS_PER_TARGET = 400

TARGETS = [
    "analyze",
    "capture_reader",
    "detect",
    "dns_message",
    "flow_segments",
    "mqtt_parser",
    "tls_decrypt",
    "tls_decrypting_session",
    "tls_session",
    "transport_session",
]


def captures():
    names = sorted(
        n for n in os.listdir(CAPTURES) if n.endswith(".pcap") or n.endswith(".pcapng")
    )
    return [os.path.join(CAPTURES, n) for n in names]


def tshark_fields(path, display_filter, fields):
    """Rows of `fields` (strings) for the packets of `path` matching `display_filter`."""
    cmd = ["tshark", "-n", "-r", path, "-Y", display_filter, "-T", "fields", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    rows = []
    for line in out.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(fields) - len(cols))
        rows.append(cols)
    return rows


def first(value):
    """tshark prints repeated fields comma-separated (tunnels): the innermost is the last."""
    return value.split(",")[-1] if value else value


class Segment:
    __slots__ = ("stream", "src", "sport", "dport", "flags", "window", "seq", "ack", "length", "time", "payload")


def tcp_segments(path):
    rows = tshark_fields(
        path,
        "tcp",
        [
            "tcp.stream",
            "ip.src",
            "ipv6.src",
            "tcp.srcport",
            "tcp.dstport",
            "tcp.flags",
            "tcp.window_size_value",
            "tcp.seq_raw",
            "tcp.ack_raw",
            "tcp.len",
            "frame.time_relative",
            "tcp.payload",
        ],
    )
    segs = []
    for r in rows:
        try:
            s = Segment()
            s.stream = int(first(r[0]))
            s.src = first(r[1]) or first(r[2])
            s.sport = int(first(r[3]))
            s.dport = int(first(r[4]))
            s.flags = int(first(r[5]), 16)
            s.window = int(first(r[6]) or 0)
            s.seq = int(first(r[7]) or 0)
            s.ack = int(first(r[8]) or 0)
            s.length = int(first(r[9]) or 0)
            s.time = float(first(r[10]) or 0)
            s.payload = bytes.fromhex(first(r[11]).replace(":", "")) if r[11] else b""
        except ValueError:
            continue
        segs.append(s)
    return segs


def streams(segs):
    """stream -> (client bytes, server bytes, [(is_client, payload)] in capture order). The
    client is the side that sent the first segment seen (the SYN in the lab captures)."""
    out = OrderedDict()
    for s in segs:
        if s.stream not in out:
            out[s.stream] = {"client": (s.src, s.sport), "c": bytearray(), "s": bytearray(), "turns": []}
        st = out[s.stream]
        if not s.payload:
            continue
        is_client = (s.src, s.sport) == st["client"]
        (st["c"] if is_client else st["s"]).extend(s.payload)
        st["turns"].append((is_client, s.payload))
    return out


class Writer:
    def __init__(self, target):
        self.dir = os.path.join(SEEDS, target)
        self.seen = set()
        self.count = 0

    def add(self, name, data):
        data = bytes(data)
        if not data or self.count >= MAX_SEEDS_PER_TARGET:
            return
        digest = hashlib.sha1(data).hexdigest()
        if digest in self.seen:
            return
        self.seen.add(digest)
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        with open(os.path.join(self.dir, f"{safe}-{digest[:8]}"), "wb") as f:
            f.write(data)
        self.count += 1


def tls_records(stream):
    """(type, fragment) of the whole TLS records at the start of `stream`."""
    out, i = [], 0
    while i + 5 <= len(stream):
        typ, major = stream[i], stream[i + 1]
        if typ not in (20, 21, 22, 23, 24) or major != 3:
            break
        (n,) = struct.unpack(">H", stream[i + 3 : i + 5])
        if i + 5 + n > len(stream):
            break
        out.append((typ, stream[i + 5 : i + 5 + n]))
        i += 5 + n
    return out


def interleave(control, a, b, chunk, a_chunks, b_chunks):
    """`control` then `a` and `b` in blocks of `a_chunks` and `b_chunks` chunks of `chunk`
    bytes, so a fuzz entry that alternates sides that way hands each side its own stream. The
    shorter side is padded with zeros at its end while the other still has bytes."""
    out = bytearray([control])
    ia = ib = 0
    while ia < len(a) or ib < len(b):
        na, nb = chunk * a_chunks, chunk * b_chunks
        out += a[ia : ia + na].ljust(na, b"\0")
        ia += na
        if ia >= len(a) and ib >= len(b):
            break
        out += b[ib : ib + nb].ljust(nb, b"\0")
        ib += nb
    return out


def illustrated_conversations():
    """The Illustrated TLS 1.2 / 1.3 conversations of src/proto/tls/test_fixtures.rs (the
    secrets `fuzz_decrypting_session` holds belong to them): name -> [(is_client, payload)]."""
    text = open(os.path.join(ROOT, "src", "proto", "tls", "test_fixtures.rs")).read()
    convs = {}
    for m in re.finditer(r"pub const (ILLUSTRATED_TLS1[23]): Conversation = &\[(.*?)\n\];", text, re.S):
        turns = []
        for t in re.finditer(r"\(\s*\d+,\s*(true|false),\s*(?:concat!\()?(.*?)\)?,\s*\)", m.group(2), re.S):
            hexes = "".join(re.findall(r'"([0-9a-fA-F]*)"', t.group(2)))
            turns.append((t.group(1) == "true", bytes.fromhex(hexes)))
        convs[m.group(1).lower()] = turns
    return convs


def main():
    if shutil.which("tshark") is None:
        sys.exit("make-seeds.py needs tshark")
    w = {}
    for t in TARGETS:
        d = os.path.join(SEEDS, t)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        w[t] = Writer(t)

    paths = captures()
    for path in paths:
        base = os.path.splitext(os.path.basename(path))[0]
        raw = open(path, "rb").read()

        # Whole captures: the capture reader and the whole pipeline (analyze, detect).
        if len(raw) <= MAX_CAPTURE:
            for t in ("capture_reader", "analyze", "detect"):
                w[t].add(base, raw)

        segs = tcp_segments(path)
        by_stream = streams(segs)

        # flow_segments: the capture's TCP segments as the 12-byte records of
        # `flow::fuzz_segments` (absolute sequence numbers; streams folded onto four port pairs).
        recs = bytearray()
        last_seq = [0] * 8
        last_t = None
        clients = {}
        for s in segs[:300]:
            clients.setdefault(s.stream, (s.src, s.sport))
            direction = 0 if (s.src, s.sport) == clients[s.stream] else 4
            slot = (s.stream & 3) | direction
            step_ms = 0 if last_t is None else min(255, max(0, int((s.time - last_t) * 1000)))
            last_t = s.time
            ack_step = (s.ack - last_seq[slot ^ 4]) & 0xFFFFFFFF
            if ack_step >= 0x80000000:
                ack_step -= 1 << 32
            ack_step = max(-32768, min(32767, ack_step))
            length = min(255, s.length)
            recs += bytes([slot | 8, s.flags & 0xFF, min(255, s.window)])
            recs += struct.pack(">I", s.seq & 0xFFFFFFFF)
            recs += struct.pack(">h", ack_step)
            recs += bytes([length, max(0, min(255, s.length - len(s.payload))), step_ms])
            last_seq[slot] = (s.seq + length) & 0xFFFFFFFF
        w["flow_segments"].add(base, recs)

        for sid, st in list(by_stream.items())[:4]:
            c, sv = bytes(st["c"][:STREAM_PREFIX]), bytes(st["s"][:STREAM_PREFIX])
            tag = f"{base}-s{sid}"
            if not c and not sv:
                continue
            is_tls = c[:1] == b"\x16" or sv[:1] == b"\x16"
            is_mqtt = c[:1] in (b"\x10",) and not is_tls
            is_http = c[:4] in (b"GET ", b"POST", b"CONN")
            is_socks = c[:1] in (b"\x04", b"\x05")
            is_proxy = c.startswith(b"PROXY ") or c.startswith(b"\r\n\r\n\0\r\nQUIT\n")

            if is_mqtt:
                # mqtt_parser: every packet-bearing segment, and each side's stream prefix.
                for n, (is_client, p) in enumerate(st["turns"][:12]):
                    w["mqtt_parser"].add(f"{tag}-{'c' if is_client else 's'}{n}", p[:STREAM_PREFIX])
                w["mqtt_parser"].add(f"{tag}-client", c)
                w["mqtt_parser"].add(f"{tag}-server", sv)

            if is_tls:
                # tls_session / tls_decrypting_session: a control byte (chunk 64, no gaps), then
                # each side's stream in the entry's rhythm (three chunks a side), and each side's
                # first flight alone (the standalone parsers read the bytes after the control byte).
                for t in ("tls_session", "tls_decrypting_session"):
                    w[t].add(f"{tag}-both", interleave(63, c, sv, 64, 3, 3))
                for t in ("tls_session",):
                    w[t].add(f"{tag}-client", b"\x3f" + c)
                    w[t].add(f"{tag}-server", b"\x3f" + sv)
                    for typ, frag in tls_records(c)[:1] + tls_records(sv)[:2]:
                        if typ == 22:
                            w[t].add(f"{tag}-hs", b"\x00" + frag)
                # tls_decrypt: a suite selector, then the application-data records of each side
                # as (2-byte length, fragment) runs.
                for side, data in (("c", c), ("s", sv)):
                    run = bytearray()
                    for typ, frag in tls_records(data):
                        if typ == 23:
                            run += struct.pack(">H", len(frag)) + frag
                    if run:
                        sel = int(hashlib.sha1(tag.encode()).hexdigest(), 16) & 0xFF
                        w["tls_decrypt"].add(f"{tag}-{side}", bytes([sel]) + run[:STREAM_PREFIX])

            if is_http or is_socks or is_proxy:
                # transport_session: the preambles alone (the standalone parsers), and both
                # sides through the session: control 0x3f = 64-byte chunks, two client chunks
                # then one server chunk.
                for n, (is_client, p) in enumerate(st["turns"][:4]):
                    w["transport_session"].add(f"{tag}-{'c' if is_client else 's'}{n}", p[:1024])
                w["transport_session"].add(f"{tag}-both", interleave(0x3F, c[:1536], sv[:768], 64, 2, 1))
                if c[:1] == b"\x16" or b"\x16\x03" in c[:600]:
                    w["transport_session"].add(f"{tag}-both-tls", interleave(0x7F, c[:1536], sv[:768], 64, 2, 1))

        # dns_message: DNS messages over UDP, and over TCP without the 2-byte length.
        for (payload,) in tshark_fields(path, "udp.port == 53", ["udp.payload"])[:8]:
            if payload:
                w["dns_message"].add(f"{base}-udp", bytes.fromhex(first(payload).replace(":", "")))
        if "dns" in base:
            for sid, st in by_stream.items():
                for side, data in (("c", st["c"]), ("s", st["s"])):
                    if len(data) > 2:
                        w["dns_message"].add(f"{base}-tcp{sid}{side}", data[2:])

    # tls_decrypting_session: the Illustrated conversations whose secrets the entry holds, in its
    # rhythm at several chunk sizes (and one with gaps).
    for name, turns in illustrated_conversations().items():
        c = b"".join(p for is_client, p in turns if is_client)
        sv = b"".join(p for is_client, p in turns if not is_client)
        for control in (63, 15, 0xBF):
            chunk = (control % 64) + 1
            w["tls_decrypting_session"].add(f"{name}-{control:02x}", interleave(control, c, sv, chunk, 3, 3))
        w["tls_session"].add(f"{name}-3f", interleave(63, c, sv, 64, 3, 3))

    # tls_decrypt: the lab key logs (KeyLog::add_text reads the whole input).
    keys = os.path.join(CAPTURES, "keys")
    for n in sorted(os.listdir(keys)):
        w["tls_decrypt"].add(os.path.splitext(n)[0], open(os.path.join(keys, n), "rb").read()[:STREAM_PREFIX])

    # detect: the built-in rule files and profiles too (`detect::fuzz_rules` also reads the
    # input as a rule file and as a profile).
    rules = os.path.join(ROOT, "rules")
    for dirpath, _, files in sorted(os.walk(rules)):
        for n in sorted(files):
            if n.endswith(".toml"):
                w["detect"].add("rules-" + os.path.splitext(n)[0], open(os.path.join(dirpath, n), "rb").read())

    total = 0
    for t in TARGETS:
        size = sum(os.path.getsize(os.path.join(w[t].dir, f)) for f in os.listdir(w[t].dir))
        total += size
        print(f"{t:24} {w[t].count:4} seeds {size:8} bytes")
    print(f"{'total':24}      {total:8} bytes")


if __name__ == "__main__":
    main()
