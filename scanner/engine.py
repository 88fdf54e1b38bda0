"""Evaluates policies against records: (record, destination, detections) → findings. Pure; no I/O.

Semantics worth knowing:
* ``jurisdiction_not_in`` is true for an external destination whose processing jurisdictions are
  unknown or not all inside the set (unknown counts as not allowed). Self-hosted and
  private-network destinations stay under the organisation's control and never match it.
* A ``data`` clause is true when at least one detection matches; those detections become the
  finding's evidence. Clauses in one condition are ANDed; ``any``/``all``/``not`` combine them.
* A control is *evaluated* for every record of a kind it applies to; it then *fails* or *passes*.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from scanner.catalog import Catalog
from scanner.config import Settings
from scanner.detectors.ner import NER_ENTITIES
from scanner.models import ControlStats, Destination, Detection, Finding, Record, Reference
from scanner.policy import (
    Condition,
    ConfigCondition,
    Control,
    DataCondition,
    DestinationCondition,
    LoadedPolicy,
    RecordCondition,
    Register,
    StrList,
)

_PROBE = "ner-probe"
_NUMERIC = re.compile(r"/\d+(?=/|#|$)")


def _as_set(value: StrList | None) -> set[str]:
    if value is None:
        return set()
    return {value} if isinstance(value, str) else set(value)


def normalise_pointer(pointer: str) -> str:
    """Array indices removed, so a value keeps its identity when history shifts it."""
    return _NUMERIC.sub("/*", pointer)


@dataclass
class Engine:
    policies: list[LoadedPolicy]
    catalog: Catalog
    min_score: float = Settings.min_score
    include_responses: bool = False
    stats: dict[tuple[str, str], ControlStats] = field(default_factory=dict)
    register: Register = field(default_factory=Register)

    def __post_init__(self) -> None:
        # Controls that judge a destination by the organisation's approved register cannot be
        # applied without one: with no register they are "not applicable", not failed everywhere.
        self.register_controls = sorted(
            c.id for lp in self.policies for c in lp.pack.controls if _uses_register(c.when)
        )
        self._unregistered = frozenset(self.register_controls) if not self.register.entries else frozenset()
        # Controls that judge where data goes: an unknown destination leaves them undecided.
        self._located = frozenset(
            (lp.pack.id, c.id) for lp in self.policies for c in lp.pack.controls if _uses_destination(c.when)
        )
        # Records evaluated, by kind (for what could not be assessed).
        self.kinds: Counter[str] = Counter()
        # The record kinds each control's condition can hold for: a control on responses is not
        # evaluated (nor counted as passed) on requests.
        self._control_kinds = {c.id: _kinds(c.when) for lp in self.policies for c in lp.pack.controls}
        # Shared by every finding of a control (never mutated).
        self._references: dict[tuple[str, str], list[Reference]] = {}
        self._ner_probe = [
            Detection(_PROBE, e, self.catalog.category_of(e), "", 0, 0, 1.0, "", "")
            for e in sorted(NER_ENTITIES)
        ]
        for lp in self.policies:
            for control in lp.pack.controls:
                self.stats[(lp.pack.id, control.id)] = ControlStats(
                    policy_id=lp.pack.id,
                    control_id=control.id,
                    title=control.title,
                    severity=control.severity,
                    reference=control.reference,
                    source_url=control.source_url or (lp.pack.sources[0] if lp.pack.sources else None),
                    rationale=control.rationale,
                    remediation=control.remediation,
                    categories=_categories(control.when),
                )

    def applies(self, control: Control, record: Record) -> bool:
        if control.id in self._unregistered or record.kind not in self._control_kinds[control.id]:
            return False
        if record.kind == "config":
            return "config" in control.applies_to
        if record.kind == "response" and not self.include_responses:
            return False
        return "traffic" in control.applies_to

    def needs_ner(self, record: Record, destination: Destination, detections: Sequence[Detection]) -> bool:
        """Could named entities (PERSON, LOCATION, NRP, DATE_TIME) change any finding for this record?

        Evaluates each applicable control with a probe detection of every NER entity added: NER is
        needed when the probe changes the outcome or would become part of a finding's evidence.
        """
        probe = list(detections) + self._ner_probe
        for lp in self.policies:
            for control in lp.pack.controls:
                if not self.applies(control, record):
                    continue
                with_probe, evidence = self._condition(control.when, record, destination, probe)
                if with_probe and any(d.detector == _PROBE for d in evidence):
                    return True
                without, _ = self._condition(control.when, record, destination, detections)
                if with_probe != without:
                    return True
        return False

    def evaluate(
        self, record: Record, destination: Destination, detections: Sequence[Detection]
    ) -> list[Finding]:
        findings: list[Finding] = []
        self.kinds[record.kind] += 1
        for lp in self.policies:
            for control in lp.pack.controls:
                if not self.applies(control, record):
                    continue
                key = (lp.pack.id, control.id)
                stats = self.stats[key]
                stats.evaluated += 1
                if not destination.known and key in self._located:
                    stats.unlocated += 1
                matched, evidence = self._condition(control.when, record, destination, detections)
                if not matched:
                    stats.passed += 1
                    continue
                stats.failed += 1
                findings.append(self._finding(lp, control, record, destination, evidence))
        return findings

    def assess(self, pii_mode: str) -> None:
        """Record on each control's stats why it could not be assessed (``not_assessed``) or had
        nothing in scope (``out_of_scope``).

        Not assessed: it needs the approved-provider register and there is none; it depends on
        named entities (names, places, nationality, religion, dates) and NER was off (``--pii
        patterns``); or every record it was evaluated on went to a destination the endpoint catalog
        does not know, and it did not fail. Out of scope: no record of a kind it applies to was
        scanned (configuration, or responses, which count only with ``--include-responses``).
        Call after the scan (or after merging parts) and before reporting.
        """
        ner_categories = {self.catalog.category_of(e) for e in NER_ENTITIES}
        ner_personal = any(
            self.catalog.categories[c].personal for c in ner_categories if c in self.catalog.categories
        )
        for lp in self.policies:
            for control in lp.pack.controls:
                stats = self.stats[(lp.pack.id, control.id)]
                stats.not_assessed = stats.out_of_scope = ""
                if control.id in self._unregistered:
                    stats.not_assessed = (
                        "needs the approved-provider register (organisation policy `register:`), "
                        "and none is configured"
                    )
                elif scope := self._out_of_scope(control):
                    stats.out_of_scope = scope
                elif pii_mode == "patterns" and _uses_ner(control.when, ner_categories, ner_personal):
                    stats.not_assessed = (
                        "depends on named entities (names, places, nationality, religion, dates), "
                        "which --pii patterns does not look for in prose"
                    )
                elif stats.evaluated and stats.unlocated == stats.evaluated and not stats.failed:
                    stats.not_assessed = (
                        "every record it applied to went to a destination the endpoint catalog does not know"
                    )

    def _out_of_scope(self, control: Control) -> str:
        kinds = self._control_kinds[control.id]
        traffic = {"request", *(["response"] if self.include_responses else [])}
        applicable = kinds & (
            (traffic if "traffic" in control.applies_to else set())
            | ({"config"} if "config" in control.applies_to else set())
        )
        if any(self.kinds[k] for k in applicable):
            return ""
        if not applicable and kinds <= {"response"}:
            return "applies to logged responses, which are evaluated only with --include-responses"
        if applicable <= {"response"}:
            return "applies to logged responses, and none was scanned"
        if applicable == {"config"}:
            return "applies to configuration and code, and none was scanned"
        if "config" not in applicable:
            return "applies to AI traffic, and no traffic record was scanned"
        return "no record of a kind it applies to was scanned"

    # -- conditions -------------------------------------------------------------------------------
    def _condition(
        self, cond: Condition, record: Record, dest: Destination, detections: Sequence[Detection]
    ) -> tuple[bool, list[Detection]]:
        evidence: list[Detection] = []
        if cond.record is not None and not self._record(cond.record, record):
            return False, []
        if cond.config is not None and not self._config(cond.config, record):
            return False, []
        if cond.destination is not None and not self._destination(cond.destination, dest):
            return False, []
        if cond.data is not None:
            hits = self._data(cond.data, detections)
            if not hits:
                return False, []
            evidence.extend(hits)
        for child in cond.all or []:
            ok, ev = self._condition(child, record, dest, detections)
            if not ok:
                return False, []
            evidence.extend(ev)
        if cond.any is not None:
            any_ok = False
            for child in cond.any:
                ok, ev = self._condition(child, record, dest, detections)
                if ok:
                    any_ok = True
                    evidence.extend(ev)
            if not any_ok:
                return False, []
        if cond.not_ is not None:
            ok, _ = self._condition(cond.not_, record, dest, detections)
            if ok:
                return False, []
        return True, _unique(evidence)

    def _data(self, cond: DataCondition, detections: Sequence[Detection]) -> list[Detection]:
        categories = _as_set(cond.categories)
        entities = _as_set(cond.entities)
        floor = self.min_score if cond.min_score is None else cond.min_score
        hits = []
        for d in detections:
            if d.score < floor:
                continue
            wanted = d.category in categories or d.entity in entities
            if cond.personal and self.catalog.categories.get(d.category) is not None:
                wanted = wanted or self.catalog.categories[d.category].personal
            if not wanted:
                continue
            hits.append(d)
        return hits

    def _destination(self, cond: DestinationCondition, dest: Destination) -> bool:
        cat = self.catalog
        if cond.external is not None and dest.external != cond.external:
            return False
        if cond.known is not None and dest.known != cond.known:
            return False
        if cond.jurisdiction_not_in is not None and (
            not dest.external or cat.within(dest.jurisdictions, sorted(_as_set(cond.jurisdiction_not_in)))
        ):
            return False
        if cond.jurisdiction_in is not None and not (
            dest.external and cat.within(dest.jurisdictions, sorted(_as_set(cond.jurisdiction_in)))
        ):
            return False
        if cond.storage_in is not None and not (
            dest.storage_jurisdictions
            and cat.within(dest.storage_jurisdictions, sorted(_as_set(cond.storage_in)))
        ):
            return False
        checks = (
            (cond.provider_in, cond.provider_not_in, dest.provider),
            (cond.service_in, cond.service_not_in, dest.service),
            (cond.hosting_in, cond.hosting_not_in, dest.hosting),
        )
        for inside, outside, value in checks:
            if inside is not None and value not in _as_set(inside):
                return False
            if outside is not None and value in _as_set(outside):
                return False
        host = dest.host.rsplit(":", 1)[0] if dest.host.count(":") == 1 else dest.host
        if cond.host_in is not None and not _glob_any(host, _as_set(cond.host_in)):
            return False
        if cond.host_not_in is not None and _glob_any(host, _as_set(cond.host_not_in)):
            return False
        if cond.scheme_in is not None and (dest.scheme or "https") not in _as_set(cond.scheme_in):
            return False
        return self._register(cond, dest)

    def _register(self, cond: DestinationCondition, dest: Destination) -> bool:
        """Conditions on the organisation's approved register (an unregistered host records nothing)."""
        if (
            cond.approved is None
            and not cond.provider_attribute
            and not cond.provider_attribute_not
            and not cond.provider_attribute_missing
            and cond.jurisdiction_not_in_attribute is None
        ):
            return True
        entry = self.register.lookup(dest)
        if cond.approved is not None and (entry is not None) != cond.approved:
            return False
        recorded = entry.attributes if entry is not None else None

        def value(name: str) -> object:
            return getattr(recorded, name, None) if recorded is not None else None

        for name, expected in cond.provider_attribute.items():
            if value(name) is None or value(name) != expected:
                return False
        for name, expected in cond.provider_attribute_not.items():
            if value(name) == expected:
                return False
        if cond.provider_attribute_missing and all(
            value(name) not in (None, "", []) for name in cond.provider_attribute_missing
        ):
            return False
        if cond.jurisdiction_not_in_attribute is not None:
            listed = value(cond.jurisdiction_not_in_attribute)
            allowed = sorted(listed) if isinstance(listed, list) else []
            if not dest.external or (allowed and self.catalog.within(dest.jurisdictions, allowed)):
                return False
        return True

    def _record(self, cond: RecordCondition, record: Record) -> bool:
        if cond.kind_in is not None and record.kind not in cond.kind_in:
            return False
        if cond.api_in is not None and (record.api or "") not in _as_set(cond.api_in):
            return False
        attrs = record.attributes
        for key, expected in cond.attributes.items():
            if key not in attrs or attrs[key] != expected:
                return False
        if any(key not in attrs for key in cond.attribute_present):
            return False
        if any(key in attrs for key in cond.attribute_missing):
            return False
        return not cond.field_missing or any(
            _empty(getattr(record, name, None) if name in _RECORD_FIELDS else attrs.get(name))
            for name in cond.field_missing
        )

    def _config(self, cond: ConfigCondition, record: Record) -> bool:
        if record.kind != "config":
            return False
        key = str(record.attributes.get("key", ""))
        value = str(record.attributes.get("value", ""))
        setting = str(record.attributes.get("setting", ""))
        if cond.key_matches is not None and not re.search(cond.key_matches, key):
            return False
        if cond.value_matches is not None and not re.search(cond.value_matches, value):
            return False
        if cond.value_in is not None and value.lower() not in {v.lower() for v in _as_set(cond.value_in)}:
            return False
        if cond.value_not_in is not None and value.lower() in {v.lower() for v in _as_set(cond.value_not_in)}:
            return False
        return not (cond.setting_in is not None and setting not in _as_set(cond.setting_in))

    # -- findings ---------------------------------------------------------------------------------
    def _finding(
        self,
        lp: LoadedPolicy,
        control: Control,
        record: Record,
        dest: Destination,
        evidence: list[Detection],
    ) -> Finding:
        refs = self._references.get((lp.pack.id, control.id))
        if refs is None:
            refs = self._references[(lp.pack.id, control.id)] = [
                Reference(
                    citation=control.reference,
                    url=control.source_url or (lp.pack.sources[0] if lp.pack.sources else None),
                )
            ]
        message = describe(control, record, dest, evidence)
        print_ = fingerprint(control.id, record, dest, evidence)
        return Finding(
            control_id=control.id,
            policy_id=lp.pack.id,
            severity=control.severity,
            title=control.title,
            message=message,
            location=record.location,
            destination=dest,
            detections=sorted(evidence, key=lambda d: (d.pointer, d.start, d.entity)),
            fingerprint=print_,
            references=refs,
            remediation=control.remediation,
            timestamp=record.timestamp,
            app=record.app,
        )


def describe(control: Control, record: Record, dest: Destination, evidence: Sequence[Detection]) -> str:
    where = dest.host or "no destination"
    juris = ", ".join(sorted(dest.jurisdictions)) if dest.jurisdictions else "unknown jurisdiction"
    dest_text = f"{where} ({dest.provider}; {juris}"
    if dest.region:
        dest_text += f"; region {dest.region}"
    dest_text += ")"
    if record.kind == "config":
        return _describe_config(record, dest_text if dest.host else None, evidence)
    if evidence:
        entities = sorted({d.entity for d in evidence})
        return f"{', '.join(entities)} sent to {dest_text}"
    return f"request to {dest_text}"


def _describe_config(record: Record, dest_text: str | None, evidence: Sequence[Detection]) -> str:
    """A config setting in words. ``value`` is non-secret or already masked by the source."""
    attrs = record.attributes
    key = str(attrs.get("key", "setting"))
    if evidence:
        entities = ", ".join(sorted({d.entity for d in evidence}))
        return f"{entities} written in {key} (value masked)"
    value = attrs.get("value")
    text = key if value in (None, "", record.target) else f"{key} = {value}"
    if attrs.get("unresolved"):
        return f"{text} (unresolved: {', '.join(map(str, attrs['unresolved']))})"
    return f"{text} → {dest_text}" if dest_text else text


def fingerprint(control_id: str, record: Record, dest: Destination, evidence: Iterable[Detection]) -> str:
    """Stable identity of a finding: no line numbers, no record index, no raw values."""
    parts = [control_id, record.location.path, normalise_pointer(record.location.pointer), dest.host]
    ev = sorted(
        {f"{d.entity}:{d.value_hash}:{normalise_pointer(_strip_record(d.pointer, record))}" for d in evidence}
    )
    if ev:
        parts.extend(ev)
    else:
        material = record.attributes.get("fingerprint")
        if material is None:
            material = hashlib.sha256("\x1f".join(s.text for s in record.segments).encode()).hexdigest()[:16]
        parts.append(str(material))
    return hashlib.sha256("\x1e".join(parts).encode("utf-8")).hexdigest()[:32]


def _strip_record(pointer: str, record: Record) -> str:
    prefix = record.location.pointer
    return pointer[len(prefix) :] if prefix and pointer.startswith(prefix) else pointer


def _categories(cond: Condition) -> tuple[str, ...]:
    """Data categories and entities a control's condition names (for report tags)."""
    found: set[str] = set()
    stack = [cond]
    while stack:
        c = stack.pop()
        if c.data is not None:
            found |= _as_set(c.data.categories) | _as_set(c.data.entities)
        stack.extend(_children(c))
    return tuple(sorted(found))


def _children(cond: Condition) -> list[Condition]:
    return [*(cond.all or []), *(cond.any or []), *([cond.not_] if cond.not_ is not None else [])]


def _kinds(cond: Condition) -> set[str]:
    """The record kinds a condition can be true for (``record: kind_in`` in it and its ``all``)."""
    kinds = {"request", "response", "config"}
    if cond.record is not None and cond.record.kind_in is not None:
        kinds &= set(cond.record.kind_in)
    for child in cond.all or []:
        kinds &= _kinds(child)
    if cond.any:
        kinds &= set().union(*(_kinds(c) for c in cond.any))
    return kinds


def _uses_destination(cond: Condition) -> bool:
    return cond.destination is not None or any(_uses_destination(c) for c in _children(cond))


def _uses_ner(cond: Condition, ner_categories: set[str], ner_personal: bool) -> bool:
    """Could a named entity (``NER_ENTITIES``) satisfy a ``data`` clause of the condition?"""
    d = cond.data
    if d is not None and (
        _as_set(d.categories) & ner_categories
        or _as_set(d.entities) & NER_ENTITIES
        or (d.personal and ner_personal)
    ):
        return True
    return any(_uses_ner(c, ner_categories, ner_personal) for c in _children(cond))


def _uses_register(cond: Condition) -> bool:
    d = cond.destination
    if d is not None and (
        d.approved is not None
        or d.provider_attribute
        or d.provider_attribute_not
        or d.provider_attribute_missing
        or d.jurisdiction_not_in_attribute is not None
    ):
        return True
    return any(_uses_register(c) for c in _children(cond))


_RECORD_FIELDS = frozenset({"target", "provider", "model", "timestamp", "app", "request_id", "api"})


def _empty(value: object) -> bool:
    return value is None or value in ("", [], {})


def _glob_any(host: str, patterns: set[str]) -> bool:
    return any(fnmatch.fnmatchcase(host, p.lower()) for p in patterns)


def _unique(items: list[Detection]) -> list[Detection]:
    seen = set()
    out = []
    for d in items:
        key = (d.pointer, d.start, d.end, d.entity)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
