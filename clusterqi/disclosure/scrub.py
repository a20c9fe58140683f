"""Text scrubbing: no practice code or name survives in a released text column.

Sentences such as the interpretation are written before disclosure control; any practice code
or name left in them is replaced by the practice's pseudonym, or "another practice".

Example usage::

    table = _scrub_practice_mentions(table, original, policy, pseudonyms(original, policy))
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import pandas as pd

from clusterqi.disclosure.policy import OTHER_PRACTICE_TEXT, PSEUDONYM_PREFIX, DisclosurePolicy
from clusterqi.disclosure.pseudonyms import _practice_names

__all__ = [
]

def _mention_pattern(terms: Iterable[str]) -> re.Pattern | None:
    terms = sorted({t for t in terms if t and t.strip()}, key=len, reverse=True)
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in terms)
    # not inside a pseudonym: a real practice may be called "Practice B"
    member = re.escape(PSEUDONYM_PREFIX.split()[0] + " ")
    return re.compile(rf"(?<![0-9A-Za-z])(?<!{member})(?:{alternatives})(?![0-9A-Za-z])",
                      re.IGNORECASE)


_WORD = re.compile(r"[0-9A-Za-z]+")


@functools.lru_cache(maxsize=8)
def _first_words(terms: tuple[str, ...]) -> frozenset[str] | None:
    """Each term's first word (lower case), or None unless every term is plain ASCII.

    A mention of a term (:func:`_mention_pattern`: not touching a letter or digit on either
    side) starts with the term's first word, which is then a whole word of the text too. So an
    ASCII text whose words include no term's first word mentions no term, and needs no search
    with the (slow, ~2,000-way) pattern. Non-ASCII terms or texts always get the full search,
    because case-insensitive matching beyond ASCII is not just ``lower()``.
    """
    firsts = set()
    for term in terms:
        if not term.strip():
            continue
        word = _WORD.search(term)
        if not term.isascii() or word is None:
            return None
        firsts.add(word.group(0).lower())
    return frozenset(firsts)


def _scrub_practice_mentions(
    table: pd.DataFrame, original: pd.DataFrame, policy: DisclosurePolicy, pseudonymised: pd.DataFrame
) -> pd.DataFrame:
    """Replace any practice code or name left in a text column (e.g. interpretation)."""
    names = _practice_names(original)
    replacement: dict[str, str] = {}
    mapping = dict(zip(pseudonymised["practice_code"], pseudonymised["area_name"]))
    for code, name in names.items():
        if code == policy.reveal_practice:
            continue
        label = mapping.get(code, OTHER_PRACTICE_TEXT)
        replacement[code.lower()] = label
        replacement[name.lower()] = label
    if not any(term.strip() for term in replacement):
        return table
    pattern = None  # compiled when a text may mention a practice (it has ~2 terms per practice)
    firsts = _first_words(tuple(replacement))
    protected = {"area_id", "area_name"}  # own rows already relabelled; others are area names
    for column, dtype in table.dtypes.items():
        if column in protected or not (pd.api.types.is_string_dtype(dtype) or dtype == object):
            continue
        uniques = table[column].unique()
        fixes = {}
        for text in uniques:
            if not isinstance(text, str):
                continue
            if firsts is not None and text.isascii() and firsts.isdisjoint(
                    word.lower() for word in _WORD.findall(text)):
                continue  # no practice's first word is a word of this text
            pattern = pattern or _mention_pattern(replacement)
            if pattern.search(text):
                fixes[text] = pattern.sub(lambda m: replacement[m.group(0).lower()], text)
        if fixes:
            table[column] = table[column].replace(fixes)
    return table
