"""A one-pass gate over many regexes: which of them could match a text?

The pattern pass asks, for every distinct text, whether any recognizer regex (about ninety:
Presidio's, sovscan's, deny-list lexicons) can match it; most texts of a chat log match none and
skip the analyzer. Searching them one by one with Python's ``re`` costs a full scan of the text per
regex. RE2's ``Set`` scans the text once for all of them with a DFA.

RE2 lacks some of Python's syntax (lookarounds, back-references) and its ``\\b``/``\\w``/``\\d``/
``\\s`` are ASCII-only, so each regex is translated into an RE2 pattern that matches a *superset* of
what the original matches (lookarounds dropped, a back-reference replaced by its group, ``\\d`` by
``\\p{Nd}`` and so on). A hit is then confirmed with the original regex; a miss is final. The gate
is therefore exact: it says "could match" only when the original regex matches.

Where the translation is not certain to be a superset, the original is searched on every text
instead (``always``), and texts with characters whose case-insensitive matching differs between
the engines, with lone surrogates, or on which RE2's DFA gives up (its memory budget) go through the
original regexes one by one.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from typing import Any

# Python's re matches these case-insensitively against ASCII letters; RE2's case folding does not.
_UNSAFE_TEXT = re.compile("[\u0130\u0131]")
# RE2 bounds counted repetition at 1000.
_MAX_REPEAT = 1000
_WORD = r"\p{L}\p{N}\p{M}_"
_SPACE = r"\s\x0b\x1c-\x1f\x85\p{Z}"
_CONTROL = {"n": r"\n", "r": r"\r", "t": r"\t", "f": r"\f", "v": r"\x0b", "a": r"\x07"}
_QUANT = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")


class _Unsupported(Exception):
    """The pattern cannot be turned into a sound RE2 superset."""


def to_re2(pattern: str, flags: int = 0, ascii_text: bool = False) -> str | None:
    """An RE2 pattern matching at least every string ``re.compile(pattern, flags)`` matches
    somewhere, or None when that cannot be guaranteed. With ``ascii_text``, the superset need only
    hold on ASCII texts, where Python's and RE2's word boundaries agree."""
    if flags & (re.VERBOSE | re.ASCII | re.LOCALE) or "[[:" in pattern:
        return None
    try:
        body = _Translator(pattern, ascii_text).run()
    except _Unsupported:
        return None
    prefix = "m"  # ^ and $ at every line: a superset of Python's default ^ and $
    if flags & re.IGNORECASE:
        prefix += "i"
    if flags & re.DOTALL:
        prefix += "s"
    return f"(?{prefix}){body}"


class _Translator:
    def __init__(self, pattern: str, ascii_text: bool = False) -> None:
        self.p = pattern
        self.ascii_text = ascii_text
        self.i = 0
        self.out: list[str] = []
        # Capturing groups, by number: translated text (None while open).
        self.groups: list[str | None] = []
        self.open: list[tuple[int | None, int]] = []  # (group number or None, output position)

    def run(self) -> str:
        p, n = self.p, len(self.p)
        while self.i < n:
            c = p[self.i]
            if c == "\\":
                self.out.append(self._escape_outside())
            elif c == "[":
                self.out.append(self._char_class())
                continue
            elif c == "(":
                self._open_group()
                continue
            elif c == ")":
                self._close_group()
            elif c == "{":
                self.out.append(self._repeat())
                continue
            elif c in "*+?" and self.i + 1 < n and p[self.i + 1] == "+":
                raise _Unsupported("possessive quantifier")
            else:
                self.out.append(c)
            self.i += 1
        if self.open:
            raise _Unsupported("unbalanced parentheses")
        return "".join(self.out)

    # -- escapes -------------------------------------------------------------------------------
    def _escape_outside(self) -> str:
        p = self.p
        if self.i + 1 >= len(p):
            raise _Unsupported("trailing backslash")
        e = p[self.i + 1]
        self.i += 1
        if e == "d":
            return r"\p{Nd}"
        if e == "w":
            return f"[{_WORD}]"
        if e == "s":
            return f"[{_SPACE}]"
        if e in "bB":
            # On ASCII text both engines agree on word boundaries; elsewhere dropping the
            # assertion widens the match.
            return "\\" + e if self.ascii_text else ""
        if e == "Z":
            return r"\z"
        if e in "WDSA":
            return "\\" + e  # RE2's ASCII complements contain Python's Unicode ones
        if e.isdigit():
            return self._backref()
        if e in "uUx":
            return self._codepoint(e)
        if e in "nrtfva":
            return _CONTROL[e]
        if not e.isascii():
            return e
        if e.isalnum():
            raise _Unsupported(f"escape \\{e}")
        return "\\" + e

    def _backref(self) -> str:
        j = self.i
        while j < len(self.p) and self.p[j].isdigit():
            j += 1
        number = int(self.p[self.i : j])
        self.i = j - 1
        if number < 1 or number > len(self.groups) or self.groups[number - 1] is None:
            raise _Unsupported("back-reference to an open or unknown group")
        return f"(?:{self.groups[number - 1]})"  # the referenced text is something the group matches

    def _codepoint(self, kind: str) -> str:
        width = {"x": 2, "u": 4, "U": 8}[kind]
        digits = self.p[self.i + 1 : self.i + 1 + width]
        if len(digits) != width or not all(ch in "0123456789abcdefABCDEF" for ch in digits):
            raise _Unsupported("bad code point escape")
        self.i += width
        return f"\\x{{{digits}}}"

    # -- character classes ---------------------------------------------------------------------
    def _char_class(self) -> str:
        p, n = self.p, len(self.p)
        j = self.i + 1
        negated = j < n and p[j] == "^"
        if negated:
            j += 1
        parts = ["[^" if negated else "["]
        first = True
        while j < n and (p[j] != "]" or first):
            ch = p[j]
            first = False
            if ch == "\\":
                if j + 1 >= n:
                    raise _Unsupported("trailing backslash")
                e = p[j + 1]
                j += 2
                if e in "dws":
                    # In a negated class RE2's ASCII class is a subset of Python's: still a superset.
                    parts.append("\\" + e if negated else {"d": r"\p{Nd}", "w": _WORD, "s": _SPACE}[e])
                elif e in "DWS":
                    if negated:
                        raise _Unsupported("negated complement class")
                    parts.append("\\" + e)
                elif e == "b":
                    parts.append(r"\x08")
                elif e in "uUx":
                    self.i = j - 1
                    parts.append(self._codepoint(e))
                    j = self.i + 1
                elif e in "nrtfva":
                    parts.append(_CONTROL[e])
                elif not e.isascii():
                    parts.append(e)
                elif e.isalnum():
                    raise _Unsupported(f"escape \\{e} in class")
                else:
                    parts.append("\\" + e)
                continue
            if ch == "[":
                parts.append(r"\[")
            else:
                parts.append(ch)
            j += 1
        if j >= n:
            raise _Unsupported("unterminated class")
        parts.append("]")
        self.i = j + 1
        return "".join(parts)

    # -- groups ----------------------------------------------------------------------------------
    def _open_group(self) -> None:
        p = self.p
        if p.startswith(("(?=", "(?!", "(?<=", "(?<!"), self.i):
            start, at_start = self.i, not self.out and not self.open
            self._skip_group()  # a lookaround removed: the match can only widen
            end = self.i
            self._skip_quantifier()
            if self.i == end and p.startswith(("(?<=", "(?="), start):
                # A positive lookbehind that opens the pattern, or a lookahead that ends it, can
                # be matched as text: "X then the rest" occurs wherever the original matches.
                at_end = self.i == len(p) and not self.open
                if (at_start and p.startswith("(?<=", start)) or (at_end and p.startswith("(?=", start)):
                    inner = p[start + (4 if p[start + 2] == "<" else 3) : end - 1]
                    with contextlib.suppress(_Unsupported):
                        self.out.append(f"(?:{_Translator(inner, self.ascii_text).run()})")
            return
        if p.startswith("(?#", self.i):
            end = p.find(")", self.i)
            if end < 0:
                raise _Unsupported("unterminated comment")
            self.i = end + 1
            return
        if p.startswith("(?P<", self.i):
            end = p.find(">", self.i)
            if end < 0:
                raise _Unsupported("bad group name")
            self.groups.append(None)
            self.open.append((len(self.groups), len(self.out)))
            self.out.append("(")
            self.i = end + 1
            return
        if p.startswith("(?P=", self.i) or p.startswith("(?(", self.i) or p.startswith("(?>", self.i):
            raise _Unsupported("named back-reference, conditional or atomic group")
        if p.startswith("(?", self.i):
            m = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])").match(p, self.i)
            if m is None or set(m.group(1) + (m.group(2) or "")) - set("ims"):
                raise _Unsupported("group flags")
            self.out.append(m.group(0))
            if m.group(3) == ":":
                self.open.append((None, len(self.out) - 1))
            self.i = m.end()
            return
        self.groups.append(None)
        self.open.append((len(self.groups), len(self.out)))
        self.out.append("(")
        self.i += 1

    def _close_group(self) -> None:
        if not self.open:
            raise _Unsupported("unbalanced parentheses")
        number, start = self.open.pop()
        self.out.append(")")
        if number is not None:
            self.groups[number - 1] = "".join(self.out[start + 1 : -1])

    def _skip_group(self) -> None:
        p, n = self.p, len(self.p)
        depth = 0
        j = self.i
        while j < n:
            ch = p[j]
            if ch == "\\":
                j += 2
                continue
            if ch == "[":
                j += 1
                if j < n and p[j] == "^":
                    j += 1
                if j < n and p[j] == "]":
                    j += 1
                while j < n and p[j] != "]":
                    j += 2 if p[j] == "\\" else 1
                j += 1
                continue
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    self.i = j + 1
                    return
            j += 1
        raise _Unsupported("unterminated lookaround")

    def _skip_quantifier(self) -> None:
        p = self.p
        if self.i < len(p) and p[self.i] in "*+?":
            self.i += 1
        elif self.i < len(p) and p[self.i] == "{":
            m = _QUANT.match(p, self.i)
            if m is not None:
                self.i = m.end()
        if self.i < len(p) and p[self.i] in "?+":
            self.i += 1

    def _repeat(self) -> str:
        m = _QUANT.match(self.p, self.i)
        if m is None or (m.group(1) == "" and m.group(2) is None):
            self.i += 1
            return r"\{"  # a literal brace, as Python reads it
        if m.group(1) == "" and m.group(2):
            low, comma, high = "0", ",", m.group(3)  # Python's {,n} is {0,n}
        else:
            low, comma, high = m.group(1), m.group(2), m.group(3)
        self.i = m.end()
        if self.i < len(self.p) and self.p[self.i] == "+":
            raise _Unsupported("possessive quantifier")
        lo = int(low)
        hi = int(high) if comma and high else (None if comma else lo)
        if lo > _MAX_REPEAT or (hi is not None and hi > _MAX_REPEAT):
            return f"{{{min(lo, _MAX_REPEAT)},}}"
        if hi is None:
            return f"{{{lo},}}"
        return f"{{{lo},{hi}}}"


_RE2_BUDGETS = (8 << 20, 32 << 20, 128 << 20)


class _Re2Set:
    """The RE2 set of the translatable regexes, plus the end sentinel."""

    def __init__(self, compiled: Sequence[Any], ascii_text: bool) -> None:
        import re2

        # RE2's memory budget: a third for the compiled program, the rest for the DFA's state
        # cache, which fills as new text is seen and is reset when full. A small budget keeps a
        # long scan's memory flat at no measured cost; a set too large for it gets a larger one.
        for budget in _RE2_BUDGETS:
            try:
                self._build(re2, compiled, ascii_text, budget)
                return
            except re2.error:
                if budget == _RE2_BUDGETS[-1]:
                    raise

    def _build(self, re2: Any, compiled: Sequence[Any], ascii_text: bool, budget: int) -> None:
        options = re2.Options()
        options.log_errors = False
        options.max_mem = budget
        self.rset = re2.Set.SearchSet(options)
        self.always: list[int] = []  # searched on every text: no sound RE2 form
        self.members: list[int] = []  # RE2 set index → index into ``compiled``
        for index, regex in enumerate(compiled):
            translated = (
                to_re2(regex.pattern, regex.flags, ascii_text) if isinstance(regex.pattern, str) else None
            )
            if translated is None:
                self.always.append(index)
                continue
            try:
                self.rset.Add(translated)
            except re2.error:
                self.always.append(index)
                continue
            self.members.append(index)
        # Matches at the end of every text: its absence means the DFA gave up part-way.
        self.rset.Add(r"\z")
        self.sentinel = len(self.members)
        self.members.append(-1)
        self.rset.Compile()

    def candidates(self, data: bytes) -> list[int] | None:
        """Indices that could match, or None when RE2 gave no answer."""
        hits = self.rset.Match(data)
        if self.sentinel not in hits:
            return None
        return [self.members[i] for i in hits if i != self.sentinel] + self.always


class RegexGate:
    """Tells which of ``compiled`` (Python regexes) match a text, with one RE2 pass.

    Two sets: one for ASCII texts (word boundaries kept: both engines agree on them there) and one
    for any other text (word boundaries dropped)."""

    def __init__(self, compiled: Sequence[Any]) -> None:
        self.compiled = list(compiled)
        self._all = list(range(len(self.compiled)))
        self._ascii: _Re2Set | None = None
        self._unicode: _Re2Set | None = None
        try:
            import re2
        except ImportError:  # pragma: no cover - a declared dependency; the slow path still works
            return
        try:
            self._ascii = _Re2Set(self.compiled, ascii_text=True)
            self._unicode = _Re2Set(self.compiled, ascii_text=False)
        except re2.error:  # too large for RE2 at any budget: every regex is searched one by one
            self._ascii = self._unicode = None

    def matching(self, text: str) -> list[int]:
        """Indices (into ``compiled``) of the regexes that match ``text``: exactly what searching
        them one by one would say."""
        return [i for i in self._candidates(text) if self.compiled[i].search(text)]

    def _candidates(self, text: str) -> list[int]:
        if self._ascii is None or self._unicode is None:
            return self._all
        if text.isascii():
            answer = self._ascii.candidates(text.encode("ascii"))
        elif _UNSAFE_TEXT.search(text):
            return self._all
        else:
            try:
                data = text.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates from JSON escapes
                return self._all
            answer = self._unicode.candidates(data)
        return self._all if answer is None else answer  # None: the DFA ran out of memory
