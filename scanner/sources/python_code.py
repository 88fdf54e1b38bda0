"""Python source (``ast``): AI SDK clients and the settings passed to them.

Client construction is matched against rules/config_settings.yaml ``clients`` by the end of the
dotted callee (``openai.OpenAI``, ``AzureOpenAI``, ``boto3.client("bedrock-runtime")``,
``vertexai.init``, ``genai.Client(vertexai=True)``, LangChain and LlamaIndex classes). A keyword
argument is followed through string literals, f-strings, simple ``NAME = …`` assignments and
environment reads (``os.environ[...]``, ``os.environ.get``, ``os.getenv``), which are resolved
from the ``.env`` beside the file. A client without the argument gets the SDK's environment
fallback or built-in default (flagged ``default``). ``responses.create`` without
``store=False`` is reported as provider-side storage. Reads of well-known AI variables
elsewhere are settings too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from scanner.models import Location, Record, Skipped
from scanner.sources._catalog import ClientRule
from scanner.sources._settings import Context, Found, build_all, catalog, env_found, make_context
from scanner.sources._text import read_text

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "python"
KIND = "config"
PATTERNS = ("*.py",)
_UNRESOLVABLE = "\x00"
_ENV_GETTERS = ("os.getenv", "getenv", "os.environ.get", "environ.get")


def sniff(head: bytes, name: str) -> bool:
    return PurePosixPath(name.replace("\\", "/")).name.lower().endswith(".py")


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        return dotted(node.func)
    return ""


def _constant_is(node: ast.expr | None, expected: object) -> bool:
    return isinstance(node, ast.Constant) and bool(node.value == expected)


def call_matches(callee: str, call: str) -> bool:
    have, want = callee.split("."), call.split(".")
    return len(have) >= len(want) and have[-len(want) :] == want


class _Scanner:
    def __init__(self, tree: ast.Module, ctx: Context) -> None:
        self.ctx = ctx
        self.assigned: dict[str, ast.expr] = {}
        self.consumed: set[int] = set()
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                self.assigned[node.targets[0].id] = node.value
            elif (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and node.value is not None
            ):
                self.assigned[node.target.id] = node.value
        self.tree = tree

    # -- expressions ------------------------------------------------------------------------------
    def env_read(self, node: ast.AST) -> tuple[str, str | None] | None:
        """(variable name, literal default) for os.environ[...] / .get / os.getenv, else None."""
        if isinstance(node, ast.Subscript) and dotted(node.value) in ("os.environ", "environ"):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                return key.value, None
        if (
            isinstance(node, ast.Call)
            and dotted(node.func) in _ENV_GETTERS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            default = None
            second = node.args[1] if len(node.args) > 1 else None
            if isinstance(second, ast.Constant) and isinstance(second.value, str):
                default = second.value
            return node.args[0].value, default
        return None

    def text(self, node: ast.AST, depth: int = 0) -> str:
        """The value as a string with ${VAR} references, or _UNRESOLVABLE."""
        if depth > 10:
            return _UNRESOLVABLE
        if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool):
            if isinstance(node.value, bool):
                return "true" if node.value else "false"
            return str(node.value)
        env = self.env_read(node)
        if env is not None:
            self.consumed.add(id(node))
            name, default = env
            return f"${{{name}:-{default}}}" if default is not None else f"${{{name}}}"
        if isinstance(node, ast.Name) and node.id in self.assigned:
            return self.text(self.assigned[node.id], depth + 1)
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                if isinstance(value, ast.FormattedValue):
                    parts.append(self.text(value.value, depth + 1))
                else:
                    parts.append(self.text(value, depth + 1))
            return _UNRESOLVABLE if _UNRESOLVABLE in parts else "".join(parts)
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2:
            first = self.text(node.values[0], depth + 1)
            second = self.text(node.values[1], depth + 1)
            if (
                first.startswith("${")
                and first.endswith("}")
                and ":-" not in first
                and second != _UNRESOLVABLE
            ):
                return f"{first[:-1]}:-{second}}}"
            return first
        return _UNRESOLVABLE

    # -- calls ------------------------------------------------------------------------------------
    def calls(self) -> Iterator[Found]:
        rules = catalog().clients
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            callee = dotted(node.func)
            if not callee:
                continue
            if call_matches(callee, "responses.create") or call_matches(callee, "chat.completions.create"):
                yield from self.store(node, callee)
                continue
            rule = self.match(node, callee, rules)
            if rule is not None:
                yield from self.client(node, callee, rule)

    def match(self, node: ast.Call, callee: str, rules: list[ClientRule]) -> ClientRule | None:
        kwargs = {k.arg: k.value for k in node.keywords if k.arg}
        for rule in rules:
            if not call_matches(callee, rule.call):
                continue
            if rule.first_arg:
                first = node.args[0] if node.args else kwargs.get("service_name")
                if not (isinstance(first, ast.Constant) and first.value in rule.first_arg):
                    continue
            if any(not _constant_is(kwargs.get(k), v) for k, v in rule.when.items()):
                continue
            return rule
        return None

    def client(self, node: ast.Call, callee: str, rule: ClientRule) -> Iterator[Found]:
        kwargs = {k.arg: k.value for k in node.keywords if k.arg}
        extra: dict[str, object] = {"client": callee}
        for arg in rule.args:
            if arg in kwargs:
                value_node = kwargs[arg]
                value = self.text(value_node)
                f = Found(
                    arg,
                    None if value == _UNRESOLVABLE else value,
                    value_node.lineno,
                    f"{callee}()/{arg}",
                    rule.setting,
                    rule.provider,
                    secret=False,
                    extra=dict(extra),
                )
                if value == _UNRESOLVABLE:
                    f.extra["unresolved"] = ["(expression)"]
                yield f
                break
        else:
            yield self.fallback(node, callee, rule, extra)
        key_node = kwargs.get("api_key")
        if isinstance(key_node, ast.Constant) and isinstance(key_node.value, str) and key_node.value:
            yield Found(
                "api_key", key_node.value, key_node.lineno, f"{callee}()/api_key", "api_key", rule.provider
            )

    def fallback(self, node: ast.Call, callee: str, rule: ClientRule, extra: dict[str, object]) -> Found:
        """No argument: the SDK reads its environment variable, else uses its default."""
        env = self.ctx.env
        pointer = f"{callee}()"
        for name in rule.env:
            if env.get(name):
                return Found(
                    name,
                    f"${{{name}}}",
                    node.lineno,
                    pointer,
                    rule.setting,
                    rule.provider,
                    secret=False,
                    extra={**extra, "from_env": name},
                )
        extra = {**extra, "env_fallback": list(rule.env)} if rule.env else dict(extra)
        if rule.default:
            return Found(
                callee,
                rule.default,
                node.lineno,
                pointer,
                rule.setting,
                rule.provider,
                secret=False,
                default=True,
                extra=extra,
            )
        if rule.default_region:
            return Found(
                callee,
                rule.default_region,
                node.lineno,
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
            node.lineno,
            pointer,
            rule.setting,
            rule.provider,
            secret=False,
            default=True,
            extra={**extra, "unresolved": list(rule.env[:1]) or ["(not set)"]},
        )

    def store(self, node: ast.Call, callee: str) -> Iterator[Found]:
        kwargs = {k.arg: k.value for k in node.keywords if k.arg}
        api = "responses" if callee.endswith("responses.create") else "chat.completions"
        if "store" in kwargs:
            value = self.text(kwargs["store"])
            yield Found(
                "store",
                "(expression)" if value == _UNRESOLVABLE else value.lower(),
                kwargs["store"].lineno,
                f"{callee}()/store",
                "store",
                "openai",
                secret=False,
                extra={"api": api},
            )
        elif api == "responses":
            # The Responses API stores responses unless told not to.
            yield Found(
                "store",
                "true",
                node.lineno,
                f"{callee}()/store",
                "store",
                "openai",
                secret=False,
                default=True,
                extra={"api": api},
            )

    def env_reads(self) -> Iterator[Found]:
        for node in ast.walk(self.tree):
            if id(node) in self.consumed:
                continue
            env = self.env_read(node)
            if env is None:
                continue
            name, default = env
            value = f"${{{name}:-{default}}}" if default is not None else f"${{{name}}}"
            line = getattr(node, "lineno", 1)
            f = env_found(name, value, line, f"env/{name}", self.ctx)
            if f is not None:
                yield f


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    text, problem = read_text(stream, path)
    if problem is not None:
        yield problem
        return
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        yield Skipped(
            Location(path, line), f"Python syntax error at line {line}" if line else "Python syntax error"
        )
        return
    ctx = make_context(path, text, NAME)
    scanner = _Scanner(tree, ctx)
    found = list(scanner.calls())
    found.extend(scanner.env_reads())
    yield from build_all(found, ctx)
