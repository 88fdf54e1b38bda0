"""Policy packs: pydantic models, loading, parameter resolution and cross-checks.

A pack states intent and cites its source; it never holds regexes or code. Conditions use a small
declarative vocabulary (``data``, ``destination``, ``record``, ``config``, combined with ``all``,
``any`` and ``not``). ``$name`` values are resolved from the pack's ``parameters``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scanner.catalog import Catalog, data_dir
from scanner.errors import PolicyError
from scanner.models import Destination, PolicyInfo, Severity
from scanner.yamllines import FieldPath, describe_validation_error, field_name, load_with_lines, where

_CONTROL_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+$")

StrList = list[str] | str  # a literal list, or "$parameter"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DataCondition(_Strict):
    """True when a detection of a listed category or entity has at least ``min_score``."""

    categories: StrList = Field(default_factory=list)
    entities: StrList = Field(default_factory=list)
    personal: bool | None = None
    min_score: float | None = Field(default=None, ge=0, le=1)


class DestinationCondition(_Strict):
    jurisdiction_in: StrList | None = None
    jurisdiction_not_in: StrList | None = None
    storage_in: StrList | None = None
    known: bool | None = None
    external: bool | None = None
    provider_in: StrList | None = None
    provider_not_in: StrList | None = None
    service_in: StrList | None = None
    service_not_in: StrList | None = None
    hosting_in: StrList | None = None
    hosting_not_in: StrList | None = None
    host_in: StrList | None = None
    host_not_in: StrList | None = None
    scheme_in: StrList | None = None
    # The organisation's approved provider/endpoint register (see ``Register``):
    # ``approved: false`` = the destination matches no register entry (shadow AI).
    approved: bool | None = None
    # Register-entry attributes: equal to the value / not recorded as the value (also true when the
    # destination has no entry) / at least one of the names not recorded.
    provider_attribute: dict[str, Any] = Field(default_factory=dict)
    provider_attribute_not: dict[str, Any] = Field(default_factory=dict)
    provider_attribute_missing: list[str] = Field(default_factory=list)
    # True for an external destination whose processing jurisdictions are unknown or not all inside
    # the list held by the named register attribute (e.g. ``contract_regions``; unrecorded = empty).
    jurisdiction_not_in_attribute: str | None = None


class RecordCondition(_Strict):
    kind_in: list[Literal["request", "response", "config"]] | None = None
    api_in: StrList | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    attribute_present: list[str] = Field(default_factory=list)
    attribute_missing: list[str] = Field(default_factory=list)
    # True when at least one of the named record fields (timestamp, app, model, request_id, api,
    # target) or attributes is absent or empty.
    field_missing: list[str] = Field(default_factory=list)


class ConfigCondition(_Strict):
    key_matches: str | None = None
    value_matches: str | None = None
    setting_in: StrList | None = None
    # Exact values, compared case-insensitively (e.g. deployment types, "false").
    value_in: StrList | None = None
    value_not_in: StrList | None = None

    @field_validator("key_matches", "value_matches")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


class Condition(_Strict):
    data: DataCondition | None = None
    destination: DestinationCondition | None = None
    record: RecordCondition | None = None
    config: ConfigCondition | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not any(
            v is not None
            for v in (self.data, self.destination, self.record, self.config, self.all, self.any, self.not_)
        ):
            raise ValueError(
                "a condition needs at least one of data, destination, record, config, all, any, not"
            )
        return self


class Control(_Strict):
    id: str
    title: str
    severity: Severity
    applies_to: list[Literal["traffic", "config"]]
    when: Condition
    reference: str
    # "secondary": the citation was checked against a reputable secondary source only.
    reference_status: Literal["verified", "secondary"] = "verified"
    source_url: str | None = None
    rationale: str
    remediation: str
    interpretation: str | None = None
    aliases: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _CONTROL_ID.match(value):
            raise ValueError("control ids are upper-case words joined by '-', e.g. APP8-001")
        return value


class PolicyPack(_Strict):
    id: str
    title: str
    version: str
    source: str | list[str]
    reviewed: date
    description: str | None = None
    jurisdiction: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    controls: list[Control]

    @property
    def sources(self) -> list[str]:
        return [self.source] if isinstance(self.source, str) else list(self.source)


class ProviderAttributes(_Strict):
    """What the organisation has recorded about an approved provider or endpoint."""

    baa_signed: bool | None = None  # HIPAA business associate agreement in place
    deidentified_only: bool | None = None  # receives HIPAA de-identified data only
    dpf_certified: bool | None = None  # EU-US Data Privacy Framework certification
    dpf_uk_extension: bool | None = None  # UK Extension to the DPF
    scc: bool | None = None  # EU standard contractual clauses (Decision (EU) 2021/914)
    bcr: bool | None = None  # binding corporate rules (GDPR Art 47)
    uk_idta: bool | None = None  # UK IDTA or the UK Addendum to the EU SCCs
    art9_condition: str | None = None  # GDPR Art 9(2) condition relied on
    art49_derogation: str | None = None  # GDPR Art 49(1) derogation relied on, e.g. "49(1)(a)"
    app8_basis: (
        Literal[
            "contract_reasonable_steps", "express_consent", "substantially_similar_law", "required_by_law"
        ]
        | None
    ) = None
    ipp12_basis: (
        Literal[
            "subject_to_nz_act",
            "comparable_safeguards",
            "prescribed_scheme",
            "model_clauses",
            "express_authorisation",
            "agent_only",
        ]
        | None
    ) = None
    contract_regions: list[str] | None = None  # ISM-1572: regions documented in the contract
    zero_retention: bool | None = None  # zero-data-retention agreed
    tpsp_acknowledgement: bool | None = None  # PCI DSS 12.8.2 written acknowledgement
    classified_data_approved: bool | None = None  # authorised for protectively marked data
    privacy_assessment: date | None = None  # date of the privacy / data-protection assessment
    purpose: str | None = None
    data_sensitivity: str | None = None
    next_assessment_due: date | None = None
    contract: str | None = None
    contact: str | None = None


class RegisterEntry(_Strict):
    """One approved provider or endpoint: matched by host globs and/or catalog provider ids."""

    name: str
    hosts: list[str] = Field(default_factory=list)
    providers: list[str] = Field(default_factory=list)
    attributes: ProviderAttributes = Field(default_factory=ProviderAttributes)

    @model_validator(mode="after")
    def _matches_something(self) -> RegisterEntry:
        if not self.hosts and not self.providers:
            raise ValueError("a register entry needs hosts or providers")
        return self

    def matches(self, dest: Destination) -> bool:
        host = dest.host.rsplit(":", 1)[0] if dest.host.count(":") == 1 else dest.host
        if self.hosts and not any(fnmatch.fnmatchcase(host, h.lower()) for h in self.hosts):
            return False
        return not (self.providers and dest.provider not in self.providers)


@dataclass
class Register:
    """The approved provider/endpoint register; the first matching entry wins."""

    entries: list[RegisterEntry] = field(default_factory=list)
    _cache: dict[tuple[str, str], RegisterEntry | None] = field(default_factory=dict, repr=False)

    def lookup(self, dest: Destination) -> RegisterEntry | None:
        key = (dest.host, dest.provider)
        if key not in self._cache:
            self._cache[key] = next((e for e in self.entries if e.matches(dest)), None)
        return self._cache[key]


ATTRIBUTE_NAMES = frozenset(ProviderAttributes.model_fields)
LIST_ATTRIBUTES = frozenset(
    name for name, f in ProviderAttributes.model_fields.items() if "list" in str(f.annotation)
)


@dataclass(frozen=True)
class LoadedPolicy:
    pack: PolicyPack
    info: PolicyInfo
    lines: Mapping[FieldPath, int] = field(default_factory=dict)


def _resolve(value: Any, params: dict[str, Any], where: str) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        name = value[1:]
        if name not in params:
            raise PolicyError(f"{where}: unknown parameter ${name}")
        return params[name]
    if isinstance(value, dict):
        return {k: _resolve(v, params, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, params, where) for v in value]
    return value


def parse_pack(
    raw: Any,
    path: Path,
    sha256: str,
    overrides: dict[str, Any] | None = None,
    lines: Mapping[FieldPath, int] | None = None,
) -> LoadedPolicy:
    """Validate a pack, substituting ``$parameters`` (pack defaults ← ``overrides``)."""
    if not isinstance(raw, dict):
        raise PolicyError(f"{path}: a policy pack is a YAML mapping")
    params = dict(raw.get("parameters") or {})
    params.update(overrides or {})
    try:
        controls = [
            _resolve(c, params, f"{path}: controls[{i}]") for i, c in enumerate(raw.get("controls") or [])
        ]
        pack = PolicyPack.model_validate({**raw, "parameters": params, "controls": controls})
    except ValidationError as exc:
        raise PolicyError(describe_validation_error(path, exc, lines)) from None
    ids = [c.id for c in pack.controls]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        at = where(path, lines, ("controls", len(ids) - 1 - ids[::-1].index(dupes[0]), "id"))
        raise PolicyError(f"{at}: field controls.id: duplicate control ids: {', '.join(dupes)}")
    info = PolicyInfo(id=pack.id, title=pack.title, version=pack.version, sha256=sha256, path=str(path))
    return LoadedPolicy(pack=pack, info=info, lines=lines or {})


def load_pack_file(path: Path, overrides: dict[str, Any] | None = None) -> LoadedPolicy:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror}") from None
    raw, lines = load_with_lines(path)
    return parse_pack(raw, path, hashlib.sha256(data).hexdigest(), overrides, lines)


def shipped_packs() -> dict[str, Path]:
    """Shipped pack id → file (the id is the file stem, checked against the pack's ``id``)."""
    return {p.stem: p for p in sorted(data_dir("policies").glob("*.yaml"))}


def load_policies(
    ids: list[str] | None = None,
    files: list[Path] | None = None,
    overrides: dict[str, Any] | None = None,
) -> list[LoadedPolicy]:
    """Load shipped packs by id (all of them when neither ids nor files are given) and pack files.

    ``overrides`` are parameter values (an organisation's) applied over every pack's defaults.
    """
    available = shipped_packs()
    loaded: list[LoadedPolicy] = []
    wanted = list(ids or [])
    if not wanted and not files:
        wanted = list(available)
    for pid in wanted:
        if pid not in available:
            raise PolicyError(f"unknown policy pack {pid!r}; shipped packs: {', '.join(available) or 'none'}")
        lp = load_pack_file(available[pid], overrides)
        if lp.pack.id != pid:
            raise PolicyError(f"{available[pid]}: field id: {lp.pack.id!r} does not match the file name")
        loaded.append(lp)
    for path in files or []:
        loaded.append(load_pack_file(path, overrides))
    seen: dict[str, str] = {}
    for lp in loaded:
        for i, control in enumerate(lp.pack.controls):
            for cid in [control.id, *control.aliases]:
                if cid in seen and seen[cid] != lp.pack.id:
                    at = where(lp.info.path, lp.lines, ("controls", i, "id"))
                    raise PolicyError(f"{at}: field controls[{i}].id: {cid} is also used by pack {seen[cid]}")
                seen[cid] = lp.pack.id
    return loaded


def cross_check(policies: list[LoadedPolicy], catalog: Catalog) -> list[str]:
    """Categories, entities, jurisdictions, providers and register attributes named by controls exist.

    Each problem names the file, the line and the field.
    """
    problems: list[str] = []
    known_entities = set(catalog.entity_category)
    for lp in policies:
        for i, control in enumerate(lp.pack.controls):
            for cond, cpath in _walk_paths(control.when, ("controls", i, "when")):

                def bad(
                    sub: tuple[str, ...],
                    message: str,
                    cpath: FieldPath = cpath,
                    lp: LoadedPolicy = lp,
                    cid: str = control.id,
                ) -> None:
                    at = where(lp.info.path, lp.lines, (*cpath, *sub))
                    problems.append(f"{at}: field {field_name(cpath + sub)}: control {cid}: {message}")

                if cond.data is not None:
                    for cat in _as_list(cond.data.categories):
                        if cat not in catalog.categories:
                            bad(("data", "categories"), f"unknown data category {cat!r}")
                    for ent in _as_list(cond.data.entities):
                        if ent not in known_entities:
                            bad(("data", "entities"), f"entity {ent!r} is not in rules/data_categories.yaml")
                if cond.destination is not None:
                    d = cond.destination
                    for attr_field in ("jurisdiction_in", "jurisdiction_not_in", "storage_in"):
                        for code in _as_list(getattr(d, attr_field)):
                            if code.upper() not in catalog.known_jurisdictions and not re.fullmatch(
                                r"[A-Z]{2}", code
                            ):
                                bad(("destination", attr_field), f"unknown jurisdiction {code!r}")
                    for attr_field in ("provider_in", "provider_not_in"):
                        for prov in _as_list(getattr(d, attr_field)):
                            if prov not in catalog.providers and prov not in {"unknown", "self-hosted"}:
                                bad(("destination", attr_field), f"unknown provider {prov!r}")
                    for attr_field in ("provider_attribute", "provider_attribute_not"):
                        for name in getattr(d, attr_field):
                            if name not in ATTRIBUTE_NAMES:
                                bad(("destination", attr_field), f"unknown register attribute {name!r}")
                    for name in d.provider_attribute_missing:
                        if name not in ATTRIBUTE_NAMES:
                            bad(
                                ("destination", "provider_attribute_missing"),
                                f"unknown register attribute {name!r}",
                            )
                    attr = d.jurisdiction_not_in_attribute
                    if attr is not None and attr not in LIST_ATTRIBUTES:
                        bad(
                            ("destination", "jurisdiction_not_in_attribute"),
                            f"{attr!r} is not a list-valued register attribute "
                            f"({', '.join(sorted(LIST_ATTRIBUTES))})",
                        )
    return problems


def _walk_paths(cond: Condition, path: FieldPath) -> list[tuple[Condition, FieldPath]]:
    out = [(cond, path)]
    for key, children in (("all", cond.all or []), ("any", cond.any or [])):
        for j, child in enumerate(children):
            out.extend(_walk_paths(child, (*path, key, j)))
    if cond.not_ is not None:
        out.extend(_walk_paths(cond.not_, (*path, "not")))
    return out


def _as_list(value: StrList | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _walk(cond: Condition) -> list[Condition]:
    out = [cond]
    for child in (cond.all or []) + (cond.any or []) + ([cond.not_] if cond.not_ else []):
        out.extend(_walk(child))
    return out
