"""Langfuse trace exports, observation rows and ingestion batches."""

from __future__ import annotations

import pytest
from traffic_helpers import FIXTURES, assert_pointers_resolve, external, read_all, records, shape, sniffed

from scanner.sources import langfuse

DIR = FIXTURES / "langfuse"


@pytest.mark.parametrize(
    "name", ["trace-export.json", "observations.jsonl", "ingestion-batch.json", "malformed.jsonl"]
)
def test_sniffed_without_a_flag(name: str) -> None:
    assert sniffed(DIR / name) == "langfuse"


def test_trace_export_reads_generations_and_reports_the_rest() -> None:
    items = read_all(langfuse, DIR / "trace-export.json")
    assert shape(items) == [
        ("skipped", None, "", "not a model call (TRACE)"),
        ("skipped", None, "/observations/0", "not a model call (SPAN)"),
        (
            "request",
            None,
            "/observations/1",
            [("system", "/observations/1/input/0/content"), ("user", "/observations/1/input/1/content")],
        ),
        ("response", None, "/observations/1/output", [("assistant", "/observations/1/output/content")]),
    ]
    generation = records(items)[0]
    # The model alone names the provider here; the record says the target was inferred.
    assert generation.target == "https://api.openai.com/v1"
    assert generation.attributes["target_inferred"] is True
    assert assert_pointers_resolve(DIR / "trace-export.json", items) == 3


def test_observation_rows_with_json_in_strings() -> None:
    items = read_all(langfuse, DIR / "observations.jsonl")
    assert shape(items) == [
        ("request", 1, "", [("system", "/input#/system"), ("user", "/input#/messages/0/content/0/text")]),
        ("response", 1, "/output", [("assistant", "/output#/content")]),
        ("skipped", 2, "", "not a model call (EVENT)"),
        ("request", 3, "", [("user", "/input")]),
        ("response", 3, "/output", [("assistant", "/output")]),
    ]
    assert [r.target for r in records(items)] == [
        "https://api.anthropic.com/v1",
        "https://australia-southeast1-aiplatform.googleapis.com/v1",
    ]


def test_ingestion_batch() -> None:
    items = read_all(langfuse, DIR / "ingestion-batch.json")
    assert shape(items) == [
        ("skipped", None, "/batch/0/body", "not a model call (trace-create)"),
        ("request", None, "/batch/1/body", [("user", "/batch/1/body/input/messages/0/content")]),
        ("response", None, "/batch/1/body/output", [("assistant", "/batch/1/body/output/content")]),
        ("skipped", None, "/batch/2/body", "not a model call (span-create)"),
        ("skipped", None, "/batch/3/body", "not a model call (score-create)"),
    ]
    (generation,) = records(items)
    assert generation.target == (
        "https://bedrock-runtime.ap-southeast-2.amazonaws.com/model/au.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke"
    )


def test_malformed_rows_are_skipped() -> None:
    assert shape(read_all(langfuse, DIR / "malformed.jsonl", include_responses=False))[1:] == [
        ("skipped", 2, "", "malformed JSON at column 46"),
        ("skipped", 3, "", "generation has no input"),
        ("skipped", 4, "", "observation is a number, not an object"),
        ("skipped", 5, "", "no observation type"),
    ]


def test_real_ingestion_batch_parses() -> None:
    path = external("langfuse-ingestion-batch-litellm-bedrock.json")
    assert sniffed(path) == "langfuse"
    items = read_all(langfuse, path)
    assert shape(items) == [
        ("skipped", None, "/batch/0/body", "not a model call (trace-create)"),
        ("request", None, "/batch/1/body", [("user", "/batch/1/body/input/messages/0/content")]),
    ]
    assert records(items)[0].target == (
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke"
    )
