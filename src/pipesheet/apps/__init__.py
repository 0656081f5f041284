"""Web apps for sales coaches, built with ipywidgets and served by Voila (``pipesheet app``).

* :class:`LeadPlanner` — App 1, the reverse funnel: what a revenue target takes, live.
* :class:`Dashboard` — App 2, the pipeline forecast dashboard on the bundled sample or an
  uploaded deals/history file.

The apps are thin: every number is computed by the core engine. The notebooks in ``notebooks/``
only import and display them, in the language the page's address asks for (``?lang=sl``:
:func:`page_language`). :mod:`pipesheet.apps.uploads` (reading uploaded bytes) does not need
ipywidgets.
"""

from __future__ import annotations

__all__ = ["Dashboard", "LeadPlanner", "page_language"]


def __getattr__(name: str):
    if name == "page_language":
        from pipesheet.apps.common import page_language

        return page_language
    if name == "LeadPlanner":
        from pipesheet.apps.lead_planner import LeadPlanner

        return LeadPlanner
    if name == "Dashboard":
        from pipesheet.apps.dashboard import Dashboard

        return Dashboard
    raise AttributeError(name)
