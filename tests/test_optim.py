"""lossutils.optim against torch.optim, step for step, and its contract: purity and clear errors.

The reference is the ``torch.optim`` class with the same arguments, stepped on the same
gradients: a noisy quadratic ``g = h * (params - c) + noise_t`` evaluated at each side's own
parameters, so any difference feeds back into the next gradient instead of being hidden.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lossutils as lu
from lossutils import optim

STEPS = 100
RTOL = 1e-12  # float64, after 100 steps

TORCH = {
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}
OURS = {"sgd": optim.sgd, "rmsprop": optim.rmsprop, "adam": optim.adam, "adamw": optim.adamw}

# Every combination of the options that change the update's form: a zero/non-zero coefficient
# or a flag. The non-zero values themselves are drawn by hypothesis.
SGD_OPTIONS = [
    dict(momentum=m, dampening=d, nesterov=n, weight_decay=w)
    for m, d, n, w in itertools.product([0, 1], [0, 1], [False, True], [0, 1])
    if not (n and (m == 0 or d != 0))  # Nesterov needs momentum and no dampening
]
RMSPROP_OPTIONS = [
    dict(momentum=m, centered=c, weight_decay=w)
    for m, c, w in itertools.product([0, 1], [False, True], [0, 1])
]
ADAM_OPTIONS = [
    dict(amsgrad=a, weight_decay=w) for a, w in itertools.product([False, True], [0, 1])
]
CASES = (
    [("sgd", o) for o in SGD_OPTIONS]
    + [("rmsprop", o) for o in RMSPROP_OPTIONS]
    + [("adam", o) for o in ADAM_OPTIONS]
    + [("adamw", o) for o in ADAM_OPTIONS]
)


def _case_id(case):
    name, options = case
    on = [k if isinstance(v, bool) else f"{k}" for k, v in options.items() if v]
    return "-".join([name, *on]) or name


def _draw_hyperparameters(draw, name, options):
    """Turn an option pattern (1 = 'draw a non-zero value') into keyword arguments."""
    kw = {"lr": draw(st.floats(1e-4, 0.3))}
    for key, on in options.items():
        if isinstance(on, bool):
            kw[key] = on
        elif key == "weight_decay":
            kw[key] = draw(st.floats(1e-3, 0.5)) if on else 0.0
        elif key == "momentum":
            kw[key] = draw(st.floats(0.05, 0.99)) if on else 0.0
        elif key == "dampening":
            kw[key] = draw(st.floats(0.05, 1.0)) if on else 0.0
    if name == "rmsprop":
        kw["alpha"] = draw(st.floats(0.5, 0.999))
        kw["eps"] = draw(st.sampled_from([1e-8, 1e-6, 1e-3]))
    if name in ("adam", "adamw"):
        kw["betas"] = (draw(st.floats(0.0, 0.99)), draw(st.floats(0.5, 0.9999)))
        kw["eps"] = draw(st.sampled_from([1e-8, 1e-6, 1e-3]))
    return kw


class Problem(NamedTuple):
    """A start and the gradient of every step: ``h * (params - c) + noise[t]`` when
    ``feedback`` (a noisy quadratic, so the gradient depends on where the optimiser is), else
    ``c + noise[t]`` (a gradient sequence fixed in advance)."""

    start: np.ndarray
    curvature: np.ndarray
    centre: np.ndarray
    noise: np.ndarray
    feedback: bool

    def gradient(self, params: np.ndarray, t: int) -> np.ndarray:
        g = self.curvature * (params - self.centre) if self.feedback else self.centre
        return (g + self.noise[t]).astype(params.dtype)


@st.composite
def problems(draw, *, feedback: bool, dtype=np.float64):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    noise_size = draw(st.sampled_from([0.0, 0.1, 1.0] if feedback else [0.1, 1.0]))
    return Problem(
        start=rng.normal(0, 2, shape).astype(dtype),
        curvature=rng.uniform(0.1, 3.0, shape),
        centre=rng.normal(0, 1, shape),
        noise=rng.normal(0, noise_size, (STEPS, *shape)),
        feedback=feedback,
    )


def _torch_run(name, kw, problem, steps=STEPS, scheduler=None):
    """torch.optim on the problem: the parameters and a copy of the state after every step."""
    p = torch.nn.Parameter(torch.tensor(problem.start))
    opt = TORCH[name]([p], **kw)
    sched = scheduler(opt) if scheduler is not None else None
    path, states = [], []
    for t in range(steps):
        p.grad = torch.tensor(problem.gradient(p.detach().numpy(), t))
        opt.step()
        if sched is not None:
            sched.step()
        path.append(p.detach().numpy().copy())
        states.append({k: None if v is None else v.numpy().copy() for k, v in opt.state[p].items()})
    return np.array(path), states


def _our_run(name, kw, problem, steps=STEPS):
    kw = dict(kw)
    opt = OURS[name](kw.pop("lr"), **kw)
    params, state = problem.start, opt.init(problem.start)
    path = []
    for t in range(steps):
        params, state = opt.step(params, problem.gradient(params, t), state)
        path.append(params)
    return np.array(path), state


#: The natural size of each state field, as a power of the gradient's size (the momentum buffer
#: of RMSProp holds gradients divided by their root mean square: no units).
STATE_UNITS = {
    "momentum_buffer": 1,
    "exp_avg": 1,
    "grad_avg": 1,
    "square_avg": 2,
    "exp_avg_sq": 2,
    "max_exp_avg_sq": 2,
}


def _assert_close(ours, theirs, scale, what):
    # rtol 1e-12 of each value, with an absolute floor of 1e-12 of the quantity's natural
    # size, for values that pass through or converge to zero (where no relative bound holds).
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=RTOL * scale, err_msg=what)


def _assert_state_close(state, torch_state, grad_size, what):
    for field in state._fields[1:]:
        if torch_state.get(field) is not None:
            _assert_close(
                getattr(state, field),
                torch_state[field],
                grad_size ** STATE_UNITS[field],
                f"{what}: state.{field}",
            )


def _our_state(name, count, torch_state, params):
    """The state torch holds after ``count`` steps, as this module's record."""
    zeros = np.zeros_like(params)
    fields = OURS[name](0.1).init(params)._fields[1:]
    values = [zeros if torch_state.get(f) is None else torch_state[f] for f in fields]
    return type(OURS[name](0.1).init(params))(count, *values)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_every_step_matches_torch(case, data):
    """Each of 100 steps on a noisy quadratic, taken from the parameters and state torch had
    before it, gives torch's parameters and state after it."""
    name, options = case
    kw = _draw_hyperparameters(data.draw, name, options)
    problem = data.draw(problems(feedback=True))
    path, states = _torch_run(name, kw, problem)
    before = [problem.start, *path[:-1]]
    opt = OURS[name](kw["lr"], **{k: v for k, v in kw.items() if k != "lr"})
    state = opt.init(problem.start)
    for t in range(STEPS):
        if t > 0:
            state = _our_state(name, t, states[t - 1], problem.start)
        grads = problem.gradient(before[t], t)
        params, state = opt.step(before[t], grads, state)
        size = float(np.max(np.abs(before[t]))) or 1.0
        what = f"{name} {kw}, step {t + 1}"
        _assert_close(params, path[t], size, what)
        _assert_state_close(state, states[t], float(np.max(np.abs(grads))) or 1.0, what)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_hundred_steps_match_torch(case, data):
    """Run alone for 100 steps on a gradient sequence fixed in advance (only weight decay
    makes it depend on the parameters), this module's path is torch's path."""
    name, options = case
    kw = _draw_hyperparameters(data.draw, name, options)
    problem = data.draw(problems(feedback=False))
    ours, state = _our_run(name, kw, problem)
    theirs, states = _torch_run(name, kw, problem)
    size = float(np.max(np.abs(np.concatenate([problem.start[None], theirs]))))
    _assert_close(ours, theirs, size, f"{name} {kw}: parameters")
    assert state.count == STEPS, f"count {state.count} after {STEPS} steps"
    grad_size = float(np.max(np.abs(problem.gradient(problem.start, 0))))
    _assert_state_close(state, states[-1], grad_size, f"{name} {kw}")


@pytest.mark.parametrize("name", list(OURS))
@settings(max_examples=10, deadline=None)
@given(problem=problems(feedback=False, dtype=np.float32), lr=st.floats(1e-3, 0.1))
def test_float32_stays_float32_and_tracks_torch(name, problem, lr):
    ours, state = _our_run(name, {"lr": lr}, problem, steps=20)
    theirs, _ = _torch_run(name, {"lr": lr}, problem, steps=20)
    assert ours.dtype == np.float32, f"params came back as {ours.dtype}"
    assert all(a.dtype == np.float32 for a in state[1:]), "state left float32"
    # The same float32 operations, but PyTorch fuses some multiply-adds (one rounding instead
    # of two): a float32 ulp (6e-8) or so per step, far inside 1e-5 after 20 steps.
    scale = float(np.max(np.abs(theirs)))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * scale)


def _read_only(*arrays):
    for a in arrays:
        a.flags.writeable = False


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_never_modifies_its_inputs(case, data):
    name, options = case
    kw = _draw_hyperparameters(data.draw, name, options)
    problem = data.draw(problems(feedback=True))
    opt = OURS[name](kw.pop("lr"), **kw)
    params, state = problem.start, opt.init(problem.start)
    for t in range(3):
        grads = problem.gradient(params, t)
        # Read-only inputs: any in-place write raises. Copies prove nothing else changed.
        _read_only(params, grads, *state[1:])
        before = (params.copy(), grads.copy(), [a.copy() for a in state[1:]])
        new_params, new_state = opt.step(params, grads, state)
        np.testing.assert_array_equal(params, before[0], err_msg="params changed")
        np.testing.assert_array_equal(grads, before[1], err_msg="grads changed")
        for old, copy in zip(state[1:], before[2]):
            np.testing.assert_array_equal(old, copy, err_msg="state changed")
        # What comes back must not be a view of what went in: the caller may reuse those.
        for out in (new_params, *new_state[1:]):
            assert not np.shares_memory(out, params), "result shares memory with params"
            assert not np.shares_memory(out, grads), "result shares memory with grads"
        params, state = new_params, new_state


def test_stacked_runs_with_an_array_of_learning_rates_equal_separate_runs():
    rng = np.random.default_rng(0)
    lrs = np.array([[0.001], [0.01], [0.1]])
    start = rng.normal(size=(3, 4))
    opt = optim.adam(lrs)
    params, state = start, opt.init(start)
    for _ in range(20):
        params, state = opt.step(params, 2 * params - 1, state)
    for row, lr in enumerate(lrs[:, 0]):
        single = optim.adam(float(lr))
        p, s = start[row], single.init(start[row])
        for _ in range(20):
            p, s = single.step(p, 2 * p - 1, s)
        np.testing.assert_array_equal(params[row], p, err_msg=f"run {row} (lr={lr})")


@pytest.mark.parametrize("name", list(OURS))
def test_schedule_matches_torch_lambda_lr(name):
    # torch's LambdaLR gives step t (1-based) the rate lr0 * f(t - 1); a schedule here is
    # the rate as a function of t.
    def warmup(epoch):
        return min(1.0, (epoch + 1) / 10)

    noise = np.random.default_rng(1).normal(0, 0.1, (STEPS, 2))
    problem = Problem(np.array([1.5, -2.0]), np.ones(2), np.array([0.5, -0.3]), noise, False)
    theirs, _ = _torch_run(
        name,
        {"lr": 0.05},
        problem,
        scheduler=lambda o: torch.optim.lr_scheduler.LambdaLR(o, warmup),
    )
    ours, _ = _our_run(name, {"lr": lambda t: 0.05 * warmup(t - 1)}, problem)
    _assert_close(ours, theirs, 2.0, f"{name} with a warm-up schedule")


def test_centered_rmsprop_stays_finite_where_the_variance_rounds_below_zero():
    # A constant gradient: v - g_avg^2 = (1 - alpha^t) alpha^t g^2 > 0 in exact arithmetic
    # but rounds to a negative number after a few hundred steps. PyTorch returns NaN there.
    opt = optim.rmsprop(1e-3, alpha=0.9, centered=True)
    params = np.zeros(3)
    state = opt.init(params)
    for _ in range(2000):
        params, state = opt.step(params, np.array([0.3, 1.7, 1e3]), state)
    assert np.isfinite(params).all(), params


def test_exposed_as_lu_optim():
    assert lu.optim is optim
    assert {"sgd", "rmsprop", "adam", "adamw"} <= set(optim.__all__)


BAD_HYPERPARAMETERS = [
    (optim.sgd, {"lr": -0.1}, ValueError, r"lr must be >= 0, got -0.1"),
    (optim.sgd, {"lr": float("nan")}, ValueError, r"lr must be finite, got nan"),
    (optim.sgd, {"lr": "0.1"}, TypeError, r"lr must be a real number, got '0.1'"),
    (optim.sgd, {"lr": np.array([0.1, -1.0])}, ValueError, r"lr must hold finite numbers >= 0"),
    (optim.sgd, {"lr": 0.1, "momentum": -0.9}, ValueError, r"momentum must be >= 0, got -0.9"),
    (
        optim.sgd,
        {"lr": 0.1, "dampening": 1.5},
        ValueError,
        r"dampening must lie in \[0, 1\], got 1.5",
    ),
    (
        optim.sgd,
        {"lr": 0.1, "nesterov": True},
        ValueError,
        r"nesterov=True needs momentum > 0 and dampening == 0, got momentum=0.0",
    ),
    (
        optim.sgd,
        {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True},
        ValueError,
        r"nesterov=True needs .* dampening=0.1",
    ),
    (optim.sgd, {"lr": 0.1, "nesterov": "yes"}, TypeError, r"nesterov must be True or False"),
    (optim.sgd, {"lr": 0.1, "weight_decay": -1e-4}, ValueError, r"weight_decay must be >= 0"),
    (
        optim.rmsprop,
        {"lr": 0.1, "alpha": 1.01},
        ValueError,
        r"alpha must lie in \[0, 1\], got 1.01",
    ),
    (optim.rmsprop, {"lr": 0.1, "eps": -1e-8}, ValueError, r"eps must be >= 0, got -1e-08"),
    (
        optim.rmsprop,
        {"lr": 0.1, "centered": 1},
        TypeError,
        r"centered must be True or False, got 1",
    ),
    (optim.rmsprop, {"lr": 0.1, "momentum": float("inf")}, ValueError, r"momentum must be finite"),
    (
        optim.adam,
        {"lr": 0.1, "betas": (0.9, 1.0)},
        ValueError,
        r"betas\[1\] must lie in \[0, 1\), got 1.0",
    ),
    (optim.adam, {"lr": 0.1, "betas": (-0.1, 0.999)}, ValueError, r"betas\[0\] must lie in"),
    (
        optim.adam,
        {"lr": 0.1, "betas": 0.9},
        TypeError,
        r"betas must be a pair \(beta1, beta2\), got 0.9",
    ),
    (
        optim.adam,
        {"lr": 0.1, "amsgrad": None},
        TypeError,
        r"amsgrad must be True or False, got None",
    ),
    (optim.adamw, {"lr": 0.1, "weight_decay": -0.01}, ValueError, r"weight_decay must be >= 0"),
    (optim.adamw, {"lr": 0.1, "eps": None}, TypeError, r"eps must be a real number, got None"),
]


@pytest.mark.parametrize(
    "factory, kw, error, message", BAD_HYPERPARAMETERS, ids=lambda x: getattr(x, "__name__", None)
)
def test_bad_hyperparameters_raise_clear_errors(factory, kw, error, message):
    kw = dict(kw)
    with pytest.raises(error, match=message):
        factory(kw.pop("lr"), **kw)


@pytest.mark.parametrize("name", list(OURS))
def test_bad_step_inputs_raise_clear_errors(name):
    opt = OURS[name](0.1)
    params = np.zeros(3)
    state = opt.init(params)
    with pytest.raises(ValueError, match=r"grads must have params' shape \(3,\), got shape"):
        opt.step(params, np.zeros(2), state)
    with pytest.raises(TypeError, match=r"params must be a floating-point array, got dtype int64"):
        opt.step(np.zeros(3, dtype=np.int64), np.zeros(3), state)
    with pytest.raises(ValueError, match=r"state\.\w+ has shape \(3,\) but params have shape"):
        opt.step(np.zeros(4), np.zeros(4), state)
    with pytest.raises(TypeError, match=r"state\.\w+ has dtype float64 but params have dtype"):
        opt.step(np.zeros(3, dtype=np.float32), np.zeros(3), state)
    other = optim.sgd(0.1) if name != "sgd" else optim.adam(0.1)
    with pytest.raises(TypeError, match=r"state must be the \w+State that this optimiser's init"):
        opt.step(params, np.zeros(3), other.init(params))


def test_bad_learning_rates_at_step_time():
    with pytest.raises(ValueError, match=r"lr of shape \(2, 1\) must broadcast to params' shape"):
        opt = optim.sgd(np.array([[0.1], [0.2]]))
        opt.step(np.zeros(3), np.zeros(3), opt.init(np.zeros(3)))
    opt = optim.adam(lambda t: -0.1 * t)
    with pytest.raises(ValueError, match=r"lr\(1\) must be >= 0, got -0.1"):
        opt.step(np.zeros(3), np.zeros(3), opt.init(np.zeros(3)))
