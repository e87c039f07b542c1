"""Spintax: `{a|b|c}` stands for one of its options, picked at random.

Groups nest (`{Hi|{Hello|Hey} there}`); only the picked option's own groups
are resolved. A brace without a partner is text, kept as written, and so
is a `|` outside any group.

Approach: one pass pairs every `{` with its `}` using a stack, so an
unbalanced brace is found once instead of by rescanning the rest of the
text (which is quadratic on "{{{{..."). The pick then walks the text with
an explicit stack of spans, not recursion, so a caption nested thousands
deep cannot exhaust Python's stack.
"""

from __future__ import annotations

import random


def resolve_spintax(text: str, rng: random.Random) -> str:
    """Return `text` with every group replaced by one of its options."""
    if "{" not in text:
        return text
    partner = _pair_braces(text)
    out: list[str] = []
    # Spans still to copy, innermost last; each is (start, end) into text.
    spans = [(0, len(text))]
    while spans:
        start, end = spans.pop()
        group = _next_group(text, partner, start, end)
        if group is None:
            out.append(text[start:end])
            continue
        out.append(text[start:group])
        close = partner[group]
        options = _options(text, partner, group + 1, close)
        spans.append((close + 1, end))
        spans.append(options[rng.randrange(len(options))])
    return "".join(out)


def _pair_braces(text: str) -> dict[int, int]:
    """Map the index of every balanced `{` to the index of its `}`."""
    partner: dict[int, int] = {}
    opened: list[int] = []
    for index, char in enumerate(text):
        if char == "{":
            opened.append(index)
        elif char == "}" and opened:
            partner[opened.pop()] = index
    return partner


def _next_group(text: str, partner: dict[int, int], start: int, end: int) -> int | None:
    """Index of the first balanced `{` in text[start:end], or None."""
    index = text.find("{", start, end)
    while index != -1:
        if index in partner:
            return index
        index = text.find("{", index + 1, end)
    return None


def _options(
    text: str, partner: dict[int, int], start: int, end: int
) -> list[tuple[int, int]]:
    """Split a group's inside at its own `|`s, stepping over nested groups."""
    options = []
    index = option_start = start
    while index < end:
        char = text[index]
        if char == "{" and index in partner:
            index = partner[index]
        elif char == "|":
            options.append((option_start, index))
            option_start = index + 1
        index += 1
    options.append((option_start, end))
    return options
