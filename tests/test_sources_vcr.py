"""VCR.py cassettes: block and folded bodies, !!binary gzip bodies, null bodies, streamed responses."""

from __future__ import annotations

import pytest
from traffic_helpers import FIXTURES, assert_pointers_resolve, external, read_all, records, shape, sniffed

from scanner.errors import SourceError
from scanner.models import Skipped
from scanner.sources import vcr

DIR = FIXTURES / "vcr"
I0 = "/interactions/0"


@pytest.mark.parametrize(
    "name", ["openai-chat-stream.yaml", "anthropic-tools-gzip.yaml", "malformed.yaml", "broken.yaml"]
)
def test_sniffed_without_a_flag(name: str) -> None:
    assert sniffed(DIR / name) == "vcr"


def test_block_scalar_body_and_streamed_response() -> None:
    items = read_all(vcr, DIR / "openai-chat-stream.yaml")
    assert shape(items) == [
        (
            "request",
            None,
            I0,
            [
                ("system", f"{I0}/request/body#/messages/0/content"),
                ("user", f"{I0}/request/body#/messages/1/content"),
            ],
        ),
        (
            "response",
            None,
            f"{I0}/response",
            [("assistant", f"{I0}/response/body/string#/*/choices/0/delta/content")],
        ),
        ("skipped", None, "/interactions/1", "no request body (GET)"),
    ]
    response = records(items, "response")[0]
    # The TFN is split across two SSE chunks; reassembled it is whole again.
    assert [s.text for s in response.segments] == ["Paid Olivia, TFN 123 456 782."]
    assert records(items)[0].target == "https://api.openai.com/v1/chat/completions"
    # The provider's request id is recorded in the response headers.
    assert records(items)[0].request_id == "req_vcr_0001"


def test_folded_single_quoted_body_and_gzip_binary_response() -> None:
    items = read_all(vcr, DIR / "anthropic-tools-gzip.yaml")
    body = f"{I0}/request/body#"
    assert shape(items) == [
        (
            "request",
            None,
            I0,
            [
                ("system", f"{body}/system"),
                ("user", f"{body}/messages/0/content"),
                ("assistant", f"{body}/messages/1/content/0/text"),
                ("tool_call", f"{body}/messages/1/content/1/input/location"),
                ("tool_call", f"{body}/messages/1/content/1/input/notify"),
                ("tool", f"{body}/messages/2/content/0/content"),
            ],
        ),
        ("response", None, f"{I0}/response", [("assistant", f"{I0}/response/body/string#/content/0/text")]),
    ]
    # A folded scalar joins its lines with single spaces: the email survives intact.
    assert records(items)[0].segments[1].text == "Email jack.thompson@example.com the weather in Sydney"
    assert records(items, "response")[0].segments[0].text == "Weather sent to Jack."
    assert assert_pointers_resolve(DIR / "anthropic-tools-gzip.yaml", items) == 7


def test_malformed_interactions_are_skipped() -> None:
    assert shape(read_all(vcr, DIR / "malformed.yaml", include_responses=False))[1:] == [
        ("skipped", None, "/interactions/1", "corrupt gzip body"),
        ("skipped", None, "/interactions/2", "request has no uri"),
        ("skipped", None, "/interactions/3", "interaction has no request"),
    ]


def test_broken_yaml_is_one_error_with_its_line() -> None:
    with pytest.raises(SourceError) as err:
        read_all(vcr, DIR / "broken.yaml")
    assert err.value.position == "line 5"
    assert err.value.message.startswith("malformed YAML")


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("vcr-openai-chat-completions.yaml", "https://api.openai.com/v1/chat/completions"),
        ("vcr-openai-responses-tools.yaml", "https://api.openai.com/v1/responses"),
        (
            "vcr-bedrock-converse.yaml",
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-text-lite-v1/converse",
        ),
        ("vcr-anthropic-messages-tools.yaml", "https://api.anthropic.com/v1/messages"),
        ("vcr-vertexai-generate-content.yaml", None),
    ],
)
def test_real_cassettes_parse(name: str, target: str | None) -> None:
    path = external(name)
    assert sniffed(path) == "vcr"
    items = read_all(vcr, path)
    assert not [i for i in items if isinstance(i, Skipped)]
    (request,) = records(items)
    (response,) = records(items, "response")
    assert request.segments and response.segments
    if target is not None:
        assert request.target == target
    assert assert_pointers_resolve(path, items) >= 2


def test_real_anthropic_cassette_tool_history() -> None:
    items = read_all(vcr, external("vcr-anthropic-messages-tools.yaml"))
    body = f"{I0}/request/body#"
    assert shape(items)[0][3] == [
        ("user", f"{body}/messages/0/content"),
        ("assistant", f"{body}/messages/1/content/0/text"),
        ("tool_call", f"{body}/messages/1/content/1/input/location"),
        ("tool", f"{body}/messages/2/content/0/content"),
    ]
