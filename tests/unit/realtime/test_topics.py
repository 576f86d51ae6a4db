"""Who hears which event: a till hears its own location's, managers the whole restaurant's."""

from __future__ import annotations

from server import events
from server.realtime import topics


def test_a_payment_needing_attention_reaches_its_till_and_the_managers() -> None:
    event = events.PaymentNeedsAttention(
        restaurant_id="r1", location_id="l1", payment_id="p1", order_id="o1", why="late_success"
    )
    assert topics.for_event(event) == [topics.location("r1", "l1"), topics.managers("r1")]
