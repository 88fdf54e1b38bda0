"""LangSmith run exports: LangChain-serialised messages, prompts, generations."""

from __future__ import annotations

import pytest
from traffic_helpers import FIXTURES, assert_pointers_resolve, read_all, records, shape, sniffed

from scanner.sources import langsmith

DIR = FIXTURES / "langsmith"


@pytest.mark.parametrize("name", ["runs.json", "runs.jsonl", "malformed.jsonl"])
def test_sniffed_without_a_flag(name: str) -> None:
    assert sniffed(DIR / name) == "langsmith"


def test_runs_array() -> None:
    items = read_all(langsmith, DIR / "runs.json")
    assert shape(items) == [
        ("skipped", None, "/0", "not a model call (chain run)"),
        (
            "request",
            None,
            "/1",
            [
                ("system", "/1/inputs/messages/0/0/kwargs/content"),
                ("user", "/1/inputs/messages/0/1/kwargs/content"),
                ("tool_call", "/1/inputs/messages/0/2/kwargs/tool_calls/0/args/card"),
                ("tool", "/1/inputs/messages/0/3/kwargs/content"),
            ],
        ),
        (
            "response",
            None,
            "/1/outputs",
            [("assistant", "/1/outputs/generations/0/0/message/kwargs/content")],
        ),
        ("request", None, "/2", [("user", "/2/inputs/prompts/0")]),
        ("response", None, "/2/outputs", [("assistant", "/2/outputs/generations/0/0/text")]),
    ]
    openai_run, anthropic_run = records(items)
    assert (openai_run.target, openai_run.model, openai_run.provider) == (
        "https://api.openai.com/v1",
        "gpt-4o",
        "openai",
    )
    # The invocation's own base URL wins over the provider default.
    assert anthropic_run.target == "https://api.anthropic.com"
    assert assert_pointers_resolve(DIR / "runs.json", items) == 7


def test_runs_lines_match_the_array() -> None:
    lines = [s[3] for s in shape(read_all(langsmith, DIR / "runs.jsonl"))]
    array = [s[3] for s in shape(read_all(langsmith, DIR / "runs.json"))[1:]]
    strip = [[(role, "/" + p.split("/", 2)[2]) for role, p in segs] for segs in array]
    assert lines == strip


def test_malformed_runs_are_skipped() -> None:
    assert shape(read_all(langsmith, DIR / "malformed.jsonl", include_responses=False))[1:] == [
        ("skipped", 2, "", "malformed JSON at column 30"),
        ("skipped", 3, "", "inputs is a string, not an object"),
        ("skipped", 4, "", "run is a string, not an object"),
        ("skipped", 5, "", "not a model call (no run_type run)"),
    ]
