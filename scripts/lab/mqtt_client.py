#!/usr/bin/env python3
"""A small MQTT client on paho-mqtt (real third-party software) for the capture lab.

Used where mosquitto_pub/mosquitto_sub cannot do the job: TLS key logging (NSS SSLKEYLOGFILE via
Python's ssl `keylog_filename`), a maximum TLS version, a chosen TLS 1.2 cipher, a client that must
not reconnect by itself. Bounded in time: every wait has a timeout.
"""
import argparse
import ssl
import sys
import threading
import time

import paho.mqtt.client as mqtt


def build_tls_context(args: argparse.Namespace) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(args.cafile)
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    if args.tls_max == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if args.tls_min == "1.3":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if args.ciphers:
        ctx.set_ciphers(args.ciphers)
    if args.keylog:
        ctx.keylog_filename = args.keylog
    if args.alpn:
        ctx.set_alpn_protocols([args.alpn])
    return ctx


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--id", required=True)
    p.add_argument("--v5", action="store_true")
    p.add_argument("--keepalive", type=int, default=60)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--cafile")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--keylog")
    p.add_argument("--tls-max")
    p.add_argument("--tls-min")
    p.add_argument("--ciphers")
    p.add_argument("--alpn")
    p.add_argument("--publish", nargs=3, metavar=("TOPIC", "MESSAGE", "QOS"))
    p.add_argument("--subscribe")
    p.add_argument("--hold", type=float, default=0.0, help="seconds to stay connected")
    args = p.parse_args()

    proto = mqtt.MQTTv5 if args.v5 else mqtt.MQTTv311
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=args.id,
        protocol=proto,
        reconnect_on_failure=False,
    )
    if args.user:
        client.username_pw_set(args.user, args.password)
    if args.cafile:
        client.tls_set_context(build_tls_context(args))

    connected = threading.Event()
    gone = threading.Event()
    result = {}

    def on_connect(c, userdata, flags, reason_code, properties):
        result["connack"] = str(reason_code)
        connected.set()

    def on_disconnect(c, userdata, flags, reason_code, properties):
        result["disconnect"] = str(reason_code)
        gone.set()
        connected.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    try:
        client.connect(args.host, args.port, keepalive=args.keepalive)
    except (OSError, ssl.SSLError) as e:
        print(f"connect failed: {e}")
        return 2
    client.loop_start()
    connected.wait(timeout=5)
    ok = result.get("connack") == "Success" and not gone.is_set()
    if ok and args.subscribe:
        client.subscribe(args.subscribe, qos=1)
        time.sleep(0.3)
    if ok and args.publish:
        topic, message, qos = args.publish
        info = client.publish(topic, message, qos=int(qos))
        try:
            info.wait_for_publish(timeout=5)
        except (RuntimeError, ValueError):
            pass
    if ok and args.hold > 0:
        gone.wait(timeout=args.hold)
    if not gone.is_set():
        client.disconnect()
        gone.wait(timeout=3)
    client.loop_stop()
    print(result)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
