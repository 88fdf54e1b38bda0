"""Organisation policy: the file a risk team writes to adopt and tune packs (``sovscan.yaml``).

It sits between the packs and the engine: ``load_org_policy`` reads the file (and the organisation
file it extends, if any), ``build_policy_set`` turns packs + organisation policy into what the
engine evaluates (parameters substituted, severities overridden, disabled controls removed, the
approved register) and what the pipeline applies afterwards (waivers, with expiry against an
injected clock).

Tighten-only rule: a file that ``extends:`` another *organisation* file (typically a repository's
file extending the organisation's) may only make it stricter:

* list parameters (allow-lists such as ``allowed_jurisdictions``) may only shrink (groups are
  expanded, so ``[DE]`` narrows ``[EEA]``); other parameters may not change;
* severities may only be raised; controls may not be disabled; ``internal_hosts`` may not grow;
  the approved ``register`` may not be added to;
* waivers may be added only when the parent sets ``allow_repository_waivers: true``, and that
  switch cannot be turned on by the child;
* ``fail_on_not_assessed`` may be turned on, never off;
* packs may be added, never removed (the parent's ``extends`` are inherited).

Any attempt to loosen is a ``PolicyError`` naming the file, the line and the field.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from scanner.errors import PolicyError
from scanner.models import Finding, PolicyAdjustment, Severity, WaiverSummary
from scanner.policy import (
    LoadedPolicy,
    Register,
    RegisterEntry,
    _Strict,
    load_policies,
    shipped_packs,
)
from scanner.yamllines import FieldPath, Lines, describe_validation_error, load_with_lines, where

CONFIG_NAMES = ("sovscan.yaml", "sovscan.yml")
EXPIRY_WARNING_DAYS = 14


class WaiverScope(_Strict):
    """Globs; every list given must match (a host, a scanned file path, an app name)."""

    hosts: list[str] = Field(default_factory=list)
    paths: list[str] = Field(default_factory=list)
    apps: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_everything(self) -> WaiverScope:
        if not (self.hosts or self.paths or self.apps):
            raise ValueError("a waiver scope needs hosts, paths or apps (use disable: to turn a control off)")
        return self


class Waiver(_Strict):
    control: str
    scope: WaiverScope
    reason: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    expires: date


class Disable(_Strict):
    control: str
    reason: str = Field(min_length=1)


class Override(_Strict):
    control: str
    severity: Severity
    reason: str = Field(min_length=1)


class OrgPolicyFile(_Strict):
    """The organisation policy file (``sovscan.yaml`` or ``[tool.sovscan]`` in pyproject.toml)."""

    extends: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    internal_hosts: list[str] = Field(default_factory=list)
    # "register" would shadow a BaseModel attribute; the YAML key is still ``register``.
    approved: list[RegisterEntry] = Field(default_factory=list, alias="register")
    overrides: list[Override] = Field(default_factory=list)
    disable: list[Disable] = Field(default_factory=list)
    waivers: list[Waiver] = Field(default_factory=list)
    allow_repository_waivers: bool = False
    # A selected pack that could not be assessed fails the gate (as --fail-on-not-assessed).
    fail_on_not_assessed: bool | None = None

    @field_validator("extends")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        if any(not v.strip() for v in value):
            raise ValueError("extends entries are pack ids or file paths")
        return value


@dataclass
class Sourced:
    """An item of the organisation policy with where it was written (``file:line``)."""

    item: Any
    where: str


@dataclass
class OrgPolicy:
    """An organisation file merged with the organisation file it extends (parent first)."""

    files: list[str] = field(default_factory=list)
    packs: list[str] = field(default_factory=list)
    pack_files: list[Path] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    parameter_sources: dict[str, str] = field(default_factory=dict)
    internal_hosts: list[str] = field(default_factory=list)
    register: list[RegisterEntry] = field(default_factory=list)
    register_sources: list[str] = field(default_factory=list)
    overrides: list[Sourced] = field(default_factory=list)
    disabled: list[Sourced] = field(default_factory=list)
    waivers: list[Sourced] = field(default_factory=list)
    allow_repository_waivers: bool = False
    fail_on_not_assessed: bool = False


def find_config(cwd: Path) -> Path | None:
    """``sovscan.yaml`` in ``cwd``, else ``pyproject.toml`` when it has a ``[tool.sovscan]`` table."""
    for name in CONFIG_NAMES:
        if (cwd / name).is_file():
            return cwd / name
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None
        if isinstance(data.get("tool"), dict) and "sovscan" in data["tool"]:
            return pyproject
    return None


def is_org_file(path: Path) -> bool:
    """True for an organisation policy file, False for a policy pack (which has ``controls``)."""
    if path.suffix == ".toml":
        return True
    raw, _ = load_with_lines(path)
    return not (isinstance(raw, dict) and "controls" in raw)


def _read(path: Path) -> tuple[Any, Lines]:
    if path.suffix == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise PolicyError(f"{path}: cannot read: {exc.strerror}") from None
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise PolicyError(f"{path}: invalid TOML: {exc}") from None
        tool = data.get("tool")
        if not isinstance(tool, dict) or not isinstance(tool.get("sovscan"), dict):
            raise PolicyError(f"{path}: no [tool.sovscan] table")
        return tool["sovscan"], {}
    return load_with_lines(path)


def load_org_policy(path: Path) -> OrgPolicy:
    """Read an organisation file and the organisation file it extends; enforce tighten-only."""
    return _load(path.resolve(), (), display=path)


def _load(path: Path, chain: tuple[Path, ...], display: Path) -> OrgPolicy:
    if path in chain:
        raise PolicyError(f"{display}: field extends: circular extends ({' → '.join(map(str, chain))})")
    raw, lines = _read(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PolicyError(f"{display}: an organisation policy is a YAML mapping")
    try:
        model = OrgPolicyFile.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(describe_validation_error(display, exc, lines)) from None

    def at(*field_path: str | int) -> str:
        return where(display, lines, tuple(field_path))

    shipped = shipped_packs()
    packs: list[str] = []
    pack_files: list[Path] = []
    parent_path: Path | None = None
    for i, ref in enumerate(model.extends):
        if ref in shipped:
            packs.append(ref)
            continue
        candidate = (path.parent / ref).resolve()
        if "/" not in ref and not ref.endswith((".yaml", ".yml", ".toml")) and not candidate.exists():
            raise PolicyError(
                f"{at('extends', i)}: field extends[{i}]: unknown policy pack {ref!r}; "
                f"shipped packs: {', '.join(shipped)}"
            )
        if not candidate.is_file():
            raise PolicyError(f"{at('extends', i)}: field extends[{i}]: no such file {ref!r}")
        if is_org_file(candidate):
            if parent_path is not None:
                raise PolicyError(
                    f"{at('extends', i)}: field extends[{i}]: only one organisation file can be extended"
                )
            parent_path = candidate
        else:
            pack_files.append(candidate)

    base = OrgPolicy()
    if parent_path is not None:
        base = _load(parent_path, (*chain, path), display=parent_path)
        _check_tighten(base, model, display, lines)
    merged = OrgPolicy(
        files=[*base.files, str(display)],
        packs=_unique([*base.packs, *packs]),
        pack_files=_unique([*base.pack_files, *pack_files]),
        parameters={**base.parameters, **model.parameters},
        parameter_sources={
            **base.parameter_sources,
            **{k: at("parameters", k) for k in model.parameters},
        },
        internal_hosts=_unique([*base.internal_hosts, *model.internal_hosts]),
        register=[*base.register, *model.approved],
        register_sources=[*base.register_sources, *(at("register", i) for i in range(len(model.approved)))],
        overrides=[
            *base.overrides,
            *(Sourced(o, at("overrides", i, "control")) for i, o in enumerate(model.overrides)),
        ],
        disabled=[
            *base.disabled,
            *(Sourced(d, at("disable", i, "control")) for i, d in enumerate(model.disable)),
        ],
        waivers=[
            *base.waivers,
            *(Sourced(w, at("waivers", i, "control")) for i, w in enumerate(model.waivers)),
        ],
        allow_repository_waivers=base.allow_repository_waivers or model.allow_repository_waivers,
        fail_on_not_assessed=base.fail_on_not_assessed or bool(model.fail_on_not_assessed),
    )
    return merged


def _unique(items: list[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def _check_tighten(parent: OrgPolicy, child: OrgPolicyFile, file: Path, lines: Lines) -> None:
    """Raise when ``child`` would loosen ``parent`` (see the module docstring)."""
    from scanner.catalog import load_catalog

    def fail(field_path: FieldPath, message: str) -> PolicyError:
        from scanner.yamllines import field_name

        return PolicyError(
            f"{where(file, lines, field_path)}: field {field_name(field_path)}: {message} "
            f"(a file extending {parent.files[-1]} may only tighten it)"
        )

    if child.allow_repository_waivers and not parent.allow_repository_waivers:
        raise fail(("allow_repository_waivers",), "cannot allow waivers its parent does not allow")
    if child.fail_on_not_assessed is False and parent.fail_on_not_assessed:
        raise fail(("fail_on_not_assessed",), "cannot stop failing on packs not assessed (its parent does)")
    if child.disable:
        raise fail(("disable", 0), "cannot disable controls")
    if child.approved:
        raise fail(("register", 0), "cannot add approved providers to the register")
    for i, host in enumerate(child.internal_hosts):
        if host not in parent.internal_hosts:
            raise fail(("internal_hosts", i), f"cannot add internal host {host!r}")
    if child.waivers and not parent.allow_repository_waivers:
        raise fail(("waivers", 0), "cannot grant waivers (the parent does not set allow_repository_waivers)")

    packs = (
        load_policies(parent.packs, parent.pack_files, parent.parameters)
        if (parent.packs or parent.pack_files)
        else load_policies(None, None, parent.parameters)
    )
    defaults: dict[str, Any] = {}
    severity: dict[str, Severity] = {}
    for lp in packs:
        for name, value in lp.pack.parameters.items():
            defaults.setdefault(name, value)
        for c in lp.pack.controls:
            for cid in (c.id, *c.aliases):
                severity[cid] = c.severity
    for src in parent.overrides:
        severity[src.item.control] = src.item.severity
    catalog = load_catalog()
    for name, value in child.parameters.items():
        current = parent.parameters.get(name, defaults.get(name))
        if current is None:
            continue
        if isinstance(value, list) and isinstance(current, list):
            wide = catalog.expand([str(v) for v in current])
            narrow = catalog.expand([str(v) for v in value])
            if not ("GLOBAL" in wide or "*" in wide or narrow <= wide):
                extra = ", ".join(sorted(narrow - wide))
                raise fail(("parameters", name), f"widens {name} with {extra}")
        elif value != current:
            raise fail(("parameters", name), f"changes {name} (from {current!r})")
    for i, o in enumerate(child.overrides):
        before = severity.get(o.control)
        if before is not None and o.severity < before:
            raise fail(
                ("overrides", i, "severity"),
                f"lowers {o.control} from {before.value} to {o.severity.value}",
            )


# -- the effective policy set --------------------------------------------------------------------


@dataclass
class ActiveWaiver:
    waiver: Waiver
    control_id: str
    policy_id: str
    where: str
    expired: bool
    days_left: int
    matched: int = 0

    def covers(self, finding: Finding) -> bool:
        if finding.control_id != self.control_id or finding.policy_id != self.policy_id:
            return False
        scope = self.waiver.scope
        if scope.hosts:
            host = finding.destination.host if finding.destination else ""
            host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
            if not host or not any(fnmatch.fnmatchcase(host, h.lower()) for h in scope.hosts):
                return False
        if scope.paths:
            path = finding.location.path
            if not any(_path_matches(path, p) for p in scope.paths):
                return False
        return not (
            scope.apps
            and (finding.app is None or not any(fnmatch.fnmatchcase(finding.app, a) for a in scope.apps))
        )


def _path_matches(path: str, pattern: str) -> bool:
    posix = path.replace("\\", "/")
    return fnmatch.fnmatchcase(posix, pattern) or PurePosixPath(posix).match(pattern)


@dataclass
class PolicySet:
    """What one scan evaluates (policies, register) and applies afterwards (waivers)."""

    policies: list[LoadedPolicy]
    register: Register = field(default_factory=Register)
    internal_hosts: tuple[str, ...] = ()
    waivers: list[ActiveWaiver] = field(default_factory=list)
    adjustments: list[PolicyAdjustment] = field(default_factory=list)
    today: date = field(default_factory=date.today)
    fail_on_not_assessed: bool = False

    def apply(self, findings: list[Finding]) -> list[Finding]:
        """Mark findings covered by a live waiver as waived; count what expired waivers would cover."""
        if not self.waivers:
            return findings
        for f in findings:
            if f.status != "open":
                continue
            for w in self.waivers:
                if not w.covers(f):
                    continue
                w.matched += 1
                if w.expired:
                    continue
                f.status = "waived"
                until, owner = w.waiver.expires.isoformat(), w.waiver.owner
                f.status_reason = f"waived until {until} (owner: {owner}): {w.waiver.reason}"
                break
        return findings

    def notices(self) -> list[str]:
        out = []
        for w in self.waivers:
            cid, owner, expires = w.control_id, w.waiver.owner, w.waiver.expires.isoformat()
            if w.expired:
                out.append(
                    f"{w.where}: waiver for {cid} (owner: {owner}) expired on {expires} and no longer "
                    f"applies; {w.matched} finding(s) it covered are reported open"
                )
            elif w.matched == 0:
                out.append(f"{w.where}: waiver for {cid} (owner: {owner}) matched no findings")
            elif w.days_left <= EXPIRY_WARNING_DAYS:
                out.append(
                    f"{w.where}: waiver for {cid} (owner: {owner}) expires on {expires} "
                    f"({w.days_left} day(s) left)"
                )
        return out

    def summaries(self) -> list[WaiverSummary]:
        return [
            WaiverSummary(
                control_id=w.control_id,
                owner=w.waiver.owner,
                reason=w.waiver.reason,
                expires=w.waiver.expires.isoformat(),
                days_left=w.days_left,
                expired=w.expired,
                matched=w.matched,
                scope={
                    k: list(v)
                    for k, v in (
                        ("hosts", w.waiver.scope.hosts),
                        ("paths", w.waiver.scope.paths),
                        ("apps", w.waiver.scope.apps),
                    )
                    if v
                },
                source=w.where,
            )
            for w in self.waivers
        ]


def build_policy_set(
    ids: list[str] | None = None,
    files: list[Path] | None = None,
    org: OrgPolicy | None = None,
    today: date | None = None,
) -> PolicySet:
    """Packs (the organisation's ``extends`` plus ``ids``/``files``) tuned by the organisation policy."""
    today = today or date.today()
    org = org or OrgPolicy()
    wanted = _unique([*org.packs, *(ids or [])])
    wanted_files = _unique([*org.pack_files, *(files or [])])
    loaded = load_policies(wanted or None, wanted_files or None, org.parameters)

    # Declared = spelled out in a pack file (the loaded packs already carry the organisation's values).
    declared = {k[1] for lp in loaded for k in lp.lines if len(k) == 2 and k[0] == "parameters"}
    for name in org.parameters:
        if name not in declared:
            at = org.parameter_sources.get(name, org.files[-1] if org.files else "organisation policy")
            raise PolicyError(
                f"{at}: field parameters.{name}: no loaded pack declares this parameter "
                f"(declared: {', '.join(sorted(map(str, declared))) or 'none'})"
            )

    index: dict[str, tuple[int, str]] = {}
    for n, lp in enumerate(loaded):
        for c in lp.pack.controls:
            for cid in (c.id, *c.aliases):
                index[cid] = (n, c.id)

    def resolve(src: Sourced, kind: str) -> tuple[int, str]:
        cid = src.item.control
        if cid not in index:
            raise PolicyError(
                f"{src.where}: field {kind}.control: unknown control {cid!r} "
                f"(not in the loaded packs: {', '.join(lp.pack.id for lp in loaded)})"
            )
        return index[cid]

    severities: dict[tuple[int, str], tuple[Severity, str, str]] = {}
    adjustments: list[PolicyAdjustment] = []
    for src in org.overrides:
        n, cid = resolve(src, "overrides")
        severities[(n, cid)] = (src.item.severity, src.item.reason, src.where)
    disabled: dict[tuple[int, str], tuple[str, str]] = {}
    for src in org.disabled:
        n, cid = resolve(src, "disable")
        disabled[(n, cid)] = (src.item.reason, src.where)

    policies: list[LoadedPolicy] = []
    for n, lp in enumerate(loaded):
        controls = []
        for c in lp.pack.controls:
            if (n, c.id) in disabled:
                reason, src_where = disabled[(n, c.id)]
                adjustments.append(
                    PolicyAdjustment(lp.pack.id, c.id, "disabled", "control not evaluated", reason, src_where)
                )
                continue
            if (n, c.id) in severities:
                sev, reason, src_where = severities[(n, c.id)]
                if sev != c.severity:
                    adjustments.append(
                        PolicyAdjustment(
                            lp.pack.id,
                            c.id,
                            "severity",
                            f"{c.severity.value} → {sev.value}",
                            reason,
                            src_where,
                        )
                    )
                    c = c.model_copy(update={"severity": sev})
            controls.append(c)
        pack = lp.pack.model_copy(update={"controls": controls})
        policies.append(LoadedPolicy(pack=pack, info=lp.info, lines=lp.lines))

    waivers = []
    for src in org.waivers:
        n, cid = resolve(src, "waivers")
        w: Waiver = src.item
        days_left = (w.expires - today).days
        waivers.append(
            ActiveWaiver(
                waiver=w,
                control_id=cid,
                policy_id=loaded[n].pack.id,
                where=src.where,
                expired=days_left < 0,
                days_left=days_left,
            )
        )
    return PolicySet(
        policies=policies,
        register=Register(list(org.register)),
        internal_hosts=tuple(org.internal_hosts),
        waivers=waivers,
        adjustments=adjustments,
        today=today,
        fail_on_not_assessed=org.fail_on_not_assessed,
    )
