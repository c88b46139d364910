#!/usr/bin/env python3
"""Rewrite the generated table of captures/README.md from scenarios.tsv and expected.json.

Only the text between the markers `<!-- table:begin -->` and `<!-- table:end -->` is replaced, so
the hand-written parts of the README (notes on what the real software did) survive a regeneration.
Standard library only. Usage: readme-table.py [CAPTURES_DIR]
"""
import json
import os
import sys

BEGIN, END = "<!-- table:begin -->", "<!-- table:end -->"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def summary(facts: dict) -> str:
    parts = []
    for sid, s in facts["streams"].items():
        bits = []
        if "sh_version" in s or "ch_max" in s:
            bits.append(f"CH {s.get('ch_max', '?')}" + (f" / SH {s['sh_version']}" if "sh_version" in s else ""))
        for a in s.get("alerts", []):
            bits.append(f"alert {a['description']} ({a['from']})")
        if s.get("encrypted_alerts"):
            bits.append(f"{len(s['encrypted_alerts'])} encrypted alert(s)")
        if "connack" in s:
            bits.append(f"CONNACK {s['connack']}")
        close = s["close"]
        bits.append(f"{close['how']}" + (f" by {close['by']}" if close["by"] else ""))
        parts.append(f"#{sid}: " + ", ".join(bits))
    if len(parts) > 4:
        parts = parts[:3] + [f"... {len(parts) - 3} more streams"]
    return "<br>".join(parts)


def main() -> int:
    out_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                              os.path.join(os.path.dirname(__file__), "..", "captures"))
    with open(os.path.join(out_dir, "expected.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    rows = {}
    with open(os.path.join(out_dir, "scenarios.tsv"), encoding="utf-8") as fh:
        for line in fh:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 6:
                rows[cols[0]] = cols
    lines = [BEGIN, "",
             "| file | made with | shows | tshark facts per tcp.stream | diagnosis (rule ids) |",
             "|---|---|---|---|---|"]
    for name in sorted(rows):
        cols = rows[name]
        facts = manifest["files"].get(name)
        if facts is None:
            continue
        rules = ", ".join(f"`{r}`" for r in facts["expected_rules"])
        verdict = "healthy: no warning/error" if facts["healthy"] else (rules or "none")
        if facts["healthy"] and rules:
            verdict += f" ({rules})"
        if facts["tshark_options"]:
            verdict += "<br>tshark: `" + " ".join(facts["tshark_options"]) + "`"
        lines.append(f"| `{name}` | {cell(cols[4])} | {cell(cols[5])} | {summary(facts)} | {verdict} |")
    lines += ["", END]
    table = "\n".join(lines)
    path = os.path.join(out_dir, "README.md")
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else f"# captures\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + table + tail
    else:
        text = text.rstrip("\n") + "\n\n" + table + "\n"
    elapsed = os.environ.get("MQLAB_ELAPSED")
    rb, re_ = "<!-- runtime:begin -->", "<!-- runtime:end -->"
    if elapsed and rb in text and re_ in text:
        head, rest = text.split(rb, 1)
        tail = rest.split(re_, 1)[1]
        note = (f"Last full run of `scripts/make-captures.sh`: {elapsed} s for {len(rows)} files "
                f"({os.environ.get('MQLAB_WHEN', '')}; 2 cores, everything already installed; the long "
                "parts are the keep-alive lapses, ~12 s each, the silent client, 12 s, and tshark over every file).")
        text = head + rb + "\n" + note + "\n" + re_ + tail
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(f"README.md: {len(rows)} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
