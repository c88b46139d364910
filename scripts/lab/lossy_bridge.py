#!/usr/bin/env python3
"""A user-space Ethernet bridge that delays, drops and reorders real frames (this kernel has no netem).

Runs in a middle network namespace between two veth ends IF_A and IF_B; every frame received on one
side is sent unchanged on the other after a random delay (jitter reorders frames), or dropped with
probability DROP. Frames are never edited or invented. ARP and the first DROP_GRACE frames are never
dropped so the connection can start. Deterministic (seeded). Bounded: exits after SECONDS.
Usage: lossy_bridge.py IF_A IF_B DROP MIN_DELAY_MS MAX_DELAY_MS SECONDS
Linux only (AF_PACKET); standard library only.
"""
import heapq
import random
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
DROP_GRACE = 6


def open_raw(ifname: str) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, 0))
    s.setblocking(False)
    return s


def main() -> int:
    if_a, if_b = sys.argv[1], sys.argv[2]
    drop = float(sys.argv[3])
    min_delay, max_delay = float(sys.argv[4]) / 1000, float(sys.argv[5]) / 1000
    deadline = time.monotonic() + float(sys.argv[6])
    rng = random.Random(78)
    sock = {if_a: open_raw(if_a), if_b: open_raw(if_b)}
    other = {if_a: if_b, if_b: if_a}
    by_fd = {s.fileno(): name for name, s in sock.items()}
    queue = []  # (due, seq, out_if, frame)
    seq = 0
    stats = {"forwarded": 0, "dropped": 0}
    print("bridging", flush=True)
    while time.monotonic() < deadline:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out_if, frame = heapq.heappop(queue)
            try:
                sock[out_if].send(frame)
                stats["forwarded"] += 1
            except OSError:
                stats["dropped"] += 1
        timeout = 0.05 if not queue else max(0.0, min(0.05, queue[0][0] - now))
        ready, _, _ = select.select(list(sock.values()), [], [], timeout)
        for s in ready:
            name = by_fd[s.fileno()]
            for _ in range(64):
                try:
                    frame, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # our own transmissions, seen again on the sending interface
                seq += 1
                is_arp = frame[12:14] == b"\x08\x06"
                if not is_arp and seq > DROP_GRACE and rng.random() < drop:
                    stats["dropped"] += 1
                    continue
                due = time.monotonic() + rng.uniform(min_delay, max_delay)
                heapq.heappush(queue, (due, seq, other[name], frame))
    print(stats, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
