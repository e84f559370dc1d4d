"""The AI consultant: cache-hit reply time, and what a hung model call does to everything else.

Method: two real AIConsultantActors, A and B, with an OpenRouter key, both
pointed at the fake OpenRouter (`tests/_support/fakes/openrouter.py`, on 127.0.0.1); a
probe actor is the requester (`reply_to`) and stamps `perf_counter_ns()` first
thing when an Advice reaches it. One request warms each cache (a model call).
Then cache hits are timed one at a time: the same market situation, other
request ids, market time inside the TTL, requests built before the clock
starts; reply time = probe stamp - time just before `tell` (two hops plus the
cache lookup and the re-check). `GetStats` asks are timed too.

The samples alternate A, B, A, B, ... so that whatever else the machine does
hits both alike (this VM's wake-up latency drifts by tens of µs over seconds):

1. idle: neither has a call in flight. p50(A) - p50(B) here is the noise.
2. hang: the fake is scripted to hang and A gets a request for another market
   situation, so A's model call hangs (`timeout_s` = 30 s: it hangs all
   through; checked: one call in flight, its requester still waiting). The
   same alternating series again.

`ai_hang_extra_delay_us` = p50(A) - p50(B) during the hang (the p99 difference
too). Target: no delay beyond noise, read as: at most max(20 µs, 3 x the idle
noise); an actor blocked by the call would add the whole hang (seconds).
`ai_cache_hit_p50/p99_us` pool both actors' idle samples. Baseline for the
ratio: the same two hops through an empty relay actor, timed in the same run.
Finally the fake is stopped, the hung call fails and A's requester gets its
one fallback answer (checked).

`ai_rule_based_answer_us`: what one AdviceRequest costs the consultant with no
key, as in every offline backtest, where the keeper asks on every bar: the
actor's `on_receive` called on this thread (no pykka hop), the requester a
plain list; requests in a ranging market (the usual bar: a hold), mids moving
bar to bar, built before the clock starts; the median of 7 passes.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from decimal import Decimal
from typing import Any

from _common import bench_settings, emit, hop_samples, parse_args, percentile, probe, quiet_logging, stop_all_actors

from actors._lib.secrets import Secret
from actors.ai_consultant.actor import AIConsultantActor
from actors.messages import Advice, AdviceSource, GetStats
from tests._support.fakes.openrouter import FakeOpenRouter, Reply, sample_request

D = Decimal
KEY = "-".join(("sk", "or", "v1", "fake", "benchmark", "key"))  # a stand-in value; no real key looks like it
HANG_TIMEOUT_S = 30


def us(ns: list[int], q: float) -> float:
    return round(percentile(ns, q) / 1000, 1)


def series(actors: dict[str, Any], rec: Any, requester: Any, n: int, tag: str) -> dict[str, tuple[list[int], list[int]]]:
    """n cache hits and n GetStats asks per actor, alternating between the actors; (hits, asks) by name."""
    names = list(actors)
    reqs = {k: [sample_request(f"{tag}-{k}-{i}", ts_ms=1_000 + i, reply_to=requester) for i in range(n)] for k in names}
    out: dict[str, tuple[list[int], list[int]]] = {k: ([], []) for k in names}
    for i in range(n):
        for k in names:
            req = reqs[k][i]
            t0 = time.perf_counter_ns()
            actors[k].tell(req)
            ((t1, adv),) = rec.wait_for(Advice, predicate=lambda a, rid=req.request_id: a.request_id == rid)
            assert adv.source is AdviceSource.CACHE, adv
            out[k][0].append(t1 - t0)
            rec.clear()  # a long list to scan would cost the waiting thread GIL time inside the next sample
    for _ in range(n):
        for k in names:
            t0 = time.perf_counter_ns()
            actors[k].ask(GetStats(), timeout=5)
            out[k][1].append(time.perf_counter_ns() - t0)
    w = max(1, n // 20)  # warm-up
    return {k: (h[w:], a[w:]) for k, (h, a) in out.items()}


class _Sink:
    """A requester that only keeps what it is told (the rule-based benchmark runs without threads)."""

    actor_urn = "sink"

    def __init__(self) -> None:
        self.got: list[Any] = []

    def tell(self, message: Any) -> None:
        self.got.append(message)


def rule_based_answer_us(n: int) -> float:
    """µs per AdviceRequest answered by the rule-based advisor, through the actor's own handler."""
    sink = _Sink()
    reqs = [dataclasses.replace(
        sample_request(f"bar-{i}", mid=D("10.005") + D(i % 97) / 100, ts_ms=1_000 + i * 300_000, regime="range"),
        reply_to=sink) for i in range(n)]
    passes = []
    for _ in range(7):
        actor = AIConsultantActor(bench_settings(), None)  # not started: on_receive runs on this thread
        actor.on_start()
        sink.got.clear()
        t0 = time.perf_counter_ns()
        for req in reqs:
            actor.on_receive(req)
        passes.append(time.perf_counter_ns() - t0)
        assert len(sink.got) == n and all(a.source is AdviceSource.STRATEGY for a in sink.got)  # no key
    return round(sorted(passes)[len(passes) // 2] / n / 1000, 2)


def main() -> None:
    args = parse_args(__doc__)
    quiet_logging("ERROR")  # the released hang logs a warning
    n = 200 if args.quick else 2000
    rule_based_us = rule_based_answer_us(n)
    print(f"rule-based answer {rule_based_us} us per request (no threads)", file=sys.stderr, flush=True)
    fake = FakeOpenRouter(api_key=KEY)
    fake.start()
    stopped = False
    try:
        s = bench_settings()
        s = dataclasses.replace(s, ai=dataclasses.replace(
            s.ai, base_url=fake.base_url, check_models_at_start=False, timeout_s=D(HANG_TIMEOUT_S)))
        actors = {"A": AIConsultantActor.start(s, Secret(KEY)), "B": AIConsultantActor.start(s, Secret(KEY))}
        requester, rec = probe()
        for k, ai in actors.items():
            ai.tell(sample_request(f"warm-{k}", ts_ms=1_000, reply_to=requester))
            ((_t, warm),) = rec.wait_for(Advice, timeout=10)
            assert warm.source is AdviceSource.MODEL, warm
            rec.clear()

        idle = series(actors, rec, requester, n, "idle")
        print(f"idle cache hit p50 A {us(idle['A'][0], 50)} B {us(idle['B'][0], 50)} us", file=sys.stderr, flush=True)

        a = actors["A"]
        fake.push(Reply.hang_forever())
        a.tell(sample_request("hung", mid="11.005", ts_ms=2_000, reply_to=requester))
        deadline = time.monotonic() + 10
        while a.ask(GetStats(), timeout=5).as_dict()["in_flight"] != 1:
            assert time.monotonic() < deadline, "the hung call never started"
            time.sleep(0.005)
        hang = series(actors, rec, requester, n, "hang")
        st = a.ask(GetStats(), timeout=5).as_dict()
        assert st["in_flight"] == 1 and st["waiting"] == 1, st  # it really hung all through
        print(f"hang cache hit p50 A {us(hang['A'][0], 50)} B {us(hang['B'][0], 50)} us", file=sys.stderr, flush=True)

        fake.stop()  # releases the hang: the call fails, the requester gets its one fallback answer
        stopped = True
        ((_t, hung),) = rec.wait_for(Advice, predicate=lambda m: m.request_id == "hung", timeout=10)
        assert hung.source is AdviceSource.FALLBACK
        stats = {k: ai.ask(GetStats(), timeout=5).as_dict() for k, ai in actors.items()}
        for ai in actors.values():
            ai.stop()
        relay = hop_samples(n, relay=True)[max(1, n // 20):]
    finally:
        stop_all_actors()
        if not stopped:
            fake.stop()

    hits = idle["A"][0] + idle["B"][0]
    noise = percentile(idle["A"][0], 50) - percentile(idle["B"][0], 50)
    extra = percentile(hang["A"][0], 50) - percentile(hang["B"][0], 50)
    emit({
        "ai_samples_per_series": len(idle["A"][0]),
        "ai_cache_hit_p50_us": us(hits, 50),
        "ai_cache_hit_p90_us": us(hits, 90),
        "ai_cache_hit_p99_us": us(hits, 99),
        "ai_cache_hit_max_us": us(hits, 100),
        "ai_idle_noise_p50_us": round(noise / 1000, 1),
        "ai_cache_hit_during_hang_p50_us": us(hang["A"][0], 50),
        "ai_cache_hit_during_hang_p99_us": us(hang["A"][0], 99),
        "ai_cache_hit_beside_hang_p50_us": us(hang["B"][0], 50),
        "ai_cache_hit_beside_hang_p99_us": us(hang["B"][0], 99),
        "ai_hang_extra_delay_us": round(extra / 1000, 1),
        "ai_hang_extra_delay_p99_us": round((percentile(hang["A"][0], 99) - percentile(hang["B"][0], 99)) / 1000, 1),
        "ai_hang_noise_threshold_us": round(max(20.0, 3 * abs(noise) / 1000), 1),
        "ai_get_stats_ask_p50_us": us(idle["A"][1] + idle["B"][1], 50),
        "ai_get_stats_ask_during_hang_p50_us": us(hang["A"][1], 50),
        "ai_get_stats_ask_during_hang_p99_us": us(hang["A"][1], 99),
        "ai_hang_extra_delay_get_stats_us": round((percentile(hang["A"][1], 50) - percentile(hang["B"][1], 50)) / 1000, 1),
        "ai_relay_2hop_p50_us": us(relay, 50),
        "ai_relay_2hop_p99_us": us(relay, 99),
        "ai_cache_hit_vs_2hop_p99_ratio": round(percentile(hits, 99) / percentile(relay, 99), 2),
        "ai_hang_vs_idle_p50_ratio": round(percentile(hang["A"][0], 50) / percentile(hang["B"][0], 50), 3),
        "ai_model_calls": stats["A"]["model_calls"] + stats["B"]["model_calls"],
        "ai_cache_hits": stats["A"]["cache_hits"] + stats["B"]["cache_hits"],
        "ai_rule_based_answer_us": rule_based_us,
    })


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all_actors()
