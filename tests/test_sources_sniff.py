"""Sniffing across formats: specific shapes before the generic ones, documents vs JSON lines,
compression anywhere, and configs left to the config sources."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import zstandard
from traffic_helpers import EXTERNAL, FIXTURES, REPO_ROOT, read_all, records, shape, sniffed

from scanner.sources import FORMATS, bedrock, langfuse, litellm

TRAFFIC_LOGS = ["mitm", "vcr", "nock", "otel", "bedrock", "azure", "langfuse", "langsmith", "litellm"]


def test_specific_formats_come_before_the_generic_ones() -> None:
    order = list(FORMATS)
    for name in TRAFFIC_LOGS:
        assert order.index(name) < order.index("har") < order.index("jsonl"), name


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("samples/traffic/openai-chat.jsonl", "jsonl"),
        ("samples/traffic/anthropic.jsonl", "jsonl"),
        ("samples/traffic/archive/bedrock-2026-11-06.jsonl.gz", "jsonl"),
        ("samples/traffic/browser-session.har", "har"),
    ],
)
def test_envelope_and_har_samples_keep_their_format(path: str, expected: str) -> None:
    assert sniffed(REPO_ROOT / path) == expected


@pytest.mark.parametrize(
    "name",
    [
        "litellm-proxy-server-config.yaml",
        "litellm-config-openhands-ollama.yaml",
        "k8s-open-webui-deployment.yaml",
        "otel-genai-input-messages.schema.json",
        "pii-presidio-research-generated-small.json",
    ],
)
def test_configs_and_other_json_are_not_claimed_as_traffic(name: str) -> None:
    path = EXTERNAL / name
    if not path.exists():
        pytest.skip(f"external sample {name} not available")
    assert sniffed(path) not in TRAFFIC_LOGS


def test_zstd_compressed_log_is_read(tmp_path: Path) -> None:
    plain = FIXTURES / "langfuse" / "observations.jsonl"
    packed = tmp_path / "observations.jsonl.zst"
    packed.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    assert sniffed(packed) == "langfuse"
    assert shape(read_all(langfuse, packed)) == shape(read_all(langfuse, plain))


def test_gzip_without_a_gz_name_is_read(tmp_path: Path) -> None:
    packed = tmp_path / "invocations.json"
    packed.write_bytes(gzip.compress((FIXTURES / "bedrock" / "invocations.jsonl").read_bytes()))
    assert sniffed(packed) == "bedrock"
    assert len(records(read_all(bedrock, packed))) == 6


def test_pretty_document_and_minified_line_read_the_same(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "litellm" / "standard-logging-payload.json").read_text())
    one_line = tmp_path / "payload.json"
    one_line.write_text(json.dumps(doc))
    pretty = shape(read_all(litellm, FIXTURES / "litellm" / "standard-logging-payload.json"))
    minified = shape(read_all(litellm, one_line))
    # Same segments; the minified one is located by line 1 instead of as the whole document.
    assert [s[3] for s in pretty] == [s[3] for s in minified]
    assert [s[1] for s in minified] == [1, 1]


def test_pretty_printed_single_record_is_one_document(tmp_path: Path) -> None:
    line = (FIXTURES / "bedrock" / "invocations.jsonl").read_text().splitlines()[1]
    path = tmp_path / "one.json"
    path.write_text(json.dumps(json.loads(line), indent=2))
    assert sniffed(path) == "bedrock"
    assert shape(read_all(bedrock, path, include_responses=False)) == [
        ("request", None, "", [("user", "/input/inputBodyJson/inputText"), ("metadata", "/identity/arn")])
    ]


def test_json_lines_with_a_damaged_first_line_are_still_read_line_by_line(tmp_path: Path) -> None:
    lines = (FIXTURES / "bedrock" / "invocations.jsonl").read_text().splitlines()
    path = tmp_path / "damaged.jsonl"
    path.write_text('{"schemaType":"ModelInvocationLog","modelId": \n' + "\n".join(lines[:2]) + "\n")
    items = read_all(bedrock, path, include_responses=False)
    assert [(s[0], s[1]) for s in shape(items)] == [("skipped", 1), ("request", 2), ("request", 3)]


def test_skip_reasons_never_quote_free_text_from_the_log(tmp_path: Path) -> None:
    from scanner.sources import azure, langfuse

    secret = "olivia.bennett@example.com.au TFN 123 456 782"
    path = tmp_path / "odd.log"
    path.write_text(json.dumps({"category": secret, "properties": {}}) + "\n")
    ((_, _, _, reason),) = shape(read_all(azure, path))
    assert reason == "unsupported category unrecognised"
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps({"type": secret, "trace_id": "t", "input": "x"}) + "\n")
    ((_, _, _, reason),) = shape(read_all(langfuse, path))
    assert secret not in reason and "olivia" not in reason
