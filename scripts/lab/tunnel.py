#!/usr/bin/env python3
"""A user-space IP tunnel endpoint (GTPv1-U or GRE) for kernels without the gtp/ip_gre modules.

Creates a TUN device (IFF_TUN | IFF_NO_PI: plain IPv4 packets, no packet-info prefix) carrying the
overlay address ADDR, and forwards packets between it and the underlay peer REMOTE:

  gtpu  UDP port 2152 both ends; each packet behind an 8-byte GTPv1-U header (3GPP TS 29.281 §5.1:
        flags 0x30 = version 1, protocol type GTP, no optional fields; message type 0xFF G-PDU;
        length = bytes after the first 8; TEID). The TEID names the *receiving* end's tunnel, so
        each direction has its own: --teid-tx goes into what we send, --teid-rx is what we accept.
  gre   raw IP protocol 47, each packet behind a 4-byte GRE header (RFC 2784: no checksum,
        version 0, protocol type 0x0800 IPv4). A raw socket receives the whole datagram including
        the outer IPv4 header, which is stripped by its IHL.

Only IPv4 is forwarded (the overlay is IPv4; IPv6 is disabled on the TUN so the kernel sends no
router solicitations or MLD through it). Packets are never edited. Every received packet whose
header, source or TEID does not match is dropped and counted. Bounded: exits after --seconds (the
TUN device disappears with the process). Prints "forwarding" once the device is up and a summary
at exit. Linux only, run as root inside the endpoint's network namespace; standard library only
(plus the `ip` command to address the device).

Usage: tunnel.py {gtpu,gre} --dev NAME --addr 10.79.1.2/24 --local 10.78.0.2 --remote 10.78.0.1
                 [--mtu 1400] [--teid-tx N --teid-rx N] --seconds S
"""
import argparse
import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

GTPU_PORT = 2152
GTPU_FLAGS = 0x30  # version 1, PT 1 (GTP, not GTP'), E = S = PN = 0: header is exactly 8 bytes
GTPU_G_PDU = 0xFF
GRE_PROTO = 47
GRE_IPV4 = 0x0800


def open_tun(name: str, addr: str, mtu: int) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    try:  # before the link goes up, or the kernel already sends IPv6 chatter into the tunnel
        with open(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "w") as fh:
            fh.write("1")
    except OSError:
        pass
    for cmd in (["ip", "link", "set", "dev", name, "mtu", str(mtu)],
                ["ip", "addr", "add", addr, "dev", name],
                ["ip", "link", "set", "dev", name, "up"]):
        subprocess.run(cmd, check=True)
    # Segments leave the TUN fully checksummed and MTU-sized (no offloads); best effort like the
    # veth ends in make-captures.sh.
    subprocess.run(["ethtool", "-K", name, "tso", "off", "gso", "off", "gro", "off", "tx", "off"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return fd


class Gtpu:
    def __init__(self, local: str, remote: str, teid_tx: int, teid_rx: int):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((local, GTPU_PORT))
        self.remote, self.teid_tx, self.teid_rx = remote, teid_tx, teid_rx

    def send(self, packet: bytes) -> None:
        header = struct.pack("!BBHI", GTPU_FLAGS, GTPU_G_PDU, len(packet), self.teid_tx)
        self.sock.sendto(header + packet, (self.remote, GTPU_PORT))

    def receive(self):
        """One datagram -> the inner packet, or None if it is not a G-PDU for our TEID."""
        data, (src, _) = self.sock.recvfrom(65535)
        if src != self.remote or len(data) < 8:
            return None
        flags, msg_type, length, teid = struct.unpack("!BBHI", data[:8])
        if flags != GTPU_FLAGS or msg_type != GTPU_G_PDU or teid != self.teid_rx:
            return None
        return data[8:8 + length]


class Gre:
    def __init__(self, local: str, remote: str):
        # Without IP_HDRINCL the kernel writes the outer IPv4 header on send; on receive a raw
        # socket gets the datagram with its IPv4 header.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, GRE_PROTO)
        self.sock.bind((local, 0))
        self.remote = remote

    def send(self, packet: bytes) -> None:
        self.sock.sendto(struct.pack("!HH", 0, GRE_IPV4) + packet, (self.remote, 0))

    def receive(self):
        data, (src, _) = self.sock.recvfrom(65535)
        if src != self.remote or len(data) < 20:
            return None
        ihl = (data[0] & 0x0F) * 4
        gre = data[ihl:ihl + 4]
        if len(gre) < 4:
            return None
        flags_version, proto = struct.unpack("!HH", gre)
        if flags_version != 0 or proto != GRE_IPV4:  # C/K/S bits or a version we do not speak
            return None
        return data[ihl + 4:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("gtpu", "gre"))
    ap.add_argument("--dev", required=True, help="TUN device name")
    ap.add_argument("--addr", required=True, help="overlay address/prefix for the TUN device")
    ap.add_argument("--local", required=True, help="underlay address of this end")
    ap.add_argument("--remote", required=True, help="underlay address of the peer")
    ap.add_argument("--mtu", type=int, default=1400)
    ap.add_argument("--teid-tx", type=lambda s: int(s, 0), default=1, help="gtpu: TEID put on sent packets")
    ap.add_argument("--teid-rx", type=lambda s: int(s, 0), default=1, help="gtpu: TEID accepted")
    ap.add_argument("--seconds", type=float, required=True, help="exit after this long")
    args = ap.parse_args()
    deadline = time.monotonic() + args.seconds

    if args.mode == "gtpu":
        tunnel = Gtpu(args.local, args.remote, args.teid_tx, args.teid_rx)
    else:
        tunnel = Gre(args.local, args.remote)
    tun = open_tun(args.dev, args.addr, args.mtu)
    stats = {"encapsulated": 0, "decapsulated": 0, "dropped": 0}
    # make-captures.sh stops the endpoints with SIGTERM once the capture is done: still print stats.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("forwarding", args.mode, args.dev, args.addr, "via", args.remote, flush=True)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([tun, tunnel.sock], [], [], min(left, 0.5))
            if tun in ready:
                packet = os.read(tun, 65535)
                if packet and packet[0] >> 4 == 4:
                    tunnel.send(packet)
                    stats["encapsulated"] += 1
                else:
                    stats["dropped"] += 1
            if tunnel.sock in ready:
                inner = tunnel.receive()
                if inner and inner[0] >> 4 == 4:
                    os.write(tun, inner)
                    stats["decapsulated"] += 1
                else:
                    stats["dropped"] += 1
    finally:
        print(stats, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
