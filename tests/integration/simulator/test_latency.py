"""The response-latency setting: held answers, released by lowering it, counted — no timing."""

from __future__ import annotations

import threading

import httpx

from tests.helpers.waiting import eventually
from tests.integration.simulator.conftest import Sim


def _requests(sim: Sim) -> dict[str, int]:
    return dict(sim.control("GET", "/api-requests").json())


def test_answers_are_held_until_the_latency_is_lowered(sim: Sim) -> None:
    assert sim.control("PUT", "/settings", {"responseLatencyMs": 600_000}).json()["responseLatencyMs"] == 600_000
    before = _requests(sim)["answered"]
    answers: list[int] = []
    reader = threading.Thread(target=lambda: answers.append(httpx.get(sim.base + "/api/v1/currencies").status_code))
    reader.start()
    eventually(lambda: _requests(sim)["waiting"] == 1, what="the API request waits")
    assert _requests(sim)["answered"] == before
    assert answers == []
    assert sim.control("GET", "/clock").status_code == 200  # control endpoints are never held

    sim.control("PUT", "/settings", {"responseLatencyMs": 0})
    reader.join(30)
    assert answers == [200]
    assert _requests(sim) == {"responseLatencyMs": 0, "waiting": 0, "answered": before + 1}


def test_bad_latency_is_refused_and_changes_nothing(sim: Sim) -> None:
    for bad in (-1, "fast", 1.5, True):
        response = sim.control("PUT", "/settings", {"responseLatencyMs": bad, "paymentWindowSeconds": 60})
        assert response.status_code == 400, bad
    settings = sim.control("GET", "/settings").json()
    assert settings["responseLatencyMs"] == 0
    assert settings["paymentWindowSeconds"] != 60


def test_reset_restores_the_start_latency(sim: Sim) -> None:
    sim.control("PUT", "/settings", {"responseLatencyMs": 250})
    sim.control("POST", "/reset")
    assert sim.control("GET", "/settings").json()["responseLatencyMs"] == 0
    assert _requests(sim)["answered"] == 0
