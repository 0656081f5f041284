"""Find the columns pipesheet needs in a user's table, whatever the CRM called them.

Headers are compared after *normalising*: case-folded, with everything that is not a letter or a
digit removed (``"Deal - Stage"`` → ``"dealstage"``, ``"Close_Date"`` → ``"closedate"``). Each field
has a list of common aliases (Salesforce, HubSpot, Pipedrive, Odoo exports), specific names before
generic ones (``opportunity_id`` before ``id``: a history row's own ``Id`` is not the deal); an
explicit mapping ``{"stage": "Fase"}`` always wins.

The aliases include the usual CRM column names in the users' languages — Italian, Slovenian,
Vietnamese, Catalan — for every field of a deals table and a stage history (``Fase``,
``Importo``, ``Data di chiusura prevista``, ``Proprietario``; ``Faza``, ``Znesek``, ``Datum
vstopa``; ``Giai đoạn``, ``Giá trị``, ``Ngày tạo``; ``Etapa``, ``Import``, ``Data de
tancament``…), so such a table reads without any mapping.  A header written without its accents
(``Probabilita``, ``Ngay tao``) matches the alias with them (:func:`alias_hits`); no alias means
two fields, with or without accents (``tests/test_i18n_readers.py`` checks it).

Only aliases with the *same meaning* are listed: ``ExpectedRevenue`` (Salesforce: amount ×
probability) or ``Prorated Revenue`` (Odoo) are not amounts — reading them as the deal value would
weight a deal twice — and Salesforce's ``Type`` (New/Existing Business) is not a product line.

Two headers that normalise alike (``Budget_Confirmed__c`` and ``BudgetConfirmed__c``) are kept as
they are; only when pipesheet needs one of them for a field is it an error, naming both
(:func:`header_groups`, :func:`collision_error`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.i18n import N_, _, pgettext
from pipesheet.labels import strip_invisible, unaccented

__all__ = [
    "DEAL_FIELDS",
    "HISTORY_FIELDS",
    "LOCAL_CLOSE_DATES",
    "LOCAL_PROBABILITIES",
    "NOT_THE_SAME",
    "alias_hits",
    "collision_error",
    "header_groups",
    "mapping_only",
    "mapping_without",
    "normalise_header",
    "resolve_columns",
]

# field -> aliases (normalised form is computed); the first entries are the canonical names.
#: The deal id as CRMs in the users' languages name it (it, sl, vi, ca): the specific names,
#: listed before a bare ``id`` (a history row's own ``Id`` is not the deal) …
_LOCAL_DEAL_IDS = (
    *("id_opportunità", "id_trattativa", "id_affare", "codice_opportunità", "codice_trattativa"),
    *("id_posla", "id_priložnosti", "šifra_posla", "oznaka_posla"),
    *("id_thương_vụ", "mã_thương_vụ", "id_cơ_hội", "mã_cơ_hội"),
    *("id_oportunitat", "id_de_l'oportunitat", "id_d'oportunitat", "codi_de_l'oportunitat"),
    "id_del_negoci",
)
#: … and the bare words for a deal, listed with ``deal`` and ``opportunity``.
_LOCAL_DEAL_WORDS = (
    *("trattativa", "opportunità", "affare"),
    *("posel", "priložnost"),
    *("thương_vụ", "cơ_hội"),
    *("oportunitat", "negoci"),
)
#: The stage of a deal, and of a history row.
_LOCAL_STAGES = (
    *("fase", "fase_di_vendita", "fase_trattativa", "fase_opportunità"),
    *("faza", "faza_posla", "prodajna_faza"),
    *("giai_đoạn", "giai_đoạn_bán_hàng", "giai_đoạn_thương_vụ"),
    *("etapa", "etapa_de_venda", "etapa_de_l'oportunitat"),
)
#: The amount of a deal (never a weighted or expected revenue: see :data:`NOT_THE_SAME`).
_LOCAL_AMOUNTS = (
    *("importo", "valore", "importo_trattativa", "valore_trattativa", "importo_opportunità"),
    *("valore_opportunità", "ammontare"),
    *("znesek", "vrednost", "znesek_posla", "vrednost_posla"),
    *("giá_trị", "số_tiền", "giá_trị_thương_vụ", "giá_trị_cơ_hội"),
    *("import", "valor", "import_de_l'oportunitat", "valor_de_l'oportunitat"),
)
#: The expected close date (of an open deal; the close date of a closed one).
LOCAL_CLOSE_DATES = (
    *("data_di_chiusura_prevista", "data_chiusura_prevista", "chiusura_prevista"),
    *("data_di_chiusura", "data_chiusura"),
    *("predviden_datum_zaključka", "predvideni_datum_zaključka", "pričakovani_datum_zaključka"),
    *("datum_zaključka", "datum_zaprtja"),
    *("ngày_dự_kiến_chốt", "ngày_chốt_dự_kiến", "ngày_đóng_dự_kiến", "ngày_chốt", "ngày_đóng"),
    *("data_de_tancament_prevista", "data_prevista_de_tancament", "data_de_tancament"),
    "data_tancament",
)
#: The deal's owner (salesperson).
_LOCAL_OWNERS = (
    *("proprietario", "proprietario_opportunità", "proprietario_trattativa", "responsabile"),
    *("venditore", "commerciale", "assegnato_a"),
    *("lastnik", "lastnik_posla", "prodajalec", "odgovorna_oseba", "skrbnik"),
    *("người_phụ_trách", "chủ_sở_hữu", "nhân_viên_kinh_doanh", "nhân_viên_phụ_trách"),
    *("propietari", "propietari_de_l'oportunitat", "responsable", "comercial", "venedor"),
    "assignat_a",
)
#: The day a deal was created.
_LOCAL_CREATED = (
    *("data_di_creazione", "data_creazione", "creato_il"),
    *("datum_nastanka", "datum_ustvarjanja", "datum_kreiranja", "ustvarjeno"),
    *("ngày_tạo", "ngày_khởi_tạo"),
    *("data_de_creació", "data_creació", "creat_el"),
)
#: The probability of a deal (or of a history row).
LOCAL_PROBABILITIES = (
    *("probabilità", "probabilità (%)", "probabilità_di_chiusura"),
    *("verjetnost", "verjetnost (%)"),
    *("xác_suất", "xác_suất (%)", "xác_suất_thắng"),
    *("probabilitat", "probabilitat (%)"),
)

DEAL_FIELDS: dict[str, tuple[str, ...]] = {
    "deal_id": (
        "deal_id",
        "opportunity_id",
        "record_id",
        "deal - id",
        "hs_object_id",
        *_LOCAL_DEAL_IDS,
        "id",
        "deal",
        "opportunity",
        "lead_id",
        *_LOCAL_DEAL_WORDS,
    ),
    "stage": (
        "stage",
        "stage_name",
        "deal_stage",
        "deal - stage",
        "dealstage",
        "pipeline_stage",
        "sales_stage",
        "stage_id",
        *_LOCAL_STAGES,
    ),
    "amount": (
        "amount",
        "value",
        "deal_value",
        "deal - value",
        "deal_amount",
        "revenue",
        "opportunity_amount",
        *_LOCAL_AMOUNTS,
    ),
    "close_date": (
        "close_date",
        "expected_close_date",
        "deal - expected close date",
        "closing_date",
        "expected_closing",
        "date_deadline",
        "closedate",
        "expected close",
        *LOCAL_CLOSE_DATES,
    ),
    "owner": (
        "owner",
        "deal_owner",
        "opportunity_owner",
        "deal - owner",
        "owner_name",
        "salesperson",
        "sales_person",
        "user",
        "assigned_to",
        "hubspot_owner_id",
        *_LOCAL_OWNERS,
    ),
    "product_line": (
        *("product_line", "product", "product_family", "line", "product_category"),
        *("linea_di_prodotto", "linea_prodotto", "prodotto", "famiglia_di_prodotti"),
        *("categoria_prodotto", "produktna_linija", "linija_izdelkov", "izdelek", "produkt"),
        *("skupina_izdelkov", "dòng_sản_phẩm", "sản_phẩm", "nhóm_sản_phẩm"),
        *("línia_de_producte", "producte", "família_de_productes"),
    ),
    "country": (
        *("country", "billing_country", "country_region", "country_code"),
        *("paese", "nazione", "paese_di_fatturazione", "država", "quốc_gia", "país"),
        "país_de_facturació",
    ),
    "segment": (
        *("segment", "market", "market_segment", "customer_segment"),
        *("segmento", "segmento_di_mercato", "segmento_cliente", "mercato"),
        *("tržni_segment", "phân_khúc", "phân_khúc_khách_hàng", "thị_trường"),
        *("segment_de_mercat", "mercat"),
    ),
    "currency": (
        "currency",
        "currency_iso_code",
        "currencyisocode",
        "deal - currency",
        "deal_currency",
        "currency_code",
        *("valuta", "codice_valuta", "oznaka_valute"),
        *("tiền_tệ", "loại_tiền", "đơn_vị_tiền_tệ", "mã_tiền_tệ"),
        *("moneda", "divisa", "codi_de_moneda"),
    ),
    "forecast_category": (
        "forecast_category",
        "forecast_category_name",
        "forecastcategoryname",
        "forecast",
        *("categoria_di_previsione", "categoria_previsione", "kategorija_napovedi"),
        *("hạng_mục_dự_báo", "danh_mục_dự_báo", "categoria_de_previsió"),
    ),
    "created_date": (
        "created_date",
        "create_date",
        "created",
        "deal - deal created",
        "createdate",
        "created_at",
        "engaged_date",
        "date_created",
        *_LOCAL_CREATED,
    ),
    "closed_date": (
        *("closed_date", "actual_close_date", "date_closed", "closed_at", "close_time"),
        *("data_di_chiusura_effettiva", "data_chiusura_effettiva"),
        *("dejanski_datum_zaključka", "datum_dejanskega_zaključka"),
        *("ngày_chốt_thực_tế", "ngày_đóng_thực_tế"),
        *("data_de_tancament_real", "data_real_de_tancament"),
    ),
    "probability": (
        "probability",
        "probability (%)",
        "deal_probability",
        "stage_probability",
        "deal - probability",
        "hs_deal_stage_probability",
        *LOCAL_PROBABILITIES,
    ),
    "status": ("status", "deal - status", "deal_status"),
    # the stage a won/lost deal was at, where an export reader keeps it (Pipedrive, Odoo)
    "last_open_stage": ("last_open_stage",),
    # several pipelines (New business, Renewal…), each with its own stages (HubSpot "Pipeline",
    # Pipedrive "Deal - Pipeline")
    "pipeline": (
        "pipeline",
        "sales_pipeline",
        "pipeline_name",
        "deal - pipeline",
        "deal_pipeline",
        "hs_pipeline",
        *("pipeline_di_vendita", "prodajni_lijak", "quy_trình_bán_hàng", "embut_de_vendes"),
    ),
    # a per-deal probability that wins over the stage's (a manager's or rep's own)
    "override": (
        "probability_override",
        "probability override (%)",
        "override_probability",
        "manager_probability",
        "manager probability (%)",
        "override %",
        "override",
        "manual_probability",
        *("probabilità_manuale", "probabilità_del_manager", "ročna_verjetnost"),
        *("xác_suất_điều_chỉnh", "xác_suất_thủ_công", "probabilitat_manual"),
    ),
    # why a lost deal was lost (Salesforce Loss_Reason__c, HubSpot "Closed lost reason",
    # Pipedrive "Deal - Lost reason", Odoo "Lost Reason")
    "loss_reason": (
        "loss_reason",
        "lost_reason",
        "closed_lost_reason",
        "loss_reason__c",
        "lost_reason__c",
        "deal - lost reason",
        "reason_lost",
        "lost_reason_id",
        *("motivo_della_perdita", "motivo_perdita", "motivo_di_perdita"),
        *("razlog_izgube", "vzrok_izgube", "lý_do_thua", "lý_do_thất_bại"),
        *("motiu_de_la_pèrdua", "motiu_de_pèrdua"),
    ),
}

HISTORY_FIELDS: dict[str, tuple[str, ...]] = {
    "deal_id": (
        "deal_id",
        "opportunity_id",
        "record_id",
        "deal - id",
        "lead_id",
        *_LOCAL_DEAL_IDS,
        "deal",
        "opportunity",
        *_LOCAL_DEAL_WORDS,
        "id",  # last: in a history export, "Id" is usually the history row's own id
    ),
    "stage": (
        "stage",
        "stage_name",
        "deal_stage",
        "to_stage",
        "new_stage",
        "deal - stage",
        "stage_id",
        "new_value",
        *_LOCAL_STAGES,
        *("nuova_fase", "nova_faza", "giai_đoạn_mới", "nova_etapa"),
        *("nuovo_valore", "nova_vrednost", "giá_trị_mới", "valor_nou"),
    ),
    "entered_date": (
        "entered_date",
        "date_entered",
        "entered",
        "date",
        "changed_at",
        "change_date",
        "created_date",
        "createddate",
        "timestamp",
        "update_time",
        "date_changed",
        "log time",
        "stage_entered",
        # it, sl, vi, ca: the day the deal entered the stage, or the change was recorded
        *("data_di_ingresso", "data_ingresso", "data_di_ingresso_nella_fase", "data_inizio_fase"),
        *("data_cambio_fase", "data_di_modifica", "data_modifica", "modificato_il", "data"),
        *("datum_vstopa", "datum_vstopa_v_fazo", "datum_spremembe", "spremenjeno", "datum"),
        *("ngày_vào_giai_đoạn", "ngày_vào", "ngày_chuyển_giai_đoạn", "ngày_thay_đổi"),
        *("ngày_cập_nhật", "ngày"),
        *("data_d'entrada", "data_d'entrada_a_l'etapa", "data_del_canvi", "data_de_canvi"),
        "data_de_modificació",
        *_LOCAL_CREATED,  # a change history's own creation date, as ``createddate`` above
    ),
    "amount": (
        *("amount", "value", "importo", "valore", "znesek", "vrednost", "giá_trị", "số_tiền"),
        *("import", "valor"),
    ),
}

#: Headers that look like a field but do not mean the same thing: field -> {normalised header:
#: why it is not that field}.  Named in the error when the field itself is missing.
_EXPECTED_REVENUE = N_(
    "in Salesforce, Expected Revenue is the amount already multiplied by the stage probability, "
    "so weighting it again would count the probability twice (an Odoo export, whose Expected "
    "Revenue is the deal value, is recognised as Odoo when read as an export)"
)
_WEIGHTED_AMOUNT = N_("a weighted amount already includes the probability")
NOT_THE_SAME: dict[str, dict[str, str]] = {
    "amount": {
        "expectedrevenue": _EXPECTED_REVENUE,
        "proratedrevenue": N_(
            "Prorated Revenue is the amount already multiplied by the probability (Odoo), so "
            "weighting it again would count the probability twice"
        ),
        "weightedamount": _WEIGHTED_AMOUNT,
        # the same in the users' languages (Salesforce's Expected Revenue as it translates it)
        **dict.fromkeys(
            ("ricavoprevisto", "pričakovaniprihodek", "doanhthudựkiến", "ingressosprevistos"),
            _EXPECTED_REVENUE,
        ),
        **dict.fromkeys(
            (
                *("importoponderato", "valoreponderato", "uteženznesek", "uteženavrednost"),
                *("giátrịcótrọngsố", "sốtiềncótrọngsố", "importponderat", "valorponderat"),
            ),
            _WEIGHTED_AMOUNT,
        ),
    },
}

_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def normalise_header(header: object) -> str:
    """``"Deal - Stage"`` → ``"dealstage"``: case-folded letters and digits only (invisible
    characters dropped, accents composed: ``"Giai đoạn"`` typed with combining marks is
    ``"giaiđoạn"`` too)."""
    return _NON_ALNUM.sub("", strip_invisible(str(header)).casefold())


def alias_hits(groups: Mapping[str, list[str]], alias: str) -> list[str]:
    """The headers of ``groups`` (:func:`header_groups`) that are ``alias``: compared as
    :func:`normalise_header` compares them; when none is, a header written without accents
    matches an alias with them (``"Probabilita"`` is ``"Probabilità"``, ``"Ngay tao"`` is
    ``"Ngày tạo"``, ``"Datum zakljucka"`` is ``"Datum zaključka"``), never the other way
    round (a header with accents must carry the alias's own)."""
    key = normalise_header(alias)
    hits = groups.get(key)
    if hits:
        return hits
    plain = unaccented(key)
    return groups.get(plain, []) if plain != key else []


def header_groups(headers: Iterable[object]) -> dict[str, list[str]]:
    """Headers grouped by their normalised form, in table order: ``{"budgetconfirmedc":
    ["Budget_Confirmed__c", "BudgetConfirmed__c"], …}``."""
    groups: dict[str, list[str]] = {}
    for header in headers:
        groups.setdefault(normalise_header(header), []).append(str(header))
    return groups


def collision_error(
    field: str, headers: Sequence[str], table: pd.DataFrame | None, table_name: str
) -> PipesheetError:
    """The error for two (or more) headers that could each be ``field``: names them all, with
    their column letters when the reader recorded them (``table.attrs["headers"]``)."""
    known = (table.attrs.get("headers") or {}) if table is not None else {}

    def shown(h: str) -> str:
        text, letter = known.get(h, (h, None))
        return (
            _("{header!r} (column {letter})").format(header=text, letter=letter)
            if letter
            else repr(text)
        )

    names = pgettext("list", " and ").join(shown(h) for h in headers)
    return PipesheetError(
        _(
            "two columns have the same header for the {field} (headers are compared without "
            "case, spaces and punctuation): {names}"
        ).format(field=field_name(field), names=names),
        table=table_name,
        rows=[1],
        value=headers[0],
        expected=_(
            "one column for the {field}: rename or delete the other, or name the one to use "
            "with the column mapping {key}=HEADER (CLI: --col {key}=HEADER)"
        ).format(field=field_name(field), key=field),
    )


def field_name(field: str) -> str:
    """A field's name in words, in the language spoken (``close_date`` → "close date")."""
    names = {
        "deal_id": pgettext("field", "deal id"),
        "stage": pgettext("field", "stage"),
        "amount": pgettext("field", "amount"),
        "close_date": pgettext("field", "close date"),
        "owner": pgettext("field", "owner"),
        "product_line": pgettext("field", "product line"),
        "country": pgettext("field", "country"),
        "segment": pgettext("field", "segment"),
        "currency": pgettext("field", "currency"),
        "forecast_category": pgettext("field", "forecast category"),
        "created_date": pgettext("field", "created date"),
        "closed_date": pgettext("field", "closed date"),
        "probability": pgettext("field", "probability"),
        "status": pgettext("field", "status"),
        "last_open_stage": pgettext("field", "last open stage"),
        "pipeline": pgettext("field", "pipeline"),
        "override": pgettext("field", "override"),
        "loss_reason": pgettext("field", "loss reason"),
        "entered_date": pgettext("field", "entered date"),
        "rate": pgettext("field", "rate"),
    }
    return names.get(field, field.replace("_", " "))


def resolve_columns(
    table: pd.DataFrame,
    fields: Mapping[str, tuple[str, ...]],
    required: tuple[str, ...],
    *,
    table_name: str,
    mapping: Mapping[str, str] | None = None,
    shared: tuple[str, ...] = (),
) -> dict[str, str]:
    """Map each pipesheet field to the user's column header.

    A mapped header that an export reader already renamed to the field's name (recorded in
    ``table.attrs["fields"]``, e.g. Salesforce ``StageName`` → ``stage``) is found under that name.
    Headers that normalise alike are fine until a field needs one of them: then the error names
    both (an exact header in the mapping picks one).

    Args:
        table: The user's table (headers as given).
        fields: Field → aliases (e.g. :data:`DEAL_FIELDS`).
        required: Fields that must be found.
        table_name: Name used in error messages.
        mapping: Explicit ``{field: header}`` choices, which take precedence.
        shared: Optional fields of this table that the same mapping also names for another
            table read with it (the history's ``amount`` beside the deals'): a mapped header
            this table lacks is then meant for the other table, not an error here.

    Returns:
        ``{field: header}`` for every field found (required and optional).

    Raises:
        PipesheetError: a mapped header does not exist, two headers could be the same field, or
            a required field is missing (the message lists the headers that are there, the names
            that would be recognised, and a look-alike header that means something else).
    """
    headers = [str(c) for c in table.columns]
    groups = header_groups(headers)
    renamed = table.attrs.get("fields") or {}
    found: dict[str, str] = {}
    for field, header in (mapping or {}).items():
        if field not in fields:
            raise PipesheetError(
                _("unknown field {field!r} in the column mapping").format(field=field),
                table=table_name,
                expected=_("one of {fields}").format(fields=", ".join(fields)),
            )
        if header not in headers:
            if field in headers and normalise_header(renamed.get(field, "")) == normalise_header(
                header
            ):
                found[field] = field  # an export reader already gave it the field's name
                continue
            hits = groups.get(normalise_header(header), [])
            if not hits and field in shared:
                continue  # the mapping names this field in the other table
            if not hits:
                raise PipesheetError(
                    _(
                        "the column mapping says {field} is in column {header!r}, which is not "
                        "there"
                    ).format(field=field, header=header),
                    table=table_name,
                    expected=_("one of the headers {headers}").format(
                        headers=", ".join(repr(h) for h in headers)
                    ),
                )
            if len(hits) > 1:
                raise collision_error(field, hits, table, table_name)
            header = hits[0]
        found[field] = header
    taken = set(found.values())
    for field, aliases in fields.items():
        if field in found:
            continue
        for alias in aliases:
            hits = [h for h in alias_hits(groups, alias) if h not in taken]
            if len(hits) > 1:
                raise collision_error(field, hits, table, table_name)
            if hits:
                found[field] = hits[0]
                taken.add(hits[0])
                break
    missing = [f for f in required if f not in found]
    if missing:
        field = missing[0]
        by_norm = {k: v[0] for k, v in groups.items()}
        lookalike = next(
            ((by_norm[k], why) for k, why in NOT_THE_SAME.get(field, {}).items() if k in by_norm),
            None,
        )
        close = difflib.get_close_matches(normalise_header(field), list(by_norm), n=1, cutoff=0.6)
        if lookalike is not None:
            problem = _(
                "missing required column for {field} ({header!r} is not the {field}: {why})"
            ).format(field=field, header=lookalike[0], why=_(lookalike[1]))
        elif close:
            problem = _(
                "missing required column for {field} (did you mean {header!r}? map it with "
                "{field}={header})"
            ).format(field=field, header=by_norm[close[0]])
        else:
            problem = _("missing required column for {field}").format(field=field)
        such = ", ".join(repr(a) for a in fields[field][:4])
        raise PipesheetError(
            problem,
            table=table_name,
            column=field,
            expected=(
                _("a header such as {names}; the table has {headers}").format(
                    names=such, headers=", ".join(repr(h) for h in headers)
                )
                if headers
                else _("a header such as {names}; the table has no columns").format(names=such)
            ),
        )
    return found


def mapping_only(mapping: Mapping[str, str] | None, fields: Iterable[str]) -> dict[str, str] | None:
    """The part of a ``{field: header}`` column mapping for ``fields`` (None when empty)."""
    if not mapping:
        return None
    keep = set(fields)
    return {k: v for k, v in mapping.items() if k in keep} or None


def mapping_without(
    mapping: Mapping[str, str] | None, fields: Iterable[str]
) -> dict[str, str] | None:
    """A ``{field: header}`` column mapping without ``fields`` (None when empty)."""
    if not mapping:
        return None
    drop = set(fields)
    return {k: v for k, v in mapping.items() if k not in drop} or None
