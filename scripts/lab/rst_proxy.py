#!/usr/bin/env python3
"""A misbehaving middlebox: accepts TCP, reads the client's first bytes (the TLS ClientHello),
then aborts the connection with a RST (SO_LINGER 0) and sends no TLS alert.

MODE 'always' resets every connection; 'alternate' resets odd-numbered connections (1st, 3rd, ...)
and relays the others byte for byte to UPSTREAM (a healthy broker), like a flaky firewall.
Bounded: serves at most MAXCONN connections and exits after SECONDS.
Usage: rst_proxy.py LISTEN_HOST LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT MODE MAXCONN SECONDS
"""
import socket
import struct
import sys
import threading
import time


def relay(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def reset_after_first_read(conn: socket.socket) -> None:
    conn.settimeout(5)
    try:
        conn.recv(65536)
    except OSError:
        pass
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def forward(conn: socket.socket, upstream: tuple) -> None:
    up = socket.create_connection(upstream, timeout=5)
    up.settimeout(None)
    conn.settimeout(None)
    t = threading.Thread(target=relay, args=(up, conn), daemon=True)
    t.start()
    relay(conn, up)
    t.join(timeout=10)
    conn.close()
    up.close()


def main() -> int:
    host, port = sys.argv[1], int(sys.argv[2])
    upstream = (sys.argv[3], int(sys.argv[4]))
    mode, maxconn, seconds = sys.argv[5], int(sys.argv[6]), float(sys.argv[7])
    deadline = time.monotonic() + seconds
    srv = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(16)
    print("listening", flush=True)
    served = 0
    while served < maxconn and time.monotonic() < deadline:
        srv.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            break
        served += 1
        if mode == "always" or served % 2 == 1:
            reset_after_first_read(conn)
        else:
            threading.Thread(target=forward, args=(conn, upstream), daemon=True).start()
    srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
