# SPDX-License-Identifier: BSD-3-Clause
"""The order of the example gallery: a newcomer's path, not the alphabet."""

import os

ORDER = [
    "plot_quickstart.py",
    "plot_label_issues.py",
    "plot_keep_your_model.py",
    "plot_noise_in_cv.py",
    "plot_grid_search.py",
    "plot_when_elr_does_not_help.py",
    "plot_memorization.py",
    "plot_elr_plus.py",
    "plot_cnn_images.py",
]


def sort_key(filename):
    """sphinx-gallery's ``within_subsection_order``: listed files first, in order."""
    name = os.path.basename(str(filename))
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)
