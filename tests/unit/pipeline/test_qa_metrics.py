"""The QA estimates as Prometheus metrics (pipeline.qa_metrics)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from pipeline.qa_metrics import QaMetrics
from review.queue.qa import Stratum


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_estimates_and_counts_per_category_and_a_stratum_that_left_the_window_is_gone() -> None:
    registry = CollectorRegistry()
    metrics = QaMetrics(registry)
    metrics.set([Stratum("block", "C7", 0.05, 60, 50, 5, {}), Stratum("pass", "C9", 0.01, 10, 0, 0, {})])
    point = _value(registry, "modpipe_qa_estimate", measure="precision", category="C7", bound="point")
    low = _value(registry, "modpipe_qa_estimate", measure="precision", category="C7", bound="low")
    assert point == pytest.approx(0.9)
    assert low == pytest.approx(0.7864, abs=1e-4)
    assert _value(registry, "modpipe_qa_samples", action="block", category="C7", state="wrong") == 5
    # No answer yet: counted, but no estimate rather than a made-up 0.
    assert _value(registry, "modpipe_qa_samples", action="pass", category="C9", state="sampled") == 10
    assert _value(registry, "modpipe_qa_estimate", measure="miss_rate", category="C9", bound="point") is None
    metrics.set([Stratum("pass", "C9", 0.01, 10, 10, 1, {"C9": 1})])
    assert _value(registry, "modpipe_qa_estimate", measure="precision", category="C7", bound="point") is None
    assert _value(registry, "modpipe_qa_estimate", measure="miss_rate", category="C9", bound="point") == 0.1
