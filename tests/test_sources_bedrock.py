"""AWS Bedrock model invocation logs: S3 JSON lines, CloudWatch envelopes and export lines."""

from __future__ import annotations

import pytest
from traffic_helpers import FIXTURES, assert_pointers_resolve, external, read_all, records, shape, sniffed

from scanner.catalog import load_catalog
from scanner.destinations import Classifier
from scanner.models import Record, Skipped
from scanner.sources import bedrock

DIR = FIXTURES / "bedrock"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(load_catalog())


@pytest.mark.parametrize(
    "name",
    ["invocations.jsonl", "cloudwatch-subscription.json.gz", "cloudwatch-export.log", "malformed.jsonl"],
)
def test_sniffed_without_a_flag(name: str) -> None:
    assert sniffed(DIR / name) == "bedrock"


def test_every_model_family_yields_its_segments() -> None:
    assert shape(read_all(bedrock, DIR / "invocations.jsonl")) == [
        (
            "request",
            1,
            "",
            [
                ("system", "/input/inputBodyJson/system/0/text"),
                ("user", "/input/inputBodyJson/messages/0/content/0/text"),
                ("tool_call", "/input/inputBodyJson/messages/1/content/0/toolUse/input/tfn"),
                ("tool", "/input/inputBodyJson/messages/2/content/0/toolResult/content/0/text"),
                ("metadata", "/input/inputBodyJson/requestMetadata/customer"),
                ("metadata", "/identity/arn"),
            ],
        ),
        ("response", 1, "/output", [("assistant", "/output/outputBodyJson/output/message/content/0/text")]),
        ("request", 2, "", [("user", "/input/inputBodyJson/inputText"), ("metadata", "/identity/arn")]),
        ("response", 2, "/output", [("assistant", "/output/outputBodyJson/results/0/outputText")]),
        ("request", 3, "", [("user", "/input/inputBodyJson/prompt"), ("metadata", "/identity/arn")]),
        ("response", 3, "/output", [("assistant", "/output/outputBodyJson/generation")]),
        (
            "request",
            4,
            "",
            [
                ("user", "/input/inputBodyJson/message"),
                ("system", "/input/inputBodyJson/preamble"),
                ("metadata", "/identity/arn"),
            ],
        ),
        ("response", 4, "/output", [("assistant", "/output/outputBodyJson/text")]),
        (
            "request",
            5,
            "",
            [
                ("system", "/input/inputBodyJson/system"),
                ("user", "/input/inputBodyJson/messages/0/content/0/text"),
                ("metadata", "/identity/arn"),
            ],
        ),
        ("response", 5, "/output", [("assistant", "/output/outputBodyJson/*[0]/delta/text")]),
        (
            "request",
            6,
            "",
            [
                ("system", "/input/inputBodyJson/system/0/text"),
                ("user", "/input/inputBodyJson/messages/0/content/0/text"),
                ("metadata", "/identity/arn"),
            ],
        ),
        ("response", 6, "/output", [("assistant", "/output/outputBodyJson/output/message/content/0/text")]),
    ]


def test_image_block_is_counted_not_scanned() -> None:
    first = records(read_all(bedrock, DIR / "invocations.jsonl"))[0]
    assert first.unscanned_parts == 1


def test_stream_events_are_reassembled_before_detection() -> None:
    responses = records(read_all(bedrock, DIR / "invocations.jsonl"), "response")
    streamed = responses[4]
    # The TFN is split across two content_block_delta events in the log.
    assert [s.text for s in streamed.segments] == ["Mia, your TFN is 123 456 782."]


def test_responses_only_when_asked() -> None:
    items = read_all(bedrock, DIR / "invocations.jsonl", include_responses=False)
    assert {i.kind for i in items if isinstance(i, Record)} == {"request"}
    assert len(items) == 6


def test_model_and_target_name_the_inference_profile() -> None:
    reqs = records(read_all(bedrock, DIR / "invocations.jsonl"))
    assert reqs[0].model == "au.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert reqs[0].target == (
        "https://bedrock-runtime.ap-southeast-2.amazonaws.com/model/"
        "au.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    )
    assert reqs[0].request_id == "7d1c7c07-0b5e-4c55-9d4f-4a1f5c2a9f01"
    assert (
        reqs[2].model
        == "arn:aws:bedrock:us-west-2:111122223333:inference-profile/us.meta.llama3-1-70b-instruct-v1:0"
    )
    assert "/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A111122223333%3Ainference-profile%2Fus.meta" in str(
        reqs[2].target
    )


def test_destinations_say_where_inference_may_run(classifier: Classifier) -> None:
    reqs = records(read_all(bedrock, DIR / "invocations.jsonl"))
    where = [sorted(classifier.classify(r.target, r.model, r.attributes).jurisdictions) for r in reqs]
    assert where == [["AU", "NZ"], ["US"], ["US"], ["IE"], ["APAC"], ["GLOBAL"]]


@pytest.mark.parametrize(
    ("model_path", "expected"),
    [
        (
            "arn%3Aaws%3Abedrock%3Aap-southeast-2%3A111122223333%3Ainference-profile%2Fus.anthropic.claude-v2%3A1",
            {"US"},
        ),
        (
            "arn:aws:bedrock:ap-southeast-2:111122223333:inference-profile/eu.anthropic.claude-v2:1",
            {"EU", "GB", "CH"},
        ),
        (
            "arn%3Aaws%3Abedrock%3Aap-southeast-2%3A111122223333%3Ainference-profile%2Fau.anthropic.claude-v2%3A1",
            {"AU", "NZ"},
        ),
        ("anthropic.claude-v2%3A1", {"AU"}),
    ],
)
def test_profile_arns_resolve_encoded_or_plain(
    classifier: Classifier, model_path: str, expected: set[str]
) -> None:
    target = f"https://bedrock-runtime.ap-southeast-2.amazonaws.com/model/{model_path}/converse"
    assert classifier.classify(target).jurisdictions == frozenset(expected)


def test_cloudwatch_envelope_events_are_records() -> None:
    assert shape(read_all(bedrock, DIR / "cloudwatch-subscription.json.gz")) == [
        (
            "request",
            1,
            "/logEvents/0/message",
            [
                ("system", "/logEvents/0/message#/input/inputBodyJson/system/0/text"),
                ("user", "/logEvents/0/message#/input/inputBodyJson/messages/0/content/0/text"),
                (
                    "tool_call",
                    "/logEvents/0/message#/input/inputBodyJson/messages/1/content/0/toolUse/input/tfn",
                ),
                (
                    "tool",
                    "/logEvents/0/message#/input/inputBodyJson/messages/2/content/0/toolResult/content/0/text",
                ),
                ("metadata", "/logEvents/0/message#/input/inputBodyJson/requestMetadata/customer"),
                ("metadata", "/logEvents/0/message#/identity/arn"),
            ],
        ),
        (
            "response",
            1,
            "/logEvents/0/message#/output",
            [("assistant", "/logEvents/0/message#/output/outputBodyJson/output/message/content/0/text")],
        ),
        (
            "request",
            1,
            "/logEvents/1/message",
            [
                ("user", "/logEvents/1/message#/input/inputBodyJson/inputText"),
                ("metadata", "/logEvents/1/message#/identity/arn"),
            ],
        ),
        (
            "response",
            1,
            "/logEvents/1/message#/output",
            [("assistant", "/logEvents/1/message#/output/outputBodyJson/results/0/outputText")],
        ),
    ]


def test_cloudwatch_export_lines_drop_the_timestamp_prefix() -> None:
    items = read_all(bedrock, DIR / "cloudwatch-export.log", include_responses=False)
    assert shape(items) == [
        ("request", 1, "", [("user", "/input/inputBodyJson/prompt"), ("metadata", "/identity/arn")]),
        (
            "request",
            2,
            "",
            [
                ("user", "/input/inputBodyJson/message"),
                ("system", "/input/inputBodyJson/preamble"),
                ("metadata", "/identity/arn"),
            ],
        ),
    ]
    assert [(r.location.line, r.model) for r in records(items)] == [
        (1, "arn:aws:bedrock:us-west-2:111122223333:inference-profile/us.meta.llama3-1-70b-instruct-v1:0"),
        (2, "cohere.command-r-plus-v1:0"),
    ]


def test_malformed_records_are_skipped_with_line_and_reason() -> None:
    items = read_all(bedrock, DIR / "malformed.jsonl", include_responses=False)
    assert shape(items) == [
        ("request", 1, "", [("user", "/input/inputBodyJson/inputText"), ("metadata", "/identity/arn")]),
        ("skipped", 2, "", "malformed JSON at column 59"),
        ("skipped", 3, "", "invocation record is a string, not an object"),
        ("skipped", 4, "", "no modelId"),
        ("skipped", 5, "", "no input.inputBodyJson"),
    ]
    assert all(isinstance(i, Skipped) for i in items[1:])


def test_real_invocation_log_excerpt_parses() -> None:
    path = external("bedrock-invocation-log-excerpt.jsonl")
    assert sniffed(path) == "bedrock"
    items = read_all(bedrock, path)
    assert not [i for i in items if isinstance(i, Skipped)]
    reqs = records(items)
    assert len(reqs) == 4
    # ConverseStream with three PDF attachments offloaded to S3: counted as not scanned.
    assert reqs[0].unscanned_parts == 3
    assert reqs[1].api == "anthropic.messages"
    assert ("metadata", "/identity/arn") in [(s.role, s.pointer) for s in reqs[1].segments]
    assert reqs[3].model is not None and "inference-profile/us.anthropic" in reqs[3].model
    streamed = records(items, "response")[1]
    assert [s.text for s in streamed.segments] == ["Sorry, the model cannot answer this question."]


@pytest.mark.parametrize(
    "name", ["invocations.jsonl", "cloudwatch-subscription.json.gz", "cloudwatch-export.log"]
)
def test_every_pointer_leads_to_its_text(name: str) -> None:
    path = DIR / name
    assert assert_pointers_resolve(path, read_all(bedrock, path)) > 0


def test_aws_logs_filter_log_events_output() -> None:
    items = read_all(bedrock, DIR / "filter-log-events.json", include_responses=False)
    assert [(r.location.pointer, r.model) for r in records(items)] == [
        ("/events/0/message", "au.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("/events/1/message", "amazon.titan-text-express-v1"),
    ]
    assert assert_pointers_resolve(DIR / "filter-log-events.json", items) == 8
