"""The asv machine entry: asv's own fields plus the GPU's, saved where asv reads them."""
from __future__ import annotations

from . import devices


def gpu_fields() -> dict[str, str]:
    """GPU identity for machine.json (strings, as asv stores every machine field)."""
    devices.require()
    first = devices.info(0)
    return {"gpu": first.name, "gpu_count": str(devices.count()), "gpu_uuid": first.uuid,
            "compute_capability": first.compute_capability,
            "memory_bandwidth_gbs": f"{first.memory_bandwidth_gbs:.1f}", "l2_bytes": str(first.l2_bytes),
            **devices.versions()}


def register(name: str | None = None) -> dict[str, str]:
    """Write the entry into ~/.asv-machine.json (asv's MachineCollection) and return it."""
    from asv.machine import Machine, MachineCollection

    entry = {**Machine.get_defaults(), **gpu_fields()}
    entry["machine"] = name or devices.machine_name()
    MachineCollection.save(entry["machine"], entry)
    return entry
