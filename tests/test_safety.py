"""Non-negotiables: no network connection ever; no raw sensitive value in any output or message."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from conftest import REPO_ROOT, SAMPLES

# Socket connections fail loudly and leave a mark; imported before anything else in the child.
NO_NETWORK = r"""
import socket, sys
attempts = []
def refuse(*args, **kwargs):
    attempts.append(args)
    sys.stderr.write("NETWORK-ATTEMPT\n")
    raise OSError("network disabled by test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from scanner.cli import main
sys.argv = ["sovscan"] + sys.argv[1:]
try:
    main()
finally:
    if attempts:
        sys.stderr.write(f"NETWORK-ATTEMPTS {len(attempts)}\n")
"""


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", NO_NETWORK, *args],
        cwd=REPO_ROOT,
        input=stdin,
        capture_output=True,
        timeout=300,
        check=False,
    )


def test_full_scan_and_detect_make_no_network_connection(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = run_cli("scan", str(SAMPLES), "--report", f"json:{out}", "--report", "console")
    assert b"NETWORK-ATTEMPT" not in proc.stderr
    assert proc.returncode == 1, proc.stderr.decode()
    doc = json.loads(out.read_text())
    # The e-mail recognizer (which uses tldextract) really ran: e-mail addresses were found.
    assert any(d["entity"] == "EMAIL_ADDRESS" for f in doc["findings"] for d in f["detections"])
    proc = run_cli("detect", "-", stdin=b"write to ann.lee@example.com.au or bob@mail.example.co.uk\n")
    assert b"NETWORK-ATTEMPT" not in proc.stderr and proc.returncode == 0
    assert [s["type"] for s in json.loads(proc.stdout)["spans"]].count("EMAIL_ADDRESS") == 2


CANARY_CARD = "5555 5555 5555 4444"
CANARY_TFN = "876 543 210"
CANARY_EMAIL = "canary.person@example.com"
CANARIES = [
    CANARY_CARD,
    CANARY_TFN,
    CANARY_EMAIL,
    CANARY_CARD.replace(" ", ""),
    CANARY_TFN.replace(" ", ""),
    "canary.person",
]


def plant(tmp: Path) -> Path:
    text = f"Refund to card {CANARY_CARD}, TFN {CANARY_TFN}, email {CANARY_EMAIL}."
    d = tmp / "in"
    d.mkdir()
    rec = {
        "url": "https://api.openai.com/v1/chat/completions",
        "app": "a",
        "user": CANARY_EMAIL,
        "body": {"user": CANARY_EMAIL, "messages": [{"role": "user", "content": text}]},
    }
    lines = [json.dumps(rec), '{"url": "https://x", "body": "' + text + '"  BROKEN', json.dumps(rec)]
    (d / "log.jsonl").write_text("\n".join(lines) + "\n")
    (d / "old.jsonl.gz").write_bytes(gzip.compress((json.dumps(rec) + "\n").encode() * 40)[:-25])
    har = {
        "log": {
            "version": "1.2",
            "creator": {"name": "t", "version": "1"},
            "entries": [
                {
                    "startedDateTime": "2026-01-01T00:00:00Z",
                    "request": {
                        "method": "POST",
                        "url": "https://api.anthropic.com/v1/messages",
                        "headers": [],
                        "postData": {
                            "mimeType": "application/json",
                            "text": json.dumps(
                                {
                                    "model": "m",
                                    "max_tokens": 5,
                                    "messages": [{"role": "user", "content": text}],
                                }
                            ),
                        },
                    },
                }
            ],
        }
    }
    (d / "s.har").write_text(json.dumps(har))
    (d / "weird.json").write_text(f"not json {text}")
    return d


def test_canaries_never_appear_raw_in_any_output(tmp_path: Path) -> None:
    inputs = plant(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    from scanner.reporters import REPORTERS

    reports = [f"--report={fmt}:{out / ('report.' + fmt)}" for fmt in REPORTERS]
    proc = run_cli("scan", str(inputs), *reports, "--report", "console", "--report", "json", "--debug")
    assert proc.returncode == 2  # the broken line, the truncated gzip and the unknown file are errors
    texts = {"stdout": proc.stdout.decode(), "stderr": proc.stderr.decode()}
    for path in out.iterdir():
        texts[path.name] = path.read_text(encoding="utf-8")
    assert len(texts) == 2 + len(REPORTERS)
    doc = json.loads(texts["report.json"])
    found = {d["entity"] for f in doc["findings"] for d in f["detections"]}
    assert {"CREDIT_CARD", "AU_TFN", "EMAIL_ADDRESS"} <= found  # the values were detected ...
    for name, text in texts.items():
        for canary in CANARIES:
            assert canary not in text, f"raw value {canary!r} leaked into {name}"  # ... and never printed
    proc = run_cli("detect", str(inputs / "log.jsonl"))
    for canary in CANARIES:
        assert canary not in proc.stdout.decode() + proc.stderr.decode()
