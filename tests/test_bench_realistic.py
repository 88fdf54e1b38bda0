"""The realistic accuracy corpus (bench/accuracy/realistic.py): deterministic, offsets and checksums right."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench" / "accuracy"))

pytest.importorskip("faker")

import realistic  # noqa: E402
import tables  # noqa: E402

N = 240


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, Any]]:
    return list(realistic.records(N, seed=3))


def test_deterministic_for_a_seed(corpus: list[dict[str, Any]]) -> None:
    again = list(realistic.records(N, seed=3))
    assert json.dumps(again, ensure_ascii=False) == json.dumps(corpus, ensure_ascii=False)
    other = list(realistic.records(N, seed=4))
    assert [r["text"] for r in other] != [r["text"] for r in corpus]


def test_spans_match_the_text(corpus: list[dict[str, Any]]) -> None:
    for r in corpus:
        last_end = 0
        for s in r["spans"]:
            assert r["text"][s["start"] : s["end"]] == s["value"], r["id"]
            assert s["entity"] in realistic.ENTITIES
            assert s["value"].strip() == s["value"] and s["value"]
            assert s["start"] >= last_end, "spans are ordered and do not overlap"
            last_end = s["end"]


def test_templates_negatives_and_splits(corpus: list[dict[str, Any]]) -> None:
    specs = realistic.TEMPLATES.values()
    assert len(realistic.TEMPLATES) >= 60
    assert {r["template"] for r in corpus} == set(realistic.TEMPLATES), "every template is used"
    negatives = [r for r in corpus if r["negative"]]
    assert 0.30 <= len(negatives) / len(corpus) <= 0.37
    assert all(not r["spans"] for r in negatives)
    assert all(r["spans"] for r in corpus if not r["negative"])
    assert all(r["negative"] for r in corpus if r["mention_only"])
    assert any(r["mention_only"] for r in corpus)
    for split in ("dev", "test"):
        assert any(realistic.split_of(s.name) == split and s.negative for s in specs)
        assert any(realistic.split_of(s.name) == split and not s.negative for s in specs)
    assert all(r["split"] == realistic.split_of(r["template"]) for r in corpus)
    cats = realistic.template_categories()
    scored = set(realistic.ENTITIES) - {"STREET_ADDRESS"}  # scored as LOCATION
    for split in ("dev", "test"):
        assert set().union(*(c for t, c in cats.items() if realistic.split_of(t) == split)) == scored, split


def test_identifiers_are_valid(corpus: list[dict[str, Any]]) -> None:
    seen: Counter[str] = Counter()
    for r in corpus:
        for s in r["spans"]:
            v = s["value"]
            digits = "".join(c for c in v if c.isdigit())
            if s["entity"] == "CREDIT_CARD":
                assert tables.luhn_ok(digits), v
            elif s["entity"] == "IBAN":
                assert tables.iban_ok(v.replace(" ", "")), v
            elif s["entity"] == "PHONE_NUMBER":
                region = None if v.startswith("+") else "AU"
                assert phonenumbers.is_valid_number(phonenumbers.parse(v, region)), v
            elif s["entity"] == "NATIONAL_ID" and len(digits) == 9 and v.replace(" ", "").isdigit():
                assert tables.tfn_ok(digits), v
            seen[s["entity"]] += 1
    assert set(seen) == set(realistic.ENTITIES), "every category is labelled somewhere"
