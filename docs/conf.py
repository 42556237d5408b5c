"""Sphinx configuration of kullback's documentation site (``make docs``; see contributing.md for why this stack)."""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # document the checkout, not an older installed copy
sys.path.insert(0, str(HERE))

import kullback  # noqa: E402

project = "kullback"
author = "the kullback developers"
copyright = "the kullback developers"
release = version = kullback.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
]
# No network at build time (CI machines are offline): intersphinx maps stay empty, links are plain.
intersphinx_mapping = {}

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "**/.pytest_cache", "api/_names.rst"]

# No LaTeX math: MathJax would come from a CDN, which an offline reader (and CI) cannot load; formulas are Unicode.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# API reference: one page per public name, from its numpydoc docstring.
autosummary_generate = ["api/_names.rst"]  # written from kullback.__all__ by _write_api_names
autodoc_default_options = {"members": True}
autodoc_typehints = "none"  # numpydoc's Parameters section says the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Every public function documents each parameter and what it returns, and carries Examples (the doctests of `make test`).
numpydoc_validation_checks = {"PR01", "PR02", "RT01", "EX01", "GL08"}
# The members of result classes
# (to_dict, __init__, to_frame, ...) are described by their class, whose own docstring is validated
numpydoc_validation_exclude = {r"\.[A-Z]\w*\.\w+$"}  # members of result classes: not validated

html_theme = "pydata_sphinx_theme"
html_title = f"kullback {release}"
html_static_path = ["_static"]
html_css_files = ["kullback.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": [],
    "secondary_sidebar_items": ["page-toc"],
}
html_context = {"default_mode": "auto"}  # an empty mode makes the theme's script log a console error
html_sidebars = {"index": [], "getting-started": [], "contributing": []}  # pages without a section: no empty navigation
html_copy_source = False
html_show_sourcelink = False
# The site is opened from disk (file://) as well as served: no analytics, no remote fonts, no version switcher.

os.environ.setdefault("MPLBACKEND", "Agg")


def _write_api_names(app):
    """Write api/_names.rst: an autosummary of every name in kullback.__all__, so that none is forgotten."""
    import inspect

    groups = {"Functions": [], "Results": [], "Warnings": [], "Modules": []}
    for name in kullback.__all__:
        if name.startswith("__"):
            continue
        obj = getattr(kullback, name)
        if inspect.ismodule(obj):
            groups["Modules"].append(name)
        elif inspect.isclass(obj) and issubclass(obj, Warning):
            groups["Warnings"].append(name)
        elif inspect.isclass(obj):
            groups["Results"].append(name)
        else:
            groups["Functions"].append(name)
    lines = [".. currentmodule:: kullback", ""]
    for title, names in groups.items():
        if not names:
            continue
        lines += [title, "-" * len(title), "", ".. autosummary::", "   :toctree: generated", ""]
        lines += [f"   {n}" for n in names]
        lines.append("")
    text = "\n".join(lines)
    target = HERE / "api" / "_names.rst"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def _make_figures(app):
    """Draw the site's figures (docs/figures.py) into docs/_generated: they are computed at build time, never stale."""
    import figures

    figures.main(HERE / "_generated")


# The measurement pages (docs/accuracy*.md, estimation-*.md, benchmarks-*.md) are written by the scripts in
# benchmarks/ and included as they are; those that open without a title get one here, in the build only.
TITLES = {
    "benchmarks-discrete": "Benchmarks: probability vectors",
    "benchmarks-distributions": "Benchmarks: batches of normal pairs",
    "benchmarks-kdtree": "Benchmarks: the kNN search",
    "benchmarks-estimation": "Benchmarks: estimation from samples",
    "benchmarks-startup": "Benchmarks: start-up",
}


def _title_measurements(app, docname, source):
    """Give a measurement page without a level-1 heading a title (its first heading may be level 2)."""
    if "/" in docname or not docname.startswith(("accuracy", "estimation-", "benchmarks-")):
        return
    if any(line.startswith("# ") for line in source[0].splitlines()):
        return
    title = TITLES.get(docname, docname.replace("-", " ").capitalize())
    source[0] = f"# {title}\n\n{source[0]}"


def setup(app):
    app.connect("source-read", _title_measurements)
    app.connect("builder-inited", _write_api_names, priority=100)
    app.connect("builder-inited", _make_figures)
