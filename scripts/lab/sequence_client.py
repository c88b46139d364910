#!/usr/bin/env python3
"""An MQTT 3.1.1 client that sends valid packets in an order the specification forbids.

The packets are built by hand (that is the point: a library checks the CONNACK and sends CONNECT
once), everything else is real: the broker's answers and when it closes. Modes:

  publish-after-refusal  CONNECT with USER/PASSWORD; the broker refuses it (CONNACK != 0); the
                         client waits DELAY seconds and sends a QoS 1 PUBLISH anyway, as a device
                         that never checks the CONNACK return code (3.1.1 §3.1.4, §3.2.2.3).
  second-connect         CONNECT, CONNACK 0, then DELAY seconds later a second CONNECT on the
                         same connection (3.1.1 §3.1.0 [MQTT-3.1.0-2]: a protocol violation).
  hold-after-refusal     CONNECT with USER/PASSWORD, read the CONNACK, then send nothing: shows
                         whether the broker closes after refusing (3.1.1 §3.2.2.3 [MQTT-3.2.2-5]).

After its last packet the client waits up to SECONDS for the broker to close (printing every
answer), then closes itself (FIN). Prints what happened. Bounded in time; standard library only.
Usage: sequence_client.py HOST PORT CLIENT_ID SECONDS MODE [DELAY] [USER PASSWORD]
"""
import socket
import struct
import sys
import time

from mqtt_bytes import connect_packet, packet, utf8


def read_packet(sock: socket.socket) -> bytes:
    """One whole MQTT packet (fixed header included); b'' if the peer closed first."""
    data = b""
    while True:
        # Fixed header: type byte + up to 4 length bytes.
        if len(data) >= 2:
            n, mult, i = 0, 1, 1
            while i < len(data) and i <= 4:
                n += (data[i] & 0x7F) * mult
                mult *= 128
                if not data[i] & 0x80:
                    if len(data) >= i + 1 + n:
                        return data[: i + 1 + n]
                    break
                i += 1
        chunk = sock.recv(4096)
        if not chunk:
            return b""
        data += chunk


def wait_for_close(sock: socket.socket, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    start = time.monotonic()
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = sock.recv(4096)
        except socket.timeout:
            break
        except ConnectionResetError:
            print(f"broker reset the connection after {time.monotonic() - start:.3f} s")
            return
        if not data:
            print(f"broker closed the connection after {time.monotonic() - start:.3f} s")
            return
        print(f"broker answered {data.hex()}")
    print(f"broker kept the connection open for {seconds} s; client closes it")


def main() -> int:
    host, port, client_id, seconds, mode = (
        sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5])
    delay = float(sys.argv[6]) if len(sys.argv) > 6 else 0.2
    user, password = (sys.argv[7], sys.argv[8]) if len(sys.argv) > 8 else ("", "")

    sock = socket.create_connection((host, port), timeout=5)
    sock.sendall(connect_packet(client_id, user, password))
    connack = read_packet(sock)
    print(f"CONNACK {connack.hex()}")
    if len(connack) != 4 or connack[0] != 0x20:
        print("no CONNACK; broker closed")
        sock.close()
        return 1
    code = connack[3]
    try:
        if mode == "publish-after-refusal":
            if code == 0:
                print("broker accepted the CONNECT; nothing to show")
                return 1
            time.sleep(delay)
            # PUBLISH QoS 1 (§3.3): topic lab/refused, packet id 1, payload.
            publish = packet(0x32, utf8("lab/refused") + struct.pack("!H", 1) + b"sent after the refusal")
            try:
                sock.sendall(publish)
                print(f"sent PUBLISH {delay} s after the refusing CONNACK ({publish.hex()})")
            except (BrokenPipeError, ConnectionResetError) as e:
                print(f"PUBLISH not sent: {e}")
                return 0
        elif mode == "second-connect":
            if code != 0:
                print(f"broker refused the first CONNECT ({code}); nothing to show")
                return 1
            time.sleep(delay)
            sock.sendall(connect_packet(client_id, user, password))
            print(f"sent a second CONNECT {delay} s after CONNACK 0")
        elif mode != "hold-after-refusal":
            print(f"unknown mode {mode}")
            return 2
        wait_for_close(sock, seconds)
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
