"""Issue 16 item 3: claims on open items on the real Elasticsearch-API server (noida-db): one holder under a race,
expiry, release, and work mode's "next unclaimed item" in the queue's order."""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from modpipe.settings import Settings
from review.queue import Claim, QueueFilter, QueueStore
from review.queue.claims import Claims, Held, live_hold
from tests.integration.review.test_review_app import seed
from tests.unit.review.factory import T0

NOW = T0 + timedelta(hours=1)


def test_two_moderators_racing_for_one_item_leave_one_holder_and_claims_expire(rsettings: Settings) -> None:
    seed(rsettings)
    claims, store = Claims(rsettings), QueueStore(rsettings)
    ttl = timedelta(seconds=rsettings.review.claim_ttl_s)
    try:

        def attempt(who: str) -> str:
            try:
                claims.take("m1", who, NOW)
            except Held as exc:
                return f"held:{exc.holder}"
            return f"took:{who}"

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(attempt, ["alice", "bob"] * 10))
        winners = {r.split(":")[1] for r in results if r.startswith("took:")}
        assert len(winners) == 1, results
        winner = winners.pop()
        loser = "bob" if winner == "alice" else "alice"
        assert all(r in (f"took:{winner}", f"held:{winner}") for r in results), results
        hold = live_hold(store.get("m1"), NOW)
        assert hold is not None
        assert (hold.holder, hold.until) == (winner, NOW + ttl)

        # The loser cannot release the winner's claim; after expiry the loser may take it.
        assert claims.release("m1", loser, NOW) is False
        with pytest.raises(Held):
            claims.take("m1", loser, NOW + ttl - timedelta(seconds=1))
        _, new = claims.take("m1", loser, NOW + ttl)
        assert new is True
        _, again = claims.take("m1", loser, NOW + ttl)
        assert again is False  # still fresh: nothing written
        renewed, again = claims.take("m1", loser, NOW + ttl * 1.6)
        assert again is False  # a renewal
        assert renewed.until == NOW + ttl * 2.6
        assert claims.release("m1", loser, NOW + ttl) is True
        assert live_hold(store.get("m1"), NOW + ttl) is None

        # A decided item (the first-wins decision claim is in flight) cannot be claimed.
        store.claim(store.get("m3"), Claim("d-1", "alice", "confirmed", "", NOW))
        with pytest.raises(Held, match="decided"):
            claims.take("m3", "bob", NOW)
    finally:
        claims.close()
        store.close()


def test_work_mode_hands_each_moderator_the_next_item_nobody_else_holds(rsettings: Settings) -> None:
    seed(rsettings)
    claims, store = Claims(rsettings), QueueStore(rsettings)
    flt = QueueFilter()
    try:
        order = [i.id for i in store.search(flt).items]
        assert len(order) == 4
        assert order[-1] == "m2"
        first = claims.next_item(flt, "alice", NOW)
        second = claims.next_item(flt, "bob", NOW)
        assert first is not None
        assert second is not None
        assert (first[0], second[0]) == (order[0], order[1])
        # Alice skips hers: she is handed the next one nobody holds; bob's stays his.
        assert claims.release(order[0], "alice", NOW)
        third = claims.next_item(flt, "alice", NOW, exclude={order[0]})
        assert third is not None
        assert third[0] == order[2]
        # By category: only C7 (the block m2).
        c7 = claims.next_item(QueueFilter(category="C7"), "bob", NOW)
        assert c7 is not None
        assert c7[0] == "m2"
        # Later, everything alice and bob hold has expired: carol gets the first item again.
        late = NOW + timedelta(seconds=rsettings.review.claim_ttl_s + 1)
        again = claims.next_item(flt, "carol", late)
        assert again is not None
        assert again[0] == order[0]
        # All four held by carol now: dave gets nothing.
        for message_id in order:
            with contextlib.suppress(Held):
                claims.take(message_id, "carol", late)
        assert claims.next_item(flt, "dave", late) is None
    finally:
        claims.close()
        store.close()
