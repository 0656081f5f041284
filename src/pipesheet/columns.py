"""Find the columns pipesheet needs in a user's table, whatever the CRM called them.

Headers are compared after *normalising*: case-folded, with everything that is not a letter or a
digit removed (``"Deal - Stage"`` → ``"dealstage"``, ``"Close_Date"`` → ``"closedate"``). Each field
has a list of common aliases (Salesforce, HubSpot, Pipedrive, Odoo exports); an explicit mapping
``{"stage": "Fase"}`` always wins.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

import pandas as pd

from pipesheet.errors import PipesheetError

__all__ = [
    "DEAL_FIELDS",
    "HISTORY_FIELDS",
    "mapping_only",
    "mapping_without",
    "normalise_header",
    "resolve_columns",
]

# field -> aliases (normalised form is computed); the first entries are the canonical names.
DEAL_FIELDS: dict[str, tuple[str, ...]] = {
    "deal_id": (
        "deal_id",
        "id",
        "deal",
        "opportunity_id",
        "opportunity",
        "record_id",
        "deal - id",
        "lead_id",
        "hs_object_id",
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
        "expected_revenue",
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
}

HISTORY_FIELDS: dict[str, tuple[str, ...]] = {
    "deal_id": (
        "deal_id",
        "id",
        "deal",
        "opportunity_id",
        "opportunityid",
        "opportunity",
        "record_id",
        "deal - id",
        "lead_id",
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

_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def normalise_header(header: object) -> str:
    """``"Deal - Stage"`` → ``"dealstage"``: case-folded letters and digits only."""
    return _NON_ALNUM.sub("", str(header).casefold())


def resolve_columns(
    table: pd.DataFrame,
    fields: Mapping[str, tuple[str, ...]],
    required: tuple[str, ...],
    *,
    table_name: str,
    mapping: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Map each pipesheet field to the user's column header.

    Args:
        table: The user's table (headers as given).
        fields: Field → aliases (e.g. :data:`DEAL_FIELDS`).
        required: Fields that must be found.
        table_name: Name used in error messages.
        mapping: Explicit ``{field: header}`` choices, which take precedence.

    Returns:
        ``{field: header}`` for every field found (required and optional).

    Raises:
        PipesheetError: a mapped header does not exist, or a required field is missing (the message
            lists the headers that are there and the names that would be recognised).
    """
    headers = [str(c) for c in table.columns]
    by_norm: dict[str, str] = {}
    for header in headers:
        by_norm.setdefault(normalise_header(header), header)
    found: dict[str, str] = {}
    for field, header in (mapping or {}).items():
        if field not in fields:
            raise PipesheetError(
                f"unknown field {field!r} in the column mapping",
                table=table_name,
                expected="one of " + ", ".join(fields),
            )
        if header not in headers:
            norm = by_norm.get(normalise_header(header))
            if norm is None:
                raise PipesheetError(
                    f"the column mapping says {field} is in column {header!r}, which is not there",
                    table=table_name,
                    expected="one of the headers " + ", ".join(repr(h) for h in headers),
                )
            header = norm
        found[field] = header
    taken = set(found.values())
    for field, aliases in fields.items():
        if field in found:
            continue
        for alias in aliases:
            header = by_norm.get(normalise_header(alias))
            if header is not None and header not in taken:
                found[field] = header
                taken.add(header)
                break
    missing = [f for f in required if f not in found]
    if missing:
        field = missing[0]
        close = difflib.get_close_matches(normalise_header(field), list(by_norm), n=1, cutoff=0.6)
        hint = (
            f" (did you mean {by_norm[close[0]]!r}? map it with {field}={by_norm[close[0]]})"
            if close
            else ""
        )
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
