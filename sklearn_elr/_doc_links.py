# SPDX-License-Identifier: BSD-3-Clause
"""Links from an estimator's HTML repr to its API page (scikit-learn's hooks)."""

#: Where ``make docs`` output is published.
DOCS_URL = "https://sklearn-elr.readthedocs.io/en/latest/"


class DocLinkMixin:
    """Point the "?" of the HTML repr at this package's API page.

    scikit-learn's ``_get_doc_link`` fills the template for classes whose
    top-level module is ``_doc_link_module``; the API pages are named by the
    public (top-level) name, ``generated/sklearn_elr.<Class>.html``.
    """

    _doc_link_module = "sklearn_elr"
    _doc_link_template = DOCS_URL + "generated/sklearn_elr.{estimator_name}.html"
