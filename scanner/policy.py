"""Policy packs: pydantic models, loading, parameter resolution and cross-checks.

A pack states intent and cites its source; it never holds regexes or code. Conditions use a small
declarative vocabulary (``data``, ``destination``, ``record``, ``config``, combined with ``all``,
``any`` and ``not``). ``$name`` values are resolved from the pack's ``parameters``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scanner.catalog import Catalog, data_dir, format_validation_error, load_yaml
from scanner.errors import ConfigError, PolicyError
from scanner.models import PolicyInfo, Severity

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


class RecordCondition(_Strict):
    kind_in: list[Literal["request", "response", "config"]] | None = None
    api_in: StrList | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    attribute_present: list[str] = Field(default_factory=list)
    attribute_missing: list[str] = Field(default_factory=list)


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


@dataclass(frozen=True)
class LoadedPolicy:
    pack: PolicyPack
    info: PolicyInfo


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


def parse_pack(raw: Any, path: Path, sha256: str, overrides: dict[str, Any] | None = None) -> LoadedPolicy:
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
        raise PolicyError(format_validation_error(path, exc)) from None
    ids = [c.id for c in pack.controls]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise PolicyError(f"{path}: duplicate control ids: {', '.join(dupes)}")
    info = PolicyInfo(id=pack.id, title=pack.title, version=pack.version, sha256=sha256, path=str(path))
    return LoadedPolicy(pack=pack, info=info)


def load_pack_file(path: Path, overrides: dict[str, Any] | None = None) -> LoadedPolicy:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        raw = load_yaml(path)
    except ConfigError as exc:
        raise PolicyError(str(exc)) from None
    return parse_pack(raw, path, hashlib.sha256(data).hexdigest(), overrides)


def shipped_packs() -> dict[str, Path]:
    """Shipped pack id → file (the id is the file stem, checked against the pack's ``id``)."""
    return {p.stem: p for p in sorted(data_dir("policies").glob("*.yaml"))}


def load_policies(ids: list[str] | None = None, files: list[Path] | None = None) -> list[LoadedPolicy]:
    """Load shipped packs by id (all of them when neither ids nor files are given) and pack files."""
    available = shipped_packs()
    loaded: list[LoadedPolicy] = []
    wanted = list(ids or [])
    if not wanted and not files:
        wanted = list(available)
    for pid in wanted:
        if pid not in available:
            raise PolicyError(f"unknown policy pack {pid!r}; shipped packs: {', '.join(available) or 'none'}")
        lp = load_pack_file(available[pid])
        if lp.pack.id != pid:
            raise PolicyError(f"{available[pid]}: field id: {lp.pack.id!r} does not match the file name")
        loaded.append(lp)
    for path in files or []:
        loaded.append(load_pack_file(path))
    seen: dict[str, str] = {}
    for lp in loaded:
        for control in lp.pack.controls:
            for cid in [control.id, *control.aliases]:
                if cid in seen and seen[cid] != lp.pack.id:
                    raise PolicyError(f"{lp.info.path}: control id {cid} is also used by pack {seen[cid]}")
                seen[cid] = lp.pack.id
    return loaded


def cross_check(policies: list[LoadedPolicy], catalog: Catalog) -> list[str]:
    """Categories, entities, jurisdictions and providers named by controls exist in ``rules/``."""
    problems: list[str] = []
    known_entities = set(catalog.entity_category)
    for lp in policies:
        for control in lp.pack.controls:
            where = f"{lp.info.path}: control {control.id}"
            for cond in _walk(control.when):
                if cond.data is not None:
                    for cat in _as_list(cond.data.categories):
                        if cat not in catalog.categories:
                            problems.append(f"{where}: unknown data category {cat!r}")
                    for ent in _as_list(cond.data.entities):
                        if ent not in known_entities:
                            problems.append(f"{where}: entity {ent!r} is not in rules/data_categories.yaml")
                if cond.destination is not None:
                    d = cond.destination
                    for field_name in ("jurisdiction_in", "jurisdiction_not_in", "storage_in"):
                        for code in _as_list(getattr(d, field_name)):
                            if code.upper() not in catalog.known_jurisdictions and not re.fullmatch(
                                r"[A-Z]{2}", code
                            ):
                                problems.append(f"{where}: unknown jurisdiction {code!r}")
                    for field_name in ("provider_in", "provider_not_in"):
                        for prov in _as_list(getattr(d, field_name)):
                            if prov not in catalog.providers and prov not in {"unknown", "self-hosted"}:
                                problems.append(f"{where}: unknown provider {prov!r}")
    return problems


def _as_list(value: StrList | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _walk(cond: Condition) -> list[Condition]:
    out = [cond]
    for child in (cond.all or []) + (cond.any or []) + ([cond.not_] if cond.not_ else []):
        out.extend(_walk(child))
    return out
