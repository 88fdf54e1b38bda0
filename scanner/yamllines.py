"""YAML with line numbers: policy and organisation files are parsed once into data plus a map from
each field path (``("controls", 3, "when")``) to its 1-based line, so every policy error can name
the file, the line and the field. Used by ``policy`` and ``orgpolicy``; imports nothing of ours
except the error type.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from scanner.errors import PolicyError

FieldPath = tuple[str | int, ...]
Lines = dict[FieldPath, int]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_with_lines(path: Path) -> tuple[Any, Lines]:
    """Parse one YAML file; returns (data, field path → line). Errors name the file and line."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror}") from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{mark.line + 1}" if mark else "?"
        raise PolicyError(f"{path}:{where}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: invalid YAML ({type(exc).__name__})") from None
    finally:
        loader.dispose()
    lines: Lines = {}
    _walk(node, (), lines)
    return data, lines


def _walk(node: Any, prefix: FieldPath, lines: Lines) -> None:
    lines.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            path = (*prefix, key)
            lines[path] = key_node.start_mark.line + 1
            _walk(value_node, path, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*prefix, i), lines)


def line_of(lines: Mapping[FieldPath, int], path: FieldPath) -> int | None:
    """Line of the deepest prefix of ``path`` that the file spells out."""
    for n in range(len(path), -1, -1):
        line = lines.get(tuple(path[:n]))
        if line is not None:
            return line
    return None


def where(file: Path | str, lines: Mapping[FieldPath, int] | None, path: FieldPath) -> str:
    """``file:line`` (or just ``file`` when the line is unknown)."""
    line = line_of(lines or {}, path)
    return f"{file}:{line}" if line else str(file)


def field_name(path: FieldPath) -> str:
    """``controls[3].when.data`` from a field path."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def describe_validation_error(
    file: Path | str, exc: ValidationError, lines: Mapping[FieldPath, int] | None = None
) -> str:
    """One line per problem: ``file:line: field a.b[0].c: message``.

    pydantic adds union-member tags (``list[str]``, ``function-after[...]``) to locations; they are
    dropped so the field reads as the user wrote it.
    """
    out = []
    for err in exc.errors():
        loc: FieldPath = tuple(
            p for p in err["loc"] if isinstance(p, int) or ("[" not in p and p not in _TYPE_TAGS)
        )
        out.append(f"{where(file, lines, loc)}: field {field_name(loc)}: {err['msg']}")
    return "\n".join(out)


_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict", "date", "Condition"})
