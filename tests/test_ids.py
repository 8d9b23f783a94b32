"""The library's ids: kept when they fit and are free, never past what GraphQL's Int holds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.ids import MAX_ID, IdSpace, fits

ANY_ID = st.integers(-(2**63), 2**63 - 1)
NEAR_THE_EDGES = st.one_of(st.integers(-3, 30), st.integers(MAX_ID - 30, MAX_ID + 3), ANY_ID)


@given(st.sets(NEAR_THE_EDGES, max_size=40), st.lists(NEAR_THE_EDGES, max_size=40))
def test_every_claim_is_a_free_id_that_fits(taken: set[int], wanted: list[int]) -> None:
    space = IdSpace(taken, wanted)
    given_out: list[int] = []
    for value in wanted:
        chosen = space.claim(value)
        assert fits(chosen) and chosen not in taken and chosen not in given_out
        if fits(value) and value not in taken and value not in given_out:
            assert chosen == value
        given_out.append(chosen)


def test_a_renumbered_id_never_takes_one_a_later_row_keeps() -> None:
    space = IdSpace(taken=[5], reserved=[5, 6, 9])
    assert space.claim(5) == 10  # 5 is taken; 6 and 9 are wanted later
    assert space.claim(6) == 6 and space.claim(9) == 9


def test_past_the_top_the_lowest_gap_is_used() -> None:
    space = IdSpace(taken=[1, 2, MAX_ID])
    assert space.claim(2**40) == 3
    assert space.claim(None) == 4
