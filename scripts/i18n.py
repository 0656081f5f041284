"""The message catalogs: extract, merge, compile, and what is left to translate (developers' tool;
needs Babel: ``pip install babel``).

Layout (``src/pipesheet/locale/``):

* ``pipesheet.pot`` — every message of the source (``_``, ``N_``, ``ngettext``, ``pgettext``),
  extracted by :func:`extract`;
* ``<lang>/parts/<area>.po`` — the translations, written by hand, one file per area of the code
  (errors, readers, engine, cli, apps, excel, report…) so that several people translate at once;
* ``<lang>/LC_MESSAGES/pipesheet.po`` and ``.mo`` — the parts merged (the first translation of a
  message wins) over the template, and compiled: what pipesheet reads at run time.

Commands::

    python scripts/i18n.py build                 # extract the .pot, merge the parts, compile
    python scripts/i18n.py todo it [PATH ...]    # the messages of PATH(s) not yet translated in it,
                                                 # as .po entries to translate into a part
    python scripts/i18n.py check                 # what tests/test_i18n.py checks, as a report
"""

from __future__ import annotations

import datetime
import io
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "pipesheet"
LOCALE = SRC / "locale"
POT = LOCALE / "pipesheet.pot"
LANGUAGES = ("it", "sl", "vi", "ca")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
STAMP = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)  # no date churn in the files
PLACEHOLDER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)?(?:![rsa])?(?::[^{}]*)?\}")


def extract() -> Catalog:
    """Every message of ``src/pipesheet`` (the template)."""
    catalog = Catalog(project="pipesheet", charset="utf-8", creation_date=STAMP)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(SRC), keywords=KEYWORDS, comment_tags=("i18n:",), strip_comment_tags=True
    ):
        catalog.add(
            message,
            None,
            [(f"src/pipesheet/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalog


def key(message) -> tuple[str | None, str]:
    """A message's identity: (context, singular msgid)."""
    msgid = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
    return message.context, msgid


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


#: Which part's translation wins when two parts translate one message: the owners of the engine's
#: messages (and of the column headings: engine2) before the surfaces that show them.
PRIORITY = ("readers", "engine1", "engine2", "cli", "apps", "excelreport")


def parts(lang: str) -> list[Path]:
    found = (LOCALE / lang / "parts").glob("*.po")
    rank = {name: i for i, name in enumerate(PRIORITY)}
    return sorted(found, key=lambda p: (rank.get(p.stem, len(rank)), p.stem))


def merged(lang: str, template: Catalog) -> tuple[Catalog, list]:
    """The template translated by the parts of ``lang``; and the messages left untranslated."""
    found: dict = {}
    for part in parts(lang):
        for message in read(part, lang):
            if message.id and key(message) not in found and _translated(message):
                found[key(message)] = message.string
    out = Catalog(
        locale=lang,
        project="pipesheet",
        charset="utf-8",
        fuzzy=False,
        creation_date=STAMP,
        revision_date=STAMP,
        language_team=f"pipesheet {lang}",
    )
    missing = []
    for message in template:
        if not message.id:
            continue
        string = found.get(key(message))
        if string is None:
            missing.append(message)
        out.add(
            message.id,
            string,
            list(message.locations),
            auto_comments=message.auto_comments,
            context=message.context,
        )
    return out, missing


def _translated(message) -> bool:
    if isinstance(message.string, (list, tuple)):
        return all(s for s in message.string)
    return bool(message.string)


def _write_po(catalog: Catalog, path: Path) -> None:
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, omit_header=False, sort_output=False, include_previous=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


def compile_mo(catalog: Catalog) -> bytes:
    """The .mo of the translated messages only: an untranslated plural would otherwise compile
    to empty strings, and gettext would show nothing instead of the English text."""
    out = Catalog(locale=catalog.locale, charset="utf-8", fuzzy=False)
    out.mime_headers = catalog.mime_headers
    for message in catalog:
        if message.id and _translated(message):
            out.add(message.id, message.string, context=message.context)
    buf = io.BytesIO()
    write_mo(buf, out, use_fuzzy=False)
    return buf.getvalue()


def build() -> int:
    template = extract()
    _write_po(template, POT)
    print(f"{POT.relative_to(ROOT)}: {sum(1 for m in template if m.id)} messages")
    for lang in LANGUAGES:
        catalog, missing = merged(lang, template)
        po = LOCALE / lang / "LC_MESSAGES" / "pipesheet.po"
        _write_po(catalog, po)
        po.with_suffix(".mo").write_bytes(compile_mo(catalog))
        print(f"{lang}: {len(missing)} message(s) not translated yet")
    return 0


def todo(lang: str, paths: list[str]) -> int:
    """The messages of ``paths`` (files or folders under src/pipesheet) not translated in ``lang``,
    as .po entries (the English text to translate, where it is used)."""
    template = extract()
    _, missing = merged(lang, template)
    wanted = [str(Path(p).resolve().relative_to(ROOT)) for p in paths] or ["src/pipesheet"]
    out = Catalog(locale=lang, project="pipesheet", charset="utf-8")
    for message in missing:
        if any(loc[0].startswith(w) for loc in message.locations for w in wanted):
            out.add(
                message.id,
                None,
                list(message.locations),
                auto_comments=message.auto_comments,
                context=message.context,
            )
    buf = io.BytesIO()
    write_po(buf, out, width=100, omit_header=True)
    sys.stdout.write(buf.getvalue().decode("utf-8"))
    return 0


def placeholders(text: str) -> list[str]:
    """The named placeholders of a message, sorted (``{count}``, ``{value!r}`` → count, value)."""
    return sorted(m.group(1) or "" for m in PLACEHOLDER.finditer(text))


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("build", "todo"):
        print(__doc__)
        return 2
    if argv[0] == "build":
        return build()
    return todo(argv[1], argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
