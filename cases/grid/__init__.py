"""Grids and power flows: radial feeders (IEEE 33, feeder38) and the meshed IEEE 30."""

from .model import MeshedGrid, RadialFeeder, bus_number
from .networks import UnknownGridError, grid_names, load_grid
from .powerflow import PowerFlowResult, RadialPowerFlow

__all__ = [
    "MeshedGrid",
    "PowerFlowResult",
    "RadialFeeder",
    "RadialPowerFlow",
    "UnknownGridError",
    "bus_number",
    "grid_names",
    "load_grid",
]
