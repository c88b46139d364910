#!/usr/bin/env python3
"""paho-mqtt (real third-party software) reaching a broker through a proxy, for the capture lab.

paho-mqtt 2.x opens its socket through PySocks when `Client.proxy_set()` was called: an HTTP proxy
(HTTP CONNECT) or a SOCKS4/SOCKS5 proxy. With --rdns (the default) the broker's name goes to the
proxy unresolved (CONNECT broker.test:8883, SOCKS5 ATYP domain name), as PySocks sends it.
Bounded in time: every wait has a timeout.

Usage: proxy_client.py --proxy-type http|socks5|socks4 --proxy-host H --proxy-port P
                       --host BROKER --port PORT --id ID [--cafile CA] [--keylog FILE]
                       [--publish TOPIC MESSAGE QOS]
"""
import argparse
import ssl
import sys
import threading

import paho.mqtt.client as mqtt
import socks


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--proxy-type", choices=("http", "socks5", "socks4"), required=True)
    p.add_argument("--proxy-host", required=True)
    p.add_argument("--proxy-port", type=int, required=True)
    p.add_argument("--no-rdns", action="store_true", help="resolve the broker's name locally")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--id", required=True)
    p.add_argument("--cafile")
    p.add_argument("--keylog")
    p.add_argument("--publish", nargs=3, metavar=("TOPIC", "MESSAGE", "QOS"))
    args = p.parse_args()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.id,
                         protocol=mqtt.MQTTv311, reconnect_on_failure=False)
    kind = {"http": socks.HTTP, "socks5": socks.SOCKS5, "socks4": socks.SOCKS4}[args.proxy_type]
    client.proxy_set(proxy_type=kind, proxy_addr=args.proxy_host, proxy_port=args.proxy_port,
                     proxy_rdns=not args.no_rdns)
    if args.cafile:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(args.cafile)
        if args.keylog:
            ctx.keylog_filename = args.keylog
        client.tls_set_context(ctx)

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
    client.connect_timeout = 5
    try:
        client.connect(args.host, args.port, keepalive=60)
    except (OSError, ssl.SSLError, socks.ProxyError) as e:
        print(f"connect failed: {type(e).__name__}: {e}")
        return 2
    client.loop_start()
    connected.wait(timeout=5)
    ok = result.get("connack") == "Success" and not gone.is_set()
    if ok and args.publish:
        topic, message, qos = args.publish
        info = client.publish(topic, message, qos=int(qos))
        try:
            info.wait_for_publish(timeout=5)
        except (RuntimeError, ValueError):
            pass
    if not gone.is_set():
        client.disconnect()
        gone.wait(timeout=3)
    client.loop_stop()
    print(result)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
