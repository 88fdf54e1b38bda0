"""Destination classification from the endpoint catalog in rules/."""

from __future__ import annotations

import pytest

from scanner.catalog import load_catalog
from scanner.destinations import Classifier

CATALOG = load_catalog()
CLASSIFY = Classifier(CATALOG, internal_hosts=["*.corp.example"]).classify


@pytest.mark.parametrize(
    ("target", "provider", "jurisdictions", "hosting"),
    [
        ("https://api.openai.com/v1/chat/completions", "openai", {"GLOBAL"}, "vendor_cloud"),
        ("https://us.api.openai.com/v1/responses", "openai", {"US"}, "vendor_cloud"),
        ("https://au.api.openai.com/v1/responses", "openai", {"GLOBAL"}, "vendor_cloud"),  # storage only
        (
            "https://myres.openai.azure.com/openai/deployments/d/chat/completions",
            "azure_openai",
            set(),
            "vendor_cloud",
        ),
        ("https://api.anthropic.com/v1/messages", "anthropic", {"GLOBAL"}, "vendor_cloud"),
        (
            "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent",
            "google_gemini",
            {"GLOBAL"},
            "vendor_cloud",
        ),
        (
            "https://australia-southeast1-aiplatform.googleapis.com/v1/projects/p/locations/australia-southeast1/x",
            "google_vertex",
            {"AU"},
            "vendor_cloud",
        ),
        (
            "https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google/models/m:generateContent",
            "google_vertex",
            {"GLOBAL"},
            "vendor_cloud",
        ),
        (
            "https://bedrock-runtime.ap-southeast-2.amazonaws.com/model/anthropic.claude-v2/invoke",
            "aws_bedrock",
            {"AU"},
            "vendor_cloud",
        ),
        (
            "https://bedrock-runtime.eu-central-1.amazonaws.com/model/m/converse",
            "aws_bedrock",
            {"DE"},
            "vendor_cloud",
        ),
        ("https://api.mistral.ai/v1/chat/completions", "mistral", {"GLOBAL"}, "vendor_cloud"),
        ("https://api.deepseek.com/chat/completions", "deepseek", {"CN"}, "vendor_cloud"),
        ("http://localhost:11434/api/chat", "self-hosted", set(), "self_hosted"),
        ("http://127.0.0.1:8000/v1", "self-hosted", set(), "self_hosted"),
        ("http://[::1]:8080/v1", "self-hosted", set(), "self_hosted"),
        ("http://10.1.2.3:8000/v1", "self-hosted", set(), "private_network"),
        ("http://192.168.1.20/v1", "self-hosted", set(), "private_network"),
        ("http://[fd00::5]/v1", "self-hosted", set(), "private_network"),
        ("http://ollama-service.ai.svc.cluster.local:11434/api", "self-hosted", set(), "private_network"),
        ("http://vllm:8000/v1", "self-hosted", set(), "private_network"),
        ("https://llm.corp.example/v1", "self-hosted", set(), "private_network"),
        ("https://llm.unknown-vendor.example/v1", "unknown", set(), "unknown"),
        ("api.openai.com", "openai", {"GLOBAL"}, "vendor_cloud"),
    ],
)
def test_classify(target: str, provider: str, jurisdictions: set[str], hosting: str) -> None:
    d = CLASSIFY(target)
    assert (d.provider, set(d.jurisdictions), d.hosting) == (provider, jurisdictions, hosting)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("apac.anthropic.claude-3-5-sonnet-20241022-v2:0", "APAC"),
        ("us.anthropic.claude-v2", "US"),
        ("global.anthropic.claude-sonnet-4", "GLOBAL"),
        ("anthropic.claude-v2", "AU"),
    ],
)
def test_bedrock_inference_profile_prefix_sets_where_inference_runs(model: str, expected: str) -> None:
    d = CLASSIFY(f"https://bedrock-runtime.ap-southeast-2.amazonaws.com/model/{model}/converse")
    assert expected in d.jurisdictions


def test_anthropic_inference_geo_attribute() -> None:
    assert CLASSIFY("https://api.anthropic.com/v1/messages", None, {"inference_geo": "us"}).jurisdictions == {
        "US"
    }


def test_jurisdiction_membership_expands_groups() -> None:
    assert CATALOG.within(frozenset({"DE"}), ["EEA"])
    assert CATALOG.within(frozenset({"EEA", "CH"}), ["EEA", "CH"])
    assert not CATALOG.within(frozenset({"EEA"}), ["DE"])
    assert not CATALOG.within(frozenset({"GLOBAL"}), ["AU"])
    assert not CATALOG.within(frozenset(), ["AU"])  # unknown is never inside


def test_every_endpoint_file_cites_a_source() -> None:
    from scanner.catalog import EndpointFile, load_yaml

    for path in sorted((CATALOG.root / "endpoints").glob("*.yaml")):
        ef = EndpointFile.model_validate(load_yaml(path))
        sources = [ef.source] if isinstance(ef.source, str) else ef.source
        assert sources and all(s.startswith("https://") for s in sources), path.name
