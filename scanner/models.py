"""Core value types that flow through the pipeline: Record → Detection/Destination → Finding → ScanResult.

This module imports nothing else from the package (``scanner.store``, which holds a result's
findings, only for type checking). Hot-path types (records, segments, detections)
are slotted dataclasses; user-written YAML is validated with pydantic in ``policy`` and ``catalog``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from scanner.store import FindingStore

# File names sources decompress (gzip and zstd are recognised by magic bytes; these name them).
COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd")

RecordKind = Literal["request", "response", "config"]
Hosting = Literal["self_hosted", "private_network", "vendor_cloud", "unknown"]
FindingStatus = Literal["open", "suppressed", "waived", "baselined"]
# Skipped records a result lists with file, position and reason; every one is counted, with its
# reason, in its input's summary.
SKIPPED_KEPT = 1000


class Severity(StrEnum):
    """Ordered severities: info < low < medium < high < critical."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self.value]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank


_SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


@dataclass(frozen=True, slots=True)
class Location:
    """Where a record sits: file path (relative to the scan root), line, pointer and record index.

    ``pointer`` is a JSON pointer into the file (``/log/entries/3``) or a key path for configs;
    ``line`` is the 1-based line for line-oriented formats (JSONL, configs), else ``None``;
    ``start_line`` is where a record inside a whole-document format starts (a HAR entry), for
    line-based viewers such as code scanning.
    """

    path: str
    line: int | None = None
    pointer: str = ""
    record: int | None = None
    start_line: int | None = None

    @property
    def first_line(self) -> int | None:
        """The line a viewer should point at: the record's line, else where it starts."""
        return self.line if self.line is not None else self.start_line

    @property
    def compressed(self) -> bool:
        """In a compressed file: its lines exist only after decompression, not in a repository view."""
        return self.path.lower().endswith(COMPRESSED_SUFFIXES)


@dataclass(frozen=True, slots=True)
class Segment:
    """One text to scan. ``pointer`` is a full pointer from the file root.

    A ``#`` in the pointer marks descent into a JSON document embedded in a string
    (``/log/entries/0/request/postData/text#/messages/1/content``).
    """

    pointer: str
    role: str
    text: str

    @property
    def key(self) -> str | None:
        """The nearest non-numeric key the text sits under (field-name context)."""
        for token in reversed(self.pointer.replace("#", "/").split("/")):
            if token and not token.isdigit():
                return token.replace("~1", "/").replace("~0", "~")
        return None


@dataclass(slots=True)
class Record:
    """One observation: an outbound request, a logged response, or one config setting."""

    location: Location
    kind: RecordKind
    target: str | None
    segments: list[Segment] = field(default_factory=list)
    provider: str | None = None
    model: str | None = None
    timestamp: str | None = None
    app: str | None = None
    request_id: str | None = None
    api: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    unscanned_parts: int = 0


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that could not be scanned, with where and why (never the raw content)."""

    location: Location
    reason: str


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a record's data goes, as classified from the endpoint catalog."""

    host: str
    provider: str
    service: str
    region: str | None
    country: str | None
    jurisdictions: frozenset[str]
    hosting: Hosting
    scheme: str | None = None
    storage_jurisdictions: frozenset[str] = frozenset()
    endpoint_id: str | None = None
    notes: str | None = None

    @property
    def external(self) -> bool:
        return self.hosting not in ("self_hosted", "private_network")

    @property
    def known(self) -> bool:
        return bool(self.jurisdictions)


@dataclass(frozen=True, slots=True)
class Detection:
    """A detected entity: masked preview and keyed hash only, never the raw value."""

    detector: str
    entity: str
    category: str
    pointer: str
    start: int
    end: int
    score: float
    value_hash: str
    preview: str


@dataclass(frozen=True, slots=True)
class Reference:
    """A citation: the clause and the URL it comes from."""

    citation: str
    url: str | None = None


@dataclass(slots=True)
class Finding:
    control_id: str
    policy_id: str
    severity: Severity
    title: str
    message: str
    location: Location
    destination: Destination | None
    detections: list[Detection]
    fingerprint: str
    references: list[Reference] = field(default_factory=list)
    remediation: str = ""
    status: FindingStatus = "open"
    status_reason: str | None = None
    timestamp: str | None = None
    app: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    id: str
    title: str
    version: str
    sha256: str
    path: str


@dataclass(slots=True)
class InputSummary:
    """Per input file: what it was read as and what became of its records."""

    path: str
    sha256: str | None
    format: str | None
    bytes: int = 0
    records: int = 0
    scanned: int = 0
    skipped: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    unscanned_parts: int = 0


@dataclass(frozen=True, slots=True)
class ScanError:
    """A problem with one input or policy file. ``position`` is a line, entry or byte offset."""

    path: str
    message: str
    position: str | None = None

    def one_line(self) -> str:
        where = f"{self.path}:{self.position}" if self.position else self.path
        return f"{where}: {self.message}"


@dataclass(slots=True)
class ControlStats:
    policy_id: str
    control_id: str
    title: str
    severity: Severity
    evaluated: int = 0
    passed: int = 0
    failed: int = 0
    waived: int = 0
    suppressed: int = 0
    baselined: int = 0
    # Evaluations whose destination was not in the endpoint catalog (for destination conditions).
    unlocated: int = 0
    # Why the control could not be assessed (a register, a detector, a known destination it needs);
    # empty when it was. A pack with such a control is "not assessed", never "pass".
    not_assessed: str = ""
    # Why nothing in this scan's scope was of a kind it applies to (no configuration scanned,
    # responses not evaluated): "not applicable" unless no control of its pack applied.
    out_of_scope: str = ""
    # Control metadata for reporters that describe rules (SARIF, JUnit); filled by the engine.
    reference: str = ""
    source_url: str | None = None
    rationale: str = ""
    remediation: str = ""
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Counts:
    """What a set of findings amounts to for a reader: a chat that resends its history repeats one
    value on every request, so findings alone overstate it.

    ``requests``: distinct records affected; ``values``: distinct detected values (by keyed hash);
    ``flows``: distinct (data category, destination host) pairs; ``first_seen``/``last_seen``: the
    earliest and latest record timestamps (as logged).
    """

    findings: int = 0
    requests: int = 0
    values: int = 0
    flows: int = 0
    first_seen: str | None = None
    last_seen: str | None = None


@dataclass(slots=True)
class DestinationStats:
    destination: Destination
    records: int = 0
    records_with_detections: int = 0
    categories: dict[str, int] = field(default_factory=dict)
    first_seen: str | None = None
    last_seen: str | None = None


@dataclass(frozen=True, slots=True)
class BaselineEntry:
    """One known finding in a baseline file: fingerprint, control and path (nothing sensitive)."""

    fingerprint: str
    control_id: str
    path: str


@dataclass(slots=True)
class BaselineReport:
    """How a scan compared with a baseline; ``fixed`` lists entries no finding matched any more."""

    path: str
    entries: int
    matched: int
    new: int
    fixed: list[BaselineEntry] = field(default_factory=list)


@dataclass(slots=True)
class WaiverSummary:
    """One waiver from the organisation policy and what it did in this scan."""

    control_id: str
    owner: str
    reason: str
    expires: str
    days_left: int
    expired: bool
    matched: int = 0
    scope: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True, slots=True)
class PolicyAdjustment:
    """A control disabled or re-rated by the organisation policy, with the reason given."""

    policy_id: str
    control_id: str
    action: Literal["disabled", "severity"]
    detail: str
    reason: str
    source: str


@dataclass(slots=True)
class ScanResult:
    tool_version: str
    model: str | None
    policies: list[PolicyInfo]
    inputs: list[InputSummary]
    # On disk, in report order (scanner.store): a long log can yield millions.
    findings: FindingStore
    controls: list[ControlStats]
    destinations: list[DestinationStats]
    errors: list[ScanError]
    skipped: list[Skipped]  # the first SKIPPED_KEPT
    generated_at: str | None = None
    command: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    fail_on: Severity = Severity.HIGH
    # Problems that did not stop anything (e.g. an invalid inline suppression); exit code unchanged.
    warnings: list[ScanError] = field(default_factory=list)
    baseline: BaselineReport | None = None
    notices: list[str] = field(default_factory=list)
    waivers: list[WaiverSummary] = field(default_factory=list)
    adjustments: list[PolicyAdjustment] = field(default_factory=list)
    # Detection settings in force, for the methodology section of audit reports.
    min_score: float | None = None
    include_responses: bool = False
    # "not assessed" fails the gate too (--fail-on-not-assessed, fail_on_not_assessed: in sovscan.yaml).
    fail_on_not_assessed: bool = False

    def open_findings(self, at_least: Severity | None = None) -> Iterator[Finding]:
        """Open findings (at or above ``at_least``), in report order, read as they are used."""
        return self.findings.select(status="open", at_least=at_least)

    def count_open(self, at_least: Severity | None = None) -> int:
        return self.findings.count(status="open", at_least=at_least)
