"""Every performance figure, side by side with Presidio, in one command.

    python bench/run.py            # about 6 minutes on 2 cores
    python bench/run.py --quick    # smaller corpora, for a smoke run

1. Multi-turn chat logs (each request resends its history): sovscan's records/s against Presidio's
   ``AnalyzerEngine`` over the same requests' texts, and recall on the planted values.
2. Unique single-turn texts (no repetition to exploit): against Presidio's ``BatchAnalyzerEngine``.
3. Patterns-only mode (``--pii patterns``): MB/s of JSONL input per core.
4. Memory: peak RSS on a corpus and on one ten times larger, each scanned and written out as every
   report format (it must not grow with input size or with the number of findings).
5. Start-up: ``sovscan --help`` and ``sovscan policy validate``.

Each side runs in its own process (bench/speed.py workers), so peak RSS figures are separate.
Results go to bench/out/summary.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_chat_corpus  # noqa: E402
import speed  # noqa: E402

OUT = HERE / "out"


def _speed(args: list[str]) -> dict[str, Any]:
    speed.main(args)
    data: dict[str, Any] = json.loads((OUT / "speed.json").read_text(encoding="utf-8"))
    return data


def _side(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["results"] if s.get("side") == name)


def _patterns(requests: int, seed: int = 0) -> dict[str, Any]:
    corpus = OUT / f"chat-{requests}-s{seed}.jsonl"
    if not corpus.exists():
        gen_chat_corpus.generate(requests, corpus, seed, 0.05, False)
    data = speed.run_worker("sovscan", corpus, None, pii="patterns", reports=OUT / f"reports-{requests}")
    data["mb"] = data["bytes"] / 1e6
    data["mb_per_s"] = round(data["mb"] / data["seconds"], 2)
    return data


def _startup(args: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times), 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    chat_n, unique_n, pat_n = (300, 150, 600) if args.quick else (1000, 600, 3000)

    # Presidio runs over every request of the same corpus (no sampling: early requests of a
    # multi-turn log are shorter, so a sample would flatter it).
    multi = _speed(["--requests", str(chat_n)])
    unique = _speed(["--unique", "--requests", str(unique_n), "--presidio-batch"])
    small = _patterns(pat_n)
    large = _patterns(pat_n * 10)
    help_s = _startup(["--help"])
    validate_s = _startup(["policy", "validate"])

    ms, mp = _side(multi, "sovscan"), _side(multi, "presidio")
    us, up = _side(unique, "sovscan"), _side(unique, "presidio")
    recall = multi.get("recall_same_requests") or {"sovscan": ms["recall"], "presidio": mp["recall"]}
    summary = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "model": speed.MODEL},
        "multi_turn": {
            "requests": ms["records"],
            "mb": round(ms["bytes"] / 1e6, 2),
            "sovscan_records_per_s": ms["records_per_s"],
            "presidio_records_per_s": mp["records_per_s"],
            "presidio_requests_timed": mp["records"],
            "ratio": multi.get("ratio_records_per_s"),
            "recall_same_requests": recall,
            "sovscan_peak_rss_mb": ms["peak_rss_mb"],
            "sovscan_worker_peak_rss_mb": ms["peak_child_rss_mb"],
        },
        "unique": {
            "requests": us["records"],
            "sovscan_records_per_s": us["records_per_s"],
            "presidio_batch_records_per_s": up["records_per_s"],
            "ratio": unique.get("ratio_records_per_s"),
            "sovscan_recall": us["recall"],
            "presidio_recall": up["recall"],
        },
        "patterns_only": {
            "mb": round(small["mb"], 1),
            "seconds": small["seconds"],
            "mb_per_s_per_core": small["mb_per_s"],
        },
        "memory": {
            "small_mb": round(small["mb"], 1),
            "small_peak_rss_mb": small["peak_rss_mb"],
            "large_mb": round(large["mb"], 1),
            "large_peak_rss_mb": large["peak_rss_mb"],
            "large_mb_per_s": large["mb_per_s"],
            "small_findings": small["findings"],
            "large_findings": large["findings"],
            "large_report_mb": large.get("report_mb"),
        },
        "startup_seconds": {"help": help_s, "policy_validate": validate_s},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")

    m, u, p, mem, st = (
        summary[k] for k in ("multi_turn", "unique", "patterns_only", "memory", "startup_seconds")
    )
    rec = recall.get("sovscan", {}), recall.get("presidio", {})
    print("\n| figure | sovscan | Presidio | ratio / note |")
    print("|---|---:|---:|---|")
    print(
        f"| multi-turn chat logs, records/s ({m['requests']} requests, {m['mb']} MB) | "
        f"{m['sovscan_records_per_s']} | {m['presidio_records_per_s']} | **{m['ratio']}×**; recall on the "
        f"same {m['presidio_requests_timed']} requests {speed._fmt_recall(rec[0])} "
        f"vs {speed._fmt_recall(rec[1])} |"
    )
    print(
        f"| unique single-turn texts, records/s ({u['requests']} requests) | {u['sovscan_records_per_s']} | "
        f"{u['presidio_batch_records_per_s']} (batch) | **{u['ratio']}×** |"
    )
    print(
        f"| patterns-only, MB/s per core ({p['mb']} MB JSONL, one process) | {p['mb_per_s_per_core']} | – | |"
    )
    print(
        f"| peak RSS, {mem['small_mb']} MB vs {mem['large_mb']} MB input, every report written "
        f"({mem['small_findings']} vs {mem['large_findings']} findings; patterns-only) | "
        f"{mem['small_peak_rss_mb']} MB / {mem['large_peak_rss_mb']} MB | – | "
        f"multi-turn: {m['sovscan_peak_rss_mb']} MB main, "
        f"{m['sovscan_worker_peak_rss_mb']} MB per NER worker |"
    )
    print(f"| start-up: `--help` / `policy validate`, s | {st['help']} / {st['policy_validate']} | – | |")
    print(f"\n(written to {OUT / 'summary.json'})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
