"""Where a scan's findings live between the engine and the reporters: a private temporary SQLite
database, so that memory stays flat however many findings a log yields.

A chat log that resends personal data on every turn yields a finding on most requests: months of
traffic mean millions of findings, far more than should sit in memory until the reports are written.
``FindingStore`` keeps them on disk (SQLite's private temporary database: created empty, unlinked at
once, gone when the store is closed or collected; pages stay in a 2 MB cache and only reach the
disk past that). What is written is what the JSON report says of a finding — masked previews and
keyed hashes, never a raw value.

Reads come back in the report order (severity, policy, control, path, line, pointer, fingerprint,
then the order found), sorted by SQLite with its own bounded memory. Counts and filters are queries,
so a reporter makes one streaming pass, and the exit code never loads a finding.

Each finding is stored as a ``marshal``-ed tuple. The strings and values that findings repeat
(titles, messages, remediation, references, destinations) are stored once in memory and referred
to by number; that table is capped, and past the cap they are written inline.
"""

from __future__ import annotations

import marshal
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from scanner.models import (
    ControlStats,
    Counts,
    Destination,
    Detection,
    Finding,
    FindingStatus,
    Location,
    Reference,
    Severity,
)

_SHARED_MAX = 20_000
_FETCH = 512
_SEVERITIES = {s.rank: s for s in Severity}
_ORDER = "sev DESC, policy, control, path, line, pointer, fp, seq"

Tally = dict[tuple[str, str, str, Severity], int]


def _b(text: str) -> bytes:
    # UTF-8 bytes sort as code points do, so SQLite's memcmp order is Python's string order;
    # surrogatepass keeps undecodable file names (surrogate escapes) storable and in order.
    return text.encode("utf-8", "surrogatepass")


def _s(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


class FindingStore:
    """A scan's findings, on disk, read back in report order.

    Behaves as a read-only sequence for reporters (``len``, iteration, indexing) and adds what they
    need without loading everything: ``select`` (filtered iteration), ``count`` and ``tally``.
    Findings read back are copies: change a status with ``mark``.
    """

    def __init__(self, findings: Iterable[Finding] = ()) -> None:
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", "cache_size=-2048"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute(
            "CREATE TABLE f (seq INTEGER PRIMARY KEY, sev INTEGER, policy BLOB, control BLOB, path BLOB,"
            " line INTEGER, pointer BLOB, fp BLOB, status TEXT, reason BLOB, req BLOB, ts TEXT, host BLOB,"
            " data BLOB)"
        )
        # One row per distinct (value, category) of a finding's evidence, for the distinct counts.
        self._db.execute("CREATE TABLE d (seq INTEGER, vh BLOB, cat BLOB)")
        self._len = 0
        self._indexed = False
        # ``counts`` answers, until findings are added or their statuses change.
        self._counts: dict[tuple[str | None, str], tuple[Counts, dict[tuple[str, str], Counts]]] = {}
        self._shared: list[Any] = []
        self._ids: dict[Any, int] = {}
        self.add(findings)

    # -- writing ----------------------------------------------------------------------------------
    def add(self, findings: Iterable[Finding]) -> None:
        batch = list(findings)
        if not batch:
            return
        rows = [
            (
                self._len + i + 1,
                f.severity.rank,
                _b(f.policy_id),
                _b(f.control_id),
                _b(f.location.path),
                f.location.line or 0,
                _b(f.location.pointer),
                _b(f.fingerprint),
                f.status,
                None if f.status_reason is None else _b(f.status_reason),
                _b(f"{f.location.path}\0{f.location.line}\0{f.location.record}\0{f.location.pointer}"),
                f.timestamp,
                _b(f.destination.host) if f.destination is not None else b"",
                marshal.dumps(self._encode(f)),
            )
            for i, f in enumerate(batch)
        ]
        evidence = [
            (self._len + i + 1, _b(vh), _b(cat))
            for i, f in enumerate(batch)
            for vh, cat in {(d.value_hash, d.category) for d in f.detections if d.value_hash}
        ]
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT INTO f (seq, sev, policy, control, path, line, pointer, fp, status, reason, req, ts,"
            " host, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        self._db.executemany("INSERT INTO d (seq, vh, cat) VALUES (?, ?, ?)", evidence)
        self._db.execute("COMMIT")
        self._len += len(rows)
        self._counts.clear()

    def mark(self, fingerprints: Iterable[str], status: FindingStatus, reason: str) -> set[str]:
        """Set ``status`` on the open findings whose fingerprint is in ``fingerprints``; returns the
        fingerprints that any finding (open or not) has."""
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS marks (fp BLOB PRIMARY KEY)")
        self._db.execute("BEGIN")
        self._db.execute("DELETE FROM marks")
        self._db.executemany("INSERT OR IGNORE INTO marks VALUES (?)", ((_b(fp),) for fp in fingerprints))
        matched = {
            _s(fp)
            for (fp,) in self._db.execute("SELECT DISTINCT fp FROM f WHERE fp IN (SELECT fp FROM marks)")
        }
        self._db.execute(
            "UPDATE f SET status = ?, reason = ? WHERE status = 'open' AND fp IN (SELECT fp FROM marks)",
            (status, _b(reason)),
        )
        self._db.execute("DELETE FROM marks")
        self._db.execute("COMMIT")
        self._counts.clear()
        return matched

    def in_order_found(self) -> Iterator[Finding]:
        """Every finding in the order it was added (not report order)."""
        return self._rows("SELECT status, reason, data FROM f ORDER BY seq", ())

    def close(self) -> None:
        self._db.close()

    # -- reading ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def __iter__(self) -> Iterator[Finding]:
        return self.select()

    def __getitem__(self, index: int) -> Finding:
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("finding index out of range")
        return next(self.select(offset=index, limit=1))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FindingStore | list):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (FindingStore, (list(self),))

    def __repr__(self) -> str:
        return f"FindingStore({self._len} findings)"

    def select(
        self,
        *,
        status: str | None = None,
        at_least: Severity | None = None,
        severity: Severity | None = None,
        control: tuple[str, str] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> Iterator[Finding]:
        """Findings in report order, optionally only those with ``status``, of severity ``at_least``
        or exactly ``severity``, or of ``control`` (policy id, control id)."""
        where, params = self._where(status, at_least, control, severity)
        page = " LIMIT ? OFFSET ?" if limit is not None or offset else ""
        if page:
            params += (-1 if limit is None else limit, offset)
        self._index()
        # The query is built from fixed fragments only; every value is a bound parameter.
        sql = f"SELECT status, reason, data FROM f{where} ORDER BY {_ORDER}{page}"  # noqa: S608
        return self._rows(sql, params)

    def count(
        self, *, status: str | None = None, at_least: Severity | None = None, severity: Severity | None = None
    ) -> int:
        if status is None and at_least is None and severity is None:
            return self._len
        where, params = self._where(status, at_least, None, severity)
        (n,) = self._db.execute(f"SELECT count(*) FROM f{where}", params).fetchone()  # noqa: S608
        return int(n)

    def controls(self) -> list[tuple[str, str]]:
        """The (policy id, control id) pairs with findings, in the order their first finding has in
        the report."""
        first: dict[tuple[str, str], int] = {}
        for (policy, control, _, severity), _n in self.tally().items():
            first[policy, control] = max(first.get((policy, control), -1), severity.rank)
        return sorted(first, key=lambda k: (-first[k], k))

    def tally(self) -> Tally:
        """How many findings per (policy id, control id, status, severity)."""
        rows = self._db.execute("SELECT policy, control, status, sev, count(*) FROM f GROUP BY 1, 2, 3, 4")
        return {(_s(p), _s(c), s, _SEVERITIES[sev]): n for p, c, s, sev, n in rows}

    def counts(
        self, status: str | None = "open", by: str = "control"
    ) -> tuple[Counts, dict[tuple[str, str], Counts]]:
        """Distinct counts (``Counts``) of the findings with ``status`` (None: all), overall and per
        (policy id, control id), or with ``by="policy"`` per (policy id, ""). Each reporter asks;
        the queries run once per state of the findings."""
        cached = self._counts.get((status, by))
        if cached is None:
            cached = self._counts[status, by] = self._count(status, by)
        return cached

    def _count(self, status: str | None, by: str) -> tuple[Counts, dict[tuple[str, str], Counts]]:
        where = "" if status is None else " WHERE f.status = ?"
        params: tuple[Any, ...] = () if status is None else (status,)
        keys = "f.policy, f.control" if by == "control" else "f.policy, x''"
        # Fixed fragments only; every value is a bound parameter.
        base = "SELECT {g}count(*), count(DISTINCT req), min(ts), max(ts) FROM f{w}{group}"
        spread = (
            "SELECT {g}count(DISTINCT d.vh),"
            " count(DISTINCT CASE WHEN f.host != x'' THEN d.cat || x'00' || f.host END)"
            " FROM d JOIN f ON f.seq = d.seq{w}{group}"
        )
        per: dict[tuple[str, str], list[Any]] = {}
        grouped = {"g": f"{keys}, ", "w": where, "group": " GROUP BY 1, 2"}
        for p, c, n, req, first, last in self._db.execute(base.format(**grouped), params):
            per[_s(p), _s(c)] = [n, req, 0, 0, first, last]
        for p, c, values, flows in self._db.execute(spread.format(**grouped), params):
            row = per.get((_s(p), _s(c)))
            if row is not None:
                row[2], row[3] = values, flows
        overall = {"g": "", "w": where, "group": ""}
        n, req, first, last = self._db.execute(base.format(**overall), params).fetchone()
        values, flows = self._db.execute(spread.format(**overall), params).fetchone()
        total = Counts(n, req, values or 0, flows or 0, first, last)
        return total, {k: Counts(*r) for k, r in per.items()}

    @staticmethod
    def _where(
        status: str | None,
        at_least: Severity | None,
        control: tuple[str, str] | None,
        severity: Severity | None = None,
    ) -> tuple[str, tuple[Any, ...]]:
        terms: list[str] = []
        params: list[Any] = []
        if status is not None:
            terms.append("status = ?")
            params.append(status)
        if at_least is not None:
            terms.append("sev >= ?")
            params.append(at_least.rank)
        if severity is not None:
            terms.append("sev = ?")
            params.append(severity.rank)
        if control is not None:
            terms.append("policy = ? AND control = ?")
            params += (_b(control[0]), _b(control[1]))
        return (" WHERE " + " AND ".join(terms) if terms else ""), tuple(params)

    def _index(self) -> None:
        # Built at the first ordered read, after the bulk of the inserts (cheaper than keeping it
        # up to date row by row); later inserts keep it current.
        if not self._indexed:
            self._db.execute(f"CREATE INDEX report_order ON f ({_ORDER})")
            # One control's findings, in report order (severity is the control's own).
            self._db.execute(f"CREATE INDEX control_order ON f (policy, control, {_ORDER})")
            self._indexed = True

    def _rows(self, sql: str, params: tuple[Any, ...]) -> Iterator[Finding]:
        cursor = self._db.execute(sql, params)
        while batch := cursor.fetchmany(_FETCH):
            for status, reason, data in batch:
                # Only this store writes its private temporary database.
                row = marshal.loads(data)  # noqa: S302
                yield self._decode(row, status, None if reason is None else _s(reason))

    # -- encoding ---------------------------------------------------------------------------------
    def _share(self, value: Any) -> Any:
        """A number standing for ``value`` in the shared table, or the value itself past its cap."""
        key = (type(value), value)
        found = self._ids.get(key)
        if found is not None:
            return found
        if len(self._shared) >= _SHARED_MAX:
            return value if not isinstance(value, Destination) else _dest_tuple(value)
        self._ids[key] = len(self._shared)
        self._shared.append(value)
        return len(self._shared) - 1

    def _shared_value(self, ref: Any) -> Any:
        return self._shared[ref] if type(ref) is int else ref

    def _encode(self, f: Finding) -> tuple[Any, ...]:
        loc = f.location
        return (
            f.control_id,
            f.policy_id,
            f.severity.rank,
            self._share(f.title),
            self._share(f.message),
            (loc.path, loc.line, loc.pointer, loc.record, loc.start_line),
            None if f.destination is None else self._share(f.destination),
            [
                (
                    d.detector,
                    d.entity,
                    d.category,
                    d.pointer,
                    d.start,
                    d.end,
                    d.score,
                    d.value_hash,
                    d.preview,
                )
                for d in f.detections
            ],
            f.fingerprint,
            self._share(tuple((r.citation, r.url) for r in f.references)),
            self._share(f.remediation),
            f.timestamp,
            f.app,
        )

    def _decode(self, row: tuple[Any, ...], status: FindingStatus, reason: str | None) -> Finding:
        control_id, policy_id, sev, title, message, loc, dest, dets, fp, refs, remediation, ts, app = row
        destination = None if dest is None else self._shared_value(dest)
        if isinstance(destination, tuple):
            destination = Destination(*destination)
        return Finding(
            control_id=control_id,
            policy_id=policy_id,
            severity=_SEVERITIES[sev],
            title=self._shared_value(title),
            message=self._shared_value(message),
            location=Location(*loc),
            destination=destination,
            detections=[Detection(*d) for d in dets],
            fingerprint=fp,
            references=[Reference(c, u) for c, u in self._shared_value(refs)],
            remediation=self._shared_value(remediation),
            status=status,
            status_reason=reason,
            timestamp=ts,
            app=app,
        )


def count_statuses(findings: FindingStore, controls: Iterable[ControlStats]) -> None:
    """Set each control's waived, suppressed and baselined counts from the findings themselves."""
    counts: dict[tuple[str, str, str], int] = {}
    for (policy, control, status, _), n in findings.tally().items():
        counts[policy, control, status] = counts.get((policy, control, status), 0) + n
    for c in controls:
        c.waived = counts.get((c.policy_id, c.control_id, "waived"), 0)
        c.suppressed = counts.get((c.policy_id, c.control_id, "suppressed"), 0)
        c.baselined = counts.get((c.policy_id, c.control_id, "baselined"), 0)


def _detection_tuple(d: Detection) -> tuple[Any, ...]:
    return (d.detector, d.entity, d.category, d.pointer, d.start, d.end, d.score, d.value_hash, d.preview)


def _dest_tuple(d: Destination) -> tuple[Any, ...]:
    return (
        d.host,
        d.provider,
        d.service,
        d.region,
        d.country,
        d.jurisdictions,
        d.hosting,
        d.scheme,
        d.storage_jurisdictions,
        d.endpoint_id,
        d.notes,
    )
