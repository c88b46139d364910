#!/usr/bin/env python3
"""A user-space IP tunnel endpoint (GTPv1-U, GRE, MPLS, PPPoE) for kernels without those modules.

Stands in for the kernel's gtp, ip_gre, mpls_router and pppoe modules. Creates a TUN device
(IFF_TUN | IFF_NO_PI: plain IPv4 packets, no packet-info prefix) carrying the overlay address ADDR,
and forwards packets between it and the peer: over IP to the underlay address REMOTE (gtpu, gre),
or in Ethernet frames on the interface IFACE to and from the MAC address PEER_MAC (mpls, pppoe):

  gtpu  UDP port 2152 both ends; each packet behind an 8-byte GTPv1-U header (3GPP TS 29.281 §5.1:
        flags 0x30 = version 1, protocol type GTP, no optional fields; message type 0xFF G-PDU;
        length = bytes after the first 8; TEID). The TEID names the *receiving* end's tunnel, so
        each direction has its own: --teid-tx goes into what we send, --teid-rx is what we accept.
  gre   raw IP protocol 47, each packet behind a 4-byte GRE header (RFC 2784: no checksum,
        version 0, protocol type 0x0800 IPv4). A raw socket receives the whole datagram including
        the outer IPv4 header, which is stripped by its IHL.
  mpls  Ethernet II frames, EtherType 0x8847 (MPLS unicast), one label stack entry (RFC 3032 §2.1:
        20-bit label, TC 0, bottom-of-stack 1, TTL 64) before the IPv4 packet. A label is
        assigned by the receiving end, so each direction has its own: --label-tx goes into what
        we send, --label-rx is what we accept.
  pppoe Ethernet II frames, EtherType 0x8864 (PPPoE session stage, RFC 2516 §4 and §5: ver 1,
        type 1, code 0x00, SESSION_ID, LENGTH = PPP payload length including the 2-byte PPP
        protocol field) carrying PPP protocol 0x0021 (IPv4) and the IPv4 packet. There is no
        discovery stage (PADI/PADO/PADR/PADS) and no LCP/IPCP: the session id (--session, the
        same both ways) is pre-agreed by the two ends, so the wire shows session frames only.

The two Ethernet modes send and receive whole frames through an AF_PACKET socket (SOCK_RAW) bound
to IFACE and to the mode's EtherType; the frame's source is IFACE's own MAC address. Meant for a
dedicated veth pair without IP addresses, so the kernel neither answers nor emits anything on it
(no module handles these EtherTypes here, so the kernel drops what it receives of them). Frames are
not padded to the 60-byte Ethernet minimum (a veth does not pad either).

Only IPv4 is forwarded (the overlay is IPv4; IPv6 is disabled on the TUN so the kernel sends no
router solicitations or MLD through it). Packets are never edited. Every received packet whose
header, source, TEID, label or session id does not match is dropped and counted. Bounded: exits
after --seconds (the TUN device disappears with the process). Prints "forwarding" once the device
is up and a summary at exit. Linux only, run as root inside the endpoint's network namespace;
standard library only (plus the `ip` command to address the device).

Usage: tunnel.py {gtpu,gre} --dev NAME --addr 10.79.1.2/24 --local 10.78.0.2 --remote 10.78.0.1
                 [--mtu 1400] [--teid-tx N --teid-rx N] --seconds S
       tunnel.py {mpls,pppoe} --dev NAME --addr 10.79.3.2/24 --iface mqlc0 --peer-mac MAC
                 [--mtu 1400] [--label-tx N --label-rx N] [--session N] --seconds S
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
ETH_P_MPLS_UC = 0x8847
ETH_P_PPP_SES = 0x8864
MPLS_TTL = 64
PPPOE_VER_TYPE = 0x11  # version 1, type 1
PPPOE_CODE_SESSION = 0x00
PPP_IPV4 = 0x0021


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


def number(text: str) -> int:
    return int(text, 0)


def parse_mac(text: str) -> bytes:
    mac = bytes(int(part, 16) for part in text.split(":"))
    if len(mac) != 6:
        raise ValueError(f"not a MAC address: {text}")
    return mac


class EthernetLink:
    """Whole Ethernet II frames of one EtherType on one interface, to and from one peer MAC."""

    ethertype = 0

    def __init__(self, iface: str, peer_mac: str):
        with open(f"/sys/class/net/{iface}/address", encoding="ascii") as fh:
            self.own = parse_mac(fh.read().strip())
        self.peer = parse_mac(peer_mac)
        # Protocol 0 at creation, so nothing is queued before bind() names interface and EtherType.
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        self.sock.bind((iface, self.ethertype))
        self.header = self.peer + self.own + struct.pack("!H", self.ethertype)

    def send(self, packet: bytes) -> None:
        self.sock.send(self.header + self.encapsulate(packet))

    def receive(self):
        """One frame -> the inner packet, or None if it is not ours."""
        data, addr = self.sock.recvfrom(65535)
        pkttype = addr[2]
        if pkttype == socket.PACKET_OUTGOING or len(data) < 14:
            return None
        dst, src, ethertype = data[0:6], data[6:12], struct.unpack("!H", data[12:14])[0]
        if dst != self.own or src != self.peer or ethertype != self.ethertype:
            return None
        return self.decapsulate(data[14:])


class Mpls(EthernetLink):
    ethertype = ETH_P_MPLS_UC

    def __init__(self, iface: str, peer_mac: str, label_tx: int, label_rx: int):
        super().__init__(iface, peer_mac)
        for label in (label_tx, label_rx):
            if not 16 <= label < 1 << 20:  # 0..15 are reserved (RFC 3032 §2.1)
                raise ValueError(f"MPLS label {label} outside 16..1048575")
        self.label_tx, self.label_rx = label_tx, label_rx

    def encapsulate(self, packet: bytes) -> bytes:
        # RFC 3032 §2.1: label (20 bits) | TC (3) | S (1) | TTL (8).
        return struct.pack("!I", self.label_tx << 12 | 0 << 9 | 1 << 8 | MPLS_TTL) + packet

    def decapsulate(self, payload: bytes):
        if len(payload) < 4:
            return None
        entry = struct.unpack("!I", payload[:4])[0]
        label, bottom, ttl = entry >> 12, (entry >> 8) & 1, entry & 0xFF
        if label != self.label_rx or not bottom or ttl == 0:  # one entry only, ours
            return None
        return payload[4:]


class Pppoe(EthernetLink):
    ethertype = ETH_P_PPP_SES

    def __init__(self, iface: str, peer_mac: str, session: int):
        super().__init__(iface, peer_mac)
        if not 0 < session < 0xFFFF:  # 0xFFFF is reserved, 0 is no session (RFC 2516 §4)
            raise ValueError(f"PPPoE session id {session} outside 1..0xFFFE")
        self.session = session

    def encapsulate(self, packet: bytes) -> bytes:
        ppp = struct.pack("!H", PPP_IPV4) + packet
        header = struct.pack("!BBHH", PPPOE_VER_TYPE, PPPOE_CODE_SESSION, self.session, len(ppp))
        return header + ppp

    def decapsulate(self, payload: bytes):
        if len(payload) < 8:
            return None
        ver_type, code, session, length = struct.unpack("!BBHH", payload[:6])
        if (ver_type != PPPOE_VER_TYPE or code != PPPOE_CODE_SESSION or session != self.session
                or length < 2 or 6 + length > len(payload)):
            return None
        if struct.unpack("!H", payload[6:8])[0] != PPP_IPV4:
            return None
        return payload[8:6 + length]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("gtpu", "gre", "mpls", "pppoe"))
    ap.add_argument("--dev", required=True, help="TUN device name")
    ap.add_argument("--addr", required=True, help="overlay address/prefix for the TUN device")
    ap.add_argument("--local", help="gtpu, gre: underlay address of this end")
    ap.add_argument("--remote", help="gtpu, gre: underlay address of the peer")
    ap.add_argument("--iface", help="mpls, pppoe: the Ethernet interface of the link")
    ap.add_argument("--peer-mac", help="mpls, pppoe: the peer's MAC address on that link")
    ap.add_argument("--mtu", type=int, default=1400)
    ap.add_argument("--teid-tx", type=number, default=1, help="gtpu: TEID put on sent packets")
    ap.add_argument("--teid-rx", type=number, default=1, help="gtpu: TEID accepted")
    ap.add_argument("--label-tx", type=number, default=16, help="mpls: label put on sent packets")
    ap.add_argument("--label-rx", type=number, default=16, help="mpls: label accepted")
    ap.add_argument("--session", type=number, default=1, help="pppoe: session id (both ways)")
    ap.add_argument("--seconds", type=float, required=True, help="exit after this long")
    args = ap.parse_args()
    deadline = time.monotonic() + args.seconds

    if args.mode in ("gtpu", "gre"):
        if not (args.local and args.remote):
            ap.error(f"{args.mode} needs --local and --remote")
        peer = args.remote
    else:
        if not (args.iface and args.peer_mac):
            ap.error(f"{args.mode} needs --iface and --peer-mac")
        peer = f"{args.peer_mac} on {args.iface}"
    if args.mode == "gtpu":
        tunnel = Gtpu(args.local, args.remote, args.teid_tx, args.teid_rx)
    elif args.mode == "gre":
        tunnel = Gre(args.local, args.remote)
    elif args.mode == "mpls":
        tunnel = Mpls(args.iface, args.peer_mac, args.label_tx, args.label_rx)
    else:
        tunnel = Pppoe(args.iface, args.peer_mac, args.session)
    tun = open_tun(args.dev, args.addr, args.mtu)
    stats = {"encapsulated": 0, "decapsulated": 0, "dropped": 0}
    # make-captures.sh stops the endpoints with SIGTERM once the capture is done: still print stats.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("forwarding", args.mode, args.dev, args.addr, "via", peer, flush=True)
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
