"""``sovscan policy explain`` describes every condition field; ``policy schema`` documents every one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from scanner.cli import app
from scanner.policy import (
    Condition,
    ConfigCondition,
    DataCondition,
    DestinationCondition,
    RecordCondition,
)
from scanner.policytools import describe_condition

runner = CliRunner()

# Clause models and the key each has in a condition.
CLAUSES: dict[str, type[BaseModel]] = {
    "data": DataCondition,
    "destination": DestinationCondition,
    "record": RecordCondition,
    "config": ConfigCondition,
}
FIELDS = [(key, name) for key, model in CLAUSES.items() for name in model.model_fields]


def _explain(control_id: str) -> str:
    result = runner.invoke(app, ["policy", "explain", control_id])
    assert result.exit_code == 0, result.output
    return result.output


def _checks(output: str) -> list[str]:
    """The condition lines of ``policy explain`` output."""
    return [line.strip()[2:] for line in output.splitlines() if line.startswith("                - ")]


def _samples(model: type[BaseModel], name: str) -> list[tuple[Any, list[str]]]:
    """Values to set a field to, each with the words its description must contain."""
    annotation = str(model.model_fields[name].annotation)
    if "Literal" in annotation:
        return [(["response", "config"], ["response", "config"]), (["request"], ["request"])]
    if "bool" in annotation:
        return [(True, []), (False, [])]
    if "float" in annotation:
        return [(0.73, ["0.73"])]
    if annotation.startswith("dict"):
        return [({"zq_attr": "zq-value"}, ["zq_attr", "zq-value"])]
    if annotation.startswith("list"):
        samples: list[tuple[Any, list[str]]] = [(["Zq1", "Zq2"], ["Zq1", "Zq2"]), (["Zq1"], ["Zq1"])]
        if "| str" in annotation:  # a StrList also takes a single string
            samples.append(("Zq1", ["Zq1"]))
        return samples
    if annotation.startswith("str"):
        return [("Zq1", ["Zq1"])]
    raise AssertionError(f"no sample value for {model.__name__}.{name}: {annotation}")


def _describe(key: str, clause: dict[str, Any], raw: dict[str, Any] | None = None) -> list[str]:
    return describe_condition(Condition.model_validate({key: clause}), raw)


def test_explain_app8_c03_shows_the_deciding_value_not_in_with_its_parameter() -> None:
    checks = _checks(_explain("APP8-C03"))
    assert "the configuration setting is deployment_sku" in checks
    assert (
        "the configuration value is none of Standard, ProvisionedManaged "
        "(pack parameter $allowed_azure_deployment_types), compared case-insensitively"
    ) in checks
    assert "the record has no attribute commented" in checks


def test_explain_app11_c02_shows_value_not_in() -> None:
    checks = _checks(_explain("APP11-C02"))
    assert checks == [
        "the record has no attribute commented",
        "the configuration setting is store",
        "the configuration value is not false, compared case-insensitively",
    ]


def test_explain_names_a_destination_parameter_beside_its_value() -> None:
    checks = _checks(_explain("APP8-001"))
    assert any(
        "may process outside AU (pack parameter $allowed_jurisdictions)" in c and "unknown" in c
        for c in checks
    ), checks


def test_every_clause_field_has_words() -> None:
    from scanner.policytools import PHRASES

    for model in CLAUSES.values():
        assert set(PHRASES[model]) == set(model.model_fields), model.__name__


@pytest.mark.parametrize(("key", "name"), FIELDS, ids=[f"{k}.{n}" for k, n in FIELDS])
def test_every_condition_field_is_described(key: str, name: str) -> None:
    model = CLAUSES[key]
    base = _describe(key, {})
    texts = []
    for value, words in _samples(model, name):
        described = _describe(key, {name: value})
        text = " / ".join(described)
        assert described != base, f"{key}.{name}={value!r} changes nothing in {text!r}"
        for word in words:
            assert word in text, f"{key}.{name}={value!r}: {word!r} not in {text!r}"
        texts.append(text)
        # A value the pack took from a parameter names the parameter beside the value.
        with_param = " / ".join(_describe(key, {name: value}, {key: {name: "$zq_param"}}))
        assert "$zq_param" in with_param and all(w in with_param for w in words), with_param
    if len(texts) > 1 and isinstance(_samples(model, name)[0][0], bool):
        assert texts[0] != texts[1], f"{key}.{name}: true and false read the same: {texts[0]!r}"


def test_combinators_all_any_and_not_are_described() -> None:
    assert set(Condition.model_fields) == {*CLAUSES, "all", "any", "not_"}

    def setting(name: str) -> dict[str, Any]:
        return {"config": {"setting_in": [name]}}

    cond = Condition.model_validate(
        {
            "all": [setting("zq_all1"), setting("zq_all2")],
            "any": [setting("zq_any1"), setting("zq_any2")],
            "not": setting("zq_not"),
        }
    )
    lines = describe_condition(cond)
    assert "the configuration setting is zq_all1" in lines and "the configuration setting is zq_all2" in lines
    assert (
        "at least one of: (the configuration setting is zq_any1) | (the configuration setting is zq_any2)"
        in lines
    )
    assert "NOT (the configuration setting is zq_not)" in lines
    raw = {"any": [{"config": {"setting_in": "$zq_p"}}, {}], "not": {"config": {"setting_in": "$zq_n"}}}
    text = " ".join(describe_condition(cond, raw))
    assert "zq_any1 (pack parameter $zq_p)" in text and "zq_not (pack parameter $zq_n)" in text


# -- schema -----------------------------------------------------------------------------------------

CONDITION_DEFS = {"Condition", "DataCondition", "DestinationCondition", "RecordCondition", "ConfigCondition"}


def _missing_descriptions(node: Any, path: str) -> list[str]:
    """Every property (recursively) of a JSON Schema node without a non-empty description."""
    missing: list[str] = []
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            if not (isinstance(prop, dict) and str(prop.get("description", "")).strip()):
                missing.append(f"{path}.{name}")
            missing.extend(_missing_descriptions(prop, f"{path}.{name}"))
        for key, child in node.items():
            if key != "properties" and isinstance(child, dict | list):
                missing.extend(_missing_descriptions(child, f"{path}/{key}"))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            missing.extend(_missing_descriptions(child, f"{path}[{i}]"))
    return missing


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _pack_schema() -> dict[str, Any]:
    result = runner.invoke(app, ["policy", "schema", "pack"])
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.output)
    return body


def test_schema_describes_every_condition_field() -> None:
    defs = _pack_schema()["$defs"]
    # The condition definitions: everything reachable from Condition.
    reachable, todo = set(), ["Condition"]
    while todo:
        name = todo.pop()
        if name not in reachable:
            reachable.add(name)
            todo.extend(_refs(defs[name]) - reachable)
    assert reachable >= CONDITION_DEFS
    fields = 0
    for name in sorted(reachable & set(defs)):
        if "properties" in defs[name]:
            fields += len(defs[name]["properties"])
            assert _missing_descriptions(defs[name], name) == []
    assert fields == sum(len(m.model_fields) for m in (Condition, *CLAUSES.values()))
    assert defs["Control"]["properties"]["when"]["$ref"].endswith("/Condition")


def test_schema_descriptions_state_the_evaluated_semantics() -> None:
    props = {name: _pack_schema()["$defs"][name]["properties"] for name in CONDITION_DEFS}
    not_in = props["DestinationCondition"]["jurisdiction_not_in"]["description"]
    assert "external" in not_in and "unknown" in not_in and "never match" in not_in
    assert "Self-hosted and private-network" in not_in
    assert "case-insensitively" in props["ConfigCondition"]["value_not_in"]["description"]
    assert "--min-score" in props["DataCondition"]["min_score"]["description"]
    assert "no entry" in props["DestinationCondition"]["provider_attribute_not"]["description"]
    assert "must not hold" in props["Condition"]["not"]["description"]
