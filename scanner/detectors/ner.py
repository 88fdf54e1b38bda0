"""Named-entity recognition with spaCy, NER components only, in-process or across a process pool.

The expensive part of detection. Only ``ner`` runs, with the shared ``tok2vec`` only when NER
listens to it (the tagger, attribute ruler, lemmatizer and parser are not loaded: NER does not use
them). Labels map to Presidio entities exactly as Presidio's own ``SpacyRecognizer`` maps them,
with its default score of 0.85.

With ``jobs > 1`` large batches go to a pool of worker processes, each holding its own model;
results come back in input order, so output is deterministic whatever the number of jobs.
Small batches stay in-process (a pool costs more than it saves on a handful of texts).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

# spaCy's NER labels → Presidio entities (Presidio's default mapping; ORG and numbers ignored).
NER_MAPPING = {
    "PER": "PERSON",
    "PERSON": "PERSON",
    "NORP": "NRP",
    "FAC": "LOCATION",
    "LOC": "LOCATION",
    "GPE": "LOCATION",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
}
NER_SCORE = 0.85
NER_ENTITIES = frozenset(NER_MAPPING.values())
_KEEP = {"tok2vec", "ner", "transformer"}
POOL_MIN_TEXTS = 128
_SUB_BATCH = 48

RawEntity = tuple[str, int, int]  # (Presidio entity, start, end)

_worker_nlp: Any = None


def load_ner(model: str) -> Any:
    import spacy

    nlp = spacy.load(model, exclude=["parser", "senter"])
    for name in list(nlp.pipe_names):
        if name not in _KEEP:
            nlp.remove_pipe(name)
    # A shared embedding layer is needed only if NER listens to it. The English pipelines' NER
    # has its own (the shared ``tok2vec`` feeds the tagger and parser): running it would cost a
    # third of NER time for nothing.
    for name in [n for n in ("tok2vec", "transformer") if n in nlp.pipe_names]:
        if "ner" not in getattr(nlp.get_pipe(name), "listening_components", ["ner"]):
            nlp.remove_pipe(name)
    return nlp


def run_ner(nlp: Any, texts: Sequence[str], batch_size: int = 64) -> list[list[RawEntity]]:
    out: list[list[RawEntity]] = []
    for doc in nlp.pipe(texts, batch_size=batch_size):
        ents = []
        for ent in doc.ents:
            entity = NER_MAPPING.get(ent.label_)
            if entity is not None:
                ents.append((entity, ent.start_char, ent.end_char))
        out.append(ents)
    return out


def _init_worker(model: str) -> None:
    global _worker_nlp  # noqa: PLW0603 - one model per worker process
    _worker_nlp = load_ner(model)


def _work(texts: list[str]) -> list[list[RawEntity]]:
    return run_ner(_worker_nlp, texts)


def _peak_rss_mb(process: Any) -> float:
    """A worker's peak resident memory (Linux ``VmHWM``); 0 where it cannot be read."""
    try:
        with open(f"/proc/{process.pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


class NerRunner:
    """NER over batches of texts; lazily loads the model (in-process) or starts the pool."""

    def __init__(self, model: str, jobs: int = 1) -> None:
        self.model = model
        self.jobs = max(1, jobs)
        self._nlp: Any = None
        self._pool: Any = None
        self.worker_peak_rss_mb = 0.0

    def __call__(self, texts: Sequence[str]) -> list[list[RawEntity]]:
        return self.submit(texts)()

    def submit(self, texts: Sequence[str]) -> Callable[[], list[list[RawEntity]]]:
        """Start NER on ``texts``; the returned function waits for and returns the results.

        With a pool the work runs while the caller goes on (the scan reads and pattern-scans the
        next chunk meanwhile); in-process it runs when the result is asked for.
        """
        if not texts:
            return list
        if self.jobs > 1 and (self._pool is not None or len(texts) >= POOL_MIN_TEXTS):
            pool = self._get_pool()
            chunks = [list(texts[i : i + _SUB_BATCH]) for i in range(0, len(texts), _SUB_BATCH)]
            pending = pool.map_async(_work, chunks)
            return lambda: [ents for part in pending.get() for ents in part]
        batch = list(texts)
        return lambda: run_ner(self._in_process(), batch)

    def _in_process(self) -> Any:
        if self._nlp is None:
            self._nlp = load_ner(self.model)
        return self._nlp

    def start(self, wait: bool = False) -> None:
        """Load the model where NER will run: the worker pool (started now, so that the workers
        load their models while the caller reads and pattern-scans), or this process."""
        if self.jobs > 1:
            pool = self._get_pool()
            if wait:
                pool.map(_work, [["warm up"]] * self.jobs)
        elif wait:
            self._in_process()

    def _get_pool(self) -> Any:
        if self._pool is None:
            # Not "fork": the scanning process may run threads (a progress bar, pool handlers)
            # whose locks a forked child would inherit held.
            method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            ctx = multiprocessing.get_context(method)
            self._pool = ctx.Pool(self.jobs, initializer=_init_worker, initargs=(self.model,))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            workers = [_peak_rss_mb(p) for p in self._pool._pool]
            self.worker_peak_rss_mb = max([self.worker_peak_rss_mb, *workers])
            self._pool.close()
            self._pool.join()
            self._pool = None
