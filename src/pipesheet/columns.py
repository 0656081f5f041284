"""Find the columns pipesheet needs in a user's table, whatever the CRM called them.

Headers are compared after *normalising*: case-folded, with everything that is not a letter or a
digit removed (``"Deal - Stage"`` → ``"dealstage"``, ``"Close_Date"`` → ``"closedate"``). Each field
has a list of common aliases (Salesforce, HubSpot, Pipedrive, Odoo exports), specific names before
generic ones (``opportunity_id`` before ``id``: a history row's own ``Id`` is not the deal); an
explicit mapping ``{"stage": "Fase"}`` always wins.

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

__all__ = [
    "DEAL_FIELDS",
    "HISTORY_FIELDS",
    "NOT_THE_SAME",
    "collision_error",
    "header_groups",
    "mapping_only",
    "mapping_without",
    "normalise_header",
    "resolve_columns",
]

# field -> aliases (normalised form is computed); the first entries are the canonical names.
DEAL_FIELDS: dict[str, tuple[str, ...]] = {
    "deal_id": (
        "deal_id",
        "opportunity_id",
        "record_id",
        "deal - id",
        "hs_object_id",
        "id",
        "deal",
        "opportunity",
        "lead_id",
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
    ),
    "amount": (
        "amount",
        "value",
        "deal_value",
        "deal - value",
        "deal_amount",
        "revenue",
        "opportunity_amount",
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
    ),
    "product_line": ("product_line", "product", "product_family", "line", "product_category"),
    "country": ("country", "billing_country", "country_region", "country_code"),
    "segment": ("segment", "market", "market_segment", "customer_segment"),
    "currency": (
        "currency",
        "currency_iso_code",
        "currencyisocode",
        "deal - currency",
        "deal_currency",
        "currency_code",
    ),
    "forecast_category": (
        "forecast_category",
        "forecast_category_name",
        "forecastcategoryname",
        "forecast",
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
    ),
    "closed_date": ("closed_date", "actual_close_date", "date_closed", "closed_at", "close_time"),
    "probability": (
        "probability",
        "probability (%)",
        "deal_probability",
        "stage_probability",
        "deal - probability",
        "hs_deal_stage_probability",
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
    ),
}

HISTORY_FIELDS: dict[str, tuple[str, ...]] = {
    "deal_id": (
        "deal_id",
        "opportunity_id",
        "record_id",
        "deal - id",
        "lead_id",
        "deal",
        "opportunity",
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
    ),
    "amount": ("amount", "value"),
}

#: Headers that look like a field but do not mean the same thing: field -> {normalised header:
#: why it is not that field}.  Named in the error when the field itself is missing.
NOT_THE_SAME: dict[str, dict[str, str]] = {
    "amount": {
        "expectedrevenue": "in Salesforce, Expected Revenue is the amount already multiplied by "
        "the stage probability, so weighting it again would count the probability twice (an "
        "Odoo export, whose Expected Revenue is the deal value, is recognised as Odoo when read "
        "as an export)",
        "proratedrevenue": "Prorated Revenue is the amount already multiplied by the "
        "probability (Odoo), so weighting it again would count the probability twice",
        "weightedamount": "a weighted amount already includes the probability",
    },
}

_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def normalise_header(header: object) -> str:
    """``"Deal - Stage"`` → ``"dealstage"``: case-folded letters and digits only."""
    return _NON_ALNUM.sub("", str(header).casefold())


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
        return f"{text!r} (column {letter})" if letter else repr(text)

    names = " and ".join(shown(h) for h in headers)
    what = field.replace("_", " ")
    return PipesheetError(
        f"two columns have the same header for the {what} (headers are compared without case, "
        f"spaces and punctuation): {names}",
        table=table_name,
        rows=[1],
        value=headers[0],
        expected=f"one column for the {what}: rename or delete the other, or name the one to "
        f"use with the column mapping {field}=HEADER (CLI: --col {field}=HEADER)",
    )


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
                f"unknown field {field!r} in the column mapping",
                table=table_name,
                expected="one of " + ", ".join(fields),
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
                    f"the column mapping says {field} is in column {header!r}, which is not there",
                    table=table_name,
                    expected="one of the headers " + ", ".join(repr(h) for h in headers),
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
            hits = [h for h in groups.get(normalise_header(alias), []) if h not in taken]
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
            hint = f" ({lookalike[0]!r} is not the {field}: {lookalike[1]})"
        elif close:
            hint = f" (did you mean {by_norm[close[0]]!r}? map it with {field}={by_norm[close[0]]})"
        else:
            hint = ""
        raise PipesheetError(
            f"missing required column for {field}{hint}",
            table=table_name,
            column=field,
            expected=(
                "a header such as "
                + ", ".join(repr(a) for a in fields[field][:4])
                + "; the table has "
                + (", ".join(repr(h) for h in headers) or "no columns")
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
