"""``RandomGammaGrad`` and the ``RandomGamma`` gradient (implicit reparameterisation).

A Gamma(a) sample ``x`` solves ``P(a, x) = u`` for a fixed uniform ``u``, where ``P`` is the
regularised lower incomplete gamma function, so ``dx/da = -(dP/da) / (dP/dx)``
(Figurnov et al., 2018), which is what TF's ``RandomGammaGrad`` returns. Here ``P`` comes
from its power series (``x < a + 1``) or Legendre's continued fraction for ``Q = 1 - P``
(Numerical Recipes' ``gser``/``gcf``), both divided by the density ``dP/dx`` analytically so
nothing underflows, and ``dP/da`` comes from a central difference of the ratio's logarithm
in float64 (about 1e-9 relative against TF's float64 kernel).
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..graph import get_default_graph
from .common import FLOATS, broadcast_infer, make1
from .registry import OPAQUE, defop

_MAX_TERMS = 20000  # the series and fraction need about 6 * sqrt(a) terms
_EPS = 1e-17
_TINY = 1e-300
_lgamma = np.frompyfunc(math.lgamma, 1, 1)


def _series(a, x):
    """``sum_n x^n / ((a+1)...(a+n))``: ``P(a, x) = x^a e^-x / Gamma(a+1) * series``."""
    term = np.ones_like(a)
    total = np.ones_like(a)
    live = np.arange(a.size)
    n = 0
    while live.size and n < _MAX_TERMS:
        n += 1
        term[live] *= x[live] / (a[live] + n)
        total[live] += term[live]
        live = live[term[live] > total[live] * _EPS]
    return total


def _fraction(a, x):
    """Lentz's continued fraction ``h``: ``Q(a, x) = x^a e^-x / Gamma(a) * h``."""
    b = x + 1.0 - a
    c = np.full_like(a, 1.0 / _TINY)
    d = 1.0 / b
    h = d.copy()
    live = np.arange(a.size)
    i = 0
    while live.size and i < _MAX_TERMS:
        i += 1
        an = -i * (i - a[live])
        b[live] += 2.0
        dl = an * d[live] + b[live]
        dl = np.where(np.abs(dl) < _TINY, _TINY, dl)
        cl = b[live] + an / c[live]
        cl = np.where(np.abs(cl) < _TINY, _TINY, cl)
        dl = 1.0 / dl
        delta = dl * cl
        d[live], c[live] = dl, cl
        h[live] *= delta
        live = live[np.abs(delta - 1.0) > _EPS]
    return h


def gamma_sample_grad(alpha, sample) -> np.ndarray:
    """``d sample / d alpha`` of Gamma(alpha) samples, float64 (the RandomGammaGrad kernel)."""
    a, x = (np.array(v, dtype=np.float64).reshape(-1) for v in np.broadcast_arrays(alpha, sample))
    shape = np.broadcast_shapes(np.shape(alpha), np.shape(sample))
    out = np.full(a.shape, np.nan)
    out[(a > 0) & ((x == 0) | (x == np.inf))] = 0.0
    ok = (a > 0) & (x > 0) & np.isfinite(x) & np.isfinite(a)
    a, x = a[ok], x[ok]
    h = 1e-5 * a
    lx = np.log(x)
    lg = _lgamma(a).astype(np.float64)
    grad = np.empty_like(a)
    lower = x < a + 1.0
    for sel, sign in ((lower, -1.0), (~lower, 1.0)):
        if not sel.any():
            continue
        av, xv, hv, lxv, lgv = a[sel], x[sel], h[sel], lx[sel], lg[sel]

        def log_ratio(ap, av=av, xv=xv, lxv=lxv, lgv=lgv, sign=sign):
            # log of P(ap, x) / pdf(a, x) (series) or Q(ap, x) / pdf(a, x) (fraction): smooth
            # in ap, so a central difference of it is accurate where the ratio is steep.
            if sign < 0:
                f, lg_ap = _series(ap, xv), _lgamma(ap + 1.0)
            else:
                f, lg_ap = _fraction(ap, xv), _lgamma(ap)
            return lxv + np.log(f) + (ap - av) * lxv + lgv - lg_ap.astype(np.float64)

        slope = (log_ratio(av + hv) - log_ratio(av - hv)) / (2.0 * hv)
        # dx/da = -(dP/da) / pdf = +(dQ/da) / pdf
        grad[sel] = sign * np.exp(log_ratio(av)) * slope
    out[ok] = grad
    return out.reshape(shape)


def _kernel(alpha, sample, **a):
    return gamma_sample_grad(alpha, sample).astype(alpha.dtype)


defop(
    "RandomGammaGrad",
    OPAQUE,
    broadcast_infer(allowed=FLOATS - {_dt.float16}),
    _kernel,
    fallback="incomplete-gamma series and continued fraction; numpy kernel",
)


def random_gamma_grad_rule(op, grad):
    """TF's ``RandomGamma`` gradient: ``None`` for the shape, the summed ``RandomGammaGrad``
    over the sample dimensions for ``alpha``."""
    from .array import shape as shape_of
    from .math import multiply, reduce_sum

    s, alpha = op.inputs
    sample = op.outputs[0]
    with get_default_graph().control_dependencies([grad]):
        # Broadcasting aligns alpha's dims with the trailing dims of the sample, which is
        # what TF's leading unit dimensions achieve.
        partial = make1("RandomGammaGrad", [alpha, sample], {"T": alpha.dtype})
        n = s.shape.as_list()[0] if s.shape.ndims == 1 else None
        if n is not None:
            axes = list(range(n))
        else:
            from .array_more import range as range_

            axes = range_(shape_of(s)[0])
        return [None, reduce_sum(multiply(grad, partial), axis=axes)]
