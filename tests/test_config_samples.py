"""End-to-end: a scan of samples/configs/ reports exactly the findings documented in its README
(control, file, line, status); real-world configs parse; planted secrets never reach any output."""

from __future__ import annotations

import base64
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli import app
from scanner.config import Settings
from scanner.models import Record, ScanResult
from scanner.pipeline import Scanner
from scanner.reporters import REPORTERS, RenderOptions
from scanner.sources import ReadOptions, sniff
from scanner.sources._io import open_binary, peek_head

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES = REPO_ROOT / "samples" / "configs"
# CI keeps the shared third-party samples at ../shared beside the checkout (a worktree sits one
# level deeper); they are read in place, never copied into the repository.
EXTERNAL = next(
    (
        p
        for p in (
            REPO_ROOT.parent / "shared" / "external-samples",
            REPO_ROOT.parents[1] / "shared" / "external-samples",
        )
        if p.is_dir()
    ),
    REPO_ROOT.parent / "shared" / "external-samples",
)

# The fake credentials planted in the samples, as written (and the Secret's decoded value).
CANARIES = [
    "sk-proj-FakeCanaryKey4SovscanSamples0nlyQx7Zr2Lm9Tv",
    "sk-proj-FakeLiteLLMCanary4SovscanSamples0nlyWq3Er5Ty",
    "hf_FakeCanaryToken4SovscanSamplesXyZ0123",
    "AKIAQFAKECANARY7ZP2R",
    "FakeCanary/Secret+Key4SovscanSamplesQz7L",
    "sk-ant-api03-FakeTsCanaryKeyForSovscanSamplesOnly0123456789abcdefghijklmnopqrstuvwxyz-AA",
]


def _secret_from_manifest() -> str:
    text = (SAMPLES / "k8s" / "deployment.yaml").read_text()
    encoded = re.search(r"ANTHROPIC_API_KEY: (\S+)", text)
    assert encoded is not None
    return base64.b64decode(encoded.group(1)).decode()


@pytest.fixture(scope="module")
def result() -> ScanResult:
    return Scanner(Settings(policies=("au-privacy",))).scan([str(SAMPLES)])


def _rel(path: str) -> str:
    return Path(path).resolve().relative_to(SAMPLES.resolve()).as_posix()


def _expected() -> list[tuple[str, int, str, str]]:
    text = (SAMPLES / "README.md").read_text()
    block = text.split("<!-- expected-findings:start -->")[1].split("<!-- expected-findings:end -->")[0]
    rows = []
    for line in block.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append((cells[0], int(cells[1]), cells[2], cells[3]))
    return rows


def test_scan_reports_exactly_the_documented_findings(result: ScanResult) -> None:
    actual = [(_rel(f.location.path), f.location.line, f.control_id, f.status) for f in result.findings]
    assert Counter(actual) == Counter(_expected())


def test_every_config_file_is_read_without_errors(result: ScanResult) -> None:
    assert result.errors == []
    assert result.skipped == []
    formats = {_rel(i.path): i.format for i in result.inputs}
    assert formats == {
        ".env": "dotenv",
        "docker-compose.yaml": "compose",
        "k8s/deployment.yaml": "kubernetes",
        "litellm/config.yaml": "litellm-config",
        "terraform/main.tf": "terraform",
        "app/client.py": "python",
        "web/client.ts": "javascript",
    }


def test_suppressions_keep_findings_visible_with_reason_and_count(result: ScanResult) -> None:
    suppressed = [f for f in result.findings if f.status == "suppressed"]
    assert {(_rel(f.location.path), f.status_reason) for f in suppressed} == {
        (".env", "Langfuse EU region approved by the privacy team (PIA-2026-14)"),
        ("terraform/main.tf", "EU resource holds synthetic test data only (RISK-112)"),
        ("web/client.ts", "Groq approved for public FAQ content only (RISK-087)"),
    }
    stats = {c.control_id: c for c in result.controls}
    assert stats["APP8-C01"].suppressed == 2
    assert stats["APP8-C02"].suppressed == 1
    assert stats["APP8-C03"].suppressed == 0


def test_suppression_without_reason_is_a_warning_not_a_suppression(result: ScanResult) -> None:
    assert [(_rel(w.path), w.position) for w in result.warnings] == [("docker-compose.yaml", "line 15")]
    assert "reason" in result.warnings[0].message


def test_region_settings_resolve_to_regional_endpoints(result: ScanResult) -> None:
    by_host = {d.destination.host: d.destination for d in result.destinations}
    assert by_host["bedrock-runtime.ap-southeast-2.amazonaws.com"].jurisdictions == frozenset({"AU"})
    assert by_host["bedrock-runtime.us-west-2.amazonaws.com"].jurisdictions == frozenset({"US"})
    assert by_host["australia-southeast1-aiplatform.googleapis.com"].jurisdictions == frozenset({"AU"})
    # Azure: the resource location (region_hint) places the host, which carries no region.
    azure = [
        d.destination for d in result.destinations if d.destination.host == "acme-openai-au.openai.azure.com"
    ]
    assert any(d.region == "australiaeast" and d.jurisdictions == frozenset({"AU"}) for d in azure)
    # The GlobalStandard deployment on the same resource is not placed by the resource location.
    assert any(not d.jurisdictions for d in azure)
    # A commented-out alternative is not a destination.
    assert "gpu-box.example.net:11434" not in by_host


def test_credentials_are_detected_masked(result: ScanResult) -> None:
    creds = [d for f in result.findings if f.control_id == "APP11-C03" for d in f.detections]
    assert {d.entity for d in creds} == {
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "HUGGINGFACE_TOKEN",
        "AWS_ACCESS_KEY",
        "AWS_SECRET_KEY",
    }
    assert all(d.category == "credential" and "…" in d.preview for d in creds)


def test_planted_secrets_never_appear_in_json_or_console_output(result: ScanResult) -> None:
    secrets = [*CANARIES, _secret_from_manifest()]
    encoded = [base64.b64encode(s.encode()).decode() for s in secrets]
    outputs = [REPORTERS[fmt](result, RenderOptions(width=400)) for fmt in ("json", "console")]
    runner = CliRunner()
    cli = runner.invoke(app, ["scan", str(SAMPLES), "--policy", "au-privacy", "-r", "json", "-r", "console"])
    assert cli.exit_code == 1, cli.output
    outputs.append(cli.output)
    for text in outputs:
        assert "APP11-C03" in text
        for value in secrets + encoded:
            assert value not in text
            # Not even a long fragment of it.
            assert value[4:18] not in text


def _read(path: Path) -> list[Record]:
    stream = open_binary(path)
    with stream:
        module = sniff(peek_head(stream), path.name)
        assert module is not None, path
        items = list(module.read(stream, str(path), ReadOptions()))
    assert all(isinstance(i, Record) for i in items), items
    return [i for i in items if isinstance(i, Record)]


@pytest.mark.parametrize(
    "name",
    [
        "anythingllm-docker.env.example",
        "litellm-proxy-server-config.yaml",
        "litellm-config-openhands-ollama.yaml",
        "k8s-open-webui-deployment.yaml",
    ],
)
def test_real_world_configs_parse(name: str) -> None:
    path = EXTERNAL / name
    if not path.exists():
        pytest.skip(f"{path} not present")
    records = _read(path)
    assert records
    assert all(r.location.line and r.location.line > 0 for r in records)


def test_real_world_env_example_keeps_commented_candidates() -> None:
    path = EXTERNAL / "anythingllm-docker.env.example"
    if not path.exists():
        pytest.skip(f"{path} not present")
    records = _read(path)
    lines = path.read_text().split("\n")
    by_key = {r.attributes["key"]: r for r in records}
    hf = by_key["HUGGING_FACE_LLM_ENDPOINT"]
    assert hf.attributes.get("commented") is True
    assert lines[hf.location.line - 1].lstrip("# ").startswith("HUGGING_FACE_LLM_ENDPOINT=")
    assert by_key["AWS_BEDROCK_LLM_REGION"].attributes["value"] == "us-west-2"
    assert by_key["OLLAMA_BASE_PATH"].attributes["value"] == "http://host.docker.internal:11434"


def test_real_world_k8s_points_at_in_cluster_ollama() -> None:
    path = EXTERNAL / "k8s-open-webui-deployment.yaml"
    if not path.exists():
        pytest.skip(f"{path} not present")
    (record,) = _read(path)
    assert record.attributes["key"] == "OLLAMA_API_BASE_URL"
    assert record.location.line == 27
    assert record.target is not None and ".svc.cluster.local" in record.target


def test_real_world_litellm_callbacks_and_routes() -> None:
    path = EXTERNAL / "litellm-proxy-server-config.yaml"
    if not path.exists():
        pytest.skip(f"{path} not present")
    records = _read(path)
    loggers = {r.target for r in records if r.attributes["setting"] == "prompt_logger"}
    assert loggers == {"https://cloud.langfuse.com", "https://us.cloud.langfuse.com"}
    azure = [r for r in records if r.attributes.get("litellm_provider") == "azure"]
    assert azure and all("openai.azure.com" in (r.target or "") for r in azure)
