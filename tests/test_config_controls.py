"""Each config control of the au-privacy pack, failing and passing, through the real sources,
classifier and engine (records from small files; no NLP needed for these controls)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.catalog import load_catalog
from scanner.destinations import Classifier
from scanner.engine import Engine
from scanner.models import Record
from scanner.policy import load_policies
from scanner.sources import ReadOptions, sniff
from scanner.sources._io import open_binary, peek_head


@pytest.fixture(scope="module")
def engine_and_classifier() -> tuple[Engine, Classifier]:
    catalog = load_catalog()
    return Engine(load_policies(["au-privacy"]), catalog), Classifier(catalog)


def controls_for(tmp_path: Path, name: str, text: str, pair: tuple[Engine, Classifier]) -> set[str]:
    engine, classifier = pair
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stream = open_binary(path)
    with stream:
        module = sniff(peek_head(stream), str(path))
        assert module is not None
        records = [r for r in module.read(stream, str(path), ReadOptions()) if isinstance(r, Record)]
    assert records, "the snippet must produce at least one setting"
    out: set[str] = set()
    for record in records:
        dest = classifier.classify(record.target, record.model, record.attributes)
        out |= {f.control_id for f in engine.evaluate(record, dest, [])}
    return out


CASES = [
    # (control, file name, failing snippet, passing snippet)
    (
        "APP8-C01",
        ".env",
        "OPENAI_BASE_URL=https://api.openai.com/v1\n",
        "OLLAMA_HOST=http://localhost:11434\n",
    ),
    ("APP8-C01", ".env", "BEDROCK=1\nAWS_REGION=eu-west-1\n", "BEDROCK=1\nAWS_REGION=ap-southeast-2\n"),
    ("APP8-C01", "cfg.yaml", "vertex_location: europe-west4\n", "vertex_location: australia-southeast1\n"),
    (
        "APP8-C01",
        "main.tf",
        'resource "azurerm_cognitive_account" "a" {\n  kind = "OpenAI"\n  location = "eastus"\n}\n',
        'resource "azurerm_cognitive_account" "a" {\n  kind = "OpenAI"\n  location = "australiaeast"\n}\n',
    ),
    (
        "APP8-C01",
        ".env",
        "OPENAI_BASE_URL=https://api.openai.com/v1\n",
        "# OPENAI_BASE_URL=https://api.openai.com/v1\n",
    ),
    (
        "APP8-C02",
        ".env",
        "LANGFUSE_HOST=https://us.cloud.langfuse.com\n",
        "LANGFUSE_HOST=http://langfuse.internal:3000\n",
    ),
    (
        "APP8-C03",
        "main.tf",
        'resource "azurerm_cognitive_deployment" "d" {\n  sku {\n    name = "DataZoneStandard"\n  }\n}\n',
        'resource "azurerm_cognitive_deployment" "d" {\n  sku {\n    name = "Standard"\n  }\n}\n',
    ),
    (
        "APP8-C04",
        ".env",
        "OPENAI_BASE_URL=${GATEWAY}\n",
        "OPENAI_BASE_URL=${GATEWAY:-http://localhost:8080}\n",
    ),
    (
        "APP11-C01",
        ".env",
        "ANTHROPIC_BASE_URL=http://llm.example.com\n",
        "ANTHROPIC_BASE_URL=http://10.0.0.5:8000\n",
    ),
    (
        "APP11-C02",
        "app.py",
        "r = client.responses.create(model='m', input='x')\n",
        "r = client.responses.create(model='m', input='x', store=False)\n",
    ),
    (
        "APP11-C02",
        "litellm.yaml",
        "model_list: []\ngeneral_settings:\n  store_prompts_in_spend_logs: true\n",
        "model_list: []\ngeneral_settings:\n  store_prompts_in_spend_logs: false\n",
    ),
]


@pytest.mark.parametrize(("control", "name", "failing", "passing"), CASES)
def test_config_control_fails_and_passes(
    tmp_path: Path,
    engine_and_classifier: tuple[Engine, Classifier],
    control: str,
    name: str,
    failing: str,
    passing: str,
) -> None:
    assert control in controls_for(tmp_path / "fail", name, failing, engine_and_classifier)
    assert control not in controls_for(tmp_path / "pass", name, passing, engine_and_classifier)


def test_unresolved_endpoint_is_not_guessed(
    tmp_path: Path, engine_and_classifier: tuple[Engine, Classifier]
) -> None:
    found = controls_for(tmp_path, ".env", "OPENAI_BASE_URL=${GATEWAY}\n", engine_and_classifier)
    assert found == {"APP8-C04"}
