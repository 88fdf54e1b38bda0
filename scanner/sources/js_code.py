"""JavaScript / TypeScript source: AI SDK clients and the settings passed to them.

A careful lexical reader rather than a full parser (no JS parser is a dependency): comments are
blanked first (string-aware, offsets kept so lines stay exact), then ``new OpenAI({...})``,
``createAzure({...})``, ``new BedrockRuntimeClient({ region })``, ``new ChatOpenAI({
configuration: { baseURL } })`` … are matched against rules/config_settings.yaml ``clients`` and
their object-literal properties read: string and template literals, ``process.env.X`` (with
``??`` / ``||`` defaults), and ``const NAME = …`` constants. ``responses.create({...})`` without
``store: false`` is provider-side storage; other ``process.env`` reads of well-known AI
variables are settings too.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from scanner.models import Record, Skipped
from scanner.sources._catalog import ClientRule
from scanner.sources._settings import Context, Found, build_all, catalog, env_found, make_context
from scanner.sources._text import read_text
from scanner.sources.python_code import call_matches

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "javascript"
KIND = "config"
PATTERNS = ("*.js", "*.mjs", "*.cjs", "*.jsx", "*.ts", "*.mts", "*.cts", "*.tsx")
_CALL = re.compile(
    r"(?<![\w$.])(?:new\s+)?((?:[A-Za-z_$][\w$]*\s*\.\s*)*[A-Za-z_$][\w$]*)\s*(?:<[^<>()]*>)?\s*\("
)
_ENV = re.compile(
    r"(?:process\.env|import\.meta\.env)(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*[\"']([^\"']+)[\"']\s*\])"
)
_STRING = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`", re.S)
_UNRESOLVABLE = "\x00"


def sniff(head: bytes, name: str) -> bool:
    return PurePosixPath(name.replace("\\", "/")).name.lower().endswith(tuple(p[1:] for p in PATTERNS))


def blank_comments(text: str) -> str:
    """Replace // and /* */ comments with spaces (newlines kept), leaving string literals alone."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'`":
            j = i + 1
            while j < n and text[j] != c:
                if text[j] == "\\":
                    j += 1
                elif text[j] == "\n" and c != "`":
                    break
                j += 1
            i = j + 1
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
            continue
        i += 1
    return "".join(out)


def _balanced(text: str, start: int) -> int:
    """Index just past the bracket group opening at ``start`` (string-aware)."""
    depth = 0
    i = start
    while i < len(text):
        c = text[i]
        if c in "\"'`":
            m = _STRING.match(text, i)
            i = m.end() if m else i + 1
            continue
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


class _Scanner:
    def __init__(self, text: str, ctx: Context) -> None:
        self.text = blank_comments(text)
        self.ctx = ctx
        self.newlines = [m.start() for m in re.finditer("\n", self.text)]
        self.consumed: set[int] = set()

    def line(self, pos: int) -> int:
        return bisect_right(self.newlines, pos - 1) + 1

    def constant(self, name: str, depth: int) -> str:
        m = re.search(r"(?:const|let|var)\s+" + re.escape(name) + r"\s*(?::\s*[\w<>|\s]+)?=\s*", self.text)
        if not m:
            return _UNRESOLVABLE
        return self.value_at(m.end(), depth + 1)[0]

    def value_at(self, pos: int, depth: int = 0) -> tuple[str, int]:
        """The expression at ``pos`` as a string with ${VAR} references, and where it ends."""
        if depth > 8:
            return _UNRESOLVABLE, pos
        while pos < len(self.text) and self.text[pos] in " \t\r\n":
            pos += 1
        first, end = self._primary(pos, depth)
        rest = re.match(r"\s*(\?\?|\|\|)\s*", self.text[end:])
        if rest:
            second, end2 = self._primary(end + rest.end(), depth)
            if (
                first.startswith("${")
                and first.endswith("}")
                and ":-" not in first
                and second != _UNRESOLVABLE
            ):
                return f"{first[:-1]}:-{second}}}", end2
            return first, end2
        return first, end

    def _primary(self, pos: int, depth: int) -> tuple[str, int]:
        m = _STRING.match(self.text, pos)
        if m:
            body = m.group(0)[1:-1]
            if m.group(0)[0] == "`":
                parts = []
                last = 0
                for sub in re.finditer(r"\$\{([^}]*)\}", body):
                    parts.append(body[last : sub.start()])
                    inner = sub.group(1).strip()
                    env = _ENV.fullmatch(inner)
                    if env:
                        parts.append(f"${{{env.group(1) or env.group(2)}}}")
                    elif re.fullmatch(r"[A-Za-z_$][\w$]*", inner):
                        parts.append(self.constant(inner, depth))
                    else:
                        parts.append(_UNRESOLVABLE)
                    last = sub.end()
                parts.append(body[last:])
                joined = "".join(parts)
                return (_UNRESOLVABLE if _UNRESOLVABLE in joined else joined), m.end()
            return body, m.end()
        m = _ENV.match(self.text, pos)
        if m:
            self.consumed.add(pos)
            return f"${{{m.group(1) or m.group(2)}}}", m.end()
        m = re.compile(r"true|false|\d+(?:\.\d+)?").match(self.text, pos)
        if m:
            return m.group(0), m.end()
        m = re.compile(r"[A-Za-z_$][\w$]*").match(self.text, pos)
        if m:
            return self.constant(m.group(0), depth), m.end()
        return _UNRESOLVABLE, pos

    def prop(self, obj_start: int, obj_end: int, names: list[str]) -> tuple[str, str, int] | None:
        """(name, value, position) of the first property named in ``names`` inside an object literal."""
        body = self.text[obj_start:obj_end]
        for name in names:
            m = re.search(r"(?<![\w$])[\"']?" + re.escape(name) + r"[\"']?\s*:(?!:)", body)
            if m:
                value, _ = self.value_at(obj_start + m.end())
                return name, value, obj_start + m.end()
            m = re.search(r"[{,]\s*(" + re.escape(name) + r")\s*(?=[,}])", body)
            if m:
                return name, self.constant(name, 0), obj_start + m.start(1)
        return None

    def calls(self) -> Iterator[Found]:
        rules = catalog().clients
        for m in _CALL.finditer(self.text):
            callee = re.sub(r"\s+", "", m.group(1))
            if callee in ("function", "if", "for", "while", "switch", "return", "catch"):
                continue
            before = self.text[max(0, m.start() - 40) : m.start()].rstrip()
            if before.endswith(("function", "class", "interface")):
                # A definition of a function or class with an SDK's name, not a call.
                continue
            paren = m.end() - 1
            end = _balanced(self.text, paren)
            inner_start = paren + 1
            while inner_start < end and self.text[inner_start] in " \t\r\n":
                inner_start += 1
            obj = (
                (inner_start, _balanced(self.text, inner_start))
                if self.text[inner_start : inner_start + 1] == "{"
                else None
            )
            if call_matches(callee, "responses.create") or call_matches(callee, "chat.completions.create"):
                yield from self.store(m.start(), callee, obj)
                continue
            rule = self.match(callee, inner_start, obj, rules)
            if rule is not None:
                yield from self.client(m.start(), callee, rule, obj)

    def match(
        self, callee: str, args_at: int, obj: tuple[int, int] | None, rules: list[ClientRule]
    ) -> ClientRule | None:
        for rule in rules:
            if not call_matches(callee, rule.call):
                continue
            if rule.first_arg:
                sm = _STRING.match(self.text, args_at)
                if not sm or sm.group(0)[1:-1] not in rule.first_arg:
                    continue
            if rule.when:
                if obj is None:
                    continue
                ok = True
                for k, v in rule.when.items():
                    found = self.prop(obj[0], obj[1], [k])
                    want = str(v).lower()
                    if found is None or found[1].lower() != want:
                        ok = False
                if not ok:
                    continue
            return rule
        return None

    def client(
        self, start: int, callee: str, rule: ClientRule, obj: tuple[int, int] | None
    ) -> Iterator[Found]:
        extra: dict[str, object] = {"client": callee}
        hit = self.prop(obj[0], obj[1], rule.args) if obj else None
        if hit is None and rule.template_arg and obj:
            sub = self.prop(obj[0], obj[1], [rule.template_arg])
            if sub is not None and sub[1] != _UNRESOLVABLE and rule.template:
                hit = (rule.template_arg, rule.template.format(value=sub[1]), sub[2])
        if hit is not None:
            name, value, pos = hit
            f = Found(
                name,
                None if value == _UNRESOLVABLE else value,
                self.line(pos),
                f"{callee}()/{name}",
                rule.setting,
                rule.provider,
                secret=False,
                extra=extra,
            )
            if value == _UNRESOLVABLE:
                f.extra["unresolved"] = ["(expression)"]
            yield f
        else:
            yield self.fallback(start, callee, rule, extra)
        if obj:
            key = self.prop(obj[0], obj[1], ["apiKey", "api_key"])
            if key is not None and key[1] != _UNRESOLVABLE and "${" not in key[1] and key[1]:
                yield Found(
                    "apiKey", key[1], self.line(key[2]), f"{callee}()/apiKey", "api_key", rule.provider
                )

    def fallback(self, start: int, callee: str, rule: ClientRule, extra: dict[str, object]) -> Found:
        pointer = f"{callee}()"
        line = self.line(start)
        for name in rule.env:
            if self.ctx.env.get(name):
                return Found(
                    name,
                    f"${{{name}}}",
                    line,
                    pointer,
                    rule.setting,
                    rule.provider,
                    secret=False,
                    extra={**extra, "from_env": name},
                )
        if rule.env:
            extra = {**extra, "env_fallback": list(rule.env)}
        if rule.default or rule.default_region:
            return Found(
                callee,
                rule.default or rule.default_region,
                line,
                pointer,
                rule.setting,
                rule.provider,
                secret=False,
                default=True,
                extra=extra,
            )
        return Found(
            callee,
            None,
            line,
            pointer,
            rule.setting,
            rule.provider,
            secret=False,
            default=True,
            extra={**extra, "unresolved": list(rule.env[:1]) or ["(not set)"]},
        )

    def store(self, start: int, callee: str, obj: tuple[int, int] | None) -> Iterator[Found]:
        api = "responses" if callee.endswith("responses.create") else "chat.completions"
        hit = self.prop(obj[0], obj[1], ["store"]) if obj else None
        if hit is not None:
            value = "(expression)" if hit[1] == _UNRESOLVABLE else hit[1].lower()
            yield Found(
                "store",
                value,
                self.line(hit[2]),
                f"{callee}()/store",
                "store",
                "openai",
                secret=False,
                extra={"api": api},
            )
        elif api == "responses":
            yield Found(
                "store",
                "true",
                self.line(start),
                f"{callee}()/store",
                "store",
                "openai",
                secret=False,
                default=True,
                extra={"api": api},
            )

    def env_reads(self) -> Iterator[Found]:
        for m in _ENV.finditer(self.text):
            if m.start() in self.consumed:
                continue
            name = m.group(1) or m.group(2)
            f = env_found(name, f"${{{name}}}", self.line(m.start()), f"env/{name}", self.ctx)
            if f is not None:
                yield f


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    text, problem = read_text(stream, path)
    if problem is not None:
        yield problem
        return
    ctx = make_context(path, text, NAME)
    scanner = _Scanner(text, ctx)
    found = list(scanner.calls())
    found.extend(scanner.env_reads())
    yield from build_all(found, ctx)
