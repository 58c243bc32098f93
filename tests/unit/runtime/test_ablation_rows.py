"""The ablation's rows name real settings, values those settings accept, and figures it measures;
its gain says how much better all on is than off, whichever way the figure points."""

from __future__ import annotations

import pytest

from bench.ablation import FIGURES, ROWS, RUNS, Figure, gain_pct
from saleor_coinpayments.settings import Settings, load_settings


@pytest.mark.parametrize(("setting", "off_value", "figure"), ROWS)
def test_each_row_switches_a_real_setting_off_and_reads_a_measured_figure(
    setting: str, off_value: str, figure: str
) -> None:
    name = setting.lower()
    assert name in Settings.model_fields
    switched = load_settings(**{name: off_value})
    assert getattr(switched, name) != Settings.model_fields[name].get_default(call_default_factory=True)
    assert FIGURES[figure].run in RUNS


def test_gain_is_positive_when_all_on_is_better_either_way() -> None:
    faster = Figure("req/s", "req/s", True, "load")
    shorter = Figure("p99", "ms", False, "load")
    assert gain_pct(faster, on=110.0, off=100.0) == pytest.approx(10.0)
    assert gain_pct(shorter, on=90.0, off=100.0) == pytest.approx(10.0)
    assert gain_pct(shorter, on=110.0, off=100.0) == pytest.approx(-10.0)
