"""The rule that says a legacy database under a new path is one the ledger knows."""

from __future__ import annotations

from domain.legacy.identity import SourceMatch, recognized, row_digest


def match(source_id: int, matching: int, recorded: int) -> SourceMatch:
    return SourceMatch(source_id, f"/legacy/{source_id}", matching, recorded)


def test_a_copy_that_gained_or_lost_many_rows_is_still_recognized() -> None:
    assert recognized([match(1, 10, 10)], rows_here=40) == match(1, 10, 10)  # gained 30
    assert recognized([match(1, 10, 40)], rows_here=10) == match(1, 10, 40)  # lost 30


def test_a_row_or_two_in_common_is_not_enough() -> None:
    assert recognized([match(1, 2, 7)], rows_here=7) is None
    assert recognized([match(1, 3, 6)], rows_here=6) is None  # half is not more than half
    assert recognized([], rows_here=7) is None


def test_the_source_sharing_most_rows_wins_and_the_oldest_on_a_tie() -> None:
    assert recognized([match(1, 4, 7), match(2, 7, 7)], rows_here=7) == match(2, 7, 7)
    assert recognized([match(3, 7, 7), match(2, 7, 7)], rows_here=7) == match(2, 7, 7)


def test_a_row_digest_covers_what_never_changes_and_the_types_held() -> None:
    digest = row_digest(5, "/m/a.safetensors", 1_700_000_000_000)
    assert digest == row_digest(5, "/m/a.safetensors", 1_700_000_000_000)
    assert -(2**63) <= digest < 2**63  # a SQLite INTEGER
    assert digest != row_digest(6, "/m/a.safetensors", 1_700_000_000_000)
    assert digest != row_digest(5, "/m/b.safetensors", 1_700_000_000_000)
    assert digest != row_digest(5, "/m/a.safetensors", "1700000000000")
