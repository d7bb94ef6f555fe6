"""`safepassage creatives check|preview|catalogues`: what campaign managers run after editing creatives/."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from safepassage.commands import UserError

if TYPE_CHECKING:
    from safepassage.services.creatives import CreativeLibrary, RenderRun


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("creatives", help="ad templates and translations in creatives/")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    check = actions.add_parser(
        "check",
        help="render every theme × country × language × platform ad and check it",
        description="Renders every ad and reports problems with the file and line to fix. "
        "Exit status 1 when any error is found; warnings do not fail the check.",
    )
    _common(check)
    check.set_defaults(handler=_check)

    preview = actions.add_parser("preview", help="write an HTML gallery of every rendered ad")
    _common(preview)
    preview.add_argument("--out", type=Path, required=True, help="folder to write index.html into")
    preview.add_argument(
        "--screenshot",
        type=Path,
        default=None,
        metavar="PNG",
        help="also save a screenshot of the gallery (needs Chromium: apt-get install chromium)",
    )
    preview.add_argument(
        "--screenshot-filter",
        default="country=PL&theme=job_offers",
        metavar="FILTER",
        help="gallery filter for the screenshot, as in the page's address (default: %(default)s)",
    )
    preview.add_argument("--width", type=int, default=1400, help="screenshot width in pixels")
    preview.add_argument("--height", type=int, default=1800, help="screenshot height in pixels")
    preview.set_defaults(handler=_preview)

    catalogues = actions.add_parser(
        "catalogues",
        help="refresh locale/messages.pot and every messages.po after editing template texts",
        description='Collects every _("...") text from the templates into creatives/locale/messages.pot '
        "and merges it into each language's messages.po: new texts arrive empty, changed ones marked "
        "fuzzy. Translators then fill them in; `creatives check` lists what is left.",
    )
    _common(catalogues)
    catalogues.set_defaults(handler=_catalogues)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--creatives-dir", type=Path, default=None, help="default: the project's creatives/")
    parser.add_argument("--config-dir", type=Path, default=None, help="default: the project's config/")


def _load(args: argparse.Namespace) -> CreativeLibrary:
    from safepassage.domain.errors import InvalidInput
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.creatives import load_library

    try:
        return load_library(args.creatives_dir, load_campaign_config(args.config_dir))
    except InvalidInput as error:
        raise UserError(error.render()) from None


def _run(args: argparse.Namespace) -> tuple[CreativeLibrary, RenderRun]:
    from safepassage.services.creatives import render_library

    library = _load(args)
    return library, render_library(library)


def _check(args: argparse.Namespace) -> int:
    _library, run = _run(args)
    print(run.report())
    return 1 if run.errors else 0


def _preview(args: argparse.Namespace) -> int:
    from safepassage.services.creative_gallery import take_screenshot, write_gallery

    library, run = _run(args)
    index = write_gallery(library, run, args.out)
    print(f"Gallery of {len(run.ads)} ads: {index}")
    print(run.report().splitlines()[-1])
    if args.screenshot:
        try:
            take_screenshot(
                index, args.screenshot, width=args.width, height=args.height, fragment=args.screenshot_filter
            )
        except RuntimeError as error:
            raise UserError(str(error)) from None
        print(f"Screenshot: {args.screenshot}")
    return 0


def _catalogues(args: argparse.Namespace) -> int:
    from safepassage.services.creatives import update_catalogues

    library = _load(args)
    for language, (untranslated, fuzzy) in update_catalogues(library).items():
        state = (
            "complete" if not (untranslated or fuzzy) else f"{untranslated} to translate, {fuzzy} to review"
        )
        print(f"  {language}: {state}")
    print("Updated creatives/locale/messages.pot and each messages.po.")
    return 0
