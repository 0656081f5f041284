"""The ``pipesheet`` command line: a thin layer over the engine.

    pipesheet stage-probabilities FILE [FILE]  stage probabilities learned from history
    pipesheet forecast FILE [FILE]      weighted forecast by period and group (+ range)
    pipesheet leads    [FILE [FILE]]    reverse funnel for a target
    pipesheet quota-gap [FILE [FILE]]   quota gap and new leads needed per week
    pipesheet balance  FILE FILE        open deals each stage should hold for a target's pace
    pipesheet presets  [NAME]           CRM default stage probabilities
    pipesheet demo                      all of it on the bundled sample, plus a workbook
    pipesheet backtest FILE [FILE]      time-aware vs weighted-pipeline forecasts of past periods
    pipesheet calibration FILE [FILE]   predicted vs realised win rates, Brier score and skill
    pipesheet calibrated FILE [FILE]    the forecast calibrated by its own past errors (P10–P90)
    pipesheet time-aware FILE [FILE]    Σ amount × P(won by the period end | stage, age)
    pipesheet waterfall FILE FILE       how the pipeline moved between two snapshots / dates
    pipesheet diagnostics FILE [FILE]   stale deals, bottleneck stages, cycle time
    pipesheet app      [WHICH]          serve the web apps (Voila)
    pipesheet report   INPUT… -o FILE   the finance workbook
    pipesheet pipelines FILE [FILE]     several pipelines: per pipeline and in total
    pipesheet commits  FILE [FILE] --commits FILE   commits vs system forecast vs actual
    pipesheet losses   FILE [FILE]      lost deals by reason and by stage

The older command names ``stages``, ``gap`` and ``health`` still work (aliases).

One module per command group: :mod:`~pipesheet.cli.probabilities`,
:mod:`~pipesheet.cli.forecast`, :mod:`~pipesheet.cli.planning` (leads, quota-gap),
:mod:`~pipesheet.cli.balance`,
:mod:`~pipesheet.cli.finance` (backtest, calibration, waterfall, diagnostics),
:mod:`~pipesheet.cli.accuracy` (calibrated, time-aware),
:mod:`~pipesheet.cli.demo` (presets, demo), :mod:`~pipesheet.cli.app`,
:mod:`~pipesheet.cli.report`, :mod:`~pipesheet.cli.teams` (pipelines, commits, losses);
shared options in :mod:`~pipesheet.cli.options`, reading in :mod:`~pipesheet.cli.inputs`,
printing in :mod:`~pipesheet.cli.output`.  Each command imports the engine modules it uses when
it runs, so ``pipesheet leads …`` loads neither scipy nor openpyxl.

FILE is a CSV or XLSX file; give a deals table and/or a stage-history table in any order: they
are read by :func:`pipesheet.exports.read_export`, which tells them apart by the export's known
shape, else by whether deal ids repeat, and says which file was read as what in a note.
Human-readable tables by default; ``--json`` prints a list of row objects whose keys are the
table headers (commands with several tables print the one chosen with ``--show``). Bad input
exits with status 2 and a clear message.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Sequence

from pipesheet import __version__
from pipesheet.cli import (
    accuracy,
    app,
    balance,
    demo,
    finance,
    forecast,
    planning,
    probabilities,
    report,
    teams,
)
from pipesheet.cli.argparse_words import argparse_in_language
from pipesheet.errors import PipesheetError
from pipesheet.i18n import N_, UnknownLanguage, _, language

__all__ = ["EXIT_BROKEN_PIPE", "EXIT_INPUT", "EXIT_INTERNAL", "EXIT_OK", "build_parser", "main"]


#: The command line in one sentence (the first paragraph of this module's docstring).
DESCRIPTION = N_("The ``pipesheet`` command line: a thin layer over the engine.")


# ---- parser ----------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with the command's one error prefix: a usage error is one line,
    ``pipesheet: error: … (see 'pipesheet COMMAND --help')``, exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        _fail(_("{message} (see '{prog} --help')").format(message=message, prog=self.prog))
        raise SystemExit(EXIT_INPUT)


def build_parser() -> argparse.ArgumentParser:
    """The ``pipesheet`` parser: one subcommand per engine capability, each defined in the module
    of its command group (old command names kept as aliases)."""
    parser = _Parser(prog="pipesheet", description=_(DESCRIPTION))
    parser.add_argument(
        "--version",
        action="version",
        version=f"pipesheet {__version__}",
        help=_("show program's version number and exit"),
    )
    parser.add_argument(
        "--lang",
        metavar="CODE",
        help=_(
            "language of the words and number formats: en, it, sl, vi, ca (default: "
            "PIPESHEET_LANG, else the system locale, else English); before or after the command"
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (
        probabilities,
        forecast,
        planning,
        balance,
        demo,
        finance,
        accuracy,
        app,
        report,
        teams,
    ):
        group.add_parsers(sub)
    return parser


#: Exit statuses: 0 done; 2 bad input, options or files (one ``pipesheet: error:`` line);
#: 3 an internal error (a bug: one sentence saying where to report it); 130 interrupted (Ctrl+C);
#: 141 the reader of the output went away (``| head``), like a program ended by SIGPIPE.
EXIT_OK, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 2, 3, 130, 141
#: Set to 1 to see the Python traceback of an internal error (for a bug report).
DEBUG_ENV = "PIPESHEET_DEBUG"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pipesheet`` command; returns the exit status.

    The one guard of the command line: bad input (:class:`PipesheetError`, an unusable option,
    a file the system cannot read or write) prints one ``pipesheet: error: …`` line on stderr
    and returns 2; anything unexpected prints one sentence saying it is a bug and where to
    report it, and returns 3 (the traceback only with ``PIPESHEET_DEBUG=1``); a closed output
    pipe (``pipesheet … | head``) ends quietly with 141; Ctrl+C with 130. No Python exception
    type or traceback reaches the user otherwise.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        lang, argv = _take_language(argv)
        with language(lang):
            return _run(argv)
    except UnknownLanguage as err:
        return _fail(str(err))


def _take_language(argv: list[str]) -> tuple[str | None, list[str]]:
    """``--lang CODE`` / ``--lang=CODE`` anywhere on the line (before or after the command):
    the language, and the arguments without it."""
    lang, rest, i = None, [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        if arg == "--lang":
            if i + 1 >= len(argv):
                raise UnknownLanguage(_("--lang needs a language: en, it, sl, vi or ca"))
            lang, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--lang="):
            lang = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return lang, rest


def _run(argv: list[str]) -> int:
    """:func:`main` in the language chosen."""
    try:
        with argparse_in_language():  # argparse's own words (usage, errors) in the language
            parser = build_parser()
            args = parser.parse_args(argv)
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the guard, not at exit
        return status
    except SystemExit as done:  # argparse: --help, --version, usage errors (already printed)
        return (
            EXIT_OK
            if done.code is None
            else done.code
            if isinstance(done.code, int)
            else EXIT_INPUT
        )
    except PipesheetError as err:
        return _fail(str(err))
    except BrokenPipeError:
        return _broken_pipe()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except OSError as err:  # a file the system refuses (permissions, missing, full disk)
        reason = _os_reason(err)
        if err.filename:
            return _fail(_("{path}: {reason}.").format(path=err.filename, reason=reason))
        return _fail(_("{reason}.").format(reason=reason))
    except MemoryError:
        return _fail(
            _(
                "not enough memory for this input; expected a smaller file or a machine with "
                "more memory."
            )
        )
    except Exception:
        if os.environ.get(DEBUG_ENV, "").strip() not in ("", "0"):
            raise
        print(
            _(
                "pipesheet: internal error: something went wrong inside pipesheet — a bug, not "
                "a problem with your files; please report it on the pipesheet issue tracker with "
                "the command you ran (run it again with {debug}=1 to include the details)."
            ).format(debug=DEBUG_ENV),
            file=sys.stderr,
        )
        return EXIT_INTERNAL


#: What the operating system says of a file it refuses (its English words, as ``strerror``
#: writes them), translated when the system's words are these.
OS_REASONS = {
    errno.ENOENT: N_("No such file or directory"),
    errno.EACCES: N_("Permission denied"),
    errno.EPERM: N_("Operation not permitted"),
    errno.EISDIR: N_("Is a directory"),
    errno.ENOTDIR: N_("Not a directory"),
    errno.ENOSPC: N_("No space left on device"),
    errno.EROFS: N_("Read-only file system"),
    errno.EEXIST: N_("File exists"),
    errno.ENAMETOOLONG: N_("File name too long"),
    errno.EMFILE: N_("Too many open files"),
}


def _os_reason(err: OSError) -> str:
    """Why the system refused, in the language spoken: its own words (``strerror``) when they
    are not among :data:`OS_REASONS` (another system's wording: shown as it is)."""
    text = err.strerror
    if not text:
        return _("the operating system refused the operation")
    known = OS_REASONS.get(err.errno)
    return _(known) if known == text else text


def _fail(message: str) -> int:
    """Print the one error line and return the bad-input status."""
    text = " ".join(message.split())  # one line, whatever the message holds
    try:
        print(_("pipesheet: error: {message}").format(message=text), file=sys.stderr)
    except (BrokenPipeError, ValueError):  # stderr gone too: nothing left to tell
        pass
    return EXIT_INPUT


def _broken_pipe() -> int:
    """The reader of our output went away: stop quietly. Point stdout at /dev/null so that the
    interpreter's final flush does not report the same broken pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests, IDEs)
        pass
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
