"""LiteLLM StandardLoggingPayload (JSON document or JSON lines) and SpendLogs exports."""

from __future__ import annotations

import pytest
from traffic_helpers import FIXTURES, assert_pointers_resolve, external, read_all, records, shape, sniffed

from scanner.models import Skipped
from scanner.sources import litellm

DIR = FIXTURES / "litellm"


@pytest.mark.parametrize(
    "name", ["standard-logging-payload.json", "callbacks.jsonl", "spend-logs.json", "malformed.jsonl"]
)
def test_sniffed_without_a_flag(name: str) -> None:
    assert sniffed(DIR / name) == "litellm"


def test_standard_logging_payload_segments() -> None:
    items = read_all(litellm, DIR / "standard-logging-payload.json")
    assert shape(items) == [
        (
            "request",
            None,
            "",
            [
                ("system", "/messages/0/content"),
                ("user", "/messages/1/content/0/text"),
                ("tool_call", "/messages/2/tool_calls/0/function/arguments#/tfn"),
                ("tool", "/messages/3/content"),
                ("metadata", "/end_user"),
                ("metadata", "/requester_ip_address"),
                ("metadata", "/metadata/user_api_key_user_email"),
                ("metadata", "/metadata/user_api_key_user_id"),
                ("metadata", "/metadata/requester_ip_address"),
            ],
        ),
        ("response", None, "/response", [("assistant", "/response/choices/0/message/content")]),
    ]
    request = records(items)[0]
    # api_base is empty at the top level and filled in under hidden_params.
    assert request.target == "https://acme-aoai-aue.openai.azure.com/"
    assert (request.provider, request.model, request.unscanned_parts) == ("azure", "gpt-4o", 1)
    assert assert_pointers_resolve(DIR / "standard-logging-payload.json", items) == 10


def test_callback_lines_target_from_provider_or_hidden_api_base() -> None:
    items = read_all(litellm, DIR / "callbacks.jsonl")
    assert shape(items) == [
        ("request", 1, "", [("user", "/messages/0/content"), ("metadata", "/metadata/user_api_key_user_id")]),
        ("request", 2, "", [("user", "/messages/0/content"), ("metadata", "/metadata/user_api_key_user_id")]),
    ]
    first, second = records(items)
    assert first.target == "https://api.anthropic.com/v1"
    assert second.target == "https://bedrock-runtime.ap-southeast-2.amazonaws.com"
    assert second.model == "au.anthropic.claude-sonnet-4-5-20250929-v1:0"


def test_spend_logs_rows() -> None:
    items = read_all(litellm, DIR / "spend-logs.json")
    assert shape(items) == [
        (
            "request",
            None,
            "/0",
            [
                ("user", "/0/proxy_server_request/messages/0/content"),
                ("metadata", "/0/proxy_server_request/user"),
                ("metadata", "/0/user"),
                ("metadata", "/0/metadata/user_api_key_user_email"),
            ],
        ),
        # Prompts not stored (the default): the call still counts for its destination.
        ("request", None, "/1", []),
        # messages and metadata held as JSON strings.
        (
            "request",
            None,
            "/2",
            [("user", "/2/messages#/0/content"), ("metadata", "/2/metadata#/user_api_key_user_email")],
        ),
    ]
    targets = [r.target for r in records(items)]
    assert targets == [
        "https://api.openai.com/v1",
        "https://australia-southeast1-aiplatform.googleapis.com",
        "https://api.mistral.ai/v1",
    ]
    assert assert_pointers_resolve(DIR / "spend-logs.json", items) == 6


def test_malformed_entries_are_skipped_with_line_and_reason() -> None:
    assert shape(read_all(litellm, DIR / "malformed.jsonl"))[1:] == [
        ("skipped", 2, "", "malformed JSON at column 43"),
        ("skipped", 3, "/0", "log entry is a string, not an object"),
        ("skipped", 3, "/1", "log entry is a string, not an object"),
        ("skipped", 3, "/2", "log entry is a string, not an object"),
        ("skipped", 4, "", "not a LiteLLM log entry (no call_type or messages)"),
    ]


def test_real_standard_logging_payload_parses() -> None:
    path = external("litellm-standard-logging-payload.json")
    assert sniffed(path) == "litellm"
    items = read_all(litellm, path)
    assert not [i for i in items if isinstance(i, Skipped)]
    assert shape(items) == [
        ("request", None, "", [("user", "/messages/0/content")]),
        ("response", None, "/response", [("assistant", "/response/choices/0/message/content")]),
    ]
    assert records(items)[0].target == "https://api.openai.com"
