"""Our suite's report tables from the probe JSON (probes/<machine>.json) and the value families:
launch limits, index mapping, device checks, tuned choices, kernel anatomy and the nvbench
cross-check. ``probe_section`` is one of our suite's sections (gpukernels.ours.report.sections).
"""
from __future__ import annotations

import math
import re

import pandas as pd

from ..report.data import US, MachineView, size_label
from ..report.sections import Section
from ..report.tables import Table, source
from ..suite import param_label
from .checks import BLOCK_LIMITS, GRID_LIMITS, INDEX_FAMILY, SELECTION_FAMILY

LIMIT_FAMILIES = (GRID_LIMITS, BLOCK_LIMITS)
CHECK_FAMILIES = (INDEX_FAMILY, SELECTION_FAMILY)


# The probe JSON's entries the report shows; others (old files' launch costs, copy bandwidth, timing
# modes) are asv's to measure now and are ignored here.
PROBES_SHOWN = ("index_mapping", "launch_limits", "seed_claims", "device_selection", "kernel_anatomy",
                "nvbench_crosscheck")
INDEX_HEADERS = {"thread": "thread (global id)", "threadIdx": "threadIdx (id)", "blockIdx": "blockIdx (id)",
                 "blockDim": "blockDim (threads)", "gridDim": "gridDim (blocks)"}


def _probe_rows(probe: dict | None, name: str) -> list[dict]:
    entry = ((probe or {}).get("probes") or {}).get(name)
    data = entry.get("data") if isinstance(entry, dict) else entry
    rows = data.get("rows") if isinstance(data, dict) else data
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def limits(view: MachineView, probe: dict | None) -> Table | None:
    """Documented limits (probe JSON) against the ones asv measured, with the error strings past them."""
    documented = {r.get("what"): r for r in _probe_rows(probe, "launch_limits")}
    rows = []
    for fam in LIMIT_FAMILIES:
        wide = view.wide(fam)
        kind = fam.name.removesuffix("Limits").lower()
        metric = fam.metrics[0]
        for _, r in (wide.iterrows() if wide is not None else ()):
            what = f"{kind} {r.dim}"
            doc = documented.pop(what, {})
            rows.append(_limit_row(what, metric.unit, doc, r[metric.method], fam.cls_id))
    for what, doc in documented.items():
        rows.append(_limit_row(str(what), "", doc, doc.get("measured", math.nan), "probe JSON"))
    if not rows:
        return None
    fams = [f for f in LIMIT_FAMILIES if view.pick(f)]
    return Table(pd.DataFrame(rows), (
        "Documented limits from the probe JSON (probes/<machine>.json); measured = the largest "
        "launch that ran, one past it failed" + (f" ({source(view, *fams)})" if fams else "") +
        "; the errors are what the driver and gpukernels say one past the limit."))


def _limit_row(what: str, unit: str, doc: dict, measured: float, by: str) -> dict:
    return {
        "limit": f"{what} ({unit})" if unit else what,
        "documented (count)": doc.get("documented", math.nan),
        "measured (count)": measured,
        "measured by": by,
        "at the limit, the driver says": doc.get("launch_at_limit", "-"),
        "past the limit, the driver says": doc.get("launch_past_limit", "-"),
        "past the limit, gpukernels says": doc.get("our_error_past_limit", "-"),
    }


def checks(view: MachineView) -> list[Table]:
    out = []
    for fam in CHECK_FAMILIES:
        wide = view.wide(fam)
        if wide is None:
            continue
        metric = fam.metrics[0]
        frame = pd.DataFrame({name: wide[name].map(param_label) for name in fam.param_names})  # labels
        legend = re.search(r"\((.*=.*)\)", metric.unit)  # "ok (1 = correct)": a legend, not a unit
        frame[f"{metric.what} ({legend.group(1) if legend else metric.unit})"] = wide[metric.method]
        frame["status"] = wide.status
        out.append(Table(frame, f"{fam.what}. {source(view, fam)}."))
    return out


def index_table(probe: dict | None) -> Table | None:
    rows = _probe_rows(probe, "index_mapping")
    if not rows:
        return None
    entry = probe["probes"]["index_mapping"]
    launch = entry.get("data", {}).get("launch", "") if isinstance(entry, dict) else ""
    frame = pd.DataFrame(rows).rename(columns=INDEX_HEADERS)
    return Table(frame, f"Thread and block indices of the tutorial's launch gpu{launch} (probe JSON).")


def tuned_choices(probe: dict | None) -> Table | None:
    """Which kernel vector add's ``tuned`` picked at each size in the probe run, and every
    candidate's time (probe JSON); None without a measured probe."""
    rows = _probe_rows(probe, "tuned_choice")
    if not rows or not probe["probes"]["tuned_choice"].get("measured"):
        return None
    frame = pd.DataFrame(rows).rename(columns={"choice": "tuned chose"})
    frame["n"] = frame["n"].map(size_label)
    return Table(frame, "The kernel `tuned` chose at each size in the probe run, with each candidate's device time "
                        "(us, graph replay, median of 10; probe JSON). Every benchmark process tunes again on its "
                        "own arrays: candidates within a percent can trade places between runs.")


def kernel_anatomy(probe: dict | None) -> Table | None:
    """Each kernel our implementations launch: registers, shared and local memory, occupancy,
    global access widths (probe ``kernel_anatomy``); None without rows."""
    rows = _probe_rows(probe, "kernel_anatomy")
    if not rows:
        return None
    frame = pd.DataFrame([{
        "op": r.get("op", "-"), "impl": r.get("impl", "-"), "kernel": r.get("kernel", "-"),
        "block (threads)": r.get("block", math.nan), "registers (per thread)": r.get("registers", math.nan),
        "shared (bytes per block)": r.get("shared_bytes", math.nan),
        "local (bytes per thread)": r.get("local_bytes", math.nan),
        "occupancy (%)": r.get("occupancy_pct", math.nan), "limited by": r.get("limited_by", "-"),
        "global loads (PTX)": r.get("loads", "-"), "global stores (PTX)": r.get("stores", "-"),
    } for r in rows])
    return Table(frame, (
        "Kernels our implementations launch (probe JSON). Registers, shared and local memory (spills and "
        "local arrays) are numba's compiled-kernel attributes (cuFuncGetAttribute); loads and stores are "
        "instructions counted in the kernel's PTX by width (v4: 16 bytes of float32, v2: 8, scalar: 4; nc: "
        "read-only path), each once however often it runs. Occupancy is theoretical: resident warps per SM "
        "allowed by registers, shared memory, threads and blocks at the launch's block size, not measured."))


def crosscheck(probe: dict | None) -> Table | None:
    """Our graph and graph_cold times beside nvbench's batch and cold ones (probe
    ``nvbench_crosscheck``); None without rows."""
    rows = _probe_rows(probe, "nvbench_crosscheck")
    if not rows:
        return None

    def us(r: dict, key: str) -> float:
        value = r.get(key)
        return value * US if isinstance(value, (int, float)) else math.nan

    frame = pd.DataFrame([{
        "op": r.get("op", "-"), "impl": r.get("impl", "-"),
        "size": ", ".join(f"{k} = {v}" for k, v in (r.get("axes") or {}).items()) or "-",
        "ours graph (us)": us(r, "ours_graph_s"), "nvbench batch (us)": us(r, "nvbench_batch_s"),
        "graph vs batch (%)": r.get("graph_vs_batch_pct", math.nan),
        "ours graph_cold (us)": us(r, "ours_cold_s"), "nvbench cold (us)": us(r, "nvbench_cold_s"),
        "graph_cold vs cold (%)": r.get("cold_vs_cold_pct", math.nan),
    } for r in rows])
    return Table(frame, (
        "Our timing against NVIDIA nvbench's on the same prepared problems, in one process (probe JSON): "
        "ours graph = median of 30 graph-replay samples, graph_cold = one launch per sample after an L2 "
        "flush; nvbench batch = its Batch GPU mean (back-to-back launches, L2 warm), cold = its GPU Time "
        "mean (L2 flushed before each launch). Beyond L2 the suite's graph time should agree with "
        "nvbench's batch within 2%, and graph_cold with nvbench's cold; % = ours / nvbench - 1."))


def probe_errors(probe: dict | None) -> list[Table]:
    """Error strings of the probe JSON other than the limits': the seed's launches, device selection."""
    out = []
    claims = _probe_rows(probe, "seed_claims")
    if claims:
        frame = pd.DataFrame([{k: v for k, v in r.items() if isinstance(v, str)} for r in claims])
        out.append(Table(frame, "The tutorial's launches, checked by gpukernels and then by the driver (probe JSON)."))
    selection = [r for r in _probe_rows(probe, "device_selection") if r.get("error")]
    if selection:
        frame = pd.DataFrame([{"device": str(r.get("device")), "error": r.get("error")} for r in selection])
        out.append(Table(frame, "cuda.select_device errors (probe JSON)."))
    return out


def probe_failures(probe: dict | None) -> Table | None:
    """Probes that raised on the GPU machine (the probe JSON's ``failed`` list)."""
    failed = [f for f in (probe or {}).get("failed") or [] if isinstance(f, dict)]
    if not failed:
        return None
    frame = pd.DataFrame([{"probe": str(f.get("probe", "-")), "device": str(f.get("device", "-")),
                           "error": str(f.get("error", "-"))} for f in failed])
    return Table(frame, "Probes that failed on the GPU machine (probe JSON); the others still ran.")


def probe_notes(probe: dict | None) -> list[str]:
    """The notes of the probes the report shows (e.g. 'simulator: documented limits, not launched')."""
    out = []
    for name in PROBES_SHOWN:
        entry = ((probe or {}).get("probes") or {}).get(name)
        if isinstance(entry, dict) and entry.get("note"):
            out.append(f"Probe {name}: {entry['note']}")
    return out


def devices(probe: dict | None) -> Table | None:
    found = [d for d in (probe or {}).get("devices") or [] if isinstance(d, dict)]
    if not found:
        return None
    frame = pd.DataFrame([{
        "device (index)": d.get("index", i),
        "name": d.get("name", "-"),
        "compute capability": d.get("compute_capability", "-"),
        "SMs (count)": d.get("sm_count", math.nan),
        "memory (GB)": d.get("total_memory_bytes", math.nan) / 1e9,
    } for i, d in enumerate(found)])
    return Table(frame, f"GPUs the probe saw (probe JSON, created {probe.get('created', 'at an unknown time')}).")





def probe_section(view: MachineView, probe: dict | None) -> list[Section]:
    section = Section("Limits, indices and checks", level=3)
    for part in (limits(view, probe), *checks(view), index_table(probe), kernel_anatomy(probe), crosscheck(probe),
                 *probe_errors(probe), probe_failures(probe), devices(probe), *probe_notes(probe)):
        if part is not None:
            section.parts.append(part)
    if probe is None:
        section.parts.append("No probe file (probes/<machine>.json) for this machine.")
    return [section]
