"""Config sources one by one: exact lines, pointers, reference resolution, secrets kept out of
attributes, and inline-suppression parsing. No NLP here: records only."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.models import Record, Skipped
from scanner.sources import FORMATS, ReadOptions, sniff
from scanner.sources._io import open_binary, peek_head
from scanner.sources._settings import parse_env_text, resolve
from scanner.suppressions import parse as parse_suppressions

KEY = "sk-proj-UnitTestCanary0123456789abcdefXYZ"


def read(path: Path) -> tuple[str, list[Record], list[Skipped]]:
    stream = open_binary(path)
    with stream:
        module = sniff(peek_head(stream), str(path))
        assert module is not None, path
        items = list(module.read(stream, str(path), ReadOptions()))
    return (
        module.NAME,
        [i for i in items if isinstance(i, Record)],
        [i for i in items if isinstance(i, Skipped)],
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def by_key(records: list[Record]) -> dict[str, Record]:
    return {str(r.attributes["key"]): r for r in records}


def test_config_formats_come_after_traffic_formats() -> None:
    names = list(FORMATS)
    assert names.index("jsonl") < names.index("dotenv")
    assert names[-1] == "config"


# -- .env ---------------------------------------------------------------------------------------------
def test_env_parsing_edge_cases() -> None:
    text = (
        "export OPENAI_BASE_URL=https://eu.api.openai.com/v1  # EU\n"
        "ANTHROPIC_BASE_URL='http://proxy.example.net'\n"
        'LANGFUSE_HOST="https://us.cloud.langfuse.com" # trailing\n'
        "# OLLAMA_HOST=http://localhost:11434\n"
        "# just a comment\n"
        'OPENAI_API_KEY="sk-unterminated\n'
        "\n"
        "AWS_REGION=ap-southeast-2"
    )
    entries = {e.name: e for e in parse_env_text(text)}
    assert entries["OPENAI_BASE_URL"].value == "https://eu.api.openai.com/v1"
    assert entries["OPENAI_BASE_URL"].line == 1
    assert entries["ANTHROPIC_BASE_URL"].value == "http://proxy.example.net"
    assert entries["LANGFUSE_HOST"].value == "https://us.cloud.langfuse.com"
    assert entries["OLLAMA_HOST"].commented and entries["OLLAMA_HOST"].line == 4
    assert entries["OPENAI_API_KEY"].unterminated and entries["OPENAI_API_KEY"].line == 6
    assert entries["AWS_REGION"].value == "ap-southeast-2" and entries["AWS_REGION"].line == 8
    assert "just" not in entries


def test_env_records_resolve_mask_and_require_context(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "app/.env.production",
        f"BASE=https://eu.api.openai.com\nOPENAI_BASE_URL=${{BASE}}/v1\nOPENAI_API_KEY={KEY}\n"
        "AWS_REGION=us-east-1\nANTHROPIC_BASE_URL=${UNSET_VAR}\n",
    )
    name, records, skipped = read(path)
    assert name == "dotenv" and not skipped
    keys = by_key(records)
    assert keys["OPENAI_BASE_URL"].target == "https://eu.api.openai.com/v1"
    assert keys["OPENAI_BASE_URL"].location.line == 2
    # No Bedrock use in the file: AWS_REGION is not an AI setting here.
    assert "AWS_REGION" not in keys
    assert keys["ANTHROPIC_BASE_URL"].attributes["unresolved"] == ["UNSET_VAR"]
    assert keys["ANTHROPIC_BASE_URL"].target is None
    secret = keys["OPENAI_API_KEY"]
    assert KEY not in str(secret.attributes)
    assert secret.segments and KEY in secret.segments[0].text
    assert secret.target is None


def test_resolve_forms() -> None:
    env = {"HOST": "api.example.com", "EMPTY": ""}
    assert resolve("https://${HOST}/v1", env) == ("https://api.example.com/v1", [], True)
    assert resolve("${MISSING:-http://localhost:1}", env)[0] == "http://localhost:1"
    assert resolve("${EMPTY:-fallback}", env)[0] == "fallback"
    assert resolve("${EMPTY-fallback}", env)[0] == ""
    assert resolve("os.environ/HOST", env)[0] == "api.example.com"
    assert resolve("os.environ/NOPE", env) == (None, ["NOPE"], True)
    assert resolve("$HOST", env)[0] == "api.example.com"


# -- structured files ---------------------------------------------------------------------------------
def test_json_lines_and_pointers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "settings.json",
        '{\n  "llm": {\n    "provider": "openai",\n    "base_url": "https://api.openai.com/v1",\n'
        '    "api_key": "' + KEY + '"\n  },\n  "site": {"base_url": "https://example.org"}\n}',
    )
    name, records, _ = read(path)
    assert name == "config"
    keys = {r.location.pointer: r for r in records}
    assert keys["/llm/base_url"].location.line == 4
    assert keys["/llm/api_key"].location.line == 5
    # "site" names no AI provider and example.org is not an AI endpoint.
    assert "/site/base_url" not in keys


def test_toml_and_ini_lines(tmp_path: Path) -> None:
    toml = write(
        tmp_path, "app.toml", '[server]\nport = 8080\n\n[openai]\nbase_url = "https://api.openai.com/v1"\n'
    )
    _, records, _ = read(toml)
    (record,) = records
    assert (record.location.pointer, record.location.line) == ("/openai/base_url", 5)
    ini = write(
        tmp_path, "app.ini", "[db]\nhost = db\n[llm]\n; comment\nendpoint = https://api.anthropic.com\n"
    )
    _, records, _ = read(ini)
    (record,) = records
    assert (record.location.pointer, record.location.line) == ("/llm/endpoint", 5)


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    from scanner.errors import SourceError

    path = write(tmp_path, "values.yaml", "a: 1\nb: [unclosed\n")
    stream = open_binary(path)
    module = sniff(peek_head(stream), str(path))
    assert module is not None
    with stream, pytest.raises(SourceError) as err:
        list(module.read(stream, str(path), ReadOptions()))
    assert err.value.position is not None and err.value.position.startswith("line ")


def test_helm_values_env_list(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "values.yaml",
        "image: x\nextraEnv:\n  - name: OPENAI_BASE_URL\n    value: https://api.openai.com/v1\n"
        "  - name: OTHER\n    value: y\n",
    )
    _, records, _ = read(path)
    (record,) = records
    assert record.location.line == 4 and record.location.pointer == "/extraEnv/0/value"


def test_compose_list_and_map(tmp_path: Path) -> None:
    write(tmp_path, ".env", "UPSTREAM=https://api.mistral.ai/v1\n")
    path = write(
        tmp_path,
        "compose.yml",
        "services:\n  a:\n    image: x\n    environment:\n      - OPENAI_BASE_URL=${UPSTREAM}\n"
        "  b:\n    image: y\n    environment:\n      OLLAMA_HOST: http://ollama:11434\n",
    )
    name, records, _ = read(path)
    assert name == "compose"
    keys = by_key(records)
    assert keys["OPENAI_BASE_URL"].target == "https://api.mistral.ai/v1"
    assert keys["OPENAI_BASE_URL"].location.line == 5
    assert keys["OLLAMA_HOST"].location.line == 9


def test_kubernetes_secret_is_decoded_and_masked(tmp_path: Path) -> None:
    import base64

    encoded = base64.b64encode(KEY.encode()).decode()
    path = write(
        tmp_path,
        "secret.yaml",
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: k\ndata:\n  OPENAI_API_KEY: {encoded}\n"
        "  BROKEN_API_KEY: '%%%'\n",
    )
    name, records, skipped = read(path)
    assert name == "kubernetes"
    (record,) = records
    assert record.location.line == 6 and record.attributes["base64"] is True
    assert KEY not in str(record.attributes) and encoded not in str(record.attributes)
    assert KEY in record.segments[0].text
    assert [s.location.line for s in skipped] == [7]


# -- Terraform and code -------------------------------------------------------------------------------
def test_terraform_azure_and_vertex(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "main.tf",
        'resource "azurerm_cognitive_account" "a" {\n  kind = "OpenAI"\n  location = "swedencentral"\n}\n'
        'resource "azurerm_cognitive_deployment" "d" {\n'
        "  cognitive_account_id = azurerm_cognitive_account.a.id\n"
        '  scale {\n    type = "Standard"\n  }\n}\n'
        'resource "google_vertex_ai_endpoint" "e" {\n  region = "europe-west4"\n}\n',
    )
    name, records, _ = read(path)
    assert name == "terraform"
    keys = {r.location.pointer: r for r in records}
    account = keys["resource/azurerm_cognitive_account/a/location"]
    assert account.location.line == 3 and account.attributes["region_hint"] == "swedencentral"
    sku = keys["resource/azurerm_cognitive_deployment/d/scale/type"]
    assert sku.location.line == 8 and sku.attributes["value"] == "Standard"
    assert sku.attributes["region_hint"] == "swedencentral"
    vertex = keys["resource/google_vertex_ai_endpoint/e/region"]
    assert vertex.target == "https://europe-west4-aiplatform.googleapis.com" and vertex.location.line == 12


def test_terraform_syntax_error_has_position(tmp_path: Path) -> None:
    from scanner.errors import SourceError

    path = write(tmp_path, "bad.tf", 'resource "a" "b" {\n  x = \n')
    stream = open_binary(path)
    module = sniff(peek_head(stream), str(path))
    assert module is not None
    with stream, pytest.raises(SourceError) as err:
        list(module.read(stream, str(path), ReadOptions()))
    assert "line" in (err.value.position or "")


def test_python_clients(tmp_path: Path) -> None:
    write(tmp_path, ".env", "GOOGLE_CLOUD_LOCATION=australia-southeast1\n")
    path = write(
        tmp_path,
        "svc.py",
        "import os\nfrom google import genai\nimport vertexai\n"
        "BASE = os.getenv('OPENAI_BASE_URL', 'https://eu.api.openai.com/v1')\n"
        "client = openai.OpenAI(base_url=BASE)\n"
        "g = genai.Client(vertexai=True, location=os.environ['GOOGLE_CLOUD_LOCATION'])\n"
        "vertexai.init(project='p')\n"
        "c = ChatOllama(base_url=f\"http://{os.environ['GPU_HOST']}:11434\")\n"
        "def f(x):\n    return client.chat.completions.create(model='m', messages=x, store=True)\n",
    )
    name, records, _ = read(path)
    assert name == "python"
    keys = {r.location.pointer: r for r in records}
    assert keys["openai.OpenAI()/base_url"].target == "https://eu.api.openai.com/v1"
    assert keys["openai.OpenAI()/base_url"].location.line == 5
    assert keys["genai.Client()/location"].target == "https://australia-southeast1-aiplatform.googleapis.com"
    init = keys["vertexai.init()"]
    assert (
        init.attributes["default"] is True and init.target == "https://us-central1-aiplatform.googleapis.com"
    )
    assert keys["ChatOllama()/base_url"].attributes["unresolved"] == ["GPU_HOST"]
    store = keys["client.chat.completions.create()/store"]
    assert store.attributes["value"] == "true" and store.location.line == 10
    # The env read consumed by the client is not reported a second time.
    assert "env/OPENAI_BASE_URL" not in keys


def test_python_syntax_error_is_skipped_with_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.py", "x = 1\ndef (:\n")
    _, records, skipped = read(path)
    assert not records and skipped[0].location.line == 2


def test_typescript_clients_ignore_comments(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "client.ts",
        "// const old = new OpenAI({ baseURL: 'https://api.openai.com/v1' });\n"
        "const c = new AzureOpenAI({\n  endpoint: process.env.AZURE_OPENAI_ENDPOINT ?? 'https://x.openai.azure.com',\n});\n"
        "/* new Anthropic({}) */\n"
        "const b = createAmazonBedrock({ region: 'eu-central-1' });\n"
        "const url = process.env.LANGFUSE_HOST;\n"
        "await c.responses.create({ model: 'm', input: 'hi' });\n",
    )
    name, records, _ = read(path)
    assert name == "javascript"
    keys = {r.location.pointer: r for r in records}
    assert set(keys) == {
        "AzureOpenAI()/endpoint",
        "createAmazonBedrock()/region",
        "env/LANGFUSE_HOST",
        "c.responses.create()/store",
    }
    assert keys["AzureOpenAI()/endpoint"].target == "https://x.openai.azure.com"
    assert keys["AzureOpenAI()/endpoint"].location.line == 3
    assert keys["createAmazonBedrock()/region"].target == "https://bedrock-runtime.eu-central-1.amazonaws.com"
    assert keys["env/LANGFUSE_HOST"].attributes["unresolved"] == ["LANGFUSE_HOST"]
    assert keys["c.responses.create()/store"].attributes["default"] is True


# -- suppressions -------------------------------------------------------------------------------------
def test_suppression_parsing() -> None:
    text = (
        "A=1  # sovscan: ignore[APP8-C01] approved (RISK-1)\n"
        "// sovscan: ignore[APP8-C01, APP11-C01] - both approved\n"
        "# sovscan: ignore[APP8-C01]\n"
        "# sovscan: ignore approved\n"
        "# sovscan: ignore[NOPE-1] because\n"
        "; sovscan: ignore[app8-c01] lower case\n"
    )
    found, problems = parse_suppressions(text, "f", {"APP8-C01", "APP11-C01"})
    assert [(s.line, sorted(s.controls), s.reason) for s in found] == [
        (1, ["APP8-C01"], "approved (RISK-1)"),
        (2, ["APP11-C01", "APP8-C01"], "both approved"),
    ]
    assert [(p.position, p.message.split(":")[1].strip()[:11]) for p in problems] == [
        ("line 3", "give a reas"),
        ("line 4", "name a cont"),
        ("line 5", "unknown con"),
        ("line 6", "unknown con"),
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (".env", "dotenv"),
        (".env.example", "dotenv"),
        (".env.production", "dotenv"),
        ("docker.env.example", "dotenv"),
        ("app.env", "dotenv"),
        ("settings.env.json", "config"),
        ("docker-compose.yml", "compose"),
        ("main.tf", "terraform"),
        ("client.tsx", "javascript"),
        ("pyproject.toml", "config"),
    ],
)
def test_sniffing_by_name(name: str, expected: str) -> None:
    module = sniff(b"", name)
    assert module is not None and expected == module.NAME


def test_python_suppression_markers_inside_strings_are_not_comments() -> None:
    text = 'X = "# sovscan: ignore[APP8-C01]"\nY = 1  # sovscan: ignore[APP8-C01] approved\n'
    found, problems = parse_suppressions(text, "mod.py", {"APP8-C01"})
    assert [s.line for s in found] == [2] and problems == []


def test_url_passwords_are_masked_in_values_and_targets(tmp_path: Path) -> None:
    path = write(tmp_path, ".env", "OPENAI_BASE_URL=https://svc:hunter2secret@gw.example.net/v1\n")
    _, (record,), _ = read(path)
    assert "hunter2secret" not in str(record.attributes) and "hunter2secret" not in str(record.target)
    assert record.target == "https://svc:****@gw.example.net/v1"


def test_js_function_definitions_are_not_calls(tmp_path: Path) -> None:
    path = write(tmp_path, "wrap.js", "function OpenAI(opts) { return opts; }\nconst o = new Ollama();\n")
    _, records, _ = read(path)
    assert [(r.location.pointer, r.location.line, r.target) for r in records] == [
        ("Ollama()", 2, "http://localhost:11434")
    ]


def test_terraform_provider_aliases_keep_their_own_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "providers.tf",
        'provider "aws" {\n  region = "ap-southeast-2"\n}\n\nprovider "aws" {\n  alias  = "us"\n'
        '  region = "us-east-1"\n}\nresource "aws_bedrock_guardrail" "g" {\n  name = "g"\n}\n',
    )
    _, records, _ = read(path)
    assert [(r.location.pointer, r.location.line, r.target) for r in records] == [
        ("provider/aws/region", 2, "https://bedrock-runtime.ap-southeast-2.amazonaws.com"),
        ("provider/aws.us/region", 7, "https://bedrock-runtime.us-east-1.amazonaws.com"),
    ]


def test_helm_values_with_nested_litellm_config(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "values.yaml",
        "replicaCount: 1\nproxy_config:\n  model_list:\n    - model_name: claude\n      litellm_params:\n"
        "        model: anthropic/claude-3-5-sonnet\n  litellm_settings:\n    callbacks: [langsmith]\n",
    )
    name, records, _ = read(path)
    assert name == "config"
    assert [(r.location.pointer, r.location.line, r.target) for r in records] == [
        ("/proxy_config/model_list/0/litellm_params/model", 6, "https://api.anthropic.com"),
        ("/proxy_config/litellm_settings/callbacks/0", 8, "https://api.smith.langchain.com"),
    ]


def test_configmap_holding_a_litellm_config_keeps_file_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "litellm-cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: litellm\ndata:\n  config.yaml: |\n"
        "    model_list:\n      - model_name: gem\n        litellm_params:\n"
        "          model: vertex_ai/gemini\n          vertex_location: europe-west1\n"
        "    general_settings:\n      store_prompts_in_spend_logs: true\n",
    )
    name, records, _ = read(path)
    assert name == "kubernetes"
    assert [(r.attributes["key"], r.location.line, r.target) for r in records] == [
        ("vertex_location", 11, "https://europe-west1-aiplatform.googleapis.com"),
        ("store_prompts_in_spend_logs", 13, None),
    ]
    assert records[0].location.pointer.startswith("/data/config.yaml#/model_list/0")


def test_helm_templates_are_skipped_not_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n"
        "{{- if .Values.enabled }}\n  replicas: 1\n{{- end }}\n",
    )
    name, records, skipped = read(path)
    assert name == "kubernetes" and not records
    assert skipped[0].reason.startswith("templated YAML") and skipped[0].location.line is not None


def test_suppressing_a_control_of_an_unselected_shipped_pack_is_not_a_warning(tmp_path: Path) -> None:
    from scanner.config import Settings
    from scanner.pipeline import Scanner

    path = write(
        tmp_path,
        ".env",
        "OPENAI_BASE_URL=https://api.openai.com/v1  # sovscan: ignore[APP8-C01] approved (RISK-7)\n"
        "ANTHROPIC_BASE_URL=https://api.anthropic.com  # sovscan: ignore[APP8-C77] typo\n",
    )
    result = Scanner(Settings(policies=("hipaa",), pii_mode="patterns")).scan([str(path)])
    # APP8-C01 belongs to au-privacy, not selected: known, nothing to suppress, no warning.
    assert [(w.position, w.message) for w in result.warnings] == [
        ("line 2", "suppression ignored: unknown control APP8-C77")
    ]
