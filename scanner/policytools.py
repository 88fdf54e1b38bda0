"""Policy tooling behind ``sovscan policy …``: show, explain, validate and schema, plus the
per-control example cases (``tests/cases/<CONTROL-ID>.yaml``) that both the test-suite and
``policy explain`` read.

Pure functions returning text or problem lists; the CLI prints. Nothing here imports Presidio or
spaCy, so ``sovscan policy validate`` starts fast.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from scanner.catalog import Catalog
from scanner.errors import PolicyError
from scanner.orgpolicy import OrgPolicyFile, build_policy_set, is_org_file, load_org_policy
from scanner.policy import (
    Condition,
    ConfigCondition,
    Control,
    DataCondition,
    DestinationCondition,
    LoadedPolicy,
    PolicyPack,
    ProviderAttributes,
    RecordCondition,
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
#
# Every field of every clause model has a phrase below (``test_policy_explain`` checks it), so a new
# field cannot be added without saying in ``policy explain`` what it checks. A ``$parameter`` a pack
# wrote is shown by name beside the value it resolved to.


@dataclass(frozen=True)
class _Value:
    """A clause field's resolved value, its text, and the pack parameters it came from."""

    value: Any
    parameters: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        if not self.parameters:
            return ""
        names = ", ".join(f"${n}" for n in self.parameters)
        return f" (pack parameter {names})"

    @property
    def text(self) -> str:
        """The value in words, followed by the parameter it resolved from."""
        return _items(self.value) + self.note

    def among(self, many: str, one: str = "") -> str:
        """``one`` + the value when it is a single item, else ``many`` + the items."""
        single = isinstance(self.value, str) or (isinstance(self.value, list) and len(self.value) == 1)
        return (one if single else many) + self.text

    def pairs(self, joiner: str) -> str:
        """A mapping's ``name: value`` pairs, followed by the parameters."""
        items = self.value.items() if isinstance(self.value, Mapping) else []
        return joiner.join(f"{k}: {json.dumps(v, default=str)}" for k, v in items) + self.note


def _items(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {json.dumps(v, default=str)}" for k, v in value.items()) or "(none)"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(v) for v in value) or "(none)"
    return json.dumps(value, default=str)


def _parameters(raw: Any) -> tuple[str, ...]:
    """The ``$name`` references in a field's value as the pack wrote it."""
    if isinstance(raw, str):
        return (raw[1:],) if raw.startswith("$") else ()
    if isinstance(raw, Mapping):
        return tuple(n for v in raw.values() for n in _parameters(v))
    if isinstance(raw, list):
        return tuple(n for v in raw for n in _parameters(v))
    return ()


_Phrase = Callable[[_Value], str]


def _yes_no(yes: str, no: str) -> _Phrase:
    return lambda v: (yes if v.value else no) + v.note


_DATA: dict[str, _Phrase] = {
    "categories": lambda v: f"data category {v.text}",
    "entities": lambda v: f"entity {v.text}",
    "personal": _yes_no("any personal data category", "(personal: false adds no categories)"),
    "min_score": lambda v: f"with score ≥ {v.text}",
}

_DESTINATION: dict[str, _Phrase] = {
    "external": _yes_no(
        "the destination is external (vendor cloud or unknown hosting)",
        "the destination is internal (self-hosted or private network)",
    ),
    "known": _yes_no(
        "the endpoint catalog knows where the destination processes",
        "the endpoint catalog does not know where the destination processes",
    ),
    "jurisdiction_not_in": lambda v: (
        f"the destination is external and may process outside {v.text} "
        "— a global or unknown jurisdiction counts as outside"
    ),
    "jurisdiction_in": lambda v: (
        f"the destination is external and processes only within {v.text} (all its jurisdictions known)"
    ),
    "storage_in": lambda v: f"the destination's known storage jurisdictions all lie within {v.text}",
    "provider_in": lambda v: f"the destination's provider is {v.among('one of ')}",
    "provider_not_in": lambda v: f"the destination's provider is {v.among('none of ', 'not ')}",
    "service_in": lambda v: f"the destination's service is {v.among('one of ')}",
    "service_not_in": lambda v: f"the destination's service is {v.among('none of ', 'not ')}",
    "hosting_in": lambda v: f"the destination's hosting is {v.among('one of ')}",
    "hosting_not_in": lambda v: f"the destination's hosting is {v.among('none of ', 'not ')}",
    "host_in": lambda v: f"the destination's host {v.among('matches one of ', 'matches ')}",
    "host_not_in": lambda v: f"the destination's host {v.among('matches none of ', 'does not match ')}",
    "scheme_in": lambda v: f"the URL scheme is {v.among('one of ')} — no scheme counts as https",
    "approved": _yes_no(
        "the destination is on the organisation's approved register",
        "the destination matches no entry of the organisation's approved register",
    ),
    "provider_attribute": lambda v: f"the provider's register entry records {v.pairs(' and ')}",
    "provider_attribute_not": lambda v: (
        f"the provider's register entry {'records neither' if len(v.value) > 1 else 'does not record'} "
        f"{v.pairs(' nor ')} (or there is no entry)"
    ),
    "provider_attribute_missing": lambda v: (
        f"the provider's register entry lacks {v.among('at least one of ')} (or there is no entry)"
    ),
    "jurisdiction_not_in_attribute": lambda v: (
        "the destination is external and may process outside the regions recorded as "
        f"{v.text} on the provider's register entry (none recorded or no entry: any external destination)"
    ),
}

_RECORD: dict[str, _Phrase] = {
    "kind_in": lambda v: f"the record is a {' or '.join(map(str, v.value)) or '(none)'}{v.note}",
    "api_in": lambda v: f"the record's API is {v.among('one of ')}",
    "attributes": lambda v: f"the record's attributes are {v.pairs(' and ')}",
    "attribute_present": lambda v: f"the record has {v.among('the attributes ', 'the attribute ')}",
    "attribute_missing": lambda v: f"the record has {v.among('none of the attributes ', 'no attribute ')}",
    "field_missing": lambda v: f"{v.among('at least one of ')} is missing or empty on the record",
}

_CONFIG: dict[str, _Phrase] = {
    "key_matches": lambda v: f"the configuration key matches the regular expression /{v.value}/{v.note}",
    "value_matches": lambda v: f"the configuration value matches the regular expression /{v.value}/{v.note}",
    "setting_in": lambda v: f"the configuration setting is {v.among('one of ')}",
    "value_in": lambda v: f"the configuration value is {v.among('one of ')}, compared case-insensitively",
    "value_not_in": lambda v: (
        f"the configuration value is {v.among('none of ', 'not ')}, compared case-insensitively"
    ),
}

PHRASES: dict[type[BaseModel], dict[str, _Phrase]] = {
    DataCondition: _DATA,
    DestinationCondition: _DESTINATION,
    RecordCondition: _RECORD,
    ConfigCondition: _CONFIG,
}


def _set_fields(clause: BaseModel, raw: Any) -> list[tuple[str, _Value]]:
    """The fields a clause sets (differing from their defaults), in the order of ``PHRASES``."""
    fields = type(clause).model_fields
    missing = set(fields) - set(PHRASES[type(clause)])
    if missing:  # a new field without words: fail loudly rather than leave it out of explain
        raise PolicyError(f"no words for {type(clause).__name__} fields {', '.join(sorted(missing))}")
    raw_map = raw if isinstance(raw, Mapping) else {}
    out = []
    for name in PHRASES[type(clause)]:
        value = getattr(clause, name)
        if value == fields[name].get_default(call_default_factory=True):
            continue
        out.append((name, _Value(value, _parameters(raw_map.get(name)))))
    return out


def _clause(clause: BaseModel, raw: Any) -> list[str]:
    phrases = PHRASES[type(clause)]
    return [phrases[name](value) for name, value in _set_fields(clause, raw)]


def _data_words(d: DataCondition, raw: Any) -> str:
    words = dict(_set_fields(d, raw))
    what = [_DATA[n](words[n]) for n in ("categories", "entities") if n in words]
    if "personal" in words and words["personal"].value:
        what.append(_DATA["personal"](words["personal"]))
    text = "the record contains a detection of " + (" or ".join(what) or "nothing listed (never true)")
    if "personal" in words and not words["personal"].value:
        text += " " + _DATA["personal"](words["personal"])
    if "min_score" in words:
        return f"{text} {_DATA['min_score'](words['min_score'])}"
    return f"{text} with score ≥ the scan's --min-score (default 0.4)"


def _sub(raw: Any, key: str) -> Any:
    return raw.get(key) if isinstance(raw, Mapping) else None


def _nth(raw: Any, index: int) -> Any:
    return raw[index] if isinstance(raw, list) and index < len(raw) else None


def describe_condition(cond: Condition, raw: Any = None) -> list[str]:
    """The condition in words, one clause per line (the lines are ANDed).

    ``raw`` is the condition as the pack wrote it (before ``$parameters`` were resolved): with it,
    each value taken from a parameter names that parameter.
    """
    out: list[str] = []
    if cond.data is not None:
        out.append(_data_words(cond.data, _sub(raw, "data")))
    if cond.destination is not None:
        out.extend(_clause(cond.destination, _sub(raw, "destination")))
    if cond.record is not None:
        out.extend(_clause(cond.record, _sub(raw, "record")))
    if cond.config is not None:
        out.extend(_clause(cond.config, _sub(raw, "config")) or ["the record is a configuration setting"])
    for i, child in enumerate(cond.all or []):
        out.extend(describe_condition(child, _nth(_sub(raw, "all"), i)))
    if cond.any is not None:
        alternatives = [
            "; and ".join(describe_condition(child, _nth(_sub(raw, "any"), i)))
            for i, child in enumerate(cond.any)
        ]
        listed = " | ".join(f"({a})" for a in alternatives) or "(no alternatives listed: never true)"
        out.append(f"at least one of: {listed}")
    if cond.not_ is not None:
        out.append("NOT (" + "; and ".join(describe_condition(cond.not_, _sub(raw, "not"))) + ")")
    return out or ["always (no clause restricts it)"]


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


def _raw_when(lp: LoadedPolicy, control: Control) -> Any:
    """A control's ``when`` as its pack file wrote it (``$parameters`` unresolved), or None."""
    index = next(i for i, c in enumerate(lp.pack.controls) if c is control)
    raw, _ = load_with_lines(Path(lp.info.path))
    controls = raw.get("controls") if isinstance(raw, Mapping) else None
    entry = controls[index] if isinstance(controls, list) and index < len(controls) else None
    return entry.get("when") if isinstance(entry, Mapping) and entry.get("id") == control.id else None


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
    lines.extend(f"                - {w}" for w in describe_condition(c.when, _raw_when(lp, c)))
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
