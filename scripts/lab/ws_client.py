#!/usr/bin/env python3
"""paho-mqtt (real third-party software) over WebSockets, for the capture lab.

`mqtt.Client(transport="websockets")` sends an HTTP/1.1 Upgrade (GET PATH, Sec-WebSocket-Protocol:
mqtt) and then carries MQTT in masked binary frames. With --cafile the WebSocket runs over TLS
(wss), and --keylog writes the NSS key log (Python ssl keylog_filename). The client subscribes to
TOPIC, publishes MESSAGE to it at QOS, waits for its own message, then disconnects.
Bounded in time: every wait has a timeout.
"""
import argparse
import ssl
import sys
import threading

import paho.mqtt.client as mqtt


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/mqtt")
    p.add_argument("--id", required=True)
    p.add_argument("--v5", action="store_true")
    p.add_argument("--cafile")
    p.add_argument("--keylog")
    p.add_argument("--topic", default="lab/ws")
    p.add_argument("--message", default="hello over websockets")
    p.add_argument("--qos", type=int, default=1)
    args = p.parse_args()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.id,
                         protocol=mqtt.MQTTv5 if args.v5 else mqtt.MQTTv311,
                         transport="websockets", reconnect_on_failure=False)
    client.ws_set_options(path=args.path)
    if args.cafile:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(args.cafile)
        if args.keylog:
            ctx.keylog_filename = args.keylog
        client.tls_set_context(ctx)

    connected = threading.Event()
    subscribed = threading.Event()
    received = threading.Event()
    gone = threading.Event()
    result = {}

    def on_connect(c, userdata, flags, reason_code, properties):
        result["connack"] = str(reason_code)
        connected.set()

    def on_subscribe(c, userdata, mid, reason_codes, properties):
        result["suback"] = [str(r) for r in reason_codes]
        subscribed.set()

    def on_message(c, userdata, msg):
        result["message"] = msg.payload.decode(errors="replace")
        received.set()

    def on_disconnect(c, userdata, flags, reason_code, properties):
        result["disconnect"] = str(reason_code)
        gone.set()
        connected.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.on_disconnect = on_disconnect
    client.connect_timeout = 5
    try:
        client.connect(args.host, args.port, keepalive=60)
    except Exception as e:  # paho raises WebsocketConnectionError, OSError, ssl.SSLError
        print(f"connect failed: {type(e).__name__}: {e}")
        return 2
    client.loop_start()
    connected.wait(timeout=5)
    ok = result.get("connack") == "Success" and not gone.is_set()
    if ok:
        client.subscribe(args.topic, qos=args.qos)
        subscribed.wait(timeout=5)
        client.publish(args.topic, args.message, qos=args.qos)
        received.wait(timeout=5)
    if not gone.is_set():
        client.disconnect()
        gone.wait(timeout=3)
    client.loop_stop()
    print(result)
    return 0 if ok and received.is_set() else 1


if __name__ == "__main__":
    sys.exit(main())
