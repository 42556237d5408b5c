"""The same-family registry (issue 24): one table that the formula modules register into, filled wherever it is read,
and no import cycle among the closed-form modules (``_same`` and ``_same_discrete`` imported each other before)."""

from __future__ import annotations

import ast
import pathlib

import kullback.distributions as dist
from kullback.distributions._closed import SAME

SRC = pathlib.Path(dist.__file__).parent
FAMILIES = {
    "normal", "halfnormal", "lognormal", "exponential", "gamma", "beta", "dirichlet", "laplace", "uniform", "gumbel",
    "pareto", "cauchy", "weibull", "vonmises", "cbernoulli", "poisson", "bernoulli", "binomial", "geometric",
    "categorical", "mvn",
}  # fmt: skip


def _top_level_imports(path):
    """Sibling modules a module imports when it is loaded (imports at module level, not inside functions)."""
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(a.name for a in node.names)
    return out


def test_every_family_is_registered():
    assert set(SAME) == FAMILIES


def test_no_import_cycle_among_the_distribution_modules():
    graph = {p.stem: _top_level_imports(p) for p in SRC.glob("_*.py")}

    def visit(node, path):
        for nxt in graph.get(node, ()):
            assert nxt not in path, f"import cycle: {' -> '.join([*path, nxt])}"
            visit(nxt, [*path, nxt])

    for mod in graph:
        visit(mod, [mod])


def test_formula_modules_import_the_registry_not_each_other():
    for name in ("_same", "_same_gamma", "_same_discrete"):
        imports = _top_level_imports(SRC / f"{name}.py")
        assert "_registry" in imports
        assert not imports & {"_same", "_same_gamma", "_same_discrete", "_closed"}, (name, imports)
