"""Shared machinery of the config sources: one AI-relevant setting → one ``Record(kind="config")``.

Every config source (``.env``, YAML/JSON/TOML/INI, compose, Kubernetes, LiteLLM, Terraform,
Python, JS/TS) finds settings and hands them here as ``Found`` values. This module

* resolves ``${VAR}`` / ``${VAR:-default}`` / ``$VAR`` / ``os.environ/NAME`` references from the
  ``.env`` file beside the config (or the nearest one above it); what cannot be resolved is
  reported in the ``unresolved`` attribute and never guessed;
* works out the target a setting sends to (the URL itself, or the regional endpoint a region
  implies, or ``region_hint`` for Azure resources whose host carries no region);
* keeps secrets out of the record: a secret's value becomes a segment for the credential
  recognizers (with the key name spelled out as context) and only a masked preview is kept in
  the attributes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from scanner.catalog import load_catalog
from scanner.models import Location, Record, Segment
from scanner.redact import preview
from scanner.sources._catalog import SettingsCatalog, load_settings_catalog

ROLE = "config_value"
OS_ENVIRON = "os.environ/"
_REF = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-=?+])(?P<default>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)
_URLISH = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://\S+|\[?[A-Za-z0-9.:-]+\]?(?::\d+)?(?:/\S*)?)$")
_ENV_LINE = re.compile(r"^(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)\s*=(?P<rest>.*)$")
# user:password@ in a URL is a credential even in a non-secret setting.
_USERINFO = re.compile(r"(://[^/:@\s]+):[^@/\s]+@")
_WORD_SPLIT = re.compile(r"[/._\-\s#\[\]()'\"]+|(?<=[a-z])(?=[A-Z])")


def catalog() -> SettingsCatalog:
    return load_settings_catalog()


@lru_cache(maxsize=1)
def _endpoints() -> tuple[Any, ...]:
    return tuple(load_catalog().endpoints)


def host_of(value: str) -> str:
    raw = value.strip()
    if "://" not in raw:
        raw = "//" + raw
    from urllib.parse import urlsplit

    try:
        return (urlsplit(raw).hostname or "").lower()
    except ValueError:
        return ""


def known_ai_host(value: str) -> bool:
    """True when the value's host is in the endpoint catalog."""
    host = host_of(value)
    return bool(host) and any(ep.match_host(host) for ep in _endpoints())


def words(text: str) -> set[str]:
    return {w.lower() for w in _WORD_SPLIT.split(text) if w}


def ai_context(path_text: str, cat: SettingsCatalog) -> bool:
    """Does a key path name an AI provider or an LLM?"""
    lowered = path_text.lower()
    parts = words(path_text) | {w for w in re.split(r"[^a-z0-9_]+", lowered) if w}
    return bool(parts & cat.ai_words)


# -- .env parsing ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EnvLine:
    name: str
    value: str
    line: int
    commented: bool
    quoted: bool = False
    unterminated: bool = False


def parse_env_text(text: str, include_commented: bool = True) -> list[EnvLine]:
    """Assignments of a .env file, with exact 1-based line numbers.

    Handles ``export``, single/double quotes (with backslash escapes in double quotes), inline
    ``#`` comments after unquoted values, values with no closing quote (kept, flagged), files
    without a final newline, and commented assignments (``# KEY=value``, flagged ``commented``).
    """
    out: list[EnvLine] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r").strip()
        if not line:
            continue
        commented = False
        if line.startswith("#"):
            if not include_commented:
                continue
            line = line.lstrip("#").strip()
            commented = True
        m = _ENV_LINE.match(line)
        if not m:
            continue
        rest = m.group("rest").lstrip()
        value, quoted, unterminated = _env_value(rest)
        if commented and not value and not rest:
            # "# KEY=" in an example file is a placeholder, still a candidate setting.
            pass
        out.append(EnvLine(m.group("name"), value, number, commented, quoted, unterminated))
    return out


def _env_value(rest: str) -> tuple[str, bool, bool]:
    if rest[:1] in ("'", '"'):
        quote = rest[0]
        i = 1
        chars: list[str] = []
        while i < len(rest):
            c = rest[i]
            if c == "\\" and quote == '"' and i + 1 < len(rest):
                nxt = rest[i + 1]
                chars.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
                i += 2
                continue
            if c == quote:
                return "".join(chars), True, False
            chars.append(c)
            i += 1
        return rest[1:].strip(), True, True
    cut = re.search(r"\s#", rest)
    value = rest[: cut.start()] if cut else rest
    return value.strip(), False, False


def env_beside(path: str, max_up: int = 3) -> tuple[dict[str, str], str | None]:
    """Active assignments of the nearest ``.env`` in the file's folder or up to ``max_up`` above."""
    if path == "-":
        return {}, None
    folder = Path(path).parent
    for _ in range(max_up + 1):
        candidate = folder / ".env"
        if candidate.is_file() and candidate.resolve() != Path(path).resolve():
            try:
                text = candidate.read_text(encoding="utf-8", errors="replace")
            except OSError:
                return {}, None
            return {e.name: e.value for e in parse_env_text(text, include_commented=False)}, str(candidate)
        if folder.parent == folder:
            break
        folder = folder.parent
    return {}, None


@dataclass
class Context:
    """What a source knows about the file it reads: path, environment for references, raw text."""

    path: str
    env: dict[str, str] = field(default_factory=dict)
    env_file: str | None = None
    text: str = ""
    source: str = ""

    def mentions(self, word: str) -> bool:
        return word.lower() in self.text.lower()


def make_context(path: str, text: str, source: str, env: dict[str, str] | None = None) -> Context:
    beside, env_file = env_beside(path)
    if env:
        # Extra variables (e.g. compose env_file) only fill gaps: the .env beside wins.
        beside = {**env, **beside}
    return Context(path=path, env=beside, env_file=env_file, text=text, source=source)


def resolve(value: str, env: dict[str, str]) -> tuple[str | None, list[str], bool]:
    """(resolved value or None, names still unresolved, whether the value held references)."""
    if value.startswith(OS_ENVIRON):
        name = value[len(OS_ENVIRON) :].strip()
        if name in env:
            return env[name], [], True
        return None, [name], True
    unresolved: list[str] = []
    had = False

    def sub(m: re.Match[str]) -> str:
        nonlocal had
        had = True
        name = m.group("name") or m.group("bare")
        op = m.group("op") or ""
        default = m.group("default")
        current = env.get(name)
        if op.startswith(":") and not current:
            current = None
        if current is not None:
            return current
        if op.lstrip(":") in ("-", "=") and default is not None:
            return default
        unresolved.append(name)
        return m.group(0)

    out = _REF.sub(sub, value)
    if unresolved:
        return None, unresolved, had
    return out, [], had


# -- records --------------------------------------------------------------------------------------
@dataclass
class Found:
    """One AI-relevant setting as a source found it."""

    key: str
    value: str | None
    line: int
    pointer: str
    setting: str
    provider: str | None = None
    commented: bool = False
    target: str | None = None
    region_hint: str | None = None
    secret: bool | None = None
    default: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def is_urlish(value: str) -> bool:
    return (
        bool(value)
        and bool(_URLISH.match(value.strip()))
        and ("://" in value or "." in value or ":" in value or value.strip().lower() == "localhost")
    )


def build(found: Found, ctx: Context) -> Record | None:
    """Turn one ``Found`` into a config record (None when there is nothing to report)."""
    cat = catalog()
    raw = (found.value or "").strip()
    if not raw and found.target is None and not found.default and "unresolved" not in found.extra:
        return None
    attrs: dict[str, Any] = {
        "key": found.key,
        "setting": found.setting,
        "provider": found.provider,
        "source": ctx.source,
    }
    if found.commented:
        attrs["commented"] = True
    resolved, unresolved, had_refs = resolve(raw, ctx.env) if raw else (raw, [], False)
    # An endpoint setting is not secret because its name mentions a token ("TOKENIZER_ENDPOINT");
    # only a credential-shaped value makes it one.
    secret = (
        found.secret
        if found.secret is not None
        else (found.setting == "api_key" or raw.startswith(cat.credential_prefixes))
    )
    effective = resolved if resolved is not None else None
    if had_refs:
        attrs["reference"] = raw
        if unresolved:
            attrs["unresolved"] = sorted(set(unresolved))
        elif ctx.env_file:
            attrs["resolved_from"] = ctx.env_file
    segments: list[Segment] = []
    if secret:
        literal = raw and not had_refs
        attrs["value"] = preview(raw, "SECRET") if literal else raw
        if literal:
            # The key name, spelled as words, is context for the recognizers (e.g. "azure ... key").
            label = " ".join(sorted(words(found.key), key=found.key.lower().find))
            segments.append(Segment(found.pointer, ROLE, f"{label}: {raw}"))
        material = f"{found.pointer}\x1fsecret:{len(raw)}"
    else:
        attrs["value"] = _USERINFO.sub(r"\1:****@", effective if effective is not None else raw)
        material = f"{found.pointer}\x1f{hashlib.sha256((effective or raw).encode()).hexdigest()[:16]}"
    attrs["fingerprint"] = hashlib.sha256(material.encode()).hexdigest()[:16]
    target = found.target
    region_hint = found.region_hint
    if target is None and effective and not secret:
        if found.setting in ("base_url", "prompt_logger") and is_urlish(effective):
            target = _USERINFO.sub(r"\1:****@", effective)
        elif found.setting == "region":
            target = cat.region_target(found.provider, effective)
            entry = cat.region_endpoints.get(found.provider or "")
            if entry is not None and entry.hint_only:
                region_hint = effective.strip().lower()
    if found.commented:
        # A commented-out alternative is not where traffic goes; keep the value, drop the target.
        target, region_hint = None, None
    if region_hint:
        attrs["region_hint"] = region_hint
    if found.default:
        attrs["default"] = True
    attrs.update(found.extra)
    return Record(
        location=Location(path=ctx.path, line=found.line, pointer=found.pointer),
        kind="config",
        target=target,
        segments=segments,
        provider=found.provider,
        attributes=attrs,
    )


def build_all(found: Iterable[Found], ctx: Context) -> list[Record]:
    records = [r for r in (build(f, ctx) for f in found) if r is not None]
    records.sort(key=lambda r: (r.location.line or 0, r.location.pointer))
    for i, record in enumerate(records):
        record.location = Location(record.location.path, record.location.line, record.location.pointer, i)
    return records


def env_found(
    name: str, value: str | None, line: int, pointer: str, ctx: Context, commented: bool = False
) -> Found | None:
    """A ``NAME=value`` assignment (from any format) → ``Found`` if the name is a known AI variable
    or its value is an AI-provider credential."""
    cat = catalog()
    info = cat.env_var(name)
    raw = value or ""
    if info is not None:
        if info.requires and not ctx.mentions(info.requires):
            return None
        return Found(name, value, line, pointer, info.setting, info.provider, commented=commented)
    if raw.startswith(cat.credential_prefixes) and cat.secret_key.search(name):
        return Found(name, value, line, pointer, "api_key", None, commented=commented)
    return None


def key_found(key: str, value: str | None, line: int, pointer: str, ctx: Context) -> Found | None:
    """A generic config key (``base_url:``, ``api_key =``…) → ``Found`` if it is an AI setting."""
    cat = catalog()
    env = env_found(key, value, line, pointer, ctx)
    if env is not None:
        return env
    rule = cat.key_rule(key)
    raw = (value or "").strip()
    if rule is not None:
        if rule.requires and not ctx.mentions(rule.requires):
            return None
        if rule.ai_context and not (ai_context(pointer, cat) or (raw and known_ai_host(raw))):
            return None
        if (
            rule.setting in ("base_url", "prompt_logger")
            and raw
            and not (is_urlish(raw) or raw.startswith(OS_ENVIRON) or "$" in raw)
        ):
            return None
        return Found(key, value, line, pointer, rule.setting, rule.provider)
    if raw.startswith(cat.credential_prefixes) and len(raw) >= 16:
        return Found(key, value, line, pointer, "api_key", None)
    return None
