"""`safepassage intel check|publish|schema`: analysts' key judgements in, events out."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from safepassage.commands import UserError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("intel", help="key judgements: check, publish, schema")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    check = actions.add_parser("check", help="validate judgement files (default: the intelligence/ folder)")
    check.add_argument("files", nargs="*", type=Path, help="files or folders")
    check.set_defaults(handler=_check)

    publish = actions.add_parser(
        "publish", help="validate, put into the judgement store, and wake refresh_targeting"
    )
    publish.add_argument("files", nargs="+", type=Path, help="judgement files or folders")
    publish.add_argument(
        "--via",
        choices=["redis", "rest", "none"],
        default="redis",
        help="redis: PUBLISH on the judgement channel (default); rest: POST /api/v2/assets/events "
        "(SAFEPASSAGE_AIRFLOW_API_URL, SAFEPASSAGE_AIRFLOW_TOKEN); "
        "none: store only, the daily run picks it up",
    )
    publish.set_defaults(handler=_publish)

    show = actions.add_parser(
        "show",
        help="targeting per country × platform: the newest stored snapshot, or a preview of FILE "
        "(nothing stored)",
    )
    show.add_argument("file", nargs="?", type=Path, help="preview this judgement instead")
    show.add_argument("--as-of", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD (preview)")
    show.set_defaults(handler=_show)

    schema = actions.add_parser("schema", help="print the key judgement JSON Schema")
    schema.add_argument("--write", type=Path, default=None, help="write it to this file instead")
    schema.set_defaults(handler=_schema)


def _check(args: argparse.Namespace) -> int:
    from safepassage import settings
    from safepassage.domain.errors import InvalidInput
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.intelligence import check_files

    files = args.files or [settings.intelligence_dir()]
    try:
        loaded = check_files(files, load_campaign_config())
    except InvalidInput as error:
        raise UserError(str(error)) from None
    print(f"{len(loaded)} key judgement(s) valid:")
    for item in sorted(loaded, key=lambda i: i.judgement.valid_from):
        j = item.judgement
        print(
            f"  {j.id:<40} {j.valid_from}..{j.valid_until}  {j.confidence.value:<8} "
            f"{len(j.countries):>2} countries  {item.name}"
        )
    return 0


def _publish(args: argparse.Namespace) -> int:
    from safepassage.adapters.events import AirflowApi, EventNotSent, publish_redis
    from safepassage.domain.errors import InvalidInput
    from safepassage.orchestration.assets import KEY_JUDGEMENTS
    from safepassage.orchestration.connections import open_warehouse
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.intelligence import check_files, publish, stored_judgements

    warehouse = open_warehouse()
    warehouse.migrate()
    try:
        loaded = check_files(args.files, load_campaign_config(), store=stored_judgements(warehouse))
        api = AirflowApi.from_environment() if args.via == "rest" else None
    except InvalidInput as error:
        raise UserError(f"{error}\nNothing was published.") from None
    ids = publish(loaded, warehouse)
    print(f"Stored {len(ids)} judgement(s) in the judgement store: {', '.join(ids)}")
    payload = {"judgement_ids": ids, "published_at": dt.datetime.now(dt.UTC).isoformat()}
    try:
        if args.via == "redis":
            receivers = publish_redis(payload)
            print(f"Event sent on Redis at {payload['published_at']} ({receivers} listener(s)).")
            if receivers == 0:
                print(
                    "Nobody is listening (is the Airflow triggerer running?); the daily run will pick it up."
                )
        elif api is not None:
            event = api.post_asset_event(KEY_JUDGEMENTS.name, payload)
            print(
                f"Event sent over REST at {payload['published_at']}: asset event {event.get('id')} "
                f"on {KEY_JUDGEMENTS.name} at {api.base_url}."
            )
        else:
            print("No event sent; the daily refresh_targeting run will pick it up.")
    except EventNotSent as error:
        raise UserError(f"{error}\nThe judgement(s) are stored; the daily run will pick them up.") from None
    return 0


def _show(args: argparse.Namespace) -> int:
    from safepassage.domain.errors import InvalidInput
    from safepassage.domain.targeting import Targeting, derive_targeting, render_targeting
    from safepassage.orchestration.connections import open_warehouse
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.intelligence import check_files, latest_targeting

    if args.file is None:
        warehouse = open_warehouse()
        warehouse.migrate()
        document = latest_targeting(warehouse)
        if document is None:
            raise UserError("no targeting snapshot stored yet; run the refresh_targeting DAG")
        print(render_targeting(Targeting.model_validate(document)))
        return 0
    config = load_campaign_config()
    try:
        (loaded,) = check_files([args.file], config)
    except InvalidInput as error:
        raise UserError(str(error)) from None
    judgement = loaded.judgement
    print(f"Preview (nothing stored) of {args.file}:")
    print(render_targeting(derive_targeting(config, judgement, args.as_of or judgement.valid_from)))
    return 0


def _schema(args: argparse.Namespace) -> int:
    from safepassage.services.intelligence import schema_text

    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(schema_text(), encoding="utf-8")
        print(f"Wrote {args.write}")
    else:
        print(schema_text(), end="")
    return 0
