#!/usr/bin/env python3
"""scripts/lab/mqtt_client.py (paho-mqtt) with its TLS protocol range pinned, for old versions.

mqtt_client.py can cap a session at TLS 1.2 but not go below it: Python 3.10+ contexts refuse
anything older than TLS 1.2 by default. This wrapper takes one extra option,
--tls-version 1.0|1.1|1.2, sets the context's minimum and maximum to it, and hands every other
argument to mqtt_client.py unchanged (key log, cipher string, publish, ...). With OpenSSL 3, TLS
1.0 and 1.1 also need '@SECLEVEL=0' in --ciphers.
Usage: legacy_tls_client.py --tls-version 1.0 [mqtt_client.py options...]
"""
import os
import ssl
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqtt_client  # noqa: E402  (the lab's paho-mqtt client, beside this file)

VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
}


def main() -> int:
    argv = sys.argv[1:]
    if "--tls-version" not in argv:
        print("--tls-version 1.0|1.1|1.2 is required", file=sys.stderr)
        return 2
    i = argv.index("--tls-version")
    version = VERSIONS[argv[i + 1]]
    sys.argv = [sys.argv[0]] + argv[:i] + argv[i + 2:]
    build = mqtt_client.build_tls_context

    def pinned(args):
        ctx = build(args)
        # Python warns that TLS 1.0/1.1 are deprecated; setting them is the point here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = version
            ctx.maximum_version = version
        return ctx

    mqtt_client.build_tls_context = pinned
    return mqtt_client.main()


if __name__ == "__main__":
    sys.exit(main())
