r"""Where the losses come from, in SymPy: likelihoods, their minus logs, and gradients.

Every function returns a :class:`Derivation`: a short chain of named steps, each
an exact SymPy expression, that a notebook displays as typeset math with each
step's reason under it (``_repr_markdown_``; ``latex()`` gives an aligned block)
and that ``tests/test_derivations.py`` proves, step by step, symbolically and
against ``lossutils`` and PyTorch autograd at random points.

Two families:

* **Losses from likelihoods.** :func:`gaussian_nll` (MSE), :func:`laplace_nll` (MAE),
  :func:`bernoulli_nll` (BCE), :func:`categorical_nll` (cross-entropy),
  :func:`multilabel_nll` (multi-label BCE) and :func:`huber_nll` (Huber) return a
  :class:`LikelihoodDerivation`, whose ``nll``, ``loss``, ``scale`` and ``constant``
  satisfy ``nll == scale * loss + constant``: minimising the loss *is* maximum
  likelihood, because the scale is positive and the constant does not depend on
  the prediction. :func:`focal_normaliser` shows that the focal loss is *not* such
  a negative log-likelihood, and :func:`focal_gradient` what it reweights instead.
  :func:`gaussian_mle` and :func:`laplace_mle` solve for the fitted parameters.
* **Gradients with respect to the pre-activation** (the logit ``z``), which explain
  why each loss is paired with its activation: :func:`identity_mse_gradient`,
  :func:`identity_mae_gradient`, :func:`sigmoid_bce_gradient`,
  :func:`sigmoid_mse_gradient`, :func:`softmax_cross_entropy_gradient` and
  :func:`softmax_mse_gradient`.

Conventions follow PyTorch: the squared error is :math:`(\hat y - y)^2` with no
:math:`\tfrac12`, so its derivative carries a factor 2 (with the textbook
:math:`\tfrac12(\hat y - y)^2` the 2 disappears). :func:`to_numpy` turns any
expression here into a NumPy function.

SymPy is slow to import, so this module is *not* re-exported by ``lossutils``:
``from lossutils import derivations``.

References:
  Bishop, *Pattern Recognition and Machine Learning* (2006), sections 1.2.5, 3.1.1, 4.3;
  Goodfellow, Bengio & Courville, *Deep Learning* (2016), sections 5.5 and 6.2;
  Huber, "Robust Estimation of a Location Parameter" (1964);
  Lin et al., "Focal Loss for Dense Object Detection" (2017).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import sympy as sp

__all__ = [
    "Step",
    "Derivation",
    "LikelihoodDerivation",
    "logistic",
    "softmax_exprs",
    "to_numpy",
    "target",
    "mu",
    "sigma",
    "laplace_scale",
    "residual",
    "delta",
    "prob",
    "logit",
    "gamma",
    "n_examples",
    "index",
    "gaussian_nll",
    "laplace_nll",
    "bernoulli_nll",
    "categorical_nll",
    "multilabel_nll",
    "huber_nll",
    "huber_loss_expr",
    "focal_normaliser",
    "focal_gradient",
    "gaussian_mle",
    "laplace_mle",
    "identity_mse_gradient",
    "identity_mae_gradient",
    "sigmoid_bce_gradient",
    "sigmoid_mse_gradient",
    "softmax_cross_entropy_gradient",
    "softmax_mse_gradient",
]

# --------------------------------------------------------------------------
# Symbols shared by every derivation (assumptions let SymPy simplify logs)
# --------------------------------------------------------------------------

#: The observed target, printed :math:`y`.
target = sp.Symbol("y", real=True)
#: A location: the model's prediction of a real-valued target, :math:`\mu`.
mu = sp.Symbol("mu", real=True)
#: A Gaussian's standard deviation, :math:`\sigma`.
sigma = sp.Symbol("sigma", positive=True)
#: A Laplace distribution's scale, printed :math:`b`.
laplace_scale = sp.Symbol("b", positive=True)
#: A residual :math:`y - \mu`, printed :math:`r`.
residual = sp.Symbol("r", real=True)
#: Huber's threshold, :math:`\delta`.
delta = sp.Symbol("delta", positive=True)
#: A predicted probability, printed :math:`p` (:math:`0 < p < 1`).
prob = sp.Symbol("p", positive=True)
#: A logit: the pre-activation the last layer outputs, printed :math:`z`.
logit = sp.Symbol("z", real=True)
#: The focal loss's focusing parameter, :math:`\gamma`.
gamma = sp.Symbol("gamma", nonnegative=True)
#: The number of examples, printed :math:`n`.
n_examples = sp.Symbol("n", integer=True, positive=True)
#: An index over the examples, printed :math:`i`.
index = sp.Symbol("i", integer=True, positive=True)

_Y = sp.IndexedBase("y", real=True)
_P = sp.IndexedBase("p", positive=True)


class logistic(sp.Function):  # noqa: N801 (named like the function it is, as SymPy's are)
    r"""The logistic sigmoid :math:`\sigma(x) = 1 / (1 + e^{-x})` as a SymPy function, typeset
    :math:`\sigma`. Its NumPy counterpart is ``lossutils.sigmoid`` (a different name, so that a
    chapter can import both).

    Kept unevaluated so that derivatives read :math:`\sigma(z)(1 - \sigma(z))`
    instead of a tangle of exponentials; ``.rewrite(sympy.exp)`` expands it.

    Example:
      >>> sp.diff(logistic(logit), logit)
      (1 - logistic(z))*logistic(z)
      >>> logistic(0), logistic(logit).rewrite(sp.exp)
      (1/2, 1/(1 + exp(-z)))
    """

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.S.Half
        return None

    def fdiff(self, argindex=1):
        s = logistic(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        body = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return body if exp is None else f"{body}^{{{exp}}}"


def to_numpy(expr, *args):
    r"""Compile a SymPy expression into a NumPy function of ``args`` (``sympy.lambdify``).

    :class:`logistic` becomes the overflow-free ``lossutils.sigmoid``.

    Example:
      >>> f = to_numpy(logistic(logit) - target, logit, target)
      >>> float(f(0.0, 1.0))
      -0.5
    """
    import numpy as np

    from .activations import sigmoid as np_sigmoid

    return sp.lambdify(args, expr, modules=[{"logistic": np_sigmoid, "sign": np.sign}, "numpy"])


# --------------------------------------------------------------------------
# Derivations as data
# --------------------------------------------------------------------------


def _note_latex(note: str) -> str:
    """Words become ``\\text{...}``; ``$...$`` segments stay math."""
    parts = note.split("$")
    return "".join(
        f"\\text{{{part}}}" if k % 2 == 0 else part for k, part in enumerate(parts) if part
    )


#: About how many characters of typeset math fit on one line of the website's text column
#: (768 px at 1280 px) with room to spare: a longer sum is broken after a + or a - sign.
_LINE_WIDTH = 48


def _visible_width(tex: str) -> int:
    """A rough count of the characters a piece of LaTeX shows (commands and braces show none)."""
    tex = re.sub(r"\\(left|right|,|:|;|!)", "", tex)
    tex = re.sub(r"\\(log|exp)\b", "log", tex)
    tex = re.sub(r"\\[a-zA-Z]+", "x", tex)
    return len(re.sub(r"[{}^_\s]", "", tex))


def _top_level_terms(tex: str) -> list[str]:
    """Split LaTeX at the + and - signs outside braces and brackets: ``["a", "- b", "+ c"]``."""
    terms, depth, start, i = [], 0, 0, 0
    while i < len(tex):
        if tex.startswith(("\\left", "\\begin"), i):
            depth += 1
        elif tex.startswith(("\\right", "\\end"), i):
            depth -= 1
        elif tex[i] in "{":
            depth += 1
        elif tex[i] in "}":
            depth -= 1
        elif tex[i] in "+-" and depth == 0 and i > 0 and tex[i - 1] == " ":
            terms.append(tex[start:i].strip())
            start = i
        i += 1
    terms.append(tex[start:].strip())
    return [t for t in terms if t]


def _display(lhs: str, rhs: str) -> str:
    """``lhs = rhs`` as display math; a long sum on several lines, each starting with its sign."""
    terms = _top_level_terms(rhs)
    if _visible_width(rhs) <= _LINE_WIDTH or len(terms) < 2:
        return f"{lhs} = {rhs}"
    lines, current = [], ""
    for term in terms:
        if current and _visible_width(current + term) > _LINE_WIDTH:
            lines.append(current)
            current = ""
        current = f"{current} {term}".strip()
    lines.append(current)
    body = " \\\\\n&\\quad ".join(lines)
    return f"\\begin{{aligned}}\n{lhs} ={{}} &{body}\n\\end{{aligned}}"


def _sentence(note: str) -> str:
    """A note as a sentence: a capital first letter (unless it starts with math) and a full stop."""
    note = note.strip()
    if not note.startswith("$"):
        note = note[0].upper() + note[1:]
    return note if note.endswith((".", "!", "?")) else note + "."


@dataclass(frozen=True)
class Step:
    r"""One line of a derivation: ``lhs = rhs``, with a reason.

    Attributes:
      key: a short name to fetch the step's expression with ``derivation[key]``.
      lhs: the left-hand side as LaTeX; ``""`` continues the line above, which
        asserts that ``rhs`` *equals* the previous step's expression (the tests check it).
      rhs: the expression (a SymPy expression or matrix).
      note: why the step holds, in words; ``$...$`` segments are math.
      given: a substitution under which a continued line equals the one above
        (e.g. the target sums to 1, or ``p`` is the softmax of ``z``); None if none is needed.
    """

    key: str
    lhs: str
    rhs: sp.Basic
    note: str = ""
    given: dict | None = None


@dataclass(frozen=True)
class Derivation:
    r"""A chain of :class:`Step` s that displays as typeset math in Jupyter, reasons in words.

    Example:
      >>> d = identity_mse_gradient()
      >>> d.keys()
      ('loss', 'gradient')
      >>> d["gradient"]
      2*(-y + z)
      >>> print(d.latex())
      \begin{aligned}
      \ell(z) &= \left(z - y\right)^{2} && \text{squared error of the raw output }\hat y = z\text{ (PyTorch: no }\tfrac12\text{)} \\
      \frac{\partial \ell}{\partial z} &= 2 \left(z - y\right) && 2 \times\text{ the residual: never saturates}
      \end{aligned}
    """

    title: str
    steps: tuple[Step, ...]

    def __getitem__(self, key: str):
        for step in self.steps:
            if step.key == key:
                return step.rhs
        raise KeyError(f"{key!r}: this derivation has the steps {self.keys()}")

    def keys(self) -> tuple[str, ...]:
        return tuple(step.key for step in self.steps)

    @property
    def result(self):
        """The last step's expression: what was derived."""
        return self.steps[-1].rhs

    def only(self, *keys: str) -> Derivation:
        """The same derivation with only the named steps, to display a part of it.

        A continued line (``lhs == ""``) whose line above is left out gets the
        left-hand side it continues, so the display never equates unrelated things.

        Example:
          >>> d = sigmoid_bce_gradient().only("loss", "gradient")
          >>> d.keys()
          ('loss', 'gradient')
          >>> print(d.steps[1].lhs)
          \\frac{\\partial \\ell}{\\partial z}
        """
        missing = set(keys) - set(self.keys())
        if missing:
            raise KeyError(f"{sorted(missing)}: this derivation has the steps {self.keys()}")
        kept, head, previous_kept = [], "", None
        for index, step in enumerate(self.steps):
            head = step.lhs or head  # the left-hand side this line continues
            if step.key in keys:
                continues_shown_line = previous_kept == index - 1
                if step.lhs == "" and not continues_shown_line:
                    step = replace(step, lhs=head)
                kept.append(step)
                previous_kept = index
        return Derivation(self.title, tuple(kept))

    def latex(self, keys=None) -> str:
        """The steps (all, or those named in ``keys``) as a LaTeX ``aligned`` block."""
        rows = []
        for step in self.steps:
            if keys is not None and step.key not in keys:
                continue
            note = f" && {_note_latex(step.note)}" if step.note else ""
            # order="none" keeps the terms in the order the derivation wrote them.
            rows.append(f"{step.lhs} &= {sp.latex(step.rhs, order='none')}{note}")
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"

    def _repr_latex_(self) -> str:
        return f"$$\n{self.latex()}\n$$"

    def markdown(self, keys=None) -> str:
        r"""The steps as Markdown: each equation on its own, and its reason under it in words.

        This is how a notebook and the website show a derivation (``_repr_markdown_``, which
        they prefer to ``_repr_latex_``): the reasons wrap like prose, so a derivation fits
        a laptop's column and a phone's, where :meth:`latex`'s right-hand column of reasons
        does not. A line that continues the one above starts with its ``=``.

        Example:
          >>> print(identity_mse_gradient().markdown())
          $$
          \ell(z) = \left(z - y\right)^{2}
          $$
          <BLANKLINE>
          *Squared error of the raw output $\hat y = z$ (PyTorch: no $\tfrac12$).*
          <BLANKLINE>
          $$
          \frac{\partial \ell}{\partial z} = 2 \left(z - y\right)
          $$
          <BLANKLINE>
          *$2 \times$ the residual: never saturates.*
        """
        blocks = []
        for step in self.steps:
            if keys is not None and step.key not in keys:
                continue
            blocks.append(f"$$\n{_display(step.lhs, sp.latex(step.rhs, order='none'))}\n$$")
            if step.note:
                blocks.append(f"*{_sentence(step.note)}*")
        return "\n\n".join(blocks)

    def _repr_markdown_(self) -> str:
        return self.markdown()


@dataclass(frozen=True)
class LikelihoodDerivation(Derivation):
    r"""A derivation of a loss from a noise model, with its link to the loss.

    Attributes:
      nll: the negative log-likelihood of one example, simplified.
      loss: the familiar loss, as PyTorch defines it.
      scale: a positive factor, free of the prediction.
      constant: a term free of the prediction.

    ``nll == scale * loss + constant`` exactly, so that minimising ``loss`` over
    the prediction is maximum likelihood.
    """

    nll: sp.Expr = sp.S.Zero
    loss: sp.Expr = sp.S.Zero
    scale: sp.Expr = sp.S.One
    constant: sp.Expr = sp.S.Zero


def _neg_log(expr):
    """``-log(expr)`` with the log pushed through products and powers."""
    return sp.expand_log(-sp.log(expr), force=True)


def _minus(a, b):
    """``a - b``, kept in that order for display."""
    return sp.Add(a, -b, evaluate=False)


# --------------------------------------------------------------------------
# Regression: Gaussian, Laplace, Huber
# --------------------------------------------------------------------------


def gaussian_nll() -> LikelihoodDerivation:
    r"""Gaussian noise with a fixed variance gives the squared error.

    .. math::
        -\log \mathcal N(y \mid \mu, \sigma^2)
        = \frac{(y - \mu)^2}{2\sigma^2} + \log\big(\sigma\sqrt{2\pi}\big),

    so ``nll = loss / (2 sigma^2) + log(sigma sqrt(2 pi))`` with ``loss = (y - mu)^2``:
    the variance sets the *weight* of the squared error, and for a fixed
    :math:`\sigma` the minimiser over :math:`\mu` is the same as MSE's.

    Returns:
      A :class:`LikelihoodDerivation` with steps ``density``, ``nll``, ``grouped``.

    Example:
      >>> d = gaussian_nll()
      >>> d.loss, d.scale, d.constant
      ((-mu + y)**2, 1/(2*sigma**2), log(sqrt(2)*sqrt(pi)*sigma))
      >>> d.nll
      log(sigma) + log(2)/2 + log(pi)/2 + (-mu + y)**2/(2*sigma**2)
      >>> sp.simplify(d.nll - (d.scale * d.loss + d.constant))
      0
    """
    density = sp.exp(-((target - mu) ** 2) / (2 * sigma**2)) / (sigma * sp.sqrt(2 * sp.pi))
    nll = _neg_log(density)
    loss, scale, constant = (
        _minus(target, mu) ** 2,
        1 / (2 * sigma**2),
        sp.log(sigma * sp.sqrt(2 * sp.pi)),
    )
    grouped = sp.Add(sp.Mul(scale, loss, evaluate=False), constant, evaluate=False)
    return LikelihoodDerivation(
        "Gaussian noise -> squared error",
        (
            Step(
                "density",
                r"p(y \mid \mu, \sigma)",
                density,
                "Gaussian around the prediction $\\mu$",
            ),
            Step("nll", r"-\log p(y \mid \mu, \sigma)", nll, "the log undoes the exponential"),
            Step("grouped", "", grouped, "a weighted squared error plus a term free of $\\mu$"),
        ),
        nll=nll,
        loss=loss,
        scale=scale,
        constant=constant,
    )


def laplace_nll() -> LikelihoodDerivation:
    r"""Laplace noise gives the absolute error.

    .. math::
        -\log \mathrm{Laplace}(y \mid \mu, b) = \frac{|y - \mu|}{b} + \log(2b).

    Example:
      >>> d = laplace_nll()
      >>> d.nll
      log(b) + log(2) + Abs(mu - y)/b
      >>> d.loss, d.scale, d.constant
      (Abs(mu - y), 1/b, log(2*b))
    """
    density = sp.exp(-sp.Abs(target - mu) / laplace_scale) / (2 * laplace_scale)
    nll = _neg_log(density)
    loss, scale, constant = sp.Abs(target - mu), 1 / laplace_scale, sp.log(2 * laplace_scale)
    grouped = sp.Add(sp.Mul(scale, loss, evaluate=False), constant, evaluate=False)
    return LikelihoodDerivation(
        "Laplace noise -> absolute error",
        (
            Step("density", r"p(y \mid \mu, b)", density, "Laplace around the prediction $\\mu$"),
            Step("nll", r"-\log p(y \mid \mu, b)", nll),
            Step("grouped", "", grouped, "a weighted absolute error plus a term free of $\\mu$"),
        ),
        nll=nll,
        loss=loss,
        scale=scale,
        constant=constant,
    )


def huber_loss_expr(residual=residual, threshold=delta):
    r"""Huber's loss of a residual as a SymPy ``Piecewise`` (``F.huber_loss``'s convention).

    Example:
      >>> huber_loss_expr()
      Piecewise((r**2/2, delta >= Abs(r)), (delta*(-delta/2 + Abs(r)), True))
    """
    a = sp.Abs(residual)
    return sp.Piecewise((residual**2 / 2, a <= threshold), (threshold * (a - threshold / 2), True))


def huber_nll() -> LikelihoodDerivation:
    r"""The density whose negative log is the Huber loss: Gaussian core, Laplace tails.

    :math:`e^{-h_\delta(r)}` is :math:`e^{-r^2/2}` for :math:`|r| \le \delta` and
    :math:`e^{\delta^2/2}\,e^{-\delta|r|}` beyond: integrable, so it *is* a proper
    density once divided by

    .. math::
        Z(\delta) = \int_{-\infty}^{\infty} e^{-h_\delta(r)}\,dr
                  = \sqrt{2\pi}\,\mathrm{erf}\big(\delta/\sqrt2\big) + \frac{2}{\delta} e^{-\delta^2/2},

    and :math:`-\log q_\delta(r) = h_\delta(r) + \log Z(\delta)`. The normaliser does
    not depend on the prediction, so for a *fixed* :math:`\delta` minimising Huber
    is maximum likelihood (Huber's "least favourable" distribution); it does depend
    on :math:`\delta`, so :math:`\delta` cannot be fitted by minimising the loss alone.

    Returns:
      A :class:`LikelihoodDerivation` with steps ``unnormalised``, ``normaliser_integral``,
      ``normaliser``, ``nll``.

    Example:
      >>> Z = huber_nll()["normaliser"]
      >>> Z
      sqrt(2)*sqrt(pi)*erf(sqrt(2)*delta/2) + 2*exp(-delta**2/2)/delta
      >>> sp.limit(Z, delta, sp.oo)  # delta -> oo: the Gaussian's normaliser
      sqrt(2)*sqrt(pi)
    """
    loss = huber_loss_expr()
    unnormalised = sp.Piecewise(
        (sp.exp(-(residual**2) / 2), sp.Abs(residual) <= delta),
        (sp.exp(delta**2 / 2 - delta * sp.Abs(residual)), True),
    )
    # exp(-h) is even in r: integrate the two pieces over r >= 0 and double.
    core = sp.Integral(sp.exp(-(residual**2) / 2), (residual, 0, delta))
    tail = sp.Integral(sp.exp(delta**2 / 2 - delta * residual), (residual, delta, sp.oo))
    integral = 2 * (core + tail)
    normaliser = sp.expand(
        integral.doit(conds="none", meijerg=False)
    )  # delta > 0: skip convergence checks
    nll = loss + sp.log(normaliser)
    return LikelihoodDerivation(
        "Huber loss <- Gaussian core with Laplace tails",
        (
            Step(
                "unnormalised",
                r"e^{-h_\delta(r)}",
                unnormalised,
                "Gaussian inside $[-\\delta, \\delta]$, Laplace (exponential) tails outside",
            ),
            Step(
                "normaliser_integral",
                r"Z(\delta)",
                integral,
                "the area under it; it is even in $r$",
            ),
            Step("normaliser", "", normaliser, "finite for every $\\delta > 0$: a proper density"),
            Step(
                "nll",
                r"-\log \frac{e^{-h_\delta(r)}}{Z(\delta)}",
                sp.Add(loss, sp.log(normaliser), evaluate=False),
                "the Huber loss plus a term free of $\\mu$ (not of $\\delta$)",
            ),
        ),
        nll=nll,
        loss=loss,
        scale=sp.S.One,
        constant=sp.log(normaliser),
    )


def _tidy_sums(expr):
    """Factor the summand of every ``Sum`` in ``expr`` (for display)."""

    def tidy(e):
        coeff, rest = sp.factor(e.function).as_coeff_Mul()  # pull a numeric factor out of the sum
        return coeff * sp.Sum(rest, *e.limits)

    return expr.replace(lambda e: isinstance(e, sp.Sum), tidy)


def gaussian_mle() -> Derivation:
    r"""Maximum likelihood for :math:`n` Gaussian observations: the mean and the RMS deviation.

    The total NLL :math:`J(\mu, \sigma) = n\log\sigma + \frac n2 \log 2\pi
    + \frac{1}{2\sigma^2}\sum_i (y_i - \mu)^2` is stationary at
    :math:`\hat\mu = \frac1n\sum_i y_i` and :math:`\hat\sigma^2 = \frac1n\sum_i (y_i - \hat\mu)^2`.

    Example:
      >>> d = gaussian_mle()
      >>> d["mu_hat"]
      Sum(y[i], (i, 1, n))/n
      >>> d["sigma_hat"]
      sqrt(Sum((-mu + y[i])**2, (i, 1, n)))/sqrt(n)
    """
    ss = sp.Sum(_minus(_Y[index], mu) ** 2, (index, 1, n_examples))
    total = n_examples * sp.log(sigma) + n_examples * sp.log(2 * sp.pi) / 2 + ss / (2 * sigma**2)
    d_mu = _tidy_sums(sp.diff(total, mu))
    (mu_hat,) = sp.solve(sp.expand(d_mu).doit(), mu)
    # Solve in sigma with the sum of squares as a plain positive symbol: fast and clean.
    s = sp.Dummy("S", positive=True)
    d_sigma = sp.diff(total.subs(ss, s), sigma)
    (sigma_hat,) = sp.solve(d_sigma, sigma)
    return Derivation(
        "Gaussian maximum likelihood",
        (
            Step(
                "total",
                r"J(\mu, \sigma)",
                total,
                "$-\\log$ of the product of $n$ independent densities",
            ),
            Step("d_mu", r"\frac{\partial J}{\partial \mu}", d_mu),
            Step("mu_hat", r"\hat\mu", mu_hat, "set to zero: the sample mean"),
            Step("d_sigma", r"\frac{\partial J}{\partial \sigma}", d_sigma.subs(s, ss)),
            Step(
                "sigma_hat",
                r"\hat\sigma",
                sigma_hat.subs(s, ss),
                "set to zero (at $\\mu = \\hat\\mu$): the root mean squared deviation",
            ),
        ),
    )


def laplace_mle() -> Derivation:
    r"""Maximum likelihood for :math:`n` Laplace observations: the median and the mean absolute deviation.

    :math:`J(\mu, b) = n\log 2b + \frac1b\sum_i |y_i - \mu|`. Its derivative in
    :math:`\mu` is :math:`\frac1b\sum_i \mathrm{sign}(\mu - y_i)`, zero when as many
    observations lie above :math:`\mu` as below (the median); in :math:`b` it gives
    :math:`\hat b = \frac1n \sum_i |y_i - \hat\mu|`.

    Example:
      >>> laplace_mle()["b_hat"]
      Sum(Abs(mu - y[i]), (i, 1, n))/n
    """
    sad = sp.Sum(sp.Abs(_Y[index] - mu), (index, 1, n_examples))
    total = n_examples * sp.log(2 * laplace_scale) + sad / laplace_scale
    d_mu = sp.diff(total, mu)
    s = sp.Dummy("S", positive=True)
    d_b = sp.diff(total.subs(sad, s), laplace_scale)
    (b_hat,) = sp.solve(d_b, laplace_scale)
    return Derivation(
        "Laplace maximum likelihood",
        (
            Step(
                "total", r"J(\mu, b)", total, "$-\\log$ of the product of $n$ independent densities"
            ),
            Step(
                "d_mu",
                r"\frac{\partial J}{\partial \mu}",
                d_mu,
                "zero when as many $y_i$ lie above $\\mu$ as below: the median",
            ),
            Step("d_b", r"\frac{\partial J}{\partial b}", d_b.subs(s, sad)),
            Step(
                "b_hat", r"\hat b", b_hat.subs(s, sad), "set to zero: the mean absolute deviation"
            ),
        ),
    )


# --------------------------------------------------------------------------
# Classification: Bernoulli, categorical, independent Bernoullis
# --------------------------------------------------------------------------


def _bce(prob, target):
    return -(target * sp.log(prob) + (1 - target) * sp.log(1 - prob))


def bernoulli_nll() -> LikelihoodDerivation:
    r"""Bernoulli labels give binary cross-entropy: product, log, negate, mean.

    .. math::
        \mathcal L = \prod_{i=1}^n p_i^{y_i}(1 - p_i)^{1 - y_i}, \qquad
        -\frac1n \log\mathcal L = -\frac1n\sum_{i=1}^n \big[y_i\log p_i + (1-y_i)\log(1-p_i)\big].

    Returns:
      A :class:`LikelihoodDerivation` with steps ``pmf``, ``likelihood``,
      ``log_likelihood``, ``cost``; ``nll == loss`` is the BCE of one example.

    Example:
      >>> d = bernoulli_nll()
      >>> d["pmf"].subs(target, 1), d["pmf"].subs(target, 0)
      (p, 1 - p)
      >>> d.nll
      -y*log(p) - (1 - y)*log(1 - p)
    """
    pmf = prob**target * (1 - prob) ** (1 - target)
    likelihood = sp.Product(
        _P[index] ** _Y[index] * (1 - _P[index]) ** (1 - _Y[index]), (index, 1, n_examples)
    )
    log_likelihood = sp.expand_log(sp.log(likelihood), force=True)
    cost = -log_likelihood / n_examples
    nll = -(target * sp.log(prob) + (1 - target) * sp.log(1 - prob))
    return LikelihoodDerivation(
        "Bernoulli labels -> binary cross-entropy",
        (
            Step("pmf", r"P(y \mid p)", pmf, "$p$ if $y = 1$, $1 - p$ if $y = 0$"),
            Step("likelihood", r"\mathcal{L}", likelihood, "independent examples: multiply"),
            Step(
                "log_likelihood",
                r"\log \mathcal{L}",
                log_likelihood,
                "the log of a product is a sum of logs",
            ),
            Step("cost", r"-\frac{1}{n}\log \mathcal{L}", cost, "negate and average: the BCE cost"),
        ),
        nll=nll,
        loss=nll,
        scale=sp.S.One,
        constant=sp.S.Zero,
    )


def _classes(num_classes: int):
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
    zs = sp.symbols(f"z_1:{num_classes + 1}", real=True)
    ys = sp.symbols(f"y_1:{num_classes + 1}", nonnegative=True)
    ps = sp.symbols(f"p_1:{num_classes + 1}", positive=True)
    return zs, ys, ps


def softmax_exprs(zs):
    """The softmax of the symbols ``zs`` as a tuple of expressions."""
    total = sum(sp.exp(zc) for zc in zs)
    return tuple(sp.exp(zc) / total for zc in zs)


def categorical_nll(num_classes: int = 3) -> LikelihoodDerivation:
    r"""A categorical label gives cross-entropy; with a softmax, log-sum-exp minus the true logit.

    .. math::
        P(y \mid p) = \prod_c p_c^{y_c}, \qquad
        -\log P = -\sum_c y_c \log p_c \;\overset{y = e_k}{=}\; -\log p_k
        \;\overset{p = \mathrm{softmax}(z)}{=}\; \log\sum_c e^{z_c} - z_k.

    Args:
      num_classes: the number of classes :math:`C` (the symbols are ``z_1..z_C``,
        ``y_1..y_C`` one-hot, ``p_1..p_C``).

    Example:
      >>> d = categorical_nll(3)
      >>> d.nll
      -y_1*log(p_1) - y_2*log(p_2) - y_3*log(p_3)
      >>> d["class_1_logits"]
      -z_1 + log(exp(z_1) + exp(z_2) + exp(z_3))
    """
    zs, ys, ps = _classes(num_classes)
    pmf = sp.Mul(*[pc**yc for pc, yc in zip(ps, ys)])
    nll = sp.expand(sp.expand_log(-sp.log(pmf), force=True))
    first = nll.subs({yc: int(k == 0) for k, yc in enumerate(ys)})
    with_softmax = sp.expand(sp.expand_log(first.subs(ps[0], softmax_exprs(zs)[0]), force=True))
    return LikelihoodDerivation(
        f"Categorical label ({num_classes} classes) -> cross-entropy",
        (
            Step(
                "pmf", r"P(y \mid p)", pmf, "$y$ one-hot: picks the probability of the true class"
            ),
            Step("nll", r"-\log P(y \mid p)", nll, "cross-entropy between $y$ and $p$"),
            Step(
                "class_1", r"-\log P(y = e_1 \mid p)", first, "only the true class's term survives"
            ),
            Step(
                "class_1_logits",
                "",
                with_softmax,
                "$p = \\operatorname{softmax}(z)$: log-sum-exp minus the true logit",
                given={ps[0]: softmax_exprs(zs)[0]},
            ),
        ),
        nll=nll,
        loss=nll,
        scale=sp.S.One,
        constant=sp.S.Zero,
    )


def multilabel_nll(num_labels: int = 3) -> LikelihoodDerivation:
    r"""Independent Bernoulli labels give the sum of per-label BCEs.

    :math:`P(y \mid p) = \prod_j p_j^{y_j}(1 - p_j)^{1 - y_j}`, so the NLL is
    :math:`\sum_j \mathrm{BCE}(p_j, y_j)`. PyTorch's ``multilabel_soft_margin_loss``
    *averages* over the :math:`L` labels: ``nll == L * loss``.

    Example:
      >>> d = multilabel_nll(2)
      >>> d.scale
      2
      >>> d.nll
      -y_1*log(p_1) - y_2*log(p_2) - (1 - y_1)*log(1 - p_1) - (1 - y_2)*log(1 - p_2)
    """
    _, ys, ps = _classes(num_labels)
    pmf = sp.Mul(*[pj**yj * (1 - pj) ** (1 - yj) for pj, yj in zip(ps, ys)])
    nll = sp.Add(*[_bce(pj, yj) for pj, yj in zip(ps, ys)])  # -log(pmf), grouped per label
    loss = nll / num_labels
    return LikelihoodDerivation(
        f"Independent labels ({num_labels}) -> multi-label BCE",
        (
            Step("pmf", r"P(y \mid p)", pmf, "one independent Bernoulli per label"),
            Step(
                "nll", r"-\log P(y \mid p)", nll, "the log of a product is a sum: one BCE per label"
            ),
        ),
        nll=nll,
        loss=loss,
        scale=sp.Integer(num_labels),
        constant=sp.S.Zero,
    )


# --------------------------------------------------------------------------
# Focal loss: not a likelihood, a reweighting
# --------------------------------------------------------------------------


def _focal(prob_true):
    return -((1 - prob_true) ** gamma) * sp.log(prob_true)


def focal_normaliser() -> Derivation:
    r"""The focal loss is not the negative log-likelihood of a Bernoulli model.

    If :math:`\mathrm{FL}(p, y)` were :math:`-\log P(y \mid p)` for some model, then
    :math:`\sum_{y \in \{0, 1\}} e^{-\mathrm{FL}(p, y)}` would be 1. It is

    .. math::
        Z(p, \gamma) = p^{(1-p)^\gamma} + (1 - p)^{p^\gamma},

    which is 1 only for :math:`\gamma = 0` (plain BCE) and otherwise depends on
    :math:`p` (e.g. :math:`Z(\tfrac12, 2) = 2^{3/4}`). Normalising does not rescue
    it: :math:`-\log(e^{-\mathrm{FL}}/Z) = \mathrm{FL} + \log Z(p, \gamma)`, and that
    extra term moves with the prediction :math:`p`.

    Example:
      >>> d = focal_normaliser()
      >>> d["normaliser"]
      p**((1 - p)**gamma) + (1 - p)**(p**gamma)
      >>> d["gamma_0"], d["half_gamma_2"]
      (1, 2**(3/4))
    """
    fl1, fl0 = _focal(prob), _focal(1 - prob)
    # exp(-FL) = exp((1 - p_t)^gamma log p_t) = p_t^((1 - p_t)^gamma)
    e1, e0 = prob ** ((1 - prob) ** gamma), (1 - prob) ** (prob**gamma)
    normaliser = e1 + e0
    return Derivation(
        "Focal loss is not a negative log-likelihood",
        (
            Step("loss_y1", r"\mathrm{FL}(p, 1)", fl1, "$p_t = p$ for a positive"),
            Step("loss_y0", r"\mathrm{FL}(p, 0)", fl0, "$p_t = 1 - p$ for a negative"),
            Step(
                "normaliser",
                r"Z(p, \gamma) = e^{-\mathrm{FL}(p, 1)} + e^{-\mathrm{FL}(p, 0)}",
                normaliser,
                "must be 1 for a likelihood",
            ),
            Step(
                "gamma_0",
                r"Z(p, 0)",
                sp.simplify(normaliser.subs(gamma, 0)),
                "plain BCE: a likelihood",
            ),
            Step(
                "half_gamma_2",
                r"Z(\tfrac12, 2)",
                sp.nsimplify(normaliser.subs({gamma: 2, prob: sp.S.Half})),
                "not 1: no model has this as its $-\\log$ probability",
            ),
        ),
    )


def focal_gradient() -> Derivation:
    r"""The focal loss's gradient is the cross-entropy gradient times a per-example weight.

    With :math:`p_t` the probability of the true class and :math:`\gamma` fixed,

    .. math::
        \frac{\partial\,\mathrm{FL}}{\partial z}
        = \underbrace{(1 - p_t)^\gamma\Big(1 - \frac{\gamma\,p_t \log p_t}{1 - p_t}\Big)}_{w(p_t)}
          \;\frac{\partial\,\mathrm{CE}}{\partial z},

    for the sigmoid (:math:`\partial\mathrm{CE}/\partial z = \sigma(z) - y`) and, with the
    same weight, for the softmax (:math:`p - e_y`). The weight :math:`w \to 0` as
    :math:`p_t \to 1` (easy examples are silenced) and :math:`w \to 1` as
    :math:`p_t \to 0`; in between, for hard examples, it exceeds 1 (for
    :math:`\gamma = 1` exactly when :math:`p_t < 1/e`). The first factor alone,
    :math:`(1 - p_t)^\gamma`, is the weight one would get by treating it as a
    constant; the second, :math:`\ge 1`, comes from differentiating it too.

    Derived here for a positive (:math:`y = 1`, :math:`p_t = \sigma(z)`); a negative
    is the mirror image (:math:`z \to -z`).

    Example:
      >>> d = focal_gradient()
      >>> d["weight"]
      (1 - p)**gamma*(-gamma*p*log(p)/(1 - p) + 1)
    """
    fl = _focal(logistic(logit))
    raw = sp.diff(fl, logit)
    ce_grad = logistic(logit) - 1
    weight = (1 - prob) ** gamma * (1 - gamma * prob * sp.log(prob) / (1 - prob))
    return Derivation(
        "Focal loss reweights the cross-entropy gradient",
        (
            Step("loss", r"\mathrm{FL}(z)", fl, "a positive example, $p_t = \\sigma(z)$"),
            Step(
                "gradient",
                r"\frac{\partial\,\mathrm{FL}}{\partial z}",
                raw,
                "chain rule, $\\sigma' = \\sigma(1 - \\sigma)$",
            ),
            Step(
                "factored",
                "",
                sp.Mul(weight.subs(prob, logistic(logit)), ce_grad, evaluate=False),
                "a weight times the BCE gradient $\\sigma(z) - y$",
            ),
            Step("weight", r"w(p_t)", weight, "the weight, written with $p = p_t$"),
        ),
    )


# --------------------------------------------------------------------------
# Gradients with respect to the pre-activation
# --------------------------------------------------------------------------

_HALF_NOTE = "squared error of the raw output $\\hat y = z$ (PyTorch: no $\\tfrac12$)"


def identity_mse_gradient() -> Derivation:
    r"""Squared error after a linear (identity) output: the gradient is the residual, times 2.

    Example:
      >>> identity_mse_gradient().result
      2*(-y + z)
    """
    loss = _minus(logit, target) ** 2
    return Derivation(
        "MSE after the identity",
        (
            Step("loss", r"\ell(z)", loss, _HALF_NOTE),
            Step(
                "gradient",
                r"\frac{\partial \ell}{\partial z}",
                sp.Mul(2, _minus(logit, target), evaluate=False),
                "$2 \\times$ the residual: never saturates",
            ),
        ),
    )


def identity_mae_gradient() -> Derivation:
    r"""Absolute error after a linear output: the gradient is the sign of the residual.

    Example:
      >>> identity_mae_gradient().result
      sign(-y + z)
    """
    loss = sp.Abs(_minus(logit, target), evaluate=False)
    return Derivation(
        "MAE after the identity",
        (
            Step("loss", r"\ell(z)", loss, "absolute error of the raw output"),
            Step(
                "gradient",
                r"\frac{\partial \ell}{\partial z}",
                sp.sign(_minus(logit, target), evaluate=False),
                "$\\pm 1$ (0 at the kink, as in PyTorch): the size of the error is ignored",
            ),
        ),
    )


def sigmoid_bce_gradient() -> Derivation:
    r"""Binary cross-entropy after a sigmoid: the gradient is :math:`\sigma(z) - y`.

    The chain rule multiplies :math:`\partial\ell/\partial p = (p - y)/(p(1-p))` by
    :math:`\sigma'(z) = p(1 - p)`: the sigmoid's flat tails cancel exactly.

    Example:
      >>> d = sigmoid_bce_gradient()
      >>> d["dl_dp"], d["dp_dz"]
      ((p - y)/(p*(1 - p)), p*(1 - p))
      >>> d.result
      -y + logistic(z)
    """
    loss_p = _bce(prob, target)
    dl_dp = (prob - target) / (prob * (1 - prob))  # the tests check it is d(loss_p)/dp
    dp_dz = prob * (1 - prob)
    raw = sp.diff(_bce(logistic(logit), target), logit)
    return Derivation(
        "BCE after a sigmoid",
        (
            Step("loss", r"\ell(p)", loss_p, "binary cross-entropy of $p = \\sigma(z)$"),
            Step(
                "dl_dp",
                r"\frac{\partial \ell}{\partial p}",
                dl_dp,
                "explodes where $p \\to 0$ or $1$",
            ),
            Step(
                "dp_dz",
                r"\frac{\partial p}{\partial z}",
                dp_dz,
                "$\\sigma'(z)$: vanishes where $p \\to 0$ or $1$",
            ),
            Step("chain", r"\frac{\partial \ell}{\partial z}", raw, "chain rule"),
            Step(
                "gradient",
                "",
                _minus(logistic(logit), target),
                "the two cancel: prediction minus target",
            ),
        ),
    )


def sigmoid_mse_gradient() -> Derivation:
    r"""Squared error after a sigmoid: :math:`2(\sigma(z) - y)\,\sigma(z)(1 - \sigma(z))`.

    The factor :math:`\sigma'(z)` survives: where the sigmoid saturates the gradient
    vanishes, *even when the prediction is completely wrong*. (With
    :math:`\tfrac12(\sigma(z) - y)^2` the leading 2 disappears.)

    Example:
      >>> sigmoid_mse_gradient().result
      2*(1 - logistic(z))*(-y + logistic(z))*logistic(z)
    """
    loss = _minus(logistic(logit), target) ** 2
    raw = sp.diff(loss, logit)
    s = logistic(logit)
    grouped = sp.Mul(2, _minus(s, target), s, _minus(1, s), evaluate=False)
    return Derivation(
        "MSE after a sigmoid",
        (
            Step(
                "loss",
                r"\ell(z)",
                loss,
                "squared error of $p = \\sigma(z)$ (PyTorch: no $\\tfrac12$)",
            ),
            Step("gradient", r"\frac{\partial \ell}{\partial z}", raw, "chain rule"),
            Step(
                "grouped",
                "",
                grouped,
                "the BCE gradient times $2\\sigma'(z)$, which vanishes in the tails",
            ),
        ),
    )


def softmax_cross_entropy_gradient(num_classes: int = 3) -> Derivation:
    r"""Cross-entropy after a softmax: the gradient is :math:`\mathrm{softmax}(z) - y`.

    Done with symbols for a concrete :math:`C`: :math:`\ell = -\sum_c y_c \log p_c
    = -\sum_c y_c z_c + (\sum_c y_c)\log\sum_k e^{z_k}`, whose derivative in
    :math:`z_j` is :math:`-y_j + (\sum_c y_c)\,p_j`; with :math:`\sum_c y_c = 1`
    (one-hot or any probability target) it is :math:`p_j - y_j`.

    Example:
      >>> d = softmax_cross_entropy_gradient(2)
      >>> d["gradient"]
      Matrix([
      [-y_1 + exp(z_1)/(exp(z_1) + exp(z_2))],
      [-y_2 + exp(z_2)/(exp(z_1) + exp(z_2))]])
    """
    zs, ys, _ = _classes(num_classes)
    probs = softmax_exprs(zs)
    loss = -sum(yc * sp.log(pc) for yc, pc in zip(ys, probs))
    log_sum_exp = sp.log(sum(sp.exp(zc) for zc in zs))
    lse_form = -sum(yc * zc for yc, zc in zip(ys, zs)) + sum(ys) * log_sum_exp
    raw = sp.Matrix([sp.diff(lse_form, zj) for zj in zs])
    # One constraint: the target sums to 1. Eliminate the last y and simplify each entry.
    on_simplex = {ys[-1]: 1 - sum(ys[:-1])}
    gradient = sp.Matrix([_minus(pc, yc) for pc, yc in zip(probs, ys)])
    return Derivation(
        f"Cross-entropy after a softmax ({num_classes} classes)",
        (
            Step("loss", r"\ell(z)", loss, "cross-entropy of $p = \\operatorname{softmax}(z)$"),
            Step("lse", "", lse_form, "$\\log p_c = z_c - \\log\\sum_k e^{z_k}$"),
            Step("raw", r"\nabla_z \ell", raw, "differentiate each $z_j$"),
            Step(
                "gradient",
                "",
                gradient,
                "with $\\sum_c y_c = 1$: softmax minus target",
                given=on_simplex,
            ),
        ),
    )


def softmax_mse_gradient(num_classes: int = 3) -> Derivation:
    r"""Squared error after a softmax: :math:`2\,J^\top(p - y)` with the softmax Jacobian.

    :math:`\partial p_c / \partial z_j = p_c(\delta_{cj} - p_j)`, so

    .. math::
        \frac{\partial \ell}{\partial z_j}
        = 2\,p_j\Big[(p_j - y_j) - \sum_c p_c (p_c - y_c)\Big],

    which carries a factor :math:`p_j` and vanishes when the softmax is confidently
    wrong (:math:`p_y \to 0` and one wrong :math:`p_c \to 1`), unlike :math:`p - y`.
    The expressions are in the probabilities ``p_1..p_C``.

    Example:
      >>> d = softmax_mse_gradient(2)
      >>> d["jacobian"]
      Matrix([
      [-p_1**2 + p_1,       -p_1*p_2],
      [     -p_1*p_2, -p_2**2 + p_2]])
    """
    _, ys, ps = _classes(num_classes)
    loss = sum((pc - yc) ** 2 for pc, yc in zip(ps, ys))
    jacobian = sp.Matrix(
        num_classes, num_classes, lambda c, j: sp.expand(ps[c] * (int(c == j) - ps[j]))
    )
    residual = sp.Matrix([2 * (pc - yc) for pc, yc in zip(ps, ys)])
    raw = jacobian.T * residual
    inner = sum(pc * (pc - yc) for pc, yc in zip(ps, ys))
    grouped = sp.Matrix(
        [sp.Mul(2, pj, _minus(_minus(pj, yj), inner), evaluate=False) for pj, yj in zip(ps, ys)]
    )
    return Derivation(
        f"MSE after a softmax ({num_classes} classes)",
        (
            Step("loss", r"\ell(p)", loss, "squared error of the probabilities"),
            Step(
                "jacobian",
                r"\frac{\partial p}{\partial z}",
                jacobian,
                "softmax Jacobian $p_c(\\delta_{cj} - p_j)$",
            ),
            Step("raw", r"\nabla_z \ell", raw, "chain rule: $J^\\top \\nabla_p \\ell$"),
            Step(
                "gradient",
                "",
                grouped,
                "a factor $p_j$ in every entry: vanishes when confidently wrong",
            ),
        ),
    )
