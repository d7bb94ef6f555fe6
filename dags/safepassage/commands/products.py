"""`safepassage products write|catalogues`: key-judgements summary and briefing notes.

    safepassage products write --from 2022-03-25 --to 2022-10-31 --out out/products
    safepassage products catalogues   # after editing products/templates/*.j2

Templates in products/templates/ render in the same sandbox as the ad creatives; a broken
template or a missing translation stops with the file and line to fix, before anything is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from safepassage.commands.report import _period, _period_arguments, _write_from_warehouse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("products", help="intelligence products: key judgements, briefing notes")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    write = actions.add_parser("write", help="write every product for a period (HTML and PDF)")
    _period_arguments(write)
    write.add_argument("--out", type=Path, required=True, help="folder to write into")
    write.set_defaults(handler=_write)
    catalogues = actions.add_parser(
        "catalogues", help="refresh products/locale/*.po from the templates' _() texts"
    )
    catalogues.set_defaults(handler=_catalogues)


def _write(args: argparse.Namespace) -> int:
    from safepassage.domain.impact import Period
    from safepassage.services.intel_products import write_products

    period = _period(args)
    assert isinstance(period, Period)
    return _write_from_warehouse(lambda warehouse: write_products(warehouse, period, args.out))


def _catalogues(args: argparse.Namespace) -> int:
    from safepassage.services.intel_products import load_products, update_catalogues

    for language, (untranslated, fuzzy) in update_catalogues(load_products()).items():
        print(f"{language}: {untranslated} to translate, {fuzzy} to review")
    return 0
