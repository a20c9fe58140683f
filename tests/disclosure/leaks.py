"""Leak checks on a releasable table: whole string values and tokens, never substrings of numbers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from clusterqi.disclosure import size_band

MIDPOINTS = set(size_band(np.r_[0, 0.5, np.logspace(0, 12, 20000)])["midpoint"].dropna())
PSEUDONYM = re.compile(r"Member practice [A-Z]+")
ADDRESS_COLUMNS = ("AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4")


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"[0-9a-z]+", text.lower())) + " "


class Identifiers:
    """Every practice's code, name, postcode and address lines from a PHS contact-details file,
    and every list size ever published (from the dataset)."""

    def __init__(self, contact_details: Path, list_sizes: pd.Series, allowed_texts: set[str],
                 denominators: pd.Series | None = None):
        details = pd.read_csv(contact_details, dtype=str, encoding="utf-8-sig")
        self.codes = set(details["PracticeCode"].str.strip())
        # a phrase that is also an allowed area name (cluster, HSCP, board) is not an identifier
        allowed = {_words(t) for t in allowed_texts}
        phrases = set(details["GPPracticeName"].dropna()) | set(details["Postcode"].dropna())
        for column in ADDRESS_COLUMNS:
            phrases |= set(details[column].dropna())
        self.whole = {p.strip().lower() for p in phrases if p.strip()} - {
            t.strip().lower() for t in allowed_texts}
        allowed_text = "|".join(allowed)
        # a town in an address that also names a cluster, HSCP or board names the area, not the practice
        self.phrases = {w for w in (_words(p) for p in phrases) if w.strip() and w not in allowed_text}
        # an address line that is just a town also names areas: only multi-word phrases and names
        self.phrases = {p for p in self.phrases if len(p.split()) >= 2}
        self.list_sizes = set(pd.to_numeric(list_sizes).dropna().astype(float))
        self.denominators = set() if denominators is None else set(
            pd.to_numeric(denominators).dropna().astype(float))
        self.longest = max((len(p.split()) for p in self.phrases), default=1)
        self._seen: dict[str, list[str]] = {}

    def text_problems(self, text: str) -> list[str]:
        """Problems in one string value (memoised: tables repeat their texts)."""
        if text in self._seen:
            return self._seen[text]
        found = []
        if text.strip().lower() in self.whole:
            found.append(f"whole value names a practice: {text!r}")
        if set(re.findall(r"[0-9A-Za-z]+", text)) & self.codes:
            found.append(f"practice code token in {text!r}")
        words = _words(PSEUDONYM.sub(" ", text)).split()
        grams = {" " + " ".join(words[i:i + n]) + " " for n in range(2, self.longest + 1)
                 for i in range(len(words) - n + 1)}
        for phrase in grams & self.phrases:
            found.append(f"practice name/address {phrase.strip()!r} in {text!r}")
        self._seen[text] = found
        return found

    def problems(self, table: pd.DataFrame, threshold: int) -> list[str]:
        found = []
        texts = {v for c in table.columns if table[c].dtype == object or pd.api.types.is_string_dtype(table[c])
                 for v in table[c].dropna().unique() if isinstance(v, str)}
        for text in texts:
            found.extend(self.text_problems(text))
        practice = table[table["level"] == "practice"]
        # pseudonymised practices: no exact numerator or denominator, and a size axis position
        # that is a band midpoint (a midpoint may equal some other practice's size by chance)
        exact_columns = [c for c in ("numerator", "denominator") if c in practice.columns]
        exact = practice[exact_columns].notna().to_numpy().any(axis=1)
        if exact.any():
            found.append(f"{int(exact.sum())} practice rows with an exact numerator or denominator")
        if "plot_size" in practice.columns:
            sizes = set(practice["plot_size"].dropna())
            if sizes - MIDPOINTS:
                found.append(f"plot sizes that are not band midpoints: {sorted(sizes - MIDPOINTS)[:5]}")
        small = table["numerator"].between(1, threshold - 1)
        if small.any():
            found.append(f"{int(small.sum())} visible numerators between 1 and {threshold - 1}")
        return found
