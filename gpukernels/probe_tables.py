"""Plain-text tables of a probe report, for the terminal."""
from __future__ import annotations

from tabulate import tabulate


def _table(rows: list[dict], floatfmt: str = ".2f") -> str:
    return tabulate(rows, headers="keys", floatfmt=floatfmt) if rows else "(none)"


def render(report: dict) -> str:
    """The probe report as readable tables, one section per probe."""
    out = [f"machine {report['machine']} ({report['state']}), {report['created']}",
           "versions: " + ", ".join(f"{k} {v or '-'}" for k, v in report["versions"].items()), ""]
    dev_cols = ("index", "name", "compute_capability", "sm_count", "memory_bandwidth_gbs", "l2_bytes",
                "total_memory_bytes", "max_grid", "max_block", "uuid")
    out += ["Devices", _table([{k: d[k] for k in dev_cols} for d in report["devices"]]), ""]
    probes = report["probes"]
    im = probes["index_mapping"]["data"]
    out += [f"Index mapping of gpu{im['launch']} (each global id covered once: {im['covered_once']})",
            _table(im["rows"]), ""]
    for name, title in (("launch_limits", "Launch limits: documented vs measured"),
                        ("seed_claims", "The tutorial's launches"),
                        ("launch_cost", "Launch cost (median us)"),
                        ("copy_bandwidth", "Copy bandwidth (GB/s; d2d counts read + write)"),
                        ("vector_add_modes", "Vector add device time per launch by timing mode (median us)"),
                        ("device_selection", "Device selection: vector add on each device")):
        if name not in probes:
            continue
        p = probes[name]
        rows = p["data"]["rows"] if isinstance(p["data"], dict) else p["data"]
        flag = "" if p["measured"] else "  [not measured: " + p["note"] + "]"
        out += [title + flag, _table(rows), ""]
    return "\n".join(out)
