"""Country groups both emulated platforms apply rules to."""

from __future__ import annotations

# EU member states (ISO 3166-1 alpha-2): the scope of Google's EU political-ads declaration and
# of Meta's Digital Services Act beneficiary/payer fields.
EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})  # fmt: skip
