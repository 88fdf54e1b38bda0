"""Loads and cross-checks the technical catalogs in ``rules/``.

``rules/`` holds the endpoint catalog (``endpoints/*.yaml``), cloud region tables
(``regions.yaml``), jurisdiction groups (``jurisdictions.yaml``), the entity → data-category map
(``data_categories.yaml``) and extra Presidio recognizers (``recognizers/*.yaml``, Presidio's own
YAML recognizer schema). The files ship inside the wheel and are found from a checkout too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scanner.errors import ConfigError

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Locate a shipped data folder (``rules`` or ``policies``) in a wheel or a checkout."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"data folder {name!r} not found next to the scanner package")


def load_yaml(path: Path) -> Any:
    """Parse one YAML file; errors name the file and the line."""
    try:
        with path.open("rb") as fh:
            return yaml.safe_load(fh)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ConfigError(f"{path}: invalid YAML at {where}: {exc.problem}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read YAML: {type(exc).__name__}") from None


def format_validation_error(path: Path | str, exc: ValidationError) -> str:
    """One line per problem, each naming the file and the field path."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{path}: field {loc}: {err['msg']}")
    return "\n".join(lines)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EndpointRule(_Strict):
    """One endpoint pattern. Exactly one of ``hosts`` (exact or ``*.`` glob) or ``host_regex``."""

    id: str
    hosts: list[str] = Field(default_factory=list)
    host_regex: str | None = None
    path_regex: str | None = None
    service: str
    region: str | None = None
    region_table: str | None = None
    country: str | None = None
    jurisdictions: list[str] = Field(default_factory=list)
    storage: list[str] = Field(default_factory=list)
    hosting: str = "vendor_cloud"
    model_regex: str | None = None
    profile_prefixes: dict[str, list[str]] = Field(default_factory=dict)
    geo_attribute: str | None = None
    geo_values: dict[str, list[str]] = Field(default_factory=dict)
    notes: str | None = None

    @field_validator("host_regex", "path_regex", "model_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


class EndpointFile(_Strict):
    provider: str
    title: str
    source: str | list[str]
    reviewed: date
    endpoints: list[EndpointRule]


class RegionEntry(_Strict):
    country: str | None = None
    jurisdictions: list[str]
    name: str | None = None


class RegionsFile(_Strict):
    source: str | list[str]
    reviewed: date
    tables: dict[str, dict[str, RegionEntry]]


class JurisdictionsFile(_Strict):
    source: str | list[str]
    reviewed: date
    groups: dict[str, list[str]]
    names: dict[str, str] = Field(default_factory=dict)


class CategoryEntry(_Strict):
    description: str
    personal: bool = True
    entities: list[str]


class CategoriesFile(_Strict):
    source: str | list[str] | None = None
    categories: dict[str, CategoryEntry]


GLOBAL = "GLOBAL"


@dataclass(frozen=True)
class CompiledEndpoint:
    provider: str
    rule: EndpointRule
    host_re: re.Pattern[str] | None
    path_re: re.Pattern[str] | None
    model_re: re.Pattern[str] | None
    source_file: str

    def match_host(self, host: str) -> re.Match[str] | bool | None:
        if self.host_re is not None:
            return self.host_re.match(host)
        for pattern in self.rule.hosts:
            if pattern.startswith("*."):
                if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                    return True
            elif host == pattern:
                return True
        return None


@dataclass
class Catalog:
    """Everything from ``rules/``, validated and indexed."""

    root: Path
    endpoints: list[CompiledEndpoint]
    regions: dict[str, dict[str, RegionEntry]]
    groups: dict[str, frozenset[str]]
    categories: dict[str, CategoryEntry]
    recognizer_files: list[Path]
    entity_category: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.entity_category = {}
        for name, entry in self.categories.items():
            for entity in entry.entities:
                self.entity_category[entity] = name

    def category_of(self, entity: str) -> str:
        return self.entity_category.get(entity, "other")

    def expand(self, codes: frozenset[str] | list[str] | set[str]) -> frozenset[str]:
        """Expand group names (EEA, EU, APAC…) into country codes; GLOBAL stays GLOBAL."""
        out: set[str] = set()
        for code in codes:
            upper = code.upper()
            if upper in self.groups:
                out |= self.groups[upper]
            else:
                out.add(upper)
        return frozenset(out)

    def within(self, jurisdictions: frozenset[str], allowed: frozenset[str] | list[str]) -> bool:
        """True when every place the data may be processed lies inside ``allowed``."""
        if not jurisdictions:
            return False
        allowed_set = self.expand(frozenset(allowed))
        if GLOBAL in allowed_set or "*" in allowed_set:
            return True
        return self.expand(jurisdictions) <= allowed_set

    @cached_property
    def known_jurisdictions(self) -> frozenset[str]:
        codes: set[str] = set(self.groups) | {GLOBAL}
        for members in self.groups.values():
            codes |= members
        for table in self.regions.values():
            for entry in table.values():
                codes |= set(entry.jurisdictions)
        return frozenset(codes)

    @cached_property
    def providers(self) -> frozenset[str]:
        return frozenset(e.provider for e in self.endpoints)


def _validated(model: type[BaseModel], path: Path) -> Any:
    try:
        return model.model_validate(load_yaml(path))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from None


def load_catalog(root: Path | None = None) -> Catalog:
    """Load ``rules/`` (the shipped one unless ``root`` is given) and cross-check it."""
    root = root or data_dir("rules")
    endpoints: list[CompiledEndpoint] = []
    for path in sorted((root / "endpoints").glob("*.yaml")):
        ef: EndpointFile = _validated(EndpointFile, path)
        for rule in ef.endpoints:
            if bool(rule.hosts) == bool(rule.host_regex):
                raise ConfigError(f"{path}: endpoint {rule.id}: give exactly one of hosts, host_regex")
            endpoints.append(
                CompiledEndpoint(
                    provider=ef.provider,
                    rule=rule,
                    host_re=re.compile(rule.host_regex) if rule.host_regex else None,
                    path_re=re.compile(rule.path_regex) if rule.path_regex else None,
                    model_re=re.compile(rule.model_regex) if rule.model_regex else None,
                    source_file=path.name,
                )
            )
    regions: RegionsFile = _validated(RegionsFile, root / "regions.yaml")
    juris: JurisdictionsFile = _validated(JurisdictionsFile, root / "jurisdictions.yaml")
    cats: CategoriesFile = _validated(CategoriesFile, root / "data_categories.yaml")
    groups = {k.upper(): frozenset(v) for k, v in juris.groups.items()}
    catalog = Catalog(
        root=root,
        endpoints=endpoints,
        regions=regions.tables,
        groups=groups,
        categories=cats.categories,
        recognizer_files=sorted((root / "recognizers").glob("*.yaml")),
    )
    problems = cross_check(catalog)
    if problems:
        raise ConfigError("\n".join(problems))
    return catalog


def cross_check(catalog: Catalog) -> list[str]:
    """Every region table named exists; ids are unique; jurisdiction codes are known."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for ep in catalog.endpoints:
        rule = ep.rule
        if rule.id in seen:
            problems.append(f"{ep.source_file}: endpoint id {rule.id} also in {seen[rule.id]}")
        seen[rule.id] = ep.source_file
        if rule.region_table and rule.region_table not in catalog.regions:
            problems.append(f"{ep.source_file}: endpoint {rule.id}: unknown region_table {rule.region_table}")
        codes = list(rule.jurisdictions) + list(rule.storage)
        for values in list(rule.profile_prefixes.values()) + list(rule.geo_values.values()):
            codes += values
        for code in codes:
            if not _is_code(code, catalog):
                problems.append(f"{ep.source_file}: endpoint {rule.id}: unknown jurisdiction {code}")
    return problems


def _is_code(code: str, catalog: Catalog) -> bool:
    upper = code.upper()
    return upper in catalog.groups or upper == GLOBAL or bool(re.fullmatch(r"[A-Z]{2}", upper))
