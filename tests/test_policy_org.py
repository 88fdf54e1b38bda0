"""Organisation policy: extends and precedence, tighten-only, severity overrides, disables with
reasons, waivers with expiry (injected clock), register conditions, and the policy commands."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from scanner.catalog import Catalog, load_catalog
from scanner.cli import app
from scanner.config import Settings
from scanner.destinations import Classifier
from scanner.engine import Engine
from scanner.errors import PolicyError
from scanner.models import Detection, Finding, Location, Record, Severity
from scanner.orgpolicy import PolicySet, build_policy_set, find_config, load_org_policy
from scanner.policy import Register, RegisterEntry, load_policies
from scanner.policytools import schema, validate

REPO = Path(__file__).resolve().parents[1]
OPENAI = "https://api.openai.com/v1/chat/completions"
SYDNEY = (
    "https://bedrock-runtime.ap-southeast-2.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1:0/invoke"
)
AUCKLAND = (
    "https://bedrock-runtime.ap-southeast-6.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1:0/invoke"
)
TODAY = date(2026, 11, 24)
runner = CliRunner()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def email(catalog: Catalog) -> Detection:
    return Detection(
        "case", "EMAIL_ADDRESS", catalog.category_of("EMAIL_ADDRESS"), "/body/0", 0, 8, 1.0, "0" * 16, "j***"
    )


def run(
    ps: PolicySet,
    catalog: Catalog,
    target: str,
    app_name: str | None = "support-bot",
    path: str = "traffic/app.jsonl",
) -> list[Finding]:
    # An empty register makes register-based controls inapplicable; these tests exercise
    # overrides and waivers of such controls, so give them a register that approves nothing here.
    register = (
        ps.register if ps.register.entries else Register([RegisterEntry(name="other", hosts=["x.invalid"])])
    )
    engine = Engine(ps.policies, catalog, register=register)
    record = Record(
        Location(path=path, line=1), "request", target, app=app_name, timestamp="2026-11-01T00:00:00Z"
    )
    dest = Classifier(catalog, ps.internal_hosts).classify(target)
    return ps.apply(engine.evaluate(record, dest, [email(catalog)]))


def by_control(findings: list[Finding], cid: str) -> Finding | None:
    return next((f for f in findings if f.control_id == cid), None)


ORG = """\
extends: [au-privacy]
parameters:
  allowed_jurisdictions: [AU, NZ]
overrides:
  - control: APP11-002
    severity: high
    reason: Risk appetite.
waivers:
  - control: APP8-001
    scope: {hosts: ["api.openai.com"], apps: ["support-*"]}
    reason: Pilot approved by the privacy officer.
    owner: privacy-officer@example.com
    expires: 2026-12-31
"""


def test_waiver_marks_matching_findings_with_owner_and_expiry(tmp_path: Path, catalog: Catalog) -> None:
    org = load_org_policy(write(tmp_path / "sovscan.yaml", ORG))
    ps = build_policy_set(org=org, today=TODAY)
    waived = by_control(run(ps, catalog, OPENAI), "APP8-001")
    assert waived is not None and waived.status == "waived"
    assert "privacy-officer@example.com" in (waived.status_reason or "")
    assert "2026-12-31" in (waived.status_reason or "")
    other_app = by_control(run(ps, catalog, OPENAI, app_name="claims-bot"), "APP8-001")
    assert other_app is not None and other_app.status == "open"
    summary = ps.summaries()[0]
    assert (summary.matched, summary.days_left, summary.expired) == (1, 37, False)
    assert ps.notices() == []


def test_expired_waiver_stops_applying_and_says_so(tmp_path: Path, catalog: Catalog) -> None:
    org = load_org_policy(write(tmp_path / "sovscan.yaml", ORG))
    ps = build_policy_set(org=org, today=date(2027, 1, 1))
    finding = by_control(run(ps, catalog, OPENAI), "APP8-001")
    assert finding is not None and finding.status == "open"
    (notice,) = ps.notices()
    assert "expired on 2026-12-31" in notice and "sovscan.yaml:9" in notice and "1 finding" in notice
    assert ps.summaries()[0].expired and ps.summaries()[0].days_left == -1
    # The last day of a waiver still counts.
    assert (
        by_control(
            run(build_policy_set(org=org, today=date(2026, 12, 31)), catalog, OPENAI), "APP8-001"
        ).status
        == "waived"
    )  # type: ignore[union-attr]


def test_waiver_close_to_expiry_and_unused_waivers_are_noticed(tmp_path: Path, catalog: Catalog) -> None:
    org = load_org_policy(write(tmp_path / "sovscan.yaml", ORG))
    ps = build_policy_set(org=org, today=date(2026, 12, 20))
    assert ps.notices() and "matched no findings" in ps.notices()[0]
    run(ps, catalog, OPENAI)
    assert "11 day(s) left" in ps.notices()[0]


def test_parameters_and_severity_override_take_effect(tmp_path: Path, catalog: Catalog) -> None:
    org = load_org_policy(write(tmp_path / "sovscan.yaml", ORG))
    ps = build_policy_set(org=org, today=TODAY)
    # NZ was added to the allowed jurisdictions: Auckland no longer fails APP8-001.
    assert by_control(run(ps, catalog, AUCKLAND), "APP8-001") is None
    assert by_control(run(build_policy_set(["au-privacy"]), catalog, AUCKLAND), "APP8-001") is not None
    raised = by_control(run(ps, catalog, SYDNEY), "APP11-002")
    assert raised is not None and raised.severity is Severity.HIGH
    (adj,) = ps.adjustments
    assert (adj.control_id, adj.action, adj.detail, adj.reason) == (
        "APP11-002",
        "severity",
        "medium → high",
        "Risk appetite.",
    )


def test_disable_needs_a_reason_and_is_reported(tmp_path: Path, catalog: Catalog) -> None:
    bad = write(tmp_path / "bad.yaml", "extends: [pci-dss]\ndisable:\n  - control: PCI-002\n")
    with pytest.raises(PolicyError, match=r"bad\.yaml:3: field disable\[0\]\.reason: Field required"):
        load_org_policy(bad)
    good = write(
        tmp_path / "good.yaml",
        "extends: [pci-dss]\ndisable:\n  - control: PCI-002\n    reason: Tokenised upstream.\n",
    )
    ps = build_policy_set(org=load_org_policy(good))
    assert "PCI-002" not in {c.id for lp in ps.policies for c in lp.pack.controls}
    (adj,) = ps.adjustments
    assert (
        adj.action == "disabled"
        and adj.reason == "Tokenised upstream."
        and adj.source.endswith("good.yaml:3")
    )


def test_unknown_control_and_parameter_name_file_line_and_field(tmp_path: Path) -> None:
    f = write(
        tmp_path / "sovscan.yaml",
        """\
        extends: [au-privacy]
        waivers:
          - control: APP8-999
            scope: {hosts: ["*"]}
            reason: r
            owner: o
            expires: 2027-01-01
        """,
    )
    with pytest.raises(
        PolicyError, match=r"sovscan\.yaml:3: field waivers\.control: unknown control 'APP8-999'"
    ):
        build_policy_set(org=load_org_policy(f))
    g = write(tmp_path / "params.yaml", "extends: [au-privacy]\nparameters:\n  allowed_jurisdiction: [AU]\n")
    with pytest.raises(PolicyError, match=r"params\.yaml:3: field parameters\.allowed_jurisdiction"):
        build_policy_set(org=load_org_policy(g))


PARENT = """\
extends: [au-privacy, pci-dss]
parameters:
  allowed_jurisdictions: [AU, NZ]
internal_hosts: ["*.corp.example"]
overrides:
  - control: APP11-002
    severity: high
    reason: Risk appetite.
"""


@pytest.mark.parametrize(
    ("child", "field", "line"),
    [
        ("parameters:\n  allowed_jurisdictions: [AU, US]\n", "parameters.allowed_jurisdictions", 3),
        (
            "overrides:\n  - control: APP11-002\n    severity: medium\n    reason: r\n",
            r"overrides\[0\]\.severity",
            4,
        ),
        (
            "overrides:\n  - control: PCI-001\n    severity: low\n    reason: r\n",
            r"overrides\[0\]\.severity",
            4,
        ),
        ("disable:\n  - control: PCI-002\n    reason: r\n", r"disable\[0\]", 3),
        ("internal_hosts: ['*.example.net']\n", r"internal_hosts\[0\]", 2),
        ("register:\n  - name: x\n    hosts: [api.openai.com]\n", r"register\[0\]", 3),
        (
            "waivers:\n  - control: PCI-002\n    scope: {hosts: ['*']}\n    reason: r\n    owner: o\n"
            "    expires: 2027-01-01\n",
            r"waivers\[0\]",
            3,
        ),
        ("allow_repository_waivers: true\n", "allow_repository_waivers", 2),
    ],
)
def test_repository_file_may_only_tighten(tmp_path: Path, child: str, field: str, line: int) -> None:
    write(tmp_path / "org" / "sovscan.yaml", PARENT)
    repo = write(tmp_path / "repo" / "sovscan.yaml", "extends: [../org/sovscan.yaml]\n" + child)
    with pytest.raises(PolicyError, match=rf"repo/sovscan\.yaml:{line}: field {field}: .*may only tighten"):
        load_org_policy(repo)


def test_repository_file_tightens_and_inherits(tmp_path: Path, catalog: Catalog) -> None:
    write(tmp_path / "org" / "sovscan.yaml", PARENT + "allow_repository_waivers: true\n")
    repo = write(
        tmp_path / "repo" / "sovscan.yaml",
        """\
        extends: [../org/sovscan.yaml, asd-ism-ai]
        parameters:
          allowed_jurisdictions: [AU]
        overrides:
          - control: APP11-002
            severity: critical
            reason: This repository handles health claims.
        waivers:
          - control: PCI-002
            scope: {paths: ["fixtures/*"]}
            reason: Synthetic test cards.
            owner: dev-lead@example.com
            expires: 2027-03-31
        """,
    )
    org = load_org_policy(repo)
    assert org.packs == ["au-privacy", "pci-dss", "asd-ism-ai"]
    assert org.internal_hosts == ["*.corp.example"]
    ps = build_policy_set(org=org, today=TODAY)
    # Child narrowed the parent's [AU, NZ] back to [AU]; its severity wins over the parent's.
    assert by_control(run(ps, catalog, AUCKLAND), "APP8-001") is not None
    assert by_control(run(ps, catalog, SYDNEY), "APP11-002").severity is Severity.CRITICAL  # type: ignore[union-attr]
    assert [a.reason for a in ps.adjustments] == ["This repository handles health claims."]
    # A host the parent declared internal stays internal.
    assert by_control(run(ps, catalog, "https://llm.corp.example/v1/chat/completions"), "APP8-001") is None


def test_register_conditions_shadow_ai_and_attributes(tmp_path: Path, catalog: Catalog) -> None:
    org = load_org_policy(
        write(
            tmp_path / "sovscan.yaml",
            """\
        extends: [asd-ism-ai]
        register:
          - name: Bedrock Sydney
            hosts: [bedrock-runtime.ap-southeast-2.amazonaws.com]
            attributes: {contract_regions: [AU]}
        """,
        )
    )
    ps = build_policy_set(org=org)
    sydney = {f.control_id for f in run(ps, catalog, SYDNEY)}
    openai = {f.control_id for f in run(ps, catalog, OPENAI)}
    assert "ASD-ISM-002" not in sydney and "ASD-ISM-002" in openai
    assert "ASD-ISM-001" not in sydney and "ASD-ISM-001" in openai
    assert "ASD-ISM-003" in sydney  # registered, but purpose/contact/... not recorded


def test_register_attribute_typos_are_rejected_with_line(tmp_path: Path) -> None:
    f = write(
        tmp_path / "sovscan.yaml",
        """\
        extends: [hipaa]
        register:
          - name: Azure
            hosts: ["*.openai.azure.com"]
            attributes:
              baa_singed: true
        """,
    )
    with pytest.raises(
        PolicyError, match=r"sovscan\.yaml:6: field register\[0\]\.attributes\.baa_singed: Extra inputs"
    ):
        load_org_policy(f)


def test_pyproject_tool_table_is_found(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n\n[tool.sovscan]\nextends = ["pci-dss"]\n')
    found = find_config(tmp_path)
    assert found == tmp_path / "pyproject.toml"
    assert load_org_policy(found).packs == ["pci-dss"]
    write(tmp_path / "sovscan.yaml", "extends: [hipaa]\n")
    assert find_config(tmp_path) == tmp_path / "sovscan.yaml"


def test_validate_names_file_line_and_field(tmp_path: Path, catalog: Catalog) -> None:
    pack = write(
        tmp_path / "custom.yaml",
        """\
        id: custom
        title: Custom
        version: "1"
        source: https://example.com
        reviewed: 2026-11-24
        controls:
          - id: CUSTOM-001
            title: t
            severity: high
            applies_to: [traffic]
            when:
              data: {categories: [personel]}
              destination: {provider_in: [openai], provider_attribute: {baa: true}}
            reference: r
            rationale: r
            remediation: r
        """,
    )
    problems, _ = validate([pack], catalog)
    assert any(
        "custom.yaml:12: field controls[0].when.data.categories" in p and "personel" in p for p in problems
    )
    assert any("custom.yaml:13: field controls[0].when.destination.provider_attribute" in p for p in problems)
    dup = write(
        tmp_path / "dup.yaml", pack.read_text().replace("custom", "dup").replace("CUSTOM-001", "PCI-001")
    )
    problems, _ = validate([dup], catalog)
    assert any(
        "dup.yaml:7: field controls[0].id: PCI-001 is also used by pack pci-dss" in p for p in problems
    )
    bad = write(tmp_path / "bad.yaml", pack.read_text().replace("severity: high", "severity: severe"))
    problems, _ = validate([bad], catalog)
    assert problems == [
        f"{bad}:9: field controls[0].severity: Input should be 'info', 'low', 'medium', 'high' or 'critical'"
    ]


def test_shipped_packs_validate_against_the_published_schema() -> None:
    pack_schema = json.loads(schema("pack"))
    for path in sorted((REPO / "policies").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        raw = json.loads(json.dumps(raw, default=str))
        jsonschema.validate(raw, pack_schema)
        assert path.stem == raw["id"]
    org_schema = json.loads(schema("organisation"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"waivers": [{"control": "X"}]}, org_schema)


def test_control_ids_unique_and_packs_carry_metadata() -> None:
    seen: dict[str, str] = {}
    for lp in load_policies():
        assert lp.pack.sources and lp.pack.reviewed and lp.pack.version
        for c in lp.pack.controls:
            assert c.id not in seen, f"{c.id} in {lp.pack.id} and {seen[c.id]}"
            seen[c.id] = lp.pack.id
            assert c.source_url and c.source_url.startswith("https://"), c.id
            assert c.reference and c.rationale and c.remediation


def test_au_privacy_keeps_its_original_controls_first() -> None:
    (pack,) = load_policies(["au-privacy"])
    ids = [c.id for c in pack.pack.controls]
    assert ids[:4] == ["APP8-001", "APP8-002", "APP11-001", "TFN-001"]


def test_cli_explain_prints_citation_and_examples() -> None:
    result = runner.invoke(app, ["policy", "explain", "HIPAA-001"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "45 CFR 164.502(e)" in out and "https://www.ecfr.gov/" in out
    assert "FAIL: patient name, phone and diagnosis to OpenAI (no BAA)" in out
    assert "PASS: the same PHI to Azure OpenAI under a BAA" in out
    assert runner.invoke(app, ["policy", "explain", "NOPE-001"]).exit_code == 2


def test_cli_show_list_schema_and_validate(tmp_path: Path) -> None:
    shown = runner.invoke(app, ["policy", "show", "gdpr-transfers"])
    assert (
        shown.exit_code == 0 and "GDPR Art 9(1)" in shown.output and "adequate_jurisdictions" in shown.output
    )
    listed = runner.invoke(app, ["policy", "list"])
    assert "NZIPP12-001" in listed.output and "PCI-004" in listed.output
    assert (
        json.loads(runner.invoke(app, ["policy", "schema", "organisation"]).output)["additionalProperties"]
        is False
    )
    org = write(
        tmp_path / "sovscan.yaml", "extends: [au-privacy]\nparameters:\n  allowed_jurisdictions: [AU, XX]\n"
    )
    bad = runner.invoke(app, ["policy", "validate", str(org)])
    assert (
        bad.exit_code == 2
        and "sovscan.yaml:3: field parameters.allowed_jurisdictions: unknown jurisdiction 'XX'" in bad.output
    )


def test_policy_validate_is_fast_and_loads_no_nlp() -> None:
    code = (
        "import sys, time; t=time.perf_counter(); from scanner.cli import app\n"
        "try:\n    app(['policy', 'validate'])\n"
        "except SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "assert 'presidio_analyzer' not in sys.modules and 'spacy' not in sys.modules\n"
        "print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert float(out.stdout.strip().splitlines()[-1]) < 1.5  # ~0.35 s when the machine is idle


def test_scan_with_organisation_file_reports_waivers_in_json(tmp_path: Path) -> None:
    from scanner.pipeline import Scanner
    from scanner.reporters import REPORTERS, RenderOptions

    org = write(
        tmp_path / "sovscan.yaml",
        ORG
        + """\
  - control: OAIC-001
    scope: {paths: ["legacy/*"]}
    reason: Old logs.
    owner: ciso@example.com
    expires: 2026-01-31
""",
    )
    log = write(
        tmp_path / "app.jsonl",
        json.dumps(
            {
                "timestamp": "2026-11-02T09:00:00Z",
                "app": "support-bot",
                "url": OPENAI,
                "body": {
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": "Email jane.citizen@example.com please."}],
                },
            }
        )
        + "\n",
    )
    result = Scanner(Settings(config_file=org, today=TODAY)).scan([str(log)])
    data = json.loads(REPORTERS["json"](result, RenderOptions()))
    app8 = next(c for c in data["controls"] if c["control_id"] == "APP8-001")
    assert (app8["evaluated"], app8["failed"], app8["waived"]) == (1, 1, 1)
    assert [w["control_id"] for w in data["waivers"]] == ["APP8-001", "OAIC-001"]
    assert data["waivers"][0]["days_left"] == 37 and data["waivers"][0]["matched"] == 1
    assert any("OAIC-001" in n and "expired" in n for n in data["notices"])
    assert data["summary"]["by_status"]["waived"] == 1
    assert data["policy_adjustments"][0]["reason"] == "Risk appetite."
    text = REPORTERS["console"](result, RenderOptions(width=200))
    assert "Waivers" in text and "privacy-officer@example.com" in text and "notice:" in text


def test_waivers_and_overrides_may_name_a_renamed_control_by_alias(tmp_path: Path, catalog: Catalog) -> None:
    write(
        tmp_path / "acme.yaml",
        """\
        id: acme
        title: Acme
        version: "1"
        source: https://example.com/policy
        reviewed: 2026-11-24
        controls:
          - id: ACME-002
            aliases: [ACME-001]
            title: Email to an external AI service
            severity: low
            applies_to: [traffic]
            when:
              data: {entities: [EMAIL_ADDRESS]}
              destination: {external: true}
            reference: Acme AI policy 4.2
            source_url: https://example.com/policy#4.2
            rationale: r
            remediation: r
        """,
    )
    org = load_org_policy(
        write(
            tmp_path / "sovscan.yaml",
            """\
        extends: [acme.yaml]
        overrides:
          - control: ACME-001
            severity: high
            reason: Renamed control keeps its override.
        waivers:
          - control: ACME-001
            scope: {hosts: ["*.openai.com"]}
            reason: r
            owner: o
            expires: 2027-01-01
        """,
        )
    )
    ps = build_policy_set(org=org, today=TODAY)
    (finding,) = run(ps, catalog, OPENAI)
    assert (finding.control_id, finding.severity, finding.status) == ("ACME-002", Severity.HIGH, "waived")
    assert ps.summaries()[0].control_id == "ACME-002"


def test_waiver_path_scope_matches_from_the_right(tmp_path: Path, catalog: Catalog) -> None:
    org_text = (
        "extends: [au-privacy]\nwaivers:\n  - control: APP8-001\n    scope: {paths: ['traffic/legacy/*']}\n"
        "    reason: Old logs.\n    owner: o\n    expires: 2027-01-01\n"
    )
    ps = build_policy_set(org=load_org_policy(write(tmp_path / "sovscan.yaml", org_text)), today=TODAY)
    legacy = by_control(run(ps, catalog, OPENAI, path="/srv/logs/traffic/legacy/2025.jsonl"), "APP8-001")
    current = by_control(run(ps, catalog, OPENAI, path="traffic/current/2026.jsonl"), "APP8-001")
    assert legacy is not None and legacy.status == "waived"
    assert current is not None and current.status == "open"


def test_documented_organisation_example_is_valid(tmp_path: Path, catalog: Catalog) -> None:
    doc = (REPO / "docs" / "policies.md").read_text(encoding="utf-8")
    block = doc.split("```yaml\n# sovscan.yaml\n", 1)[1].split("```", 1)[0]
    org_file = write(tmp_path / "sovscan.yaml", block)
    problems, _ = validate([org_file], catalog)
    assert problems == []
    ps = build_policy_set(org=load_org_policy(org_file), today=TODAY)
    assert {a.control_id for a in ps.adjustments} == {"APP11-001", "ASD-ISM-006"}
