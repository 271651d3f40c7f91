"""``ppo-kl``, ``ppo-clip-kl`` and the CNN + FC extractor (SGLS paper, Table 1).

Exact unit tests of the adaptive-KL rule (Schulman et al. 2017 sec. 4), of the clipped and
clip-free losses on a hand-built batch and of the closed-form KL; smoke training of every
variant (MLP and CNN) through ``fit`` on a TEST-ONLY toy case whose id starts with ``sgls-``
(the variants support the SGLS cases only), the β trace of ``progress.csv`` replayed through the
rule, determinism and the save/load round trip.
"""

from __future__ import annotations

import copy
import csv
import datetime
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import DiagGaussianDistribution
from test_referee_base import _ToyCore

import gridbench.rl_agents  # noqa: F401  (registers the RL methods)
from gridbench.cases import registry
from gridbench.cases.contracts import BaseCase, Split
from gridbench.cases.referee import Timeline
from gridbench.rl_agents.ppo_variants import (
    TABLE1_CHANNELS,
    AdaptiveKLPPO,
    CnnFcExtractor,
    PpoClipKl,
    PpoClipKlFair,
    PpoKl,
    PpoKlFair,
    adapt_kl_beta,
    conv_output_length,
    policy_kl,
    surrogate_loss,
)
from gridbench.rl_agents.sb3_methods import (
    HyperparamError,
    SB3Method,
    _resolve_extractor,
    load_hyperparams,
    training_plan,
)

# built-in cases registered now, outside any sandbox (a sandbox would drop them on exit)
registry.discover_builtin_cases()

VARIANTS = ("ppo", "ppo-kl", "ppo-clip-kl")
TRAIN_DAYS = tuple(datetime.date(2016, 1, 4) + datetime.timedelta(days=9 * k) for k in range(12))
TEST_DAYS = (datetime.date(2016, 7, 1),)


class _SglsToyCase(BaseCase):
    """TEST ONLY: the referee tests' toy core (24 × 1 h, two storages) under an ``sgls-`` id."""

    id = "sgls-test-toy-v0"
    grid = "toy"
    paper = "test only"
    timeline = Timeline.single(24, 1.0)

    def days(self, split: Split | str) -> tuple[datetime.date, ...]:
        return {Split.TRAIN: TRAIN_DAYS, Split.VAL: TEST_DAYS, Split.TEST: TEST_DAYS}[
            Split.parse(split)
        ]

    def make_core(self) -> _ToyCore:
        return _ToyCore(n_storage=2)


class _OtherToyCase(_SglsToyCase):
    id = "other-test-toy-v0"


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def case() -> Iterator[_SglsToyCase]:
    with registry.sandbox():
        registry.register_case(_SglsToyCase.id, entry_point=f"{__name__}:_SglsToyCase")
        yield registry.make_case(_SglsToyCase.id)


@pytest.fixture(scope="module")
def cnn_hyperparams(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped file with Table 1's CNN + FC network for the three variants."""
    data = load_hyperparams()
    for name in VARIANTS:
        data["algorithms"][name]["policy_kwargs"] = {"extractor": "cnn", "net_arch": [256, 128]}
    path = tmp_path_factory.mktemp("hp") / "hyperparams_cnn.json"
    path.write_text(json.dumps(data))
    return path


def _method(name: str, root: Path, hyperparams: Path | None = None) -> SB3Method:
    method = registry.make_method(name)
    assert isinstance(method, SB3Method)
    method.training_dir = root
    method.hyperparams = hyperparams
    method.progress_bar = False
    return method


def _actions(method: SB3Method, case: BaseCase) -> np.ndarray:
    env = case.make_env(day=TEST_DAYS[0], seed=3)
    obs, info = env.reset()
    ctrl = method.controller(case, TEST_DAYS[0])
    ctrl.reset(obs, info)
    out = []
    for _ in range(case.steps):
        a = ctrl.act(obs, info)
        out.append(a)
        obs, _, _, _, info = env.step(a)
    return np.stack(out)


def _progress(method: SB3Method) -> list[dict[str, str]]:
    with open(Path(method.last_fit["run_dir"]) / "progress.csv", newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------------------- the KL rule
@pytest.mark.parametrize(
    ("kl", "expected"),
    [
        (0.005, 0.5),  # < d_targ/1.5 = 0.00667: halve
        (0.02, 2.0),  # > 1.5·d_targ = 0.015: double
        (0.01, 1.0),
        (0.01 / 1.5, 1.0),  # boundaries keep β (strict inequalities)
        (0.015, 1.0),
        (0.0, 0.5),
    ],
)
def test_adaptive_kl_rule_exact(kl: float, expected: float) -> None:
    assert adapt_kl_beta(1.0, kl, 0.01) == expected


def test_adaptive_kl_rule_compounds_and_validates() -> None:
    beta = 3.0
    for kl in (1.0, 1.0, 1e-6):  # x2, x2, /2
        beta = adapt_kl_beta(beta, kl, 0.01)
    assert beta == 6.0
    assert adapt_kl_beta(1.0, 0.2, 0.1, tolerance=3.0, factor=10.0) == 1.0
    assert adapt_kl_beta(1.0, 0.4, 0.1, tolerance=3.0, factor=10.0) == 10.0
    for bad in (
        {"beta": 0.0},
        {"beta": float("inf")},
        {"kl": float("nan")},
        {"kl": -1.0},
        {"target": 0.0},
        {"tolerance": 0.5},
        {"factor": 1.0},
    ):
        args = {"beta": 1.0, "kl": 0.01, "target": 0.01, **bad}
        with pytest.raises(ValueError, match=next(iter(bad))):
            adapt_kl_beta(**args)


# ---------------------------------------------------------------------------- the losses
def test_clip_free_loss_differs_from_clipped_on_a_hand_built_batch() -> None:
    ratio = torch.tensor([1.5, 0.5, 1.1], requires_grad=True)
    adv = torch.tensor([1.0, -1.0, 2.0])
    kl = torch.tensor([0.1, 0.3, 0.2])
    # r·A = [1.5, -0.5, 2.2]; clip(r, 0.8, 1.2)·A = [1.2, -0.8, 2.2]; min = [1.2, -0.8, 2.2]
    clipped = surrogate_loss(ratio, adv, 0.2)
    free = surrogate_loss(ratio, adv, None)
    assert clipped.item() == pytest.approx(-(1.2 - 0.8 + 2.2) / 3)
    assert free.item() == pytest.approx(-(1.5 - 0.5 + 2.2) / 3)
    # β·mean(KL) = 2 · 0.2
    assert surrogate_loss(ratio, adv, None, kl, 2.0).item() == pytest.approx(free.item() + 0.4)
    assert surrogate_loss(ratio, adv, 0.2, kl, 2.0).item() == pytest.approx(clipped.item() + 0.4)
    # gradients: clipping zeroes the first two samples (outside [0.8, 1.2] on the capped side)
    (g_clip,) = torch.autograd.grad(clipped, ratio)
    (g_free,) = torch.autograd.grad(free, ratio)
    np.testing.assert_allclose(g_clip.numpy(), [0.0, 0.0, -2.0 / 3], atol=1e-7)
    np.testing.assert_allclose(g_free.numpy(), [-1 / 3, 1 / 3, -2 / 3], atol=1e-7)


def test_policy_kl_is_the_closed_form_gaussian_kl() -> None:
    dist = DiagGaussianDistribution(2)
    old = copy.deepcopy(dist.proba_distribution(torch.zeros(1, 2), torch.zeros(2)))
    new = DiagGaussianDistribution(2).proba_distribution(
        torch.tensor([[1.0, 0.0]]), torch.log(torch.tensor([1.0, 2.0]))
    )
    # KL(N(0,1) ‖ N(1,1)) = 1/2 ; KL(N(0,1) ‖ N(0,2²)) = ln 2 + 1/8 − 1/2
    expected = 0.5 + (np.log(2.0) + 1 / 8 - 0.5)
    assert policy_kl(old, new).item() == pytest.approx(expected, rel=1e-6)
    assert policy_kl(old, old).item() == 0.0


# ---------------------------------------------------------------------------- extractor
@pytest.mark.parametrize(("n", "length"), [(1, 1), (8, 1), (9, 2), (36, 5), (120, 15)])
def test_cnn_extractor_shapes(n: int, length: int) -> None:
    assert conv_output_length(n, 3, (1, 2, 1, 2, 1, 2)) == length
    ext = CnnFcExtractor(spaces.Box(-1, 1, (n,), np.float32))
    assert ext.features_dim == 256 * length
    out = ext(torch.zeros(4, n))
    assert out.shape == (4, 256 * length)
    convs = [m for m in ext.modules() if isinstance(m, torch.nn.Conv1d)]
    assert tuple(c.out_channels for c in convs) == TABLE1_CHANNELS
    assert all(c.kernel_size == (3,) for c in convs)
    assert sum(isinstance(m, torch.nn.ReLU) for m in ext.modules()) == 6
    flat = CnnFcExtractor(spaces.Box(-1, 1, (n,), np.float32), strides=(1,) * 6)
    assert flat.features_dim == 256 * n


def test_cnn_extractor_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="1-D Box"):
        CnnFcExtractor(spaces.Box(-1, 1, (3, 4), np.float32))
    with pytest.raises(ValueError, match="equal lengths"):
        CnnFcExtractor(spaces.Box(-1, 1, (5,), np.float32), channels=(8, 8), strides=(1,))
    with pytest.raises(ValueError, match="kernel_size"):
        conv_output_length(5, 2, (1,))
    with pytest.raises(HyperparamError, match="unknown policy_kwargs extractor 'rnn'"):
        _resolve_extractor({"extractor": "rnn"})
    assert _resolve_extractor({"extractor": "mlp", "net_arch": [8]}) == {"net_arch": [8]}
    resolved = _resolve_extractor({"extractor": "cnn", "extractor_kwargs": {"strides": [1] * 6}})
    assert resolved["features_extractor_class"] is CnnFcExtractor
    assert resolved["features_extractor_kwargs"] == {"strides": [1] * 6}


# ---------------------------------------------------------------------------- methods
def test_hyperparameters_of_the_variants() -> None:
    kl = training_plan("ppo-kl", "paper", 24)
    clip_kl = training_plan("ppo-clip-kl", "paper", 24)
    assert kl.algo == clip_kl.algo == "AdaptiveKLPPO" and kl.on_policy
    assert kl.kwargs["clip_objective"] is False and clip_kl.kwargs["clip_objective"] is True
    for plan in (kl, clip_kl):
        assert plan.kwargs["kl_target"] == 0.01 and plan.kwargs["kl_beta"] == 1.0
        assert "target_kl" not in plan.kwargs  # SB3's early stop stays off
        # paper reproductions: SB3's PPO defaults (the paper's Table 1 values) but for the
        # objective, and the paper's set-up (v3 maps, the paper's SGLS reward)
        assert {k: v for k, v in plan.kwargs.items() if not k.startswith(("kl_", "clip_o"))} == {}
        assert (plan.reward_baseline, plan.action_map, plan.obs_norm) == (
            "none", "rescale", "none"
        )
        assert training_plan(plan.method, "reference", 24).timesteps == 300_000
    smoke = training_plan("ppo-kl", "smoke", 24)
    assert smoke.kwargs["n_steps"] == 96 and smoke.kwargs["batch_size"] == 48


@pytest.mark.parametrize("case_id", ["sgls-ieee33-v0", "sgls-ieee30-v0"])
def test_the_fair_variants_differ_from_ppo_by_the_objective_only(case_id: str) -> None:
    """``ppo-kl-fair``/``ppo-clip-kl-fair``: ``ppo``'s fair plan on the SGLS cases (set-up,
    tuned lr and γ, budget and checkpoints) plus the KL objective of the paper's variant."""
    ppo = training_plan("ppo", "reference", 120, case_id=case_id)
    for name, paper in (("ppo-kl-fair", "ppo-kl"), ("ppo-clip-kl-fair", "ppo-clip-kl")):
        fair = training_plan(name, "reference", 120, case_id=case_id)
        kl = {k: v for k, v in fair.kwargs.items() if k.startswith(("kl_", "clip_o"))}
        assert kl == training_plan(paper, "reference", 120, case_id=case_id).kwargs
        assert {k: v for k, v in fair.kwargs.items() if k not in kl} == ppo.kwargs
        assert fair.policy_kwargs == ppo.policy_kwargs and fair.algo == "AdaptiveKLPPO"
        assert (fair.timesteps, fair.checkpoints) == (ppo.timesteps, ppo.checkpoints)
        same = ("reward_baseline", "action_map", "obs_norm", "case_overrides")
        assert [getattr(fair, k) for k in same] == [getattr(ppo, k) for k in same]
        assert fair.case_overrides == {"reward": "cost"}
    # the declared set-up of the two-layer SGLS days: GAE λ 1 (case_setup), before the tuned
    # values; one-layer cases keep SB3's 0.95
    assert ppo.kwargs["gae_lambda"] == 1.0
    assert training_plan("ppo", "reference", 24, case_id="ses-carbon-ieee33-v0").kwargs[
        "gae_lambda"] == 0.95


def test_tuned_values_come_after_the_case_setup(tmp_path) -> None:
    data = load_hyperparams()
    data["algorithms"]["ppo"]["case_kwargs"]["sgls-ieee33-v0"]["gae_lambda"] = 0.9
    path = tmp_path / "hp.json"
    path.write_text(json.dumps(data))
    plan = training_plan("ppo", "reference", 120, path, case_id="sgls-ieee33-v0")
    assert plan.kwargs["gae_lambda"] == 0.9


def test_sgls_reference_budget_comes_from_case_budgets(tmp_path) -> None:
    """``case_budgets`` is the last word for its case: the SGLS reference of the paper's
    variants is 100k env steps with checkpoints at 20k/50k; other cases keep the 300k."""
    for method in ("ppo-kl", "ppo-clip-kl"):
        for case_id in ("sgls-ieee33-v0", "sgls-ieee30-v0"):
            plan = training_plan(method, "reference", 120, case_id=case_id)
            assert (plan.timesteps, plan.checkpoints) == (100_000, (20_000, 50_000))
        assert training_plan(method, "reference", 24, case_id="other-v0").timesteps == 300_000
        assert training_plan(method, "smoke", 120, case_id="sgls-ieee33-v0").timesteps == 300
    data = load_hyperparams()
    data["algorithms"]["ppo"]["case_budgets"] = {"x-v0": {"reference": {"steps": 5}}}
    bad = tmp_path / "hp.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(HyperparamError, match=r"unknown keys \['steps'\]"):
        training_plan("ppo", "reference", 24, bad, case_id="x-v0")


def test_supports_the_sgls_cases_only(case: _SglsToyCase) -> None:
    for cls in (PpoKl, PpoClipKl, PpoKlFair, PpoClipKlFair):
        assert cls().supports(case)
        assert not cls().supports(_OtherToyCase())
    assert registry.make_method("ppo").supports(_OtherToyCase())  # plain ppo stays generic


@pytest.fixture(scope="module")
def trained(
    case: _SglsToyCase, tmp_path_factory: pytest.TempPathFactory, cnn_hyperparams: Path
) -> dict[tuple[str, str], SB3Method]:
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for extractor, hp in (("mlp", None), ("cnn", cnn_hyperparams)):
        for name in VARIANTS:
            method = _method(name, root / extractor, hp)
            method.fit(case, 0, "smoke")
            out[name, extractor] = method
    return out


@pytest.mark.parametrize("extractor", ["mlp", "cnn"])
@pytest.mark.parametrize("name", VARIANTS)
def test_smoke_training_of_every_variant(
    name: str, extractor: str, case: _SglsToyCase, trained
) -> None:
    method = trained[name, extractor]
    assert 300 <= method.last_fit["env_steps"] <= 400
    policy = method._agents[case.id].model.policy
    assert isinstance(policy.features_extractor, CnnFcExtractor) == (extractor == "cnn")
    actions = _actions(method, case)
    env = case.make_env(day=TEST_DAYS[0])
    assert np.all(np.isfinite(actions))
    assert np.all(actions >= env.action_space.low) and np.all(actions <= env.action_space.high)
    rows = _progress(method)
    # 384 steps = 4 rollouts of 96; SB3 writes a row after each rollout, before its update,
    # so the rows hold the stats of updates 1..3 (the first row has none)
    assert len(rows) == 4 and rows[0]["train/value_loss"] == ""
    rows = rows[1:]
    if name == "ppo":
        assert "train/kl_beta" not in rows[0]
        return
    model = method._agents[case.id].model
    assert isinstance(model, AdaptiveKLPPO)
    assert model.clip_objective == (name == "ppo-clip-kl")
    assert ("train/clip_range" in rows[0]) == (name == "ppo-clip-kl")
    betas = [float(r["train/kl_beta"]) for r in rows]
    kls = [float(r["train/kl"]) for r in rows]
    assert betas[0] == 1.0 and all(k >= 0 for k in kls)
    for k in range(len(rows) - 1):  # β of update k+1 = the rule applied after update k
        assert betas[k + 1] == adapt_kl_beta(betas[k], kls[k], 0.01)
    assert model.kl_beta in {b * f for b in betas[-1:] for f in (0.25, 0.5, 1.0, 2.0, 4.0)}


@pytest.mark.parametrize("extractor", ["mlp", "cnn"])
def test_same_seed_same_actions_and_save_load(
    extractor: str, case: _SglsToyCase, trained, tmp_path: Path, cnn_hyperparams: Path
) -> None:
    first = trained["ppo-clip-kl", extractor]
    again = _method(
        "ppo-clip-kl", tmp_path / "again", cnn_hyperparams if extractor == "cnn" else None
    )
    again.fit(case, 0, "smoke")
    np.testing.assert_array_equal(_actions(first, case), _actions(again, case))
    loaded = _method("ppo-clip-kl", tmp_path / "none")
    loaded.load(case, 0, Path(again.last_fit["path"]))
    model = loaded._agents[case.id].model
    assert isinstance(model, AdaptiveKLPPO) and model.clip_objective
    assert model.kl_beta == again._agents[case.id].model.kl_beta
    np.testing.assert_array_equal(_actions(first, case), _actions(loaded, case))


def test_sgls_case_smoke_if_registered(tmp_path: Path) -> None:
    """The real SGLS case, once ``cases/sgls`` registers it."""
    if "sgls-ieee33-v0" not in registry.case_ids():
        pytest.skip("sgls-ieee33-v0 is not registered yet")
    real = registry.make_case("sgls-ieee33-v0")
    for cls in (PpoKl, PpoClipKl):
        method = cls(training_dir=tmp_path, progress_bar=False)
        assert method.supports(real)
        method.fit(real, 0, "smoke")
        day = real.days("test")[0]
        env = real.make_env(day=day, seed=0)
        obs, info = env.reset()
        ctrl = method.controller(real, day)
        ctrl.reset(obs, info)
        action = ctrl.act(obs, info)
        assert action.shape == env.action_space.shape and np.all(np.isfinite(action))


def test_fig15_training_curves_from_the_runs(case: _SglsToyCase, trained, tmp_path: Path) -> None:
    import pandas as pd

    from gridbench.benchmarks.report import ReportContext
    from gridbench.benchmarks.report.figures.ppo_training import ppo_training_figure

    root = trained["ppo", "mlp"].training_dir
    stored = pd.DataFrame({"case": [case.id] * 3, "method": ["ppo", "ppo-kl", "ppo-clip-kl"]})
    ctx = ReportContext(
        results=tmp_path, frame=stored, entries=[], figure_dir=tmp_path,
        training_dirs=(tmp_path / "nothing", root),
    )  # fmt: skip
    fig = ppo_training_figure(ctx, case.id)
    assert fig is not None and (tmp_path / fig.file).stat().st_size > 10_000
    assert ctx.notes == {}
    empty = ReportContext(
        results=tmp_path, frame=stored, entries=[], figure_dir=tmp_path,
        training_dirs=(tmp_path / "nothing",),
    )  # fmt: skip
    assert ppo_training_figure(empty, case.id) is None
    assert len(empty.notes[case.id]) == 3
    # the report reads only what it was given: no rows of these methods, no curves drawn
    unrelated = ReportContext(
        results=tmp_path, frame=pd.DataFrame(), entries=[], figure_dir=tmp_path,
        training_dirs=(tmp_path / "nothing", root),
    )  # fmt: skip
    assert ppo_training_figure(unrelated, case.id) is None and unrelated.notes == {}
