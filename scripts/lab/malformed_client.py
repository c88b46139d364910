#!/usr/bin/env python3
"""An MQTT 3.1.1 client that breaks the specification once: a valid CONNECT, then a SUBSCRIBE
whose fixed-header flags are 0000 instead of the required 0010 (MQTT 3.1.1 §3.8.1; §2.2.2 says a
receiver must close the connection on invalid flags).

The packets are built by hand (that is the point: no library sends this), everything else is
real: the broker's CONNACK and its reaction to the bad SUBSCRIBE. After the SUBSCRIBE the client
waits up to SECONDS for the broker to close, then closes itself (FIN).
Prints what happened. Bounded in time; standard library only.
Usage: malformed_client.py HOST PORT CLIENT_ID SECONDS
"""
import socket
import struct
import sys
import time

from mqtt_bytes import connect_packet, packet, utf8


def main() -> int:
    host, port, client_id, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    connect = connect_packet(client_id)
    # SUBSCRIBE (§3.8): packet id 1, one filter lab/malformed at QoS 0; first byte 0x80 where
    # the specification requires 0x82 (type 8, flags 0010).
    subscribe = packet(0x80, struct.pack("!H", 1) + utf8("lab/malformed") + bytes([0]))

    sock = socket.create_connection((host, port), timeout=5)
    sock.sendall(connect)
    connack = sock.recv(4)
    print(f"CONNACK {connack.hex()}")
    if len(connack) != 4 or connack[0] != 0x20 or connack[3] != 0:
        sock.close()
        return 1
    time.sleep(0.2)
    sock.sendall(subscribe)
    print(f"sent SUBSCRIBE with first byte 0x{subscribe[0]:02x} ({subscribe.hex()})")
    closed_by_server = False
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = sock.recv(4096)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed_by_server = True
            print("broker reset the connection")
            break
        if not data:
            closed_by_server = True
            print("broker closed the connection")
            break
        print(f"broker answered {data.hex()}")
    sock.close()
    if not closed_by_server:
        print("broker kept the connection open; client closed it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
