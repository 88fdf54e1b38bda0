"""Policy tooling behind ``sovscan policy …``: show, explain, validate and schema, plus the
per-control example cases (``tests/cases/<CONTROL-ID>.yaml``) that both the test-suite and
``policy explain`` read.

Pure functions returning text or problem lists; the CLI prints. Nothing here imports Presidio or
spaCy, so ``sovscan policy validate`` starts fast.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from scanner.catalog import Catalog
from scanner.errors import PolicyError
from scanner.orgpolicy import OrgPolicyFile, build_policy_set, is_org_file, load_org_policy
from scanner.policy import (
    Condition,
    Control,
    LoadedPolicy,
    PolicyPack,
    ProviderAttributes,
    _Strict,
    cross_check,
    load_pack_file,
    load_policies,
    shipped_packs,
)
from scanner.yamllines import describe_validation_error, load_with_lines

_PACKAGE_DIR = Path(__file__).resolve().parent


# -- example cases ----------------------------------------------------------------------------------


class CaseDetection(_Strict):
    """A detection given explicitly (structural cases): no detector run."""

    entity: str
    category: str | None = None
    score: float = Field(default=0.9, ge=0, le=1)


class CaseRecord(_Strict):
    target: str | None
    kind: Literal["request", "response", "config"] = "request"
    model: str | None = None
    app: str | None = None
    timestamp: str | None = "2026-11-02T09:00:00Z"
    api: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    texts: list[str] = Field(default_factory=list)
    detections: list[CaseDetection] | None = None


class Case(_Strict):
    name: str
    expect: Literal["pass", "fail"]
    record: CaseRecord


class CaseFile(_Strict):
    """``tests/cases/<CONTROL-ID>.yaml``: pass and fail records for one control."""

    control: str
    organisation: OrgPolicyFile | None = None
    include_responses: bool = False
    cases: list[Case]


def cases_dir() -> Path | None:
    for candidate in (_PACKAGE_DIR / "_data" / "cases", _PACKAGE_DIR.parent / "tests" / "cases"):
        if candidate.is_dir():
            return candidate
    return None


def load_cases(path: Path) -> CaseFile:
    raw, lines = load_with_lines(path)
    try:
        return CaseFile.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(describe_validation_error(path, exc, lines)) from None


def cases_for(control_id: str) -> CaseFile | None:
    folder = cases_dir()
    if folder is None or not (folder / f"{control_id}.yaml").is_file():
        return None
    return load_cases(folder / f"{control_id}.yaml")


# -- words for conditions ---------------------------------------------------------------------------


def _items(value: Any) -> str:
    if isinstance(value, str):
        return value
    return ", ".join(str(v) for v in value)


def describe_condition(cond: Condition, depth: int = 0) -> list[str]:
    """The condition in words, one clause per line (clauses are ANDed)."""
    out: list[str] = []
    if cond.data is not None:
        d = cond.data
        what = []
        if d.categories:
            what.append(f"data category {_items(d.categories)}")
        if d.entities:
            what.append(f"entity {_items(d.entities)}")
        if d.personal:
            what.append("any personal data category")
        score = f" with score ≥ {d.min_score}" if d.min_score is not None else ""
        out.append(f"the record contains a detection of {' or '.join(what)}{score}")
    if cond.destination is not None:
        out.extend(_describe_destination(cond.destination))
    if cond.record is not None:
        r = cond.record
        if r.kind_in:
            out.append(f"the record is a {' or '.join(r.kind_in)}")
        if r.api_in:
            out.append(f"the API is {_items(r.api_in)}")
        for k, v in r.attributes.items():
            out.append(f"record attribute {k} is {json.dumps(v)}")
        if r.attribute_present:
            out.append(f"record attributes {', '.join(r.attribute_present)} are present")
        if r.attribute_missing:
            out.append(f"record attributes {', '.join(r.attribute_missing)} are absent")
        if r.field_missing:
            out.append(f"at least one of {', '.join(r.field_missing)} is missing from the record")
    if cond.config is not None:
        c = cond.config
        if c.key_matches:
            out.append(f"config key matches /{c.key_matches}/")
        if c.value_matches:
            out.append(f"config value matches /{c.value_matches}/")
        if c.setting_in:
            out.append(f"config setting is {_items(c.setting_in)}")
    for child in cond.all or []:
        out.extend(describe_condition(child, depth))
    if cond.any:
        alternatives = ["; and ".join(describe_condition(child, depth + 1)) for child in cond.any]
        out.append("at least one of: " + " | ".join(f"({a})" for a in alternatives))
    if cond.not_ is not None:
        out.append("NOT (" + "; and ".join(describe_condition(cond.not_, depth + 1)) + ")")
    return out


def _describe_destination(d: Any) -> list[str]:
    out = []
    if d.external is not None:
        out.append(
            "the destination is "
            + ("external" if d.external else "internal (self-hosted or private network)")
        )
    if d.known is not None:
        out.append("the destination's jurisdiction is " + ("known" if d.known else "unknown"))
    if d.jurisdiction_not_in is not None:
        out.append(
            f"the destination may process outside {_items(d.jurisdiction_not_in)} (global or unknown counts)"
        )
    if d.jurisdiction_in is not None:
        out.append(f"the destination processes only within {_items(d.jurisdiction_in)}")
    if d.storage_in is not None:
        out.append(f"the destination stores data within {_items(d.storage_in)}")
    for name, label in (
        ("provider_in", "provider is"),
        ("provider_not_in", "provider is not"),
        ("service_in", "service is"),
        ("service_not_in", "service is not"),
        ("hosting_in", "hosting is"),
        ("hosting_not_in", "hosting is not"),
        ("host_in", "host matches"),
        ("host_not_in", "host does not match"),
        ("scheme_in", "URL scheme is"),
    ):
        value = getattr(d, name)
        if value is not None:
            out.append(f"the destination's {label} {_items(value)}")
    if d.approved is not None:
        out.append(
            "the destination is on the organisation's approved register"
            if d.approved
            else "the destination matches no entry of the organisation's approved register"
        )
    for k, v in d.provider_attribute.items():
        out.append(f"the provider's register entry records {k}: {json.dumps(v, default=str)}")
    if d.provider_attribute_not:
        names = " or ".join(f"{k}: {json.dumps(v, default=str)}" for k, v in d.provider_attribute_not.items())
        verb = "records neither" if len(d.provider_attribute_not) > 1 else "does not record"
        out.append(f"the provider's register entry {verb} {names} (or there is no entry)")
    if d.provider_attribute_missing:
        out.append(
            "the provider's register entry lacks at least one of " + ", ".join(d.provider_attribute_missing)
        )
    if d.jurisdiction_not_in_attribute:
        out.append(
            "the destination may process outside the regions recorded as "
            f"{d.jurisdiction_not_in_attribute} on the provider's register entry"
        )
    return out


# -- show / explain ---------------------------------------------------------------------------------


def find_control(control_id: str) -> tuple[LoadedPolicy, Control]:
    for lp in load_policies():
        for c in lp.pack.controls:
            if control_id in (c.id, *c.aliases):
                return lp, c
    raise PolicyError(f"unknown control {control_id!r} (see 'sovscan policy list')")


def _wrap(label: str, text: str, width: int = 100) -> str:
    body = " ".join(text.split())
    return textwrap.fill(body, width=width, initial_indent=f"{label:<16}", subsequent_indent=" " * 16)


def show_pack(pack_id: str) -> str:
    packs = shipped_packs()
    if pack_id not in packs:
        lp, c = find_control(pack_id)
        return explain(c.id)
    lp = load_pack_file(packs[pack_id])
    p = lp.pack
    lines = [
        f"{p.id} {p.version} — {p.title}",
        f"reviewed:      {p.reviewed.isoformat()}",
        f"jurisdiction:  {p.jurisdiction or '-'}",
        "sources:",
        *(f"  {s}" for s in p.sources),
    ]
    if p.description:
        lines.append(_wrap("description:", p.description))
    if p.parameters:
        lines.append("parameters:")
        lines.extend(f"  {k}: {json.dumps(v)}" for k, v in p.parameters.items())
    lines.append(f"controls ({len(p.controls)}):")
    for c in p.controls:
        lines.append(f"  {c.id:<13} {c.severity.value:<8} {c.title}")
        lines.append(f"  {'':<13} {'':<8} {c.reference}")
    return "\n".join(lines) + "\n"


def _record_words(case: Case) -> list[str]:
    r = case.record
    out = [f"{case.expect.upper()}: {case.name}", f"    {r.kind} to {r.target or '(no target)'}"]
    if r.model:
        out[-1] += f" (model {r.model})"
    if r.attributes:
        out.append(f"    attributes: {json.dumps(r.attributes, sort_keys=True)}")
    for t in r.texts:
        out.append(f"    text: {json.dumps(t)}")
    for d in r.detections or []:
        out.append(f"    detection: {d.entity} (score {d.score})")
    return out


def explain(control_id: str) -> str:
    lp, c = find_control(control_id)
    lines = [
        f"{c.id} — {c.title}",
        f"pack:           {lp.pack.id} {lp.pack.version} ({lp.pack.title})",
        f"severity:       {c.severity.value}",
        f"applies to:     {', '.join(c.applies_to)}",
        f"citation:       {c.reference}"
        + (" [checked against a secondary source]" if c.reference_status == "secondary" else ""),
        f"source:         {c.source_url or (lp.pack.sources[0] if lp.pack.sources else '-')}",
    ]
    if c.aliases:
        lines.append(f"aliases:        {', '.join(c.aliases)}")
    lines.append("checks:         a finding is raised for a record when all of these hold:")
    lines.extend(f"                - {w}" for w in describe_condition(c.when))
    lines.append(_wrap("rationale:", c.rationale))
    if c.interpretation:
        lines.append(_wrap("interpretation:", c.interpretation))
    lines.append(_wrap("remediation:", c.remediation))
    cases = cases_for(c.id)
    if cases is None:
        lines.append("examples:       none recorded")
    else:
        if cases.organisation is not None and cases.organisation.approved:
            names = ", ".join(e.name for e in cases.organisation.approved)
            lines.append(f"examples:       (with register entries: {names})")
        else:
            lines.append("examples:")
        for expect in ("fail", "pass"):
            example = next((x for x in cases.cases if x.expect == expect), None)
            if example is not None:
                lines.extend(f"  {w}" for w in _record_words(example))
    return "\n".join(lines) + "\n"


# -- validate ---------------------------------------------------------------------------------------


def validate(files: list[Path], catalog: Catalog) -> tuple[list[str], str]:
    """Problems (each naming file, line and field) and a one-line summary.

    Pack files are validated together with the shipped packs (ids unique across all of them);
    organisation files are resolved completely (extends, tighten-only, control references) and
    their register and parameters cross-checked against ``rules/``.
    """
    problems: list[str] = []
    pack_files: list[Path] = []
    org_files: list[Path] = []
    for f in files:
        if not f.is_file():
            problems.append(f"{f}: no such file")
            continue
        try:
            (org_files if is_org_file(f) else pack_files).append(f)
        except PolicyError as exc:
            problems.extend(str(exc).splitlines())
    shipped = shipped_packs()
    valid_files = []
    for f in pack_files:
        try:
            load_pack_file(f)
            valid_files.append(f)
        except PolicyError as exc:
            problems.extend(str(exc).splitlines())
    policies: list[LoadedPolicy] = []
    try:
        extra = [f for f in valid_files if f.resolve() not in {p.resolve() for p in shipped.values()}]
        policies = load_policies(list(shipped), extra)
        problems.extend(cross_check(policies, catalog))
    except PolicyError as exc:
        problems.extend(str(exc).splitlines())
    for f in org_files:
        problems.extend(_validate_org(f, catalog))
    n = sum(len(lp.pack.controls) for lp in policies)
    summary = (
        f"ok: {len(policies)} packs, {n} controls, {len(org_files)} organisation files, "
        f"{len(catalog.endpoints)} endpoint rules"
    )
    return problems, summary


def _validate_org(path: Path, catalog: Catalog) -> list[str]:
    problems: list[str] = []
    try:
        org = load_org_policy(path)
        build_policy_set(org=org)
    except PolicyError as exc:
        return str(exc).splitlines()
    for entry, at in zip(org.register, org.register_sources, strict=True):
        for prov in entry.providers:
            if prov not in catalog.providers:
                problems.append(f"{at}: field register.providers: unknown provider {prov!r}")
        for code in entry.attributes.contract_regions or []:
            if code.upper() not in catalog.known_jurisdictions:
                problems.append(
                    f"{at}: field register.attributes.contract_regions: unknown jurisdiction {code!r}"
                )
    for name, value in org.parameters.items():
        if "jurisdiction" in name and isinstance(value, list):
            for code in value:
                if str(code).upper() not in catalog.known_jurisdictions:
                    problems.append(
                        f"{org.parameter_sources.get(name, path)}: field parameters.{name}: "
                        f"unknown jurisdiction {code!r}"
                    )
    return problems


# -- schema -----------------------------------------------------------------------------------------

SCHEMAS: dict[str, type[BaseModel]] = {
    "pack": PolicyPack,
    "organisation": OrgPolicyFile,
    "cases": CaseFile,
    "register-attributes": ProviderAttributes,
}


def schema(kind: str) -> str:
    model = SCHEMAS[kind]
    body = model.model_json_schema(by_alias=True)
    body = {"$schema": "https://json-schema.org/draft/2020-12/schema", **body}
    return json.dumps(body, indent=2, sort_keys=False) + "\n"
