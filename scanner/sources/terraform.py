"""Terraform (HCL, parsed with python-hcl2): where the infrastructure puts AI processing.

* ``azurerm_cognitive_account`` (kind OpenAI / AIServices): the resource ``location`` as
  ``region_hint`` (Azure hosts carry no region) and the ``custom_subdomain_name`` host.
* ``azurerm_cognitive_deployment``: the deployment type (``sku { name }``, or the older
  ``scale { type }``): Standard keeps processing in the resource's geography; DataZone* and
  Global* let it leave.
* ``provider "aws" { region }`` beside Bedrock or SageMaker resources, ``provider "google"`` and
  ``google_vertex_ai_*`` resources with ``region``/``location``: the regional endpoint implied.
* Hard-coded credentials in any attribute.

``var.x``, ``local.x`` and ``<type>.<name>.<attr>`` references are resolved within the file (and
``terraform.tfvars`` beside it); others are reported unresolved. Lines come from a search of the
attribute inside its block (python-hcl2 keeps no positions).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO

from scanner.errors import SourceError
from scanner.models import Record, Skipped
from scanner.sources._settings import Context, Found, build_all, catalog, key_found, make_context
from scanner.sources._text import read_text

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "terraform"
KIND = "config"
PATTERNS = ("*.tf", "*.tfvars")
_BLOCK = re.compile(
    r'^\s*(resource|data|provider|variable|module|locals|output)\b\s*((?:"[^"]*"\s*|[\w-]+\s+)*)\{'
)
_REF = re.compile(r"^\$\{([\w.\-\[\]\"]+)\}$")
_AI_ACCOUNT_KINDS = {"openai", "aiservices"}
_REGIONAL_SKUS = ("standard", "provisionedmanaged")


def sniff(head: bytes, name: str) -> bool:
    return PurePosixPath(name.replace("\\", "/")).name.lower().endswith((".tf", ".tfvars"))


class _Blocks:
    """Line ranges of top-level blocks and attribute line lookup."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.ranges: dict[tuple[str, ...], tuple[int, int]] = {}
        i = 0
        while i < len(self.lines):
            m = _BLOCK.match(self.lines[i])
            if not m:
                i += 1
                continue
            labels = tuple(x.strip('"') for x in re.findall(r'"[^"]*"|[\w-]+', m.group(2)))
            end = self._end(i)
            key = (m.group(1), *labels)
            if key in self.ranges:
                # Repeated blocks (several `provider "aws"` with aliases): the n-th is key + (n,).
                n = 1
                while (*key, str(n)) in self.ranges:
                    n += 1
                key = (*key, str(n))
            self.ranges[key] = (i + 1, end)
            i = end
        # i is advanced past each block; nested blocks are searched inside their parent.

    def _end(self, start: int) -> int:
        depth = 0
        for j in range(start, len(self.lines)):
            depth += _braces(self.lines[j])
            if depth <= 0:
                return j + 1
        return len(self.lines)

    def line(self, block: tuple[str, ...], keys: list[str]) -> int:
        """Line of ``keys`` (nested block names, then the attribute) inside ``block``."""
        start, end = self.ranges.get(block, (1, len(self.lines)))
        pos = start - 1
        for n, key in enumerate(keys):
            last = n == len(keys) - 1
            pattern = re.compile(r"^\s*" + re.escape(key) + (r"\s*=" if last else r"\s*(=\s*)?\{"))
            for j in range(pos + 1, end):
                if pattern.match(self.lines[j]):
                    pos = j
                    break
            else:
                return start
        return pos + 1


def _braces(line: str) -> int:
    depth = 0
    in_str = False
    i = 0
    while i < len(line):
        c = line[i]
        if in_str:
            if c == "\\":
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == "#" or line.startswith("//", i):
            break
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        i += 1
    return depth


def _load(text: str) -> dict[str, Any]:
    import hcl2
    from hcl2.utils import SerializationOptions

    try:
        data = hcl2.loads(text, serialization_options=SerializationOptions(strip_string_quotes=True))
    except Exception as exc:
        line, column = getattr(exc, "line", None), getattr(exc, "column", None)
        where = f"line {line}, column {column}" if line else None
        raise SourceError(f"invalid HCL ({type(exc).__name__})", where) from None
    return data if isinstance(data, dict) else {}


class _Module:
    def __init__(self, data: dict[str, Any], tfvars: dict[str, Any]) -> None:
        self.vars: dict[str, Any] = {}
        for block in data.get("variable", []):
            for name, body in block.items():
                if isinstance(body, dict) and "default" in body:
                    self.vars[name] = body["default"]
        self.vars.update(tfvars)
        self.locals: dict[str, Any] = {}
        for block in data.get("locals", []):
            self.locals.update({k: v for k, v in block.items() if not k.startswith("__")})
        self.resources: dict[tuple[str, str], dict[str, Any]] = {}
        for block in data.get("resource", []):
            for rtype, named in block.items():
                for rname, body in (named or {}).items():
                    if isinstance(body, dict):
                        self.resources[(rtype, rname)] = body

    def value(self, raw: Any, depth: int = 0) -> tuple[str | None, list[str]]:
        """A literal, or a reference resolved within the module; else (None, [reference])."""
        if isinstance(raw, bool):
            return ("true" if raw else "false"), []
        if isinstance(raw, int | float):
            return str(raw), []
        if not isinstance(raw, str):
            return None, ["(expression)"]
        m = _REF.match(raw)
        if not m:
            return (raw, []) if "${" not in raw else (None, [raw[2:-1] if raw.startswith("${") else raw])
        ref = m.group(1)
        parts = ref.split(".")
        target: Any = None
        if parts[0] == "var" and len(parts) == 2:
            target = self.vars.get(parts[1])
        elif parts[0] == "local" and len(parts) == 2:
            target = self.locals.get(parts[1])
        elif len(parts) == 3:
            target = self.resources.get((parts[0], parts[1]), {}).get(parts[2])
        if target is None or depth > 5:
            return None, [ref]
        return self.value(target, depth + 1)


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    text, problem = read_text(stream, path)
    if problem is not None:
        yield problem
        return
    data = _load(text)
    tfvars: dict[str, Any] = {}
    if path != "-" and not path.endswith(".tfvars"):
        candidate = Path(path).parent / "terraform.tfvars"
        if candidate.is_file():
            try:
                tfvars = _load(candidate.read_text(encoding="utf-8", errors="replace"))
            except SourceError:
                tfvars = {}
    module = _Module(data, tfvars)
    blocks = _Blocks(text)
    ctx = make_context(path, text, NAME)
    found: list[Found] = []
    found.extend(_providers(data, module, blocks, ctx))
    found.extend(_azure(module, blocks, ctx))
    found.extend(_vertex(module, blocks, ctx))
    found.extend(_secrets(data, blocks, ctx))
    yield from build_all(found, ctx)


def _unresolved(f: Found, refs: list[str]) -> Found:
    if refs:
        f.extra["unresolved"] = refs
        f.extra["reference"] = ", ".join(refs)
    return f


def _providers(data: dict[str, Any], module: _Module, blocks: _Blocks, ctx: Context) -> Iterator[Found]:
    lowered = ctx.text.lower()
    seen: dict[str, int] = {}
    for block in data.get("provider", []):
        for name, body in block.items():
            nth = seen.get(name, 0)
            seen[name] = nth + 1
            block_key = ("provider", name) if nth == 0 else ("provider", name, str(nth))
            if not isinstance(body, dict) or "region" not in body:
                continue
            if name == "aws" and ("aws_bedrock" in lowered or "bedrock" in lowered):
                provider = "aws_bedrock"
            elif name == "aws" and "sagemaker" in lowered:
                provider = "aws_sagemaker"
            elif name in ("google", "google-beta") and "vertex" in lowered:
                provider = "google_vertex"
            else:
                continue
            value, refs = module.value(body["region"])
            line = blocks.line(block_key, ["region"])
            alias = body.get("alias")
            pointer = f"provider/{name}{'.' + alias if isinstance(alias, str) else ''}/region"
            f = Found("region", value, line, pointer, "region", provider, secret=False)
            yield _unresolved(f, refs)


def _azure(module: _Module, blocks: _Blocks, ctx: Context) -> Iterator[Found]:
    accounts: dict[str, tuple[str | None, str | None]] = {}
    for (rtype, rname), body in module.resources.items():
        if rtype != "azurerm_cognitive_account":
            continue
        kind, _ = module.value(body.get("kind"))
        if (kind or "").lower() not in _AI_ACCOUNT_KINDS:
            continue
        location, refs = module.value(body.get("location"))
        sub, _ = module.value(body.get("custom_subdomain_name"))
        host = f"https://{sub}.openai.azure.com" if sub else None
        accounts[rname] = (location, host)
        line = blocks.line(("resource", rtype, rname), ["location"])
        f = Found(
            "location",
            location,
            line,
            f"resource/{rtype}/{rname}/location",
            "region",
            "azure_openai",
            target=host,
            region_hint=(location or "").lower() or None,
            secret=False,
        )
        f.extra["resource"] = f"{rtype}.{rname}"
        yield _unresolved(f, refs)
    for (rtype, rname), body in module.resources.items():
        if rtype != "azurerm_cognitive_deployment":
            continue
        sku, keys = _sku(body)
        if sku is None:
            continue
        account_ref = str(body.get("cognitive_account_id", ""))
        m = re.search(r"azurerm_cognitive_account\.([\w-]+)\.id", account_ref)
        location, host = accounts.get(m.group(1), (None, None)) if m else (None, None)
        regional = sku.lower().startswith(_REGIONAL_SKUS)
        line = blocks.line(("resource", rtype, rname), keys)
        f = Found(
            ".".join(keys),
            sku,
            line,
            f"resource/{rtype}/{rname}/{'/'.join(keys)}",
            "deployment_sku",
            "azure_openai",
            target=host,
            region_hint=(location or "").lower() if regional and location else None,
            secret=False,
        )
        f.extra["resource"] = f"{rtype}.{rname}"
        if location:
            f.extra["resource_location"] = location.lower()
        yield f


def _sku(body: dict[str, Any]) -> tuple[str | None, list[str]]:
    for block, key in (("sku", "name"), ("scale", "type")):
        node = body.get(block)
        if (
            isinstance(node, list)
            and node
            and isinstance(node[0], dict)
            and isinstance(node[0].get(key), str)
        ):
            return node[0][key], [block, key]
        if isinstance(node, dict) and isinstance(node.get(key), str):
            return node[key], [block, key]
    return None, []


def _vertex(module: _Module, blocks: _Blocks, ctx: Context) -> Iterator[Found]:
    for (rtype, rname), body in module.resources.items():
        if not rtype.startswith("google_vertex_ai"):
            continue
        for key in ("region", "location"):
            if key in body:
                value, refs = module.value(body[key])
                line = blocks.line(("resource", rtype, rname), [key])
                f = Found(
                    key,
                    value,
                    line,
                    f"resource/{rtype}/{rname}/{key}",
                    "region",
                    "google_vertex",
                    secret=False,
                )
                yield _unresolved(f, refs)
                break


def _secrets(data: dict[str, Any], blocks: _Blocks, ctx: Context) -> Iterator[Found]:
    """Literal credentials in any attribute of any block (variables' defaults included)."""
    cat = catalog()

    def visit(node: Any, block: tuple[str, ...], keys: list[str]) -> Iterator[Found]:
        if isinstance(node, dict):
            for k, v in node.items():
                if not k.startswith("__"):
                    yield from visit(v, block, [*keys, k])
        elif isinstance(node, list):
            for v in node:
                yield from visit(v, block, keys)
        elif isinstance(node, str) and keys and "${" not in node:
            key = keys[-1]
            if not (
                cat.looks_secret(key, node)
                and (
                    node.startswith(cat.credential_prefixes)
                    or cat.key_rule(key) is not None
                    or cat.env_var(key)
                )
            ):
                return
            f = key_found(key, node, blocks.line(block, keys), "/".join([*block, *keys]), ctx)
            if f is None and node.startswith(cat.credential_prefixes):
                f = Found(key, node, blocks.line(block, keys), "/".join([*block, *keys]), "api_key", None)
            if f is not None and f.setting == "api_key":
                yield f

    for kind in ("resource", "data", "provider", "variable", "locals", "module"):
        for block in data.get(kind, []):
            if kind == "locals":
                yield from visit(block, ("locals",), [])
                continue
            for label, body in block.items():
                if kind in ("resource", "data") and isinstance(body, dict):
                    for name, inner in body.items():
                        yield from visit(inner, (kind, label, name), [])
                else:
                    yield from visit(body, (kind, label), [])
