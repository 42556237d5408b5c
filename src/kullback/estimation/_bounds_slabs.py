"""Bounds on D(f||g) between Gaussian mixtures in d >= 2 from optimised Jensen references and slabs along a direction.

Two refinements of the closed-form bounds of :mod:`._bounds` (see there for f, g, pi_a, w_b, f_a, g_b):

1. **Optimised reference** (Jensen with a free log-quadratic).  For any positive function r and any probability
   density h (here f_a, or f_a restricted to a slab and renormalised),
       int h log g = int h log r + int h log(g / r) <= int h log r + log int h g / r           (Jensen),
   the inequality behind Durrieu, Thiran & Kelly (2012, sec. 3: r = 1 is their eq. (8)) and Gibbs' inequality
   (r = h).  With r = exp(q), q(x) = x'Rx/2 + k'x in the coordinates z = L_a^-1 (x - m_a) of f_a, the right side
   J(R, k) = E_h q + log sum_b w_b int h g_b e^-q is a Gaussian integral in closed form (finite while
   I + Sigma_b^-1 + R is positive definite for every b) and is *convex* in (R, k) (a log-partition function plus
   a linear term), so Newton's method finds its minimum: the tilted law h g e^-q / Z then has the first two
   moments of h.  Every feasible (R, k) gives a valid bound; the optimum is only what makes it tight.
2. **Slabs** (the chain rule along a projection t = v'x).  R^d is cut into slabs c = {e_c <= v'x < e_c+1}
   (the outer two unbounded), D(f||g) = sum_c int_c f log(f/g), and each slab is bounded on its own:
   - below by max(F_c log(F_c / G_c), sum_a pi_a [L_ac(f) - U_ac(g)]), F_c, G_c the slab masses of f and g:
     the first is the log-sum inequality (the data-processing inequality for the partition, so the sum over
     slabs is the binned projection bound D(f_v||g_v)); in the second L_ac(f) = M_ac log sum_b pi_b
     exp(E_ac log f_b) (Jensen on f_a restricted to slab c, mass M_ac: Hershey & Olsen 2007, sec. 6, per
     slab) and U_ac(g) the smallest of the Jensen bounds of 1. on f_a restricted to c with r in {1, f_a, the
     optimised r_a} (r = f_a gives int_c f_a log f_a + M_ac log(G_c / M_ac));
   - above by min(sum_a pi_a [U_ac(f) - L_ac(g)], the variational upper bound of Hershey & Olsen (2007,
     sec. 7, eqs. (20)-(22)) on the slab): the log-sum inequality gives, pointwise on c,
     f log(f/g) <= sum_ab phi_ab f_a log(phi_ab f_a / (psi_ab g_b)) for every phi, psi >= 0 with
     sum_b phi_ab = pi_a and sum_a psi_ab = w_b, so int_c f log(f/g) <= sum_ab phi_ab [M_ac log(phi_ab/psi_ab)
     + int_c f_a log(f_a/g_b)], minimised by alternating phi_ab ~ psi_ab exp(-E_ac log(f_a/g_b)) and
     psi_ab ~ w_b phi_ab M_ac (each iterate feasible, hence a bound).
   Every slab quantity is a truncated-normal expectation of a quadratic or a Gaussian mass of a slab, in closed
   form (Johnson, Kotz & Balakrishnan, *Continuous Univariate Distributions* 1, 2nd ed., sec. 10.1, eqs.
   (13.134)-(13.135): the truncated normal's first two moments; x given v'x is Gaussian with mean linear in v'x).
   By Jensen's inequality across slabs (sum_c M_ac = 1 and log, log-sum-exp concave/convex), each slab bound is at
   least as tight as the same bound on the whole space; as slabs thin, the lower bound passes the projection
   bound D(f_v||g_v) and both bounds keep only the error of the directions orthogonal to v.

Rounding: each bound is moved outward by eps (64 (d + 1) kappa + 4 n) times the sum of the magnitudes of its terms
(kappa the largest condition number among the covariances and the Gaussian products, n the number of terms summed),
the forward-error bounds of the linear solves, log-determinants and sums (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
Thm. 7.2 and sec. 4.2), so the numbers returned stay bounds.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

__all__ = ["Prepared", "optimised_references", "slab_bounds", "directions", "log_softmax"]

_LOG2PI = math.log(2 * math.pi)
_NEWTON = 40  # Newton steps for the optimised reference (it converges in ~10)
_HO_ITERATIONS = 60  # alternating steps of the slab-wise variational upper bound
_SPAN = 8.0  # slab grid: f's components' projected means +- 8 sd; the two outer slabs are unbounded


def _lse(x, axis, keepdims=False):
    """log sum exp along an axis (scipy.special.logsumexp without its array-API overhead; -inf rows stay -inf)."""
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(x, axis):
    """x - log sum exp x along an axis, with the largest entry's difference exact (0), so that the weights sum to
    1 within a few eps whatever the size of x (x - logsumexp(x) loses eps |x| in each entry)."""
    top = np.max(x, axis=axis, keepdims=True)
    z = x - np.where(np.isfinite(top), top, 0.0)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _gauss_quads(m, s):
    """log N(x; m_j, S_j) as log-quadratics -x'Px/2 + p'x + c: (P (n,d,d), p (n,d), c (n,))."""
    d = m.shape[1]
    P = np.linalg.inv(s)
    p = np.einsum("nij,nj->ni", P, m)
    c = -0.5 * (d * _LOG2PI + np.linalg.slogdet(s)[1] + np.einsum("ni,ni->n", m, p))
    return P, p, c


# ---------------------------------------------------------------- 1. the optimised Jensen reference r = e^q


def optimised_references(wf, mf, sf, w, m, s):
    """For each component f_a: a log-quadratic q_a (P, p, c in x) near-minimising int f_a q + log int f_a h e^-q,
    h = sum_b w_b N(m_b, S_b) (the Jensen bound of the module docstring, 1.); (P (A,d,d), p (A,d), c (A,))."""
    A, d = mf.shape
    Ps, ps, cs = np.zeros((A, d, d)), np.zeros((A, d)), np.zeros(A)
    for a in range(A):
        L = np.linalg.cholesky(sf[a])
        Li = np.linalg.inv(L)
        R, k = _newton_reference(w, (m - mf[a]) @ Li.T, Li[None] @ s @ Li.T[None])
        # q(x) = z'Rz/2 + k'z, z = Li (x - m_a):  as -x'Px/2 + p'x + c with P = -W, W = Li' R Li
        W = Li.T @ R @ Li
        kt = Li.T @ k
        Ps[a], ps[a], cs[a] = -W, kt - W @ mf[a], 0.5 * mf[a] @ W @ mf[a] - kt @ mf[a]
    return Ps, ps, cs


def _newton_reference(w, mu, sig):
    """Minimise J(R, k) = tr(R)/2 + log sum_b w_b int N(z; 0, I) N(z; mu_b, sig_b) e^(-z'Rz/2 - k'z) dz
    (convex; gradient: the moments of N(0, I) minus those of the tilted mixture; Hessian: the covariance of
    the sufficient statistics under the tilted mixture), by damped Newton steps from R = 0, k = 0."""
    d = mu.shape[1]
    iu = np.triu_indices(d)
    nq = len(iu[0])
    prec = np.linalg.inv(sig)
    base = -0.5 * (d * _LOG2PI + np.linalg.slogdet(sig)[1] + np.einsum("bi,bij,bj->b", mu, prec, mu))

    def unpack(th):
        R = np.zeros((d, d))
        R[iu] = th[:nq]
        return R + np.triu(R, 1).T, th[nq:]

    th = np.zeros(nq + d)
    cur = _reference_objective(*unpack(th), w, mu, prec, base, iu)
    for _ in range(_NEWTON):
        J, g, H = cur
        try:
            step = np.linalg.solve(H + 1e-12 * np.trace(H) * np.eye(len(g)), g)
        except np.linalg.LinAlgError:
            break
        t, new = 1.0, None
        while t > 1e-6:
            new = _reference_objective(*unpack(th - t * step), w, mu, prec, base, iu)
            if new is not None and new[0] <= J - 1e-4 * t * (g @ step):
                break
            t, new = 0.5 * t, None
        if new is None:
            break
        th, cur = th - t * step, new
        if J - new[0] < 1e-10 * max(1.0, abs(J)):
            break
    return unpack(th)


def _reference_objective(R, k, w, mu, prec, base, iu):
    """(J, gradient, Hessian) of :func:`_newton_reference` in th = (R's upper triangle, k); None if infeasible."""
    d = len(k)
    A = np.eye(d)[None] + prec + R[None]
    try:
        chol = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        return None
    eta = np.einsum("bij,bj->bi", prec, mu) - k[None]
    C = np.linalg.inv(A)
    nu = np.einsum("bij,bj->bi", C, eta)
    log_i = base - np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(1) + 0.5 * np.einsum("bi,bi->b", eta, nu)
    lw = np.log(w) + log_i
    total = _lse(lw, axis=0)
    rho = np.exp(lw - total)
    i, j = iu
    coef = np.where(i != j, 1.0, 0.5)  # q = sum_{i<=j} th_ij coef_ij 2 z_i z_j / 2 + k'z: statistic coef z_i z_j
    second = C + np.einsum("bi,bj->bij", nu, nu)
    stats = np.concatenate([coef * second[:, i, j], nu], axis=1)  # E_b of (coef z_i z_j, z)
    grad = np.concatenate([coef * np.eye(d)[i, j], np.zeros(d)]) - rho @ stats
    ni, nj = nu[:, i], nu[:, j]
    Cii, Cij, Cji, Cjj = C[:, i][:, :, i], C[:, i][:, :, j], C[:, j][:, :, i], C[:, j][:, :, j]
    # Cov_b(z_i z_j, z_k z_l) for Gaussian z (Isserlis), and Cov_b(z_i z_j, z_l)
    qq = Cii * Cjj + Cij * Cji
    qq = qq + ni[:, :, None] * ni[:, None, :] * Cjj + ni[:, :, None] * nj[:, None, :] * Cji
    qq = qq + nj[:, :, None] * ni[:, None, :] * Cij + nj[:, :, None] * nj[:, None, :] * Cii
    ql = ni[:, :, None] * C[:, j, :] + nj[:, :, None] * C[:, i, :]
    nq = len(i)
    H = np.empty((len(w), nq + d, nq + d))
    H[:, :nq, :nq] = coef[None, :, None] * coef[None, None, :] * qq
    H[:, :nq, nq:] = coef[None, :, None] * ql
    H[:, nq:, :nq] = np.swapaxes(H[:, :nq, nq:], 1, 2)
    H[:, nq:, nq:] = C
    mean = rho @ stats
    hess = np.einsum("b,bij->ij", rho, H + np.einsum("bi,bj->bij", stats, stats)) - np.outer(mean, mean)
    return 0.5 * np.trace(R) + total, grad, hess


# ---------------------------------------------------------------- 2. slabs along a direction


def _truncated(alpha, beta):
    """log P(alpha <= Z < beta), E[Z | .], E[Z^2 | .] for standard normal Z, stable in both tails (elementwise)."""
    flip = alpha > 0  # work in the left tail or across 0: Z -> -Z maps [alpha, beta) to (-beta, -alpha]
    a = np.where(flip, -beta, alpha)
    b = np.where(flip, -alpha, beta)
    # here a <= 0 or both ends are in the left tail (b <= 0): factor exp(-b^2/2) out when b < 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        left = b < 0
        bb = np.where(left, b, 0.0)
        ea = np.where(np.isfinite(a), np.exp(-0.5 * (a * a - bb * bb)), 0.0)  # exp(-(a^2 - b^2)/2) <= 1
        # P = Phi(b) - Phi(a); in the left tail Phi(x) = erfcx(-x/sqrt2) exp(-x^2/2) / 2
        p_left = 0.5 * (special.erfcx(-bb / math.sqrt(2)) - np.where(np.isfinite(a), special.erfcx(-a / math.sqrt(2)) * ea, 0.0))
        p_mid = special.ndtr(b) - special.ndtr(a)
        mass = np.where(left, p_left, p_mid)
        phi_a = np.where(left, ea, np.where(np.isfinite(a), np.exp(-0.5 * a * a), 0.0)) / math.sqrt(2 * math.pi)
        phi_b = np.where(left, 1.0, np.where(np.isfinite(b), np.exp(-0.5 * b * b), 0.0)) / math.sqrt(2 * math.pi)
        aphi_a = np.where(np.isfinite(a), a * phi_a, 0.0)
        bphi_b = np.where(np.isfinite(b), b * phi_b, 0.0)
        m1 = (phi_a - phi_b) / mass
        m2 = 1.0 + (aphi_a - bphi_b) / mass
        log_mass = np.log(mass) + np.where(left, -0.5 * bb * bb, 0.0)
    ok = mass > 0
    m1 = np.where(ok, np.where(flip, -m1, m1), 0.0)
    m2 = np.where(ok, m2, 0.0)
    return np.where(ok, log_mass, -np.inf), m1, m2


class Prepared:
    """What the slab bounds need that does not depend on the direction: for each component f_a, the quadratics
    whose conditional expectations are taken (log f_b, log g_b, q_a against g, q_a against f) and the Gaussian
    products f_a N_b e^-q whose slab masses are taken (q = 0 and q = q_a, against f and against g)."""

    def __init__(self, wf, mf, sf, wg, mg, sg, refs):
        A, d = mf.shape
        B = len(wg)
        self.w = (wf, wg)
        self.mf, self.sf, self.mg, self.sg = mf, sf, mg, sg
        qf, qg = _gauss_quads(mf, sf), _gauss_quads(mg, sg)
        rg, rf = refs if refs is not None else ((np.zeros((A, d, d)), np.zeros((A, d)), np.zeros(A)),) * 2
        # conditional expectations: targets j = log f_b (A), log g_b (B), q_a^g (A), q_a^f (A), the same for every a
        T = [np.concatenate(x) for x in zip(qf, qg, rg, rf)]
        self.T = T
        self.trPS = np.einsum("jik,aki->aj", T[0], sf)
        Pm = np.einsum("jik,ak->aji", T[0], mf)
        self.mPm = np.einsum("aji,ai->aj", Pm, mf)
        self.pm = mf @ T[1].T
        self.Pm = Pm

        # Gaussian products f_a e^(l): l = log f_b, log g_b, log f_b - q_a^f, log g_b - q_a^g  -> (A, 2A + 2B)
        def per_a(q, r):
            return [np.broadcast_to(q[i][None], (A,) + q[i].shape) - r[i][:, None] for i in range(3)]

        zero = [np.zeros((A, d, d)), np.zeros((A, d)), np.zeros(A)]
        parts = [per_a(qf, zero), per_a(qg, zero), per_a(qf, rf), per_a(qg, rg)]
        Pl, pl, cl = (np.concatenate([pt[i] for pt in parts], axis=1) for i in range(3))
        Pa = np.linalg.inv(sf)
        lam = Pa[:, None] + Pl
        eta = np.einsum("aij,aj->ai", Pa, mf)[:, None] + pl
        ca = -0.5 * (d * _LOG2PI + np.linalg.slogdet(sf)[1] + np.einsum("ai,aij,aj->a", mf, Pa, mf))
        ev = np.linalg.eigvalsh(0.5 * (lam + np.swapaxes(lam, -1, -2)))
        self.ok = ev[..., 0] > 1e-12 * ev[..., -1]
        lam_ok = np.where(self.ok[..., None, None], lam, np.eye(d))
        self.cov = np.linalg.inv(lam_ok)
        self.mean = np.einsum("ajik,ajk->aji", self.cov, eta)
        self.total = (
            cl + ca[:, None] + 0.5 * np.einsum("aji,aji->aj", eta, self.mean) + 0.5 * d * _LOG2PI - 0.5 * np.linalg.slogdet(lam_ok)[1]
        )
        kappas = [np.linalg.cond(sf).max(), np.linalg.cond(sg).max()]
        if self.ok.any():
            kappas.append(float((ev[..., -1] / ev[..., 0])[self.ok].max()))
        self.kappa = max(kappas)
        self.sizes = (A, B)


def slab_bounds(prep, V, slabs):
    """(lower, upper) arrays (n,) on D(f||g) from ``slabs`` slabs along each unit row of V (n, d) (module docstring, 2.)."""
    (wf, wg), (A, B) = prep.w, prep.sizes
    mf, sf, d = prep.mf, prep.sf, prep.mf.shape[1]
    n, C = V.shape[0], max(slabs, 2)
    mu, sd = mf @ V.T, np.sqrt(np.einsum("ni,kij,nj->kn", V, sf, V))  # (A, n)
    mug, sdg = prep.mg @ V.T, np.sqrt(np.einsum("ni,kij,nj->kn", V, prep.sg, V))
    inner = _edges(np.concatenate([mu, mug]), np.concatenate([sd, sdg]), mu, sd, C - 1)
    edges = np.concatenate([np.full((n, 1), -np.inf), inner, np.full((n, 1), np.inf)], axis=1)  # (n, C + 1)
    logM, m1, m2 = _slab_masses(mu, sd, edges, moments=True)  # (A, n, C)
    E1, E2 = sd[..., None] * m1, sd[..., None] ** 2 * m2  # E[u | slab], E[u^2 | slab], u = v'x - mu_a
    logMg = _slab_masses(mug, sdg, edges)
    logF = _lse(np.log(wf)[:, None, None] + logM, axis=0)  # (n, C)
    logG = _lse(np.log(wg)[:, None, None] + logMg, axis=0)
    # E[l_j | slab] for x ~ f_a in the slab: x given v'x = mu_a + u is N(m_a + k u, S_a - s2 k k'), k = S_a v / s2
    k = np.einsum("aij,nj->ani", sf, V) / (sd**2)[..., None]  # (A, n, d)
    P, p = prep.T[0], prep.T[1]
    kPk = np.einsum("ani,jik,ank->ajn", k, P, k)
    c0 = -0.5 * (prep.trPS[..., None] - sd[:, None] ** 2 * kPk) - 0.5 * prep.mPm[..., None] + prep.pm[..., None] + prep.T[2][None, :, None]
    c1 = np.einsum("ani,ji->ajn", k, p) - np.einsum("ani,aji->ajn", k, prep.Pm)
    ex = c0[..., None] + c1[..., None] * E1[:, None] - 0.5 * kPk[..., None] * E2[:, None]  # (A, J, n, C)
    ex_f, ex_g = ex[:, :A], ex[:, A : A + B]
    idx = np.arange(A)
    self_, q_g, q_f = ex_f[idx, idx], ex[idx, A + B + idx], ex[idx, 2 * A + B + idx]  # (A, n, C)
    # log int_slab f_a e^(l) for the Gaussian products
    mt = np.einsum("aji,ni->ajn", prep.mean, V)
    st = np.sqrt(np.einsum("ni,ajik,nk->ajn", V, prep.cov, V))
    masses = _slab_masses(mt.reshape(-1, n), st.reshape(-1, n), edges).reshape(mt.shape + (C,))
    li = np.where(prep.ok[..., None, None], prep.total[..., None, None] + masses, np.inf)  # (A, J2, n, C)
    lwf, lwg = np.log(wf)[None, :, None, None], np.log(wg)[None, :, None, None]
    one_f = _lse(lwf + li[:, :A], axis=1)
    one_g = _lse(lwg + li[:, A : A + B], axis=1)
    tilt_f = _lse(lwf + li[:, A + B : 2 * A + B], axis=1)
    tilt_g = _lse(lwg + li[:, 2 * A + B :], axis=1)
    # Jensen upper bounds on E_ac log h, r in {f_a, 1, q_a} (module docstring, 1.), and the variational lower ones
    up_f = np.minimum(np.minimum(self_ + logF, one_f), q_f + tilt_f) - logM
    up_g = np.minimum(np.minimum(self_ + logG, one_g), q_g + tilt_g) - logM
    low_f = _lse(lwf + ex_f, axis=1)
    low_g = _lse(lwg + ex_g, axis=1)
    M = np.exp(logM)  # 0 where a slab holds no (representable) mass of f_a
    wM = wf[:, None, None] * M
    with np.errstate(invalid="ignore"):
        split_lo = np.sum(np.where(M > 0, wM * (low_f - up_g), 0.0), axis=0)  # (n, C)
        split_up = np.sum(np.where(M > 0, wM * (up_f - low_g), 0.0), axis=0)
    F = np.exp(logF)
    binned = np.where(F > 0, F * (logF - logG), 0.0)
    dab = np.where(M[:, None] > 0, self_[:, None] - ex_g, 0.0)  # E_ac log(f_a / g_b): (A, B, n, C)
    ho = _slab_variational(wf, wg, logM, dab)
    lo_terms, up_terms = np.maximum(binned, split_lo), np.minimum(split_up, ho)
    with np.errstate(invalid="ignore"):
        mags = np.where(M > 0, wM * (np.abs(low_f) + np.abs(up_f) + np.abs(low_g) + np.abs(up_g)), 0.0)
    scale = np.sum(mags, axis=(0, 2))
    slack = np.finfo(float).eps * (64 * (d + 1) * prep.kappa + 4 * C * (A + B))
    lower = np.sum(lo_terms, axis=1) - slack * (scale + np.sum(np.abs(lo_terms), axis=1))
    upper = np.sum(up_terms, axis=1) + slack * (scale + np.sum(np.abs(up_terms), axis=1))
    return lower, upper


def _edges(mu_all, sd_all, mu, sd, count):
    """``count`` slab edges per direction (n, count) over f's components' means +- 8 sd, at the quantiles of a
    design law: half uniform on that span, half the equal-weight mixture of every component of f and g (so
    that narrow components get narrow slabs); found by bisection (any edges give valid bounds)."""
    lo, hi = (mu - _SPAN * sd).min(axis=0), (mu + _SPAN * sd).max(axis=0)  # (n,)

    def design(x):  # (n, count) -> the design CDF, increasing
        uniform = (x - lo[:, None]) / (hi - lo)[:, None]
        comps = special.ndtr((x[None] - mu_all[..., None]) / sd_all[..., None]).mean(axis=0)
        return 0.5 * uniform + 0.5 * comps

    ends = design(np.stack([lo, hi], axis=1))
    target = ends[:, :1] + (ends[:, 1:] - ends[:, :1]) * np.linspace(0.0, 1.0, count)[None]
    a, b = np.repeat(lo[:, None], count, axis=1), np.repeat(hi[:, None], count, axis=1)
    for _ in range(50):
        mid = 0.5 * (a + b)
        below = design(mid) < target
        a, b = np.where(below, mid, a), np.where(below, b, mid)
    x = 0.5 * (a + b)
    x[:, 0], x[:, -1] = lo, hi
    return np.maximum.accumulate(x, axis=1)


def _slab_masses(mu, sd, edges, moments=False):
    """log P(slab) for N(mu_in, sd_in^2) (I, n) and the slabs of direction n, edges (n, C + 1): (I, n, C); with
    moments, also E[Z | slab], E[Z^2 | slab] of the standardised Z (the truncated normal's moments: Johnson, Kotz
    & Balakrishnan 1994, eqs. (13.134)-(13.135))."""
    alpha = (edges[None, :, :-1] - mu[..., None]) / sd[..., None]
    beta = (edges[None, :, 1:] - mu[..., None]) / sd[..., None]
    out = _truncated(alpha, beta)
    return out if moments else out[0]


def _slab_variational(wf, wg, logM, dab):
    """Per slab: min over phi, psi of sum_ab phi_ab [M_ac log(phi_ab / psi_ab) + M_ac dab_abc] (module docstring, 2.);
    every iterate is feasible, so the last value bounds the slab's part from above.  logM (A, n, C) -> (n, C)"""
    lwf, lwg = np.log(wf)[:, None, None, None], np.log(wg)[None, :, None, None]
    lM = np.where(np.isfinite(logM), logM, -1e4)[:, None]  # a mass that underflowed: weight e^-10^4, sums kept exact
    log_phi = np.broadcast_to(lwf + lwg, dab.shape)
    log_psi = log_phi
    for _ in range(_HO_ITERATIONS):
        new = lwf + log_softmax(log_psi - dab, axis=1)
        log_psi = lwg + log_softmax(new + lM, axis=0)
        step, log_phi = np.max(np.abs(new - log_phi)), new
        if step < 1e-9:
            break
    M = np.exp(lM)
    return np.sum(np.exp(log_phi) * M * (log_phi - log_psi + dab), axis=(0, 1))


def directions(wf, mf, sf, wg, mg, sg):
    """Unit directions to cut along: the axes, the moment-matched discriminant (S_f + S_g)^-1 (m_f - m_g),
    the extreme generalised eigenvectors of (S_f, S_g), and the differences of component means."""
    d = mf.shape[1]
    mu_f, mu_g = wf @ mf, wg @ mg
    cov_f = np.einsum("a,aij->ij", wf, sf) + np.einsum("a,ai,aj->ij", wf, mf - mu_f, mf - mu_f)
    cov_g = np.einsum("b,bij->ij", wg, sg) + np.einsum("b,bi,bj->ij", wg, mg - mu_g, mg - mu_g)
    out = [np.eye(d)[i] for i in range(d)]
    out.append(np.linalg.solve(cov_f + cov_g, mu_f - mu_g))
    lg = np.linalg.cholesky(cov_g)
    _, vecs = np.linalg.eigh(np.linalg.solve(lg, np.linalg.solve(lg, cov_f).T))
    out += [np.linalg.solve(lg.T, vecs[:, 0]), np.linalg.solve(lg.T, vecs[:, -1])]
    out += [(a - b) for a in mf for b in mg][: 4 * d]
    out += [(a - b) for i, a in enumerate(mf) for b in mf[i + 1 :]][: 2 * d]
    vs = [v / np.linalg.norm(v) for v in out if np.linalg.norm(v) > 1e-12]
    return vs
