"""MQTT 3.1.1 bytes for the lab's socket clients (malformed_client.py, sequence_client.py): the
encodings of the specification's sections, written out so a client can send exactly what a
scenario needs, including what a library would refuse to send. Standard library only.
"""
import struct


def utf8(text: str) -> bytes:
    """MQTT UTF-8 string: 2-byte big-endian length, then the bytes (§1.5.3)."""
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def remaining_length(n: int) -> bytes:
    """Variable byte integer (§2.2.3)."""
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + remaining_length(len(body)) + body


def connect_packet(client_id: str, user: str = "", password: str = "") -> bytes:
    """CONNECT (§3.1): protocol name MQTT, level 4, clean session, keep-alive 60."""
    flags = 0x02
    payload = utf8(client_id)
    if user:
        flags |= 0x80
        payload += utf8(user)
        if password:
            flags |= 0x40
            payload += utf8(password)
    return packet(0x10, utf8("MQTT") + bytes([4, flags]) + struct.pack("!H", 60) + payload)
