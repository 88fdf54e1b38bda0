"""Azure OpenAI RequestResponse diagnostics and API Management GatewayLogs."""

from __future__ import annotations

import pytest
from traffic_helpers import FIXTURES, assert_pointers_resolve, external, read_all, records, shape, sniffed

from scanner.catalog import load_catalog
from scanner.destinations import Classifier
from scanner.models import Skipped
from scanner.sources import azure

DIR = FIXTURES / "azure"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(load_catalog())


@pytest.mark.parametrize(
    "name", ["openai-requestresponse.log", "PT1H.json", "apim-gatewaylogs.log", "malformed.log"]
)
def test_sniffed_without_a_flag(name: str) -> None:
    assert sniffed(DIR / name) == "azure"


def test_diagnostic_records_have_no_segments_but_count_destination_and_volume() -> None:
    items = read_all(azure, DIR / "openai-requestresponse.log")
    assert shape(items) == [("request", 1, "", []), ("request", 2, "", [])]
    first, second = records(items)
    assert (
        first.target
        == "https://acme-aoai-aue.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions"
    )
    assert first.model == "gpt-4o"
    assert first.request_id == "4f7d8c1e-0a9b-4c1d-9e2f-3a4b5c6d7e8f"
    # ``properties`` is a JSON string on line 1 and an object on line 2: both are read.
    assert (first.attributes["request_length"], first.attributes["response_length"]) == (2048, 1311)
    assert second.attributes["request_length"] == 512
    assert first.attributes["region_hint"] == "australiaeast"


def test_region_hint_gives_the_azure_region_its_jurisdiction(classifier: Classifier) -> None:
    first = records(read_all(azure, DIR / "openai-requestresponse.log"))[0]
    dest = classifier.classify(first.target, first.model, first.attributes)
    assert (dest.region, dest.country, dest.jurisdictions) == ("australiaeast", "AU", frozenset({"AU"}))
    archived = records(read_all(azure, DIR / "PT1H.json"))[0]
    dest = classifier.classify(archived.target, archived.model, archived.attributes)
    assert (dest.region, dest.jurisdictions) == ("eastus", frozenset({"US"}))
    # Without the log's location the same host stays unknown.
    assert classifier.classify(first.target, first.model, {}).jurisdictions == frozenset()


def test_region_hint_normalises_display_names(classifier: Classifier) -> None:
    dest = classifier.classify("https://x.openai.azure.com/openai/", None, {"region_hint": "Australia East"})
    assert dest.jurisdictions == frozenset({"AU"})
    # A region the table does not know stays unknown rather than guessed.
    dest = classifier.classify("https://x.openai.azure.com/openai/", None, {"region_hint": "moonbase1"})
    assert dest.jurisdictions == frozenset()


def test_region_hint_never_overrides_a_region_in_the_host(classifier: Classifier) -> None:
    dest = classifier.classify(
        "https://bedrock-runtime.ap-southeast-2.amazonaws.com/model/x/invoke", None, {"region_hint": "eastus"}
    )
    assert dest.jurisdictions == frozenset({"AU"})


def test_storage_archive_records_wrapper() -> None:
    assert shape(read_all(azure, DIR / "PT1H.json")) == [("request", None, "/records/0", [])]


def test_gateway_logs_read_request_and_response_bodies() -> None:
    items = read_all(azure, DIR / "apim-gatewaylogs.log")
    assert shape(items) == [
        (
            "request",
            1,
            "",
            [
                ("system", "/properties/requestBody#/messages/0/content"),
                ("user", "/properties/requestBody#/messages/1/content"),
                ("tool_call", "/properties/requestBody#/messages/2/tool_calls/0/function/arguments#/card"),
                ("tool", "/properties/requestBody#/messages/3/content"),
            ],
        ),
        (
            "response",
            1,
            "/properties/responseBody",
            [("assistant", "/properties/responseBody#/choices/0/message/content")],
        ),
        ("request", 2, "", []),
    ]
    reqs = records(items)
    assert reqs[0].target == (
        "https://acme-aoai-aue.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
    )
    # The APIM location is the gateway's, not the backend's: never a region hint.
    assert "region_hint" not in reqs[0].attributes
    assert reqs[0].attributes["gateway_location"] == "Australia East"
    assert assert_pointers_resolve(DIR / "apim-gatewaylogs.log", items) == 5


def test_malformed_records_are_skipped_with_line_and_reason() -> None:
    assert shape(read_all(azure, DIR / "malformed.log")) == [
        ("request", 1, "", []),
        ("skipped", 2, "", "malformed JSON at column 44"),
        ("skipped", 3, "", "properties is a number, not an object"),
        ("skipped", 4, "", "unsupported category Audit"),
        ("skipped", 5, "", "no backendUrl or url"),
    ]


@pytest.mark.parametrize("name", ["azure-openai-diag-requestresponse.log", "azure-apim-gateway-openai.log"])
def test_real_samples_parse(name: str) -> None:
    path = external(name)
    assert sniffed(path) == "azure"
    items = read_all(azure, path)
    assert not [i for i in items if isinstance(i, Skipped)]
    if "diag" in name:
        assert len(records(items)) == 3
        assert all(not r.segments and r.attributes["region_hint"] == "eastus" for r in records(items))
    else:
        assert len(records(items)) == 2
        assert assert_pointers_resolve(path, items) == 11
