r"""Functional optimisers: SGD (with momentum), RMSProp, Adam and AdamW, in NumPy.

A loss hands its optimiser a gradient; this module is what the optimiser does with it. Each
optimiser is written from its update equations, in the style of optax's gradient
transformations: a pair of pure functions ``init`` and ``step`` in a small record, with all the
optimiser's memory in an explicit state that ``step`` returns instead of changing::

    opt = lu.optim.adam(lr=1e-3)
    state = opt.init(params)
    for _ in range(100):
        params, state = opt.step(params, grad_fn(params), state)

The hyperparameters, their defaults and the order of operations are PyTorch's
(``torch.optim.SGD``, ``RMSprop``, ``Adam``, ``AdamW`` in PyTorch 2.13): with the same
arguments, ``step`` returns the parameters that ``torch.optim``'s ``step()`` writes in place,
step for step (tested to a relative 1e-12 in float64 over 100 steps, every option combination).

``params`` is one NumPy array of any shape (float32 or float64); the arithmetic stays in its
dtype, as PyTorch's does. Every update is elementwise, so an array that stacks several
independent runs (``params`` of shape ``(runs, d)``) trains them all at once, and ``lr`` may be
an array that broadcasts to ``params`` (one learning rate per run). ``lr`` may also be a
schedule, a function of the step number ``t = 1, 2, ...`` returning the learning rate, as in
optax.

Nothing here modifies its inputs: ``params``, ``grads`` and ``state`` are read, and fresh arrays
are returned.

Taught in: :ref:`optimisers`

References:
    Polyak (1964), momentum; Sutskever et al. (2013), Nesterov momentum in deep learning;
    Tieleman & Hinton (2012), RMSProp; Kingma & Ba (2015), Adam; Reddi et al. (2018), AMSGrad;
    Loshchilov & Hutter (2019), decoupled weight decay (AdamW).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "Optimizer",
    "SGDState",
    "RMSpropState",
    "AdamState",
    "sgd",
    "rmsprop",
    "adam",
    "adamw",
]

#: A learning rate: a number >= 0, an array of them that broadcasts to ``params``, or a
#: schedule ``t -> lr`` of the step number t = 1, 2, ...
LearningRate = float | np.ndarray | Callable[[int], Any]


class Optimizer(NamedTuple):
    """An optimiser as a pair of pure functions (optax's ``GradientTransformation``, except that
    ``step`` applies the update and returns the new parameters, as ``torch.optim`` does)."""

    #: The function ``init(params)``, which returns the state before the first step.
    init: Callable[[np.ndarray], Any]
    #: The function ``step(params, grads, state)``, which returns ``(new_params, new_state)``.
    step: Callable[[np.ndarray, np.ndarray, Any], tuple[np.ndarray, Any]]


class SGDState(NamedTuple):
    """The memory of :func:`sgd`."""

    #: The number of steps taken.
    count: int
    #: The momentum buffer :math:`b` (zeros before the first step; unused without momentum).
    momentum_buffer: np.ndarray


class RMSpropState(NamedTuple):
    """The memory of :func:`rmsprop`."""

    #: The number of steps taken.
    count: int
    #: The running mean :math:`v` of the squared gradients.
    square_avg: np.ndarray
    #: The running mean :math:`\bar g` of the gradients (used when ``centered``).
    grad_avg: np.ndarray
    #: The momentum buffer :math:`b` (used when ``momentum > 0``).
    momentum_buffer: np.ndarray


class AdamState(NamedTuple):
    """The memory of :func:`adam` and :func:`adamw`."""

    #: The number of steps taken, :math:`t`.
    count: int
    #: The first moment estimate :math:`m` (the running mean of the gradients).
    exp_avg: np.ndarray
    #: The second moment estimate :math:`v` (the running mean of their squares).
    exp_avg_sq: np.ndarray
    #: The running maximum of :math:`v` (used when ``amsgrad``).
    max_exp_avg_sq: np.ndarray


# ---------------------------------------------------------------------------------------------
# Checks. Each names the argument, says what was expected and shows what came.


def _real(value: Any, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _at_least_zero(value: Any, name: str) -> float:
    value = _real(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def _in_unit_interval(value: Any, name: str, *, closed: bool = True) -> float:
    value = _real(value, name)
    if not (0 <= value <= 1 if closed else 0 <= value < 1):
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return value


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _betas(betas: Any) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    return (
        _in_unit_interval(betas[0], "betas[0]", closed=False),
        _in_unit_interval(betas[1], "betas[1]", closed=False),
    )


def _learning_rate(lr: Any, name: str = "lr") -> float | np.ndarray:
    """A number >= 0 or an array of them (checked here); a schedule is checked per step."""
    if isinstance(lr, np.ndarray) and lr.ndim == 0:
        lr = lr[()]
    if isinstance(lr, np.ndarray):
        if lr.dtype.kind not in "fiu":
            raise TypeError(f"{name} must hold real numbers, got dtype {lr.dtype}")
        if not (np.isfinite(lr).all() and (lr >= 0).all()):
            raise ValueError(f"{name} must hold finite numbers >= 0, got {lr}")
        return lr.astype(np.float64)
    return _at_least_zero(lr, name)


def _lr_at(lr: LearningRate, t: int, params: np.ndarray) -> float | np.ndarray:
    """The learning rate of step ``t``, checked against ``params``' shape."""
    value = _learning_rate(lr(t), f"lr({t})") if callable(lr) else lr
    if isinstance(value, np.ndarray):
        try:
            fits = np.broadcast_shapes(value.shape, params.shape) == params.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"lr of shape {value.shape} must broadcast to params' shape {params.shape} "
                "without enlarging it"
            )
        value = value.astype(params.dtype)  # arithmetic stays in params' dtype
    return value


def _params(params: Any) -> np.ndarray:
    arr = np.asarray(params)
    if arr.dtype.kind != "f":
        raise TypeError(f"params must be a floating-point array, got dtype {arr.dtype}")
    return arr


def _grads(grads: Any, params: np.ndarray) -> np.ndarray:
    arr = np.asarray(grads)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"grads must be an array of real numbers, got dtype {arr.dtype}")
    if arr.shape != params.shape:
        raise ValueError(f"grads must have params' shape {params.shape}, got shape {arr.shape}")
    return arr.astype(params.dtype, copy=False)


def _state(state: Any, kind: type, params: np.ndarray) -> None:
    if not isinstance(state, kind):
        raise TypeError(
            f"state must be the {kind.__name__} that this optimiser's init returned, "
            f"got {type(state).__name__}"
        )
    for field, value in zip(state._fields[1:], state[1:]):
        if np.shape(value) != params.shape:
            raise ValueError(
                f"state.{field} has shape {np.shape(value)} but params have shape "
                f"{params.shape}: was the state made by init() for these params?"
            )
        if np.asarray(value).dtype != params.dtype:
            raise TypeError(
                f"state.{field} has dtype {np.asarray(value).dtype} but params have dtype "
                f"{params.dtype}: was the state made by init() for these params?"
            )


def _zeros(params: Any) -> np.ndarray:
    return np.zeros_like(_params(params))


# ---------------------------------------------------------------------------------------------
# The optimisers.


def sgd(
    lr: LearningRate,
    *,
    momentum: float = 0.0,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> Optimizer:
    r"""Stochastic gradient descent, with optional (Nesterov) momentum and weight decay.

    Plain SGD steps against the gradient, by the learning rate times the gradient: the loss's
    gradient sets both the direction and the size of every step, so a loss ten times larger
    takes steps ten times longer. Momentum keeps a running sum of past gradients, so steps
    build up along directions where the gradient agrees from step to step and cancel along
    directions where it flips sign.

    With gradient :math:`g_t = \nabla L(\theta_{t-1}) + \lambda\,\theta_{t-1}` (weight decay
    :math:`\lambda`), momentum :math:`\mu` and dampening :math:`\tau` (PyTorch's form):

    .. math::
        b_1 = g_1, \qquad b_t = \mu\, b_{t-1} + (1 - \tau)\, g_t, \qquad
        d_t = \begin{cases} g_t + \mu\, b_t & \text{Nesterov} \\ b_t & \text{otherwise}
        \end{cases}, \qquad
        \theta_t = \theta_{t-1} - \eta\, d_t

    and :math:`d_t = g_t` when :math:`\mu = 0`.

    Args:
        lr: the learning rate :math:`\eta \ge 0` (a number, an array that broadcasts to
            ``params``, or a schedule ``t -> lr``).
        momentum: :math:`\mu \ge 0` (0: plain SGD).
        dampening: :math:`\tau \in [0, 1]`, the part of each new gradient left out of the buffer.
        nesterov: use Nesterov's momentum (needs ``momentum > 0`` and ``dampening == 0``).
        weight_decay: :math:`\lambda \ge 0`, an L2 penalty :math:`\frac{\lambda}{2}\|\theta\|^2`
            added to the loss through its gradient.

    Returns:
        An :class:`Optimizer` whose state is an :class:`SGDState`.

    References:
        Robbins & Monro (1951); Polyak (1964), "Some methods of speeding up the convergence of
        iteration methods"; Sutskever et al. (2013), "On the importance of initialization and
        momentum in deep learning"; ``torch.optim.SGD``.

    Taught in: :ref:`optimisers`

    Example:
        >>> import numpy as np
        >>> opt = sgd(0.1, momentum=0.9)
        >>> params = np.array([1.0, -2.0])
        >>> state = opt.init(params)
        >>> for _ in range(2):
        ...     params, state = opt.step(params, 2 * params, state)   # L = |params|^2
        >>> params.round(4).tolist()
        [0.46, -0.92]
    """
    lr = lr if callable(lr) else _learning_rate(lr)
    momentum = _at_least_zero(momentum, "momentum")
    dampening = _in_unit_interval(dampening, "dampening")
    nesterov = _flag(nesterov, "nesterov")
    weight_decay = _at_least_zero(weight_decay, "weight_decay")
    if nesterov and (momentum == 0 or dampening != 0):
        raise ValueError(
            "nesterov=True needs momentum > 0 and dampening == 0, got "
            f"momentum={momentum} and dampening={dampening}"
        )

    def init(params: np.ndarray) -> SGDState:
        return SGDState(count=0, momentum_buffer=_zeros(params))

    def step(params: np.ndarray, grads: np.ndarray, state: SGDState):
        params = _params(params)
        g = _grads(grads, params)
        _state(state, SGDState, params)
        t = state.count + 1
        eta = _lr_at(lr, t, params)
        if weight_decay != 0:
            g = g + weight_decay * params
        b = state.momentum_buffer
        if momentum != 0:
            b = g.copy() if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        return params - eta * g, SGDState(count=t, momentum_buffer=b)

    return Optimizer(init, step)


def rmsprop(
    lr: LearningRate,
    *,
    alpha: float = 0.99,
    eps: float = 1e-8,
    momentum: float = 0.0,
    centered: bool = False,
    weight_decay: float = 0.0,
) -> Optimizer:
    r"""RMSProp: gradient descent with each coordinate divided by its recent gradient size.

    RMSProp keeps a running mean of each parameter's squared gradient and divides that
    parameter's gradient by its root. A coordinate whose gradients are large takes smaller
    steps and one whose gradients are small takes larger ones, so the step no longer grows
    with the loss's scale: multiply the loss by 100 and both the gradient and its root mean
    square grow 100 times, and the step stays the same (as long as :math:`\epsilon` is small
    against the gradient).

    With :math:`g_t = \nabla L(\theta_{t-1}) + \lambda\,\theta_{t-1}` and :math:`v_0 = 0`:

    .. math::
        v_t = \alpha\, v_{t-1} + (1 - \alpha)\, g_t^2, \qquad
        s_t = \sqrt{v_t - \bar g_t^{\,2}} + \epsilon \ \text{(centered)}
        \ \text{ or } \ \sqrt{v_t} + \epsilon,

    where :math:`\bar g_t = \alpha\,\bar g_{t-1} + (1 - \alpha)\, g_t` (centered only), and

    .. math::
        b_t = \mu\, b_{t-1} + g_t / s_t, \quad \theta_t = \theta_{t-1} - \eta\, b_t
        \qquad (\mu > 0), \qquad \text{else} \quad \theta_t = \theta_{t-1} - \eta\, g_t / s_t.

    Centered RMSProp divides by an estimate of the gradient's standard deviation instead of
    its root mean square. That estimate, :math:`v_t - \bar g_t^2`, is never negative in exact
    arithmetic but can round to a tiny negative number when the gradient is nearly constant;
    here it is clipped at 0 (where PyTorch would return NaN).

    Args:
        lr: the learning rate :math:`\eta \ge 0` (a number, an array that broadcasts to
            ``params``, or a schedule ``t -> lr``).
        alpha: :math:`\alpha \in [0, 1]`, the decay of the running means.
        eps: :math:`\epsilon \ge 0`, added to the denominator.
        momentum: :math:`\mu \ge 0`.
        centered: divide by the gradient's running standard deviation.
        weight_decay: :math:`\lambda \ge 0`, an L2 penalty through the gradient.

    Returns:
        An :class:`Optimizer` whose state is an :class:`RMSpropState`.

    References:
        Tieleman & Hinton (2012), "Lecture 6.5 - RMSProp", COURSERA: Neural Networks for
        Machine Learning; Graves (2013), "Generating sequences with recurrent neural networks"
        (the centered form); ``torch.optim.RMSprop``.

    Taught in: :ref:`optimisers`

    Example:
        >>> import numpy as np
        >>> opt = rmsprop(0.01)
        >>> params = np.array([1.0, -1000.0])
        >>> params, state = opt.step(params, 2 * params, opt.init(params))
        >>> (params - np.array([1.0, -1000.0])).round(4).tolist()   # same step, any scale
        [-0.1, 0.1]
    """
    lr = lr if callable(lr) else _learning_rate(lr)
    alpha = _in_unit_interval(alpha, "alpha")
    eps = _at_least_zero(eps, "eps")
    momentum = _at_least_zero(momentum, "momentum")
    centered = _flag(centered, "centered")
    weight_decay = _at_least_zero(weight_decay, "weight_decay")

    def init(params: np.ndarray) -> RMSpropState:
        zeros = _zeros(params)
        return RMSpropState(count=0, square_avg=zeros, grad_avg=zeros, momentum_buffer=zeros)

    def step(params: np.ndarray, grads: np.ndarray, state: RMSpropState):
        params = _params(params)
        g = _grads(grads, params)
        _state(state, RMSpropState, params)
        t = state.count + 1
        eta = _lr_at(lr, t, params)
        if weight_decay != 0:
            g = g + weight_decay * params
        v = alpha * state.square_avg + (1 - alpha) * g * g
        g_avg = state.grad_avg
        if centered:
            g_avg = alpha * g_avg + (1 - alpha) * g
            scale = np.sqrt(np.maximum(v - g_avg * g_avg, 0)) + eps
        else:
            scale = np.sqrt(v) + eps
        b = state.momentum_buffer
        if momentum > 0:
            b = momentum * b + g / scale
            new_params = params - eta * b
        else:
            new_params = params - eta * g / scale
        return new_params, RMSpropState(count=t, square_avg=v, grad_avg=g_avg, momentum_buffer=b)

    return Optimizer(init, step)


def _adam(lr, betas, eps, weight_decay, amsgrad, *, decoupled: bool) -> Optimizer:
    """Adam (L2 weight decay through the gradient) or AdamW (decoupled weight decay)."""
    lr = lr if callable(lr) else _learning_rate(lr)
    beta1, beta2 = _betas(betas)
    eps = _at_least_zero(eps, "eps")
    weight_decay = _at_least_zero(weight_decay, "weight_decay")
    amsgrad = _flag(amsgrad, "amsgrad")

    def init(params: np.ndarray) -> AdamState:
        zeros = _zeros(params)
        return AdamState(count=0, exp_avg=zeros, exp_avg_sq=zeros, max_exp_avg_sq=zeros)

    def step(params: np.ndarray, grads: np.ndarray, state: AdamState):
        params = _params(params)
        g = _grads(grads, params)
        _state(state, AdamState, params)
        t = state.count + 1
        eta = _lr_at(lr, t, params)
        if weight_decay != 0:
            if decoupled:
                params = params * (1 - eta * weight_decay)  # AdamW: shrink the weights
            else:
                g = g + weight_decay * params  # Adam: L2 through the gradient
        m = beta1 * state.exp_avg + (1 - beta1) * g
        v = beta2 * state.exp_avg_sq + (1 - beta2) * g * g
        v_max = np.maximum(state.max_exp_avg_sq, v) if amsgrad else state.max_exp_avg_sq
        # Bias corrections: m and v start at 0, so early on they underestimate the moments.
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        denom = np.sqrt(v_max if amsgrad else v) / bias_correction2**0.5 + eps
        new_params = params - (eta / bias_correction1) * m / denom
        return new_params, AdamState(count=t, exp_avg=m, exp_avg_sq=v, max_exp_avg_sq=v_max)

    return Optimizer(init, step)


def adam(
    lr: LearningRate,
    *,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
) -> Optimizer:
    r"""Adam: momentum on the gradient, divided per coordinate by the root of its mean square.

    Adam keeps running means of each parameter's gradient (:math:`m`, the direction) and of
    its square (:math:`v`, the scale), corrects both for starting at zero, and steps by
    :math:`\eta\, \hat m / (\sqrt{\hat v} + \epsilon)`. While the gradient is steady that
    ratio is about :math:`\pm 1`, so each parameter moves by about the learning rate whatever
    the loss's scale: the loss's gradient sets the *direction* of Adam's steps (coordinate by
    coordinate, through its sign and consistency) much more than their size.

    With :math:`g_t = \nabla L(\theta_{t-1}) + \lambda\,\theta_{t-1}` (L2 weight decay),
    :math:`m_0 = v_0 = 0`:

    .. math::
        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2,

    .. math::
        \hat m_t = \frac{m_t}{1 - \beta_1^t}, \qquad \hat v_t = \frac{v_t}{1 - \beta_2^t},
        \qquad \theta_t = \theta_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}.

    With ``amsgrad``, :math:`\hat v_t` uses :math:`\max_{s \le t} v_s` instead of :math:`v_t`
    (PyTorch's form: the maximum of the uncorrected :math:`v`, then corrected).

    Args:
        lr: the learning rate :math:`\eta \ge 0` (a number, an array that broadcasts to
            ``params``, or a schedule ``t -> lr``).
        betas: :math:`(\beta_1, \beta_2)`, each in :math:`[0, 1)`.
        eps: :math:`\epsilon \ge 0`.
        weight_decay: :math:`\lambda \ge 0`, added to the gradient (L2 regularisation; see
            :func:`adamw` for the decoupled form).
        amsgrad: normalise by the running maximum of :math:`v` (Reddi et al., 2018).

    Returns:
        An :class:`Optimizer` whose state is an :class:`AdamState`.

    References:
        Kingma & Ba (2015), "Adam: A method for stochastic optimization", ICLR; Reddi, Kale &
        Kumar (2018), "On the convergence of Adam and beyond", ICLR; ``torch.optim.Adam``.

    Taught in: :ref:`optimisers`

    Example:
        >>> import numpy as np
        >>> opt = adam(0.1)
        >>> params = np.array([1.0, -1000.0])
        >>> params, state = opt.step(params, 2 * params, opt.init(params))
        >>> (params - np.array([1.0, -1000.0])).round(6).tolist()   # lr per coordinate
        [-0.1, 0.1]
    """
    return _adam(lr, betas, eps, weight_decay, amsgrad, decoupled=False)


def adamw(
    lr: LearningRate,
    *,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
) -> Optimizer:
    r"""AdamW: Adam with decoupled weight decay.

    In :func:`adam`, weight decay is added to the gradient and then divided by
    :math:`\sqrt{\hat v}` like the rest of it, so parameters with large gradients are barely
    decayed. AdamW shrinks the weights directly, by the same factor for every parameter, before
    the Adam step (which then sees only the loss's gradient):

    .. math::
        \theta' = (1 - \eta\lambda)\, \theta_{t-1}, \qquad
        \theta_t = \theta' - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon},

    with :math:`m_t, v_t` from :math:`g_t = \nabla L(\theta_{t-1})` as in :func:`adam`.

    Args:
        lr: the learning rate :math:`\eta \ge 0` (a number, an array that broadcasts to
            ``params``, or a schedule ``t -> lr``).
        betas: :math:`(\beta_1, \beta_2)`, each in :math:`[0, 1)`.
        eps: :math:`\epsilon \ge 0`.
        weight_decay: :math:`\lambda \ge 0` (PyTorch's default 0.01).
        amsgrad: normalise by the running maximum of :math:`v`.

    Returns:
        An :class:`Optimizer` whose state is an :class:`AdamState`.

    References:
        Loshchilov & Hutter (2019), "Decoupled weight decay regularization", ICLR;
        ``torch.optim.AdamW``.

    Taught in: :ref:`optimisers`

    Example:
        >>> import numpy as np
        >>> opt = adamw(0.1, weight_decay=0.5)
        >>> params = np.array([2.0])
        >>> params, state = opt.step(params, np.zeros(1), opt.init(params))
        >>> params.tolist()   # a zero gradient: only the decay, 2 * (1 - 0.1 * 0.5)
        [1.9]
    """
    return _adam(lr, betas, eps, weight_decay, amsgrad, decoupled=True)
