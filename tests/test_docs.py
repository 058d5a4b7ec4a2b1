# SPDX-License-Identifier: BSD-3-Clause
"""The documentation's promises: every Python block runs alone, without
warnings, and every estimator's HTML repr links to its API page."""

import importlib.util
import re
import textwrap
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.rst", *sorted((ROOT / "docs").glob("*.rst"))]
SKIP_PAGES = {"sg_execution_times.rst"}  # written by the gallery build


def _python_blocks(path):
    """``(line, code)`` of every ``.. code-block:: python`` of an .rst page."""
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)\.\. code-block:: python\s*$", line)
        if not match:
            continue
        indent = len(match.group(1))
        body = []
        for following in lines[i + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        yield i + 1, textwrap.dedent("\n".join(body)).strip() + "\n"


BLOCKS = [
    pytest.param(code, id=f"{path.name}:{line}")
    for path in PAGES
    if path.name not in SKIP_PAGES
    for line, code in _python_blocks(path)
]
#: Optional packages a block may need: it is skipped without them.
OPTIONAL = {"torch": "torch", "skorch": "skorch", "NoisyLabelClassifier": "torch",
            "ELRPlusClassifier": "torch", "dask": "distributed", "skops": "skops"}  # fmt: skip


def test_the_pages_have_blocks():
    assert len(BLOCKS) >= 12


@pytest.mark.parametrize("code", BLOCKS)
def test_every_python_block_runs_alone_without_warnings(code, monkeypatch, capsys):
    for word, module in OPTIONAL.items():
        if word in code and importlib.util.find_spec(module) is None:
            pytest.skip(f"needs {module}")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Third-party import-time notices are not the block's doing.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="(?!sklearn_elr)")
        exec(compile(code, "<doc block>", "exec"), {"__name__": "__doc_block__"})


def test_every_estimator_links_to_its_api_page():
    import sklearn_elr
    from sklearn_elr import LinearELRClassifier, PairNoise, SymmetricNoise, WithLabelNoise

    api = (ROOT / "docs" / "api.rst").read_text()
    estimators = [
        LinearELRClassifier(), SymmetricNoise(), PairNoise(),
        WithLabelNoise(LinearELRClassifier(), SymmetricNoise()),
    ]  # fmt: skip
    if importlib.util.find_spec("torch") and importlib.util.find_spec("skorch"):
        estimators += [sklearn_elr.NoisyLabelClassifier(), sklearn_elr.ELRPlusClassifier()]
    for estimator in estimators:
        name = type(estimator).__name__
        assert estimator._get_doc_link().endswith(f"generated/sklearn_elr.{name}.html")
        assert re.search(rf"^\s+{name}$", api, re.MULTILINE), f"{name} not in api.rst"
