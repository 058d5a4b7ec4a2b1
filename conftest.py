# SPDX-License-Identifier: BSD-3-Clause
"""Collection without torch: the network modules' doctests need torch and skorch.

``make test-notorch`` runs the suite in an environment without them; the test
modules skip themselves (``pytest.importorskip``), and these source modules,
collected for their doctests, are left out.
"""

import importlib.util

_TORCH_MODULES = [
    "sklearn_elr/_distributed.py",
    "sklearn_elr/_elr_torch.py",
    "sklearn_elr/_network.py",
    "sklearn_elr/_step_graph.py",
    "sklearn_elr/_torch_data.py",
    "sklearn_elr/callbacks.py",
    "sklearn_elr/distributed.py",
    "sklearn_elr/elr_plus.py",
    "sklearn_elr/neural.py",
]

collect_ignore = []
if importlib.util.find_spec("torch") is None or importlib.util.find_spec("skorch") is None:
    collect_ignore += _TORCH_MODULES
