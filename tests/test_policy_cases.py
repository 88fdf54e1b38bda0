"""Data-driven control tests: every case in tests/cases/<CONTROL-ID>.yaml is evaluated through the real
catalog, classifier, engine and (for ``texts``) the real Presidio + spaCy detector; a meta-test
requires a passing and a failing case for every shipped control."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from scanner.catalog import Catalog, load_catalog
from scanner.destinations import Classifier
from scanner.detectors.pii import PiiDetector
from scanner.engine import Engine
from scanner.models import Detection, Location, Record, Segment
from scanner.orgpolicy import build_policy_set, load_org_policy
from scanner.policy import load_policies
from scanner.policytools import Case, CaseFile, load_cases

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "tests" / "cases"
TODAY = date(2026, 11, 24)


def _controls() -> dict[str, str]:
    return {c.id: lp.pack.id for lp in load_policies() for c in lp.pack.controls}


def _case_params() -> list[pytest.param]:  # type: ignore[type-arg]
    out = []
    for path in sorted(CASES.glob("*.yaml")):
        cf = load_cases(path)
        for i, case in enumerate(cf.cases):
            out.append(pytest.param(path.stem, i, id=f"{path.stem}[{i}-{case.expect}]"))
    return out


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def detector(catalog: Catalog) -> PiiDetector:
    return PiiDetector(catalog, hash_key=b"policy-cases")


def _record(case: Case) -> Record:
    r = case.record
    segments = [
        Segment(pointer=f"/body/messages/{i}/content", role="user", text=t) for i, t in enumerate(r.texts)
    ]
    return Record(
        location=Location(path="cases.jsonl", line=1, record=0),
        kind=r.kind,
        target=r.target,
        segments=segments,
        model=r.model,
        timestamp=r.timestamp,
        app=r.app,
        api=r.api,
        attributes=dict(r.attributes),
    )


def _detections(case: Case, record: Record, catalog: Catalog, detector: PiiDetector) -> list[Detection]:
    if case.record.detections is not None:
        return [
            Detection(
                detector="case",
                entity=d.entity,
                category=d.category or catalog.category_of(d.entity),
                pointer="/body/messages/0/content",
                start=0,
                end=8,
                score=d.score,
                value_hash="0" * 16,
                preview="********",
            )
            for d in case.record.detections
        ]
    return [d for ds in detector.detect(record.segments) for d in ds]


def _evaluate(
    cf: CaseFile, raw_org: object, case: Case, tmp_path: Path, catalog: Catalog, detector: PiiDetector
):  # type: ignore[no-untyped-def]
    pack_id = _controls()[cf.control]
    org = None
    if raw_org is not None:
        org_file = tmp_path / "sovscan.yaml"
        org_file.write_text(yaml.safe_dump(raw_org), encoding="utf-8")
        org = load_org_policy(org_file)
    ps = build_policy_set([pack_id], None, org, TODAY)
    engine = Engine(ps.policies, catalog, 0.4, cf.include_responses, register=ps.register)
    classifier = Classifier(catalog, ps.internal_hosts)
    record = _record(case)
    detections = _detections(case, record, catalog, detector)
    dest = classifier.classify(record.target, record.model, record.attributes)
    findings = [f for f in engine.evaluate(record, dest, detections) if f.control_id == cf.control]
    return findings, detections, dest


@pytest.mark.parametrize(("control_id", "index"), _case_params())
def test_control_case(
    control_id: str, index: int, tmp_path: Path, catalog: Catalog, detector: PiiDetector
) -> None:
    path = CASES / f"{control_id}.yaml"
    cf = load_cases(path)
    raw_org = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("organisation")
    case = cf.cases[index]
    findings, detections, dest = _evaluate(cf, raw_org, case, tmp_path, catalog, detector)
    seen = sorted({(d.entity, d.score) for d in detections})
    where = f"{dest.host} ({dest.provider}; {sorted(dest.jurisdictions)}; {dest.hosting})"
    if case.expect == "fail":
        assert findings, f"{case.name}: expected {control_id} to fail; detections {seen}; destination {where}"
        finding = findings[0]
        assert finding.references and finding.references[0].citation
        assert finding.references[0].url and finding.references[0].url.startswith("https://")
    else:
        assert not findings, (
            f"{case.name}: expected {control_id} to pass; detections {seen}; destination {where}"
        )


def test_case_file_names_match_controls() -> None:
    controls = _controls()
    for path in sorted(CASES.glob("*.yaml")):
        cf = load_cases(path)
        assert cf.control == path.stem, f"{path.name}: control {cf.control} does not match the file name"
        assert cf.control in controls, f"{path.name}: no shipped control {cf.control}"


def test_every_control_has_a_pass_and_a_fail_case() -> None:
    missing = []
    for cid in sorted(_controls()):
        path = CASES / f"{cid}.yaml"
        if not path.is_file():
            missing.append(f"{cid}: no case file")
            continue
        expects = {c.expect for c in load_cases(path).cases}
        for needed in ("pass", "fail"):
            if needed not in expects:
                missing.append(f"{cid}: no {needed} case")
    assert not missing, "\n".join(missing)
