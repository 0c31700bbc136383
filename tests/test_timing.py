"""gpukernels.timing: statistics, and each measurement against a scripted clock."""
from __future__ import annotations

import math

import numpy as np
import pytest
from numba import cuda

from gpukernels import timing
from gpukernels.ours import kernels
from gpukernels.timing import HostEvent, L2Flusher, Timing, TimingError, device_time
from gpukernels.ours.vector_add import VectorAddSeed

# --- Timing --------------------------------------------------------------------------------

SAMPLES = (3e-6, 1e-6, 2e-6, 10e-6, 4e-6)


def test_statistics_match_numpy() -> None:
    t = Timing(SAMPLES, "graph")
    assert t.median_s == pytest.approx(3e-6)
    assert t.min_s == pytest.approx(1e-6)
    q25, q75 = np.percentile(SAMPLES, [25, 75])
    assert t.iqr_s == pytest.approx(q75 - q25)
    assert t.iqr_s == pytest.approx(2e-6)  # 4 us - 2 us
    assert Timing((5.0,), "wall").iqr_s == 0.0


def test_repr_says_mode_cache_and_microseconds() -> None:
    r = repr(Timing(SAMPLES, "batch", cold=True, per_sample=100))
    assert "batch" in r and "cold" in r and "100/sample" in r and "n=5" in r
    assert "median 3.000 us" in r and "min 1.000 us" in r and "IQR 2.000 us" in r
    assert "hot" in repr(Timing(SAMPLES, "graph"))


def test_asv_shape() -> None:
    out = Timing(SAMPLES, "graph").asv()
    assert out == {"samples": list(SAMPLES), "number": 1}
    assert isinstance(out["samples"], list)


@pytest.mark.parametrize("empty", [(), []])
def test_empty_samples_raise(empty) -> None:
    with pytest.raises(TimingError, match="at least one sample"):
        Timing(empty, "graph")


# --- device_time against a scripted clock ------------------------------------------------

class Script:
    """A fake CUDA-event factory: each record() takes the next stamp (ms) from a script and
    logs what had happened by then (launches so far), so elapsed times are known exactly."""

    def __init__(self, durations_ms, elapsed_override=None):
        self.stamps = []
        for i, d in enumerate(durations_ms):
            self.stamps += [100.0 * i, 100.0 * i + d]
        self.log: list[tuple[str, int]] = []
        self.launches = 0
        self.streams: set[int] = set()
        self.elapsed_override = elapsed_override

    def launch(self, stream) -> None:
        assert stream is not None and stream != 0  # device_time passes its own stream
        self.streams.add(id(stream))
        self.launches += 1
        self.log.append(("launch", self.launches))

    def factory(self):
        script = self

        class FakeEvent:
            def record(self, stream=0):
                self.t = script.stamps.pop(0)
                script.log.append(("record", script.launches))

            def synchronize(self):
                script.log.append(("sync", script.launches))

            def elapsed_time(self, other):
                if script.elapsed_override is not None:
                    return script.elapsed_override
                return other.t - self.t

        return FakeEvent


DURATIONS_MS = [2.0, 4.0, 6.0]


@pytest.mark.parametrize("mode", ["batch", "graph"])
def test_batch_and_graph_divide_by_launches(mode) -> None:
    s = Script(DURATIONS_MS)
    t = device_time(s.launch, mode, samples=3, launches=4, warmup=2, event_factory=s.factory())
    assert t.samples_s == pytest.approx((2e-3 / 4, 4e-3 / 4, 6e-3 / 4))
    assert t.mode == mode and t.per_sample == 4 and t.cold is False
    assert t.median_s == pytest.approx(1e-3)
    # 2 warm-up samples + 3 timed ones, 4 launches each; every stamp used, none left
    assert s.launches == (2 + 3) * 4
    assert s.stamps == []
    assert len(s.streams) == 1
    records = [n for what, n in s.log if what == "record"]
    # warm-up launches come before the first event; each pair brackets 4 launches
    assert records == [8, 12, 12, 16, 16, 20]
    assert not any(what == "sync" for what, _ in s.log)  # no per-sample sync outside 'single'


def test_single_is_one_launch_per_sample_and_syncs_each() -> None:
    s = Script(DURATIONS_MS)
    t = device_time(s.launch, "single", samples=3, launches=4, warmup=1, event_factory=s.factory())
    assert t.samples_s == pytest.approx((2e-3, 4e-3, 6e-3))
    assert t.per_sample == 1 and t.mode == "single"
    assert s.launches == 1 + 3
    kinds = [what for what, _ in s.log]
    assert kinds == ["launch"] + ["record", "launch", "record", "sync"] * 3


def test_no_warmup_records_from_the_first_launch() -> None:
    s = Script([1.0])
    t = device_time(s.launch, "batch", samples=1, launches=2, warmup=0, event_factory=s.factory())
    assert t.samples_s == pytest.approx((0.5e-3,))
    assert [n for what, n in s.log if what == "record"] == [0, 2]


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
@pytest.mark.parametrize("mode", timing.MODES)
def test_event_pair_without_a_time_is_an_error(mode, bad) -> None:
    s = Script([1.0, 1.0], elapsed_override=bad)
    with pytest.raises(TimingError, match="no device time was recorded"):
        device_time(s.launch, mode, samples=2, launches=2, event_factory=s.factory())


def test_zero_elapsed_is_allowed() -> None:
    s = Script([0.0])
    assert device_time(s.launch, "graph", samples=1, launches=1, event_factory=s.factory()).samples_s == (0.0,)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"mode": "fast"}, "mode must be one of"),
     ({"samples": 0}, "samples must be a whole number >= 1, got 0"),
     ({"samples": -3}, "samples must be"),
     ({"samples": 2.0}, "samples must be"),
     ({"samples": True}, "samples must be"),
     ({"launches": 0, "mode": "batch"}, "launches must be a whole number >= 1, got 0"),
     ({"launches": 0, "mode": "graph"}, "launches must be"),
     ({"launches": 1.5, "mode": "graph"}, "launches must be")],
)
def test_bad_arguments_raise_before_any_launch(kwargs, message) -> None:
    s = Script([1.0])
    with pytest.raises(TimingError, match=message):
        device_time(s.launch, event_factory=s.factory(), **kwargs)
    assert s.launches == 0


class SpyFlusher(L2Flusher):
    """A real flusher over a small buffer (the simulator runs every thread in Python)."""

    made: list["SpyFlusher"] = []

    def __init__(self, log):
        super().__init__(1024)
        self.log = log
        SpyFlusher.made.append(self)

    def flush(self, stream) -> None:
        super().flush(stream)
        self.log.append(("flush", 0))


def test_cold_flushes_before_every_timed_sample_only(monkeypatch) -> None:
    s = Script(DURATIONS_MS)
    SpyFlusher.made = []
    monkeypatch.setattr(timing, "L2Flusher", lambda: SpyFlusher(s.log))
    t = device_time(s.launch, "graph", samples=3, launches=1, warmup=2, cold=True, event_factory=s.factory())
    assert t.cold is True and "cold" in repr(t)
    assert len(SpyFlusher.made) == 1
    kinds = [what for what, _ in s.log]
    assert kinds == ["launch"] * 2 + ["flush", "record", "launch", "record"] * 3
    # the fill kernel really ran: the last flush wrote 3 everywhere
    buf = SpyFlusher.made[0]._buf.copy_to_host()
    assert buf.size == 256 and (buf == 3).all()


def test_hot_makes_no_flusher(monkeypatch) -> None:
    def boom():
        raise AssertionError("hot mode must not flush")
    monkeypatch.setattr(timing, "L2Flusher", boom)
    s = Script([1.0])
    device_time(s.launch, "batch", samples=1, launches=1, event_factory=s.factory())


def test_l2_flusher_writes_its_buffer() -> None:
    f = L2Flusher(4096)
    stream = cuda.stream()
    f.flush(stream)
    f.flush(stream)
    stream.synchronize()
    buf = f._buf.copy_to_host()
    assert buf.size == 1024 and (buf == 2).all()


def test_simulator_flusher_default_buffer_is_64_kib() -> None:
    assert L2Flusher()._buf.size * 4 == 1 << 16


def test_simulator_events_are_host_events() -> None:
    assert timing.default_event_factory() is HostEvent
    a, b = HostEvent(), HostEvent()
    a.record()
    b.record()
    assert b.elapsed_time(a) <= 0 <= a.elapsed_time(b)


def test_device_time_with_default_events_on_the_simulator() -> None:
    w = VectorAddSeed(64, 32)
    t = device_time(w.launch, "batch", samples=2, launches=3, warmup=1)
    assert len(t.samples_s) == 2 and all(x > 0 for x in t.samples_s)
    # 1 warm-up sample and 2 timed ones, 3 launches each: b += a nine times
    np.testing.assert_allclose(w.b.copy_to_host(), w.b_host + 9 * w.a_host.astype(np.float64), rtol=1e-5)


# --- wall, enqueue, compile ----------------------------------------------------------------

def test_wall_time_with_a_fake_clock() -> None:
    ticks = iter([0.0, 1.0, 10.0, 13.0, 20.0, 26.0])
    clock_calls = []
    calls = []

    def clock():
        clock_calls.append(len(calls))
        return next(ticks)

    t = timing.wall_time(lambda: calls.append(1), samples=3, warmup=2, clock=clock)
    assert t.samples_s == pytest.approx((1.0, 3.0, 6.0))
    assert t.mode == "wall" and t.per_sample == 1
    assert len(calls) == 5
    assert clock_calls == [2, 3, 3, 4, 4, 5]  # the clock brackets each timed call, not warm-up


@pytest.mark.parametrize("kwargs", [{"samples": 0}, {"samples": 1.0}])
def test_wall_time_refuses_bad_samples(kwargs) -> None:
    with pytest.raises(TimingError):
        timing.wall_time(lambda: None, **kwargs)


def test_synced_perf_counter_is_monotonic() -> None:
    a = timing.synced_perf_counter()
    b = timing.synced_perf_counter()
    assert b >= a > 0


def test_enqueue_time_on_the_simulator() -> None:
    calls = []
    launch = lambda: (calls.append(1), kernels.empty0[1, 1]())  # noqa: E731
    t = timing.enqueue_time(launch, launches=3, samples=4)
    assert t.mode == "enqueue" and t.per_sample == 3
    assert len(t.samples_s) == 4 and all(x > 0 and math.isfinite(x) for x in t.samples_s)
    assert len(calls) == 1 + 3 * 4


@pytest.mark.parametrize("kwargs", [{"launches": 0}, {"samples": 0}])
def test_enqueue_time_refuses_bad_counts(kwargs) -> None:
    with pytest.raises(TimingError):
        timing.enqueue_time(lambda: None, **kwargs)


def test_compile_time_on_the_simulator() -> None:
    made = []

    def args():
        a, b = np.arange(40, dtype=np.float32), np.ones(40, dtype=np.float32)
        made.append((cuda.to_device(a), cuda.to_device(b), a, b))
        return made[-1][:2]

    t = timing.compile_time(kernels.vector_add_py, args, 2, 32, samples=2)
    assert t.mode == "compile" and len(t.samples_s) == 2
    assert all(x > 0 for x in t.samples_s)
    for da, db, a, b in made:  # each fresh dispatcher really ran once on its own arrays
        np.testing.assert_array_equal(db.copy_to_host(), a + b)


def test_compile_time_refuses_zero_samples() -> None:
    with pytest.raises(TimingError):
        timing.compile_time(kernels.vector_add_py, lambda: (), 1, 1, samples=0)


# --- the policy ------------------------------------------------------------------------------

def test_policy_launches_and_simulator_limit() -> None:
    p = timing.POLICY
    assert p.launches_for(2**10) == p.max_launches and p.launches_for(2**28) == 1
    assert p.launches_for(2**20) == 64  # 2^26 elements of work per sample
    assert p.max_elements is None and timing.SIMULATOR_POLICY.max_elements == 2**10
    assert timing.policy() is timing.SIMULATOR_POLICY  # the tests run on the simulator


def test_on_sample_runs_once_per_sample() -> None:
    w = VectorAddSeed(64, 32)
    seen = []
    device_time(w.launch, "graph", samples=3, launches=2, on_sample=lambda: seen.append(1))
    assert len(seen) == 3


def test_wall_time_stops_at_its_budget_after_the_minimum() -> None:
    ticks = iter(float(i) for i in range(100))  # every clock read advances 1 s: each sample is 1 s
    t = timing.wall_time(lambda: None, samples=20, warmup=0, clock=lambda: next(ticks), min_samples=4, budget_s=2.5)
    assert len(t.samples_s) == 4  # the budget was spent after 3, but 4 is the minimum
    ticks = iter(float(i) for i in range(100))
    t = timing.wall_time(lambda: None, samples=5, warmup=0, clock=lambda: next(ticks), min_samples=2, budget_s=99)
    assert len(t.samples_s) == 5  # never more than samples


def test_quick_policy_under_asv_quick_on_a_gpu(monkeypatch) -> None:
    from gpukernels import devices, machine

    monkeypatch.setattr(devices, "simulated", lambda: False)
    monkeypatch.setattr(machine, "asv_quick", lambda: True)
    assert timing.policy() is timing.QUICK_POLICY and timing.QUICK_POLICY.max_elements == 2**22
    monkeypatch.setattr(machine, "asv_quick", lambda: False)
    assert timing.policy() is timing.POLICY


def test_asv_quick_skips_the_library_peers_with_a_reason(monkeypatch) -> None:
    """--quick is a smoke run of our kernels: no PyTorch or CuPy import (4.5 s per family on the H200 host)."""
    from gpukernels import devices, problems

    monkeypatch.setattr(devices, "simulated", lambda: False)
    monkeypatch.setattr(problems, "asv_quick", lambda: True)
    for library in (problems.CUPY, problems.TORCH):
        with pytest.raises(problems.PeerMissing, match=f"asv run --quick: {library.module} is timed in the full run"):
            library.load()
