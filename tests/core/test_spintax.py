"""Spintax: one option per group, nested groups, stray braces kept."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phonefarm.core.spintax import resolve_spintax


def picks(text: str, draws: int = 200, seed: int = 7) -> set[str]:
    rng = random.Random(seed)
    return {resolve_spintax(text, rng) for _ in range(draws)}


def test_spintax_without_groups_is_unchanged():
    assert picks("plain caption #fyp | no groups") == {"plain caption #fyp | no groups"}


def test_spintax_picks_each_option_and_nothing_else():
    assert picks("{a|b|c}") == {"a", "b", "c"}
    assert picks("Check {this|that} out {!|!!}") == {
        "Check this out !",
        "Check this out !!",
        "Check that out !",
        "Check that out !!",
    }


def test_spintax_resolves_nested_groups_of_the_picked_option_only():
    assert picks("{Hi|{Hello|Hey} there}!") == {"Hi!", "Hello there!", "Hey there!"}


def test_spintax_group_with_empty_options():
    assert picks("a{|b}c") == {"ac", "abc"}
    assert picks("x{}y") == {"xy"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{a|b", {"{a|b"}),
        ("a}b", {"a}b"}),
        ("}{", {"}{"}),
        ("{a|{b|c}", {"{a|b", "{a|c"}),
        ("{a|b}}", {"a}", "b}"}),
        ("{{a|b}", {"{a", "{b"}),
    ],
)
def test_spintax_leaves_unbalanced_braces_literally(text, expected):
    assert picks(text) == expected


def test_spintax_is_reproducible_with_the_same_seed():
    text = "{a|b|c|d|e} {1|2|3|4|5} {x|y|z}"
    first = [resolve_spintax(text, random.Random(42)) for _ in range(5)]
    assert len(set(first)) == 1
    assert resolve_spintax(text, random.Random(42)) == first[0]


def test_spintax_uses_the_rng_it_is_given():
    class Last(random.Random):
        def randrange(self, n, *args):
            return n - 1

    assert resolve_spintax("{a|b|c} {x|{y|z}}", Last()) == "c z"


def test_spintax_survives_deep_nesting_and_many_stray_braces():
    depth = 50_000
    assert resolve_spintax("{" * depth + "x" + "}" * depth, random.Random()) == "x"
    stray = "{" * 200_000
    assert resolve_spintax(stray, random.Random()) == stray


@given(st.text(alphabet="ab{}|", max_size=40), st.integers(0, 2**32))
def test_spintax_output_never_contains_more_balanced_groups(text, seed):
    out = resolve_spintax(text, random.Random(seed))
    # Whatever is left is text without a balanced pair: resolving it again
    # changes nothing.
    assert resolve_spintax(out, random.Random(seed + 1)) == out
