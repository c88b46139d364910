#!/usr/bin/env python3
"""Open a TCP connection and send nothing: the 'device that connects but never speaks MQTT'.

Waits up to SECONDS for the server to close (recording whether it did), then closes itself.
Bounded in time; standard library only.
Usage: silent_client.py HOST PORT SECONDS
"""
import socket
import sys
import time


def main() -> int:
    host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    sock = socket.create_connection((host, port), timeout=5)
    deadline = time.monotonic() + seconds
    closed_by_server = False
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = sock.recv(4096)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed_by_server = True
            break
        if not data:
            closed_by_server = True
            break
    sock.close()
    print("server closed first" if closed_by_server else "client closed after timeout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
