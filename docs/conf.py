# SPDX-License-Identifier: BSD-3-Clause
"""Sphinx configuration: ``make docs`` builds the site with warnings as errors."""

import os
import sys
import warnings

import sklearn_elr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # _gallery_order

# numpydoc parses skorch's private docstrings while documenting subclasses;
# their non-standard sections are skorch's business, not this site's.
warnings.filterwarnings("ignore", message="Unknown section", category=UserWarning)

project = "sklearn_elr"
author = "The sklearn_elr developers"
copyright = "2026, The sklearn_elr developers"
release = version = sklearn_elr.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # MathJax served from the site itself (copied into _static): math renders
    # without network access, e.g. from a local build or an offline mirror.
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

html_theme = "pydata_sphinx_theme"
html_title = "sklearn_elr"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
exclude_patterns = ["_build", "examples/*.py", "generated/*.examples"]
templates_path = ["_templates"]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# Cross-references to the ecosystem. The inventories are fetched from the
# internet; offline builds (this project's CI machine reaches PyPI only) set
# nothing to fetch and, instead of failing on every unresolved external
# name, are not nitpicky. SKLEARN_ELR_DOCS_ONLINE=1 turns both on.
ONLINE = os.environ.get("SKLEARN_ELR_DOCS_ONLINE") == "1"
intersphinx_mapping = (
    {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
        "imblearn": ("https://imbalanced-learn.org/stable", None),
        "pandas": ("https://pandas.pydata.org/docs", None),
    }
    if ONLINE
    else {}
)
nitpicky = ONLINE

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "run_stale_examples": True,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "within_subsection_order": "_gallery_order.sort_key",
    "show_memory": False,
    "reference_url": {"sklearn_elr": None},
}


def _skip_member(app, what, name, obj, skip, options):
    """Document this package's own methods; not the metadata-routing setters
    scikit-learn generates on every estimator (their docstrings cite labels of
    scikit-learn's site)."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
