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
    """What was detected in the record's text: true when at least one detection of a listed category or
    entity (or of any personal category, with ``personal: true``) scores at least the minimum score.
    Those detections become the finding's evidence."""

    categories: StrList = Field(
        default_factory=list,
        description="Data categories (ids from rules/data_categories.yaml, e.g. health, contact) or a "
        "$parameter: a detection whose category is one of them matches. Empty: no category matches.",
    )
    entities: StrList = Field(
        default_factory=list,
        description="Entity types (e.g. EMAIL_ADDRESS, AU_TFN) or a $parameter: a detection of one of "
        "them matches whatever its category. Categories and entities are alternatives (either matches).",
    )
    personal: bool | None = Field(
        default=None,
        description="true: a detection of any category marked personal in rules/data_categories.yaml "
        "also matches (in addition to categories and entities). false or absent: adds nothing.",
    )
    min_score: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Lowest detection score (0-1) that counts for this clause; detections scoring less "
        "are ignored. Absent: the scan's --min-score (default 0.4).",
    )


class DestinationCondition(_Strict):
    """Where the record's data goes, as classified by the endpoint catalog (rules/endpoints) and, for
    the register fields, the organisation's approved provider register. Every field given must hold."""

    jurisdiction_in: StrList | None = Field(
        default=None,
        description="Jurisdiction codes or groups (AU, EEA, GLOBAL…) or a $parameter: true when the "
        "destination is external and every jurisdiction it may process in is known and lies inside the "
        "set (groups expanded). Self-hosted, private-network and unknown-jurisdiction destinations never "
        "match.",
    )
    jurisdiction_not_in: StrList | None = Field(
        default=None,
        description="Jurisdiction codes or groups or a $parameter: true for an external destination whose "
        "processing jurisdictions are unknown or not all inside the set (unknown counts as not allowed; "
        "GLOBAL processing is outside any set without GLOBAL). Self-hosted and private-network "
        "destinations never match.",
    )
    storage_in: StrList | None = Field(
        default=None,
        description="Jurisdiction codes or groups or a $parameter: true when the destination's storage "
        "jurisdictions (where the catalog says data at rest is kept) are known and all inside the set.",
    )
    known: bool | None = Field(
        default=None,
        description="true: the endpoint catalog knows at least one jurisdiction the destination processes "
        "in; false: it knows none (an unrecognised host).",
    )
    external: bool | None = Field(
        default=None,
        description="true: the destination is outside the organisation's control (vendor cloud or "
        "unknown hosting); false: it is self-hosted (localhost, --internal-host) or on a private network.",
    )
    provider_in: StrList | None = Field(
        default=None,
        description="Catalog provider ids (e.g. openai, azure_openai; also unknown, self-hosted) or a "
        "$parameter: true when the destination's provider is one of them (exact match).",
    )
    provider_not_in: StrList | None = Field(
        default=None,
        description="Catalog provider ids or a $parameter: true when the destination's provider is none "
        "of them (exact match).",
    )
    service_in: StrList | None = Field(
        default=None,
        description="Catalog service kinds (e.g. llm-api, agent-runtime; unknown, self-hosted) or a "
        "$parameter: true when the destination's service is one of them (exact match).",
    )
    service_not_in: StrList | None = Field(
        default=None,
        description="Catalog service kinds or a $parameter: true when the destination's service is none "
        "of them (exact match).",
    )
    hosting_in: StrList | None = Field(
        default=None,
        description="Hosting kinds (self_hosted, private_network, vendor_cloud, unknown) or a $parameter: "
        "true when the destination's hosting is one of them.",
    )
    hosting_not_in: StrList | None = Field(
        default=None,
        description="Hosting kinds (self_hosted, private_network, vendor_cloud, unknown) or a $parameter: "
        "true when the destination's hosting is none of them.",
    )
    host_in: StrList | None = Field(
        default=None,
        description="Host globs (fnmatch, e.g. *.openai.azure.com; compared lower-cased) or a $parameter: "
        "true when the destination host, without its port, matches at least one of them.",
    )
    host_not_in: StrList | None = Field(
        default=None,
        description="Host globs (fnmatch, compared lower-cased) or a $parameter: true when the destination "
        "host, without its port, matches none of them.",
    )
    scheme_in: StrList | None = Field(
        default=None,
        description="URL schemes (e.g. http) or a $parameter: true when the request's scheme is one of "
        "them; a target without a scheme counts as https.",
    )
    approved: bool | None = Field(
        default=None,
        description="The organisation's approved provider/endpoint register (organisation policy "
        "`register:`): true when the destination matches a register entry (host globs and/or provider "
        "ids), false when it matches none (shadow AI). A control using any register field is not "
        "assessed when no register is configured.",
    )
    provider_attribute: dict[str, Any] = Field(
        default_factory=dict,
        description="Register attribute name → value: true when the destination's register entry records "
        "every named attribute with exactly that value (an unrecorded attribute, or no entry, is false).",
    )
    provider_attribute_not: dict[str, Any] = Field(
        default_factory=dict,
        description="Register attribute name → value: true when the destination's register entry records "
        "none of the named attributes with that value; also true when the attribute is unrecorded or the "
        "destination has no entry.",
    )
    provider_attribute_missing: list[str] = Field(
        default_factory=list,
        description="Register attribute names: true when at least one of them is unrecorded (absent, "
        "empty or an empty list) on the destination's register entry, or the destination has no entry.",
    )
    jurisdiction_not_in_attribute: str | None = Field(
        default=None,
        description="Name of a list-valued register attribute (e.g. contract_regions): true for an "
        "external destination whose processing jurisdictions are unknown or not all inside the regions "
        "that attribute records on its register entry (unrecorded or no entry = empty, so any external "
        "destination matches). Self-hosted and private-network destinations never match.",
    )


class RecordCondition(_Strict):
    """The record itself: its kind, API and the attributes its source recorded."""

    kind_in: list[Literal["request", "response", "config"]] | None = Field(
        default=None,
        description="Record kinds: true when the record is one of them (request = outbound AI request, "
        "response = logged response, config = one configuration setting). A control is evaluated only "
        "on the kinds its condition allows.",
    )
    api_in: StrList | None = Field(
        default=None,
        description="API names the source recorded (e.g. chat.completions, responses) or a $parameter: "
        "true when the record's API is one of them (a record without an API has the empty name).",
    )
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        description="Record attribute name → value: true when the record has every named attribute with "
        "exactly that value.",
    )
    attribute_present: list[str] = Field(
        default_factory=list,
        description="Record attribute names: true when the record has all of them (any value).",
    )
    attribute_missing: list[str] = Field(
        default_factory=list,
        description="Record attribute names: true when the record has none of them.",
    )
    field_missing: list[str] = Field(
        default_factory=list,
        description="Record fields (target, provider, model, timestamp, app, request_id, api) or attribute "
        "names: true when at least one of them is absent or empty on the record.",
    )


class ConfigCondition(_Strict):
    """One configuration setting found in configuration or code (a ``config`` record): the clause is
    false for every other record kind."""

    key_matches: str | None = Field(
        default=None,
        description="Python regular expression searched (not anchored, case-sensitive) in the setting's "
        "key as written, e.g. OPENAI_BASE_URL.",
    )
    value_matches: str | None = Field(
        default=None,
        description="Python regular expression searched (not anchored, case-sensitive) in the setting's "
        "value (secrets are masked by the source).",
    )
    setting_in: StrList | None = Field(
        default=None,
        description="Normalised setting names the configuration readers assign (e.g. base_url, region, "
        "api_key from rules/config_settings.yaml; deployment_sku, store from code and Terraform) or a "
        "$parameter: true when the setting is one of them (exact match).",
    )
    value_in: StrList | None = Field(
        default=None,
        description="Exact values or a $parameter: true when the setting's value equals one of them, "
        "compared case-insensitively.",
    )
    value_not_in: StrList | None = Field(
        default=None,
        description='Exact values or a $parameter (e.g. allowed deployment types, "false"): true when '
        "the setting's value equals none of them, compared case-insensitively (an empty value is none "
        "of them unless listed).",
    )

    @field_validator("key_matches", "value_matches")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


class Condition(_Strict):
    """When a control fails for a record: every clause given (data, destination, record, config, all,
    any, not) must hold."""

    data: DataCondition | None = Field(
        default=None,
        description="Detections in the record's text; true when at least one detection matches (those "
        "detections are the finding's evidence).",
    )
    destination: DestinationCondition | None = Field(
        default=None, description="Where the record's data goes (endpoint catalog and approved register)."
    )
    record: RecordCondition | None = Field(
        default=None, description="The record's kind, API, fields and attributes."
    )
    config: ConfigCondition | None = Field(
        default=None, description="The configuration setting (true only for config records)."
    )
    all: list[Condition] | None = Field(
        default=None, description="Sub-conditions that must all hold; their evidence is combined."
    )
    any: list[Condition] | None = Field(
        default=None,
        description="Sub-conditions of which at least one must hold; the evidence of every one that "
        "holds is kept.",
    )
    not_: Condition | None = Field(
        default=None, alias="not", description="A sub-condition that must not hold (its evidence is dropped)."
    )

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
