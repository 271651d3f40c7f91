"""The intraday MPC window of the SGLS methods: one compiled block re-solved persistently
with ``appsi_highs`` (only the changed parameter values are pushed) instead of rebuilt."""

from __future__ import annotations

from collections.abc import Sequence

from gridbench.cases.sgls.config import SglsConfig
from gridbench.cases.sgls.day import FloatArray
from gridbench.cases.sgls.formulation.data import BlockData
from gridbench.cases.sgls.formulation.model import plan_model
from gridbench.cases.sgls.formulation.parameters import set_block
from gridbench.cases.sgls.formulation.solve import SolveInfo, solve
from gridbench.cases.sgls.formulation.variables import BlockResult, read_block

__all__ = ["Mpc"]


class Mpc:
    """A compiled intraday window of ``length`` 15-min steps, re-solved persistently.

    Each :meth:`solve` writes the window's forecast, the measured state, the schedule ``T*``
    and the planned SOC at the window's end (a soft terminal target, ``w_target`` $/MWh)
    into the parameters and re-solves with the same ``appsi_highs`` object.
    """

    def __init__(self, config: SglsConfig, length: int = 16, *, persistent: bool = True,
                 w_target: float | None = None) -> None:
        self.config = config
        self.length = length
        self.persistent = persistent
        #: terminal SOC deviation price: three times the highest tariff (never worth leaving
        #: the plan's end SOC for an arbitrage inside the window)
        self.w_target = w_target if w_target is not None else 3.0 * 153.0 * config.tariff_scale
        self._m = None
        self._opt = None

    def _model(self):
        if self._m is None or not self.persistent:
            from pyomo.contrib.appsi.solvers.highs import Highs

            from gridbench.cases.highs import quiet_highs_banner

            quiet_highs_banner()

            self._m = plan_model(self.config, self.length, 0.25, tie="imbalance", track=True)
            self._opt = Highs()
            if self.persistent:
                uc = self._opt.update_config
                uc.check_for_new_or_removed_constraints = False
                uc.check_for_new_or_removed_vars = False
                uc.check_for_new_or_removed_params = False
                uc.update_constraints = False
                uc.update_vars = False
                uc.update_named_expressions = False
                uc.check_for_new_objective = False
                uc.update_objective = False
        return self._m

    def solve(self, data: BlockData, *, soc0, bal0, prev, ref, soc_target,
              time_limit_s: float = 10.0, soc_ref: FloatArray | None = None,
              w_ref: float = 0.0, bal_target: Sequence[float] | None = None,
              soc_floor: Sequence[float] | None = None
              ) -> tuple[SolveInfo, BlockResult | None]:
        m = self._model()
        set_block(m.b, self.config, data, soc0=soc0, soc_target=soc_target,
                  w_target=self.w_target, bal0=bal0, prev=prev, ref=ref, soc_ref=soc_ref,
                  w_ref=w_ref, bal_target=bal_target, soc_floor=soc_floor)
        info = solve(m, time_limit_s=time_limit_s, solver=self._opt)
        if not info.ok:  # failed, or stopped at its time limit without an incumbent
            return info, None
        return info, read_block(m.b, self.config)
