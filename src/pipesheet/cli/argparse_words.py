"""The words argparse itself writes (``usage:``, ``options``, ``the following arguments are
required: …``, ``invalid choice: …``), in the language spoken.

argparse looks its words up through the module-level name ``argparse._`` (the standard
library's ``gettext.gettext``) when it builds a parser and when it reports a usage error.
:func:`argparse_in_language` rebinds that name, for the time the command line runs, to a function
that looks each word up in pipesheet's catalog first (the msgids below are argparse's own,
``%``-placeholders included) and falls back to argparse's own lookup. In English nothing is
rebound: the output is argparse's, byte for byte.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from pipesheet.i18n import N_, current_language, translations

__all__ = ["ARGPARSE_MESSAGES", "argparse_in_language"]

#: argparse's messages a user can see (Python 3.11's msgids; a newer Python's changed wording
#: shows in English; no command takes a fixed number of values above one, so argparse's one
#: plural message never shows). Translations keep every ``%(name)s``/``%s``/``%r`` placeholder.
ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("unrecognized arguments: %s"),
    N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("unexpected option string: %s"),
    N_("invalid %(type)s value: %(value)r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
)


def _gettext(original):
    def lookup(message: str) -> str:
        text = translations().gettext(message)
        return text if text != message else original(message)

    return lookup


@contextlib.contextmanager
def argparse_in_language() -> Iterator[None]:
    """argparse speaks the current language inside the ``with`` block (nothing changes in
    English); the names are restored on the way out."""
    if current_language() == "en":
        yield
        return
    saved = argparse._  # type: ignore[attr-defined]
    argparse._ = _gettext(saved)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._ = saved  # type: ignore[attr-defined]
