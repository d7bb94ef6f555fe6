"""Screenshots for docs/: the 2022 impact report, a briefing note, and the impact page inside a
running Airflow (logged in as a simple-auth-manager user, token in the `_token` cookie).

    .venv/bin/python -m tests.e2e.impact_screenshots [--out docs]

Not a test (timings and pictures are not assertions): it fills a simulated 2022 warehouse
(tests/impact_warehouse.py), writes the report and the products, starts Airflow like the e2e
tests do (own home, own PostgreSQL metadata DB, free port, stopped by process id) and drives
headless Chromium through the DevTools protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from safepassage import settings
from safepassage.adapters.warehouse import Warehouse
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.creative_gallery import find_chromium, take_screenshot
from safepassage.services.intel_products import write_products
from safepassage.services.reference_data import sync_reference_data
from safepassage_dev.brief_2022 import replay_period, write_2022_report
from tests.e2e.airflow_cluster import AirflowCluster, free_port, wait_for
from tests.impact_warehouse import fill_simulated_2022

USER = "ops"


async def _cdp_screenshot(
    ws_url: str, url: str, cookie: dict[str, Any], png: Path, size: tuple[int, int], wait: float
) -> None:
    import websockets

    async with websockets.connect(ws_url, max_size=64 * 2**20, ping_interval=None) as socket:
        counter = 0

        async def call(method: str, **params: Any) -> dict[str, Any]:
            nonlocal counter
            counter += 1
            await socket.send(json.dumps({"id": counter, "method": method, "params": params}))
            while True:
                message = json.loads(await socket.recv())
                if message.get("id") == counter:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    return dict(message.get("result", {}))

        await call("Network.enable")
        await call("Network.setCookie", **cookie)
        await call(
            "Emulation.setDeviceMetricsOverride",
            width=size[0],
            height=size[1],
            deviceScaleFactor=1,
            mobile=False,
        )
        await call("Page.enable")
        await call("Page.navigate", url=url)
        # the React UI loads, then the plugin page in its frame (same origin, so readable)
        page = "document.querySelector('iframe')?.contentDocument" if "/plugin/" in url else "document"
        loaded = "d.readyState === 'complete' && d.querySelector('h2')"
        ready = f"(() => {{ const d = {page}; return !!(d && {loaded}); }})()"
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            await asyncio.sleep(5)
            state = await call("Runtime.evaluate", expression=ready, returnByValue=True)
            if state.get("result", {}).get("value"):
                break
        await asyncio.sleep(3)  # let the frame paint
        frames = await call(
            "Runtime.evaluate",
            expression="JSON.stringify([...document.querySelectorAll('iframe')].map(f => f.src))",
            returnByValue=True,
        )
        waited = wait - (deadline - time.monotonic())
        print(f"{url}: frames {frames.get('result', {}).get('value')}, ready after {waited:.0f} s")
        shot = await call("Page.captureScreenshot", format="png")
        png.write_bytes(base64.b64decode(shot["data"]))


def airflow_screenshot(
    cluster: AirflowCluster, path: str, png: Path, size: tuple[int, int], wait: float = 300
) -> None:
    passwords = json.loads((cluster.home / "simple_auth_manager_passwords.json.generated").read_text())
    response = httpx.post(
        f"{cluster.api_url}/auth/token", json={"username": USER, "password": passwords[USER]}, timeout=60
    )
    response.raise_for_status()
    token = response.json()["access_token"]
    chromium = find_chromium()
    assert chromium, "apt-get install -y chromium"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="sp-chromium-") as profile:
        browser = subprocess.Popen(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
                f"--remote-debugging-port={port}", "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            targets = wait_for(
                "Chromium's DevTools endpoint",
                lambda: [
                    t
                    for t in httpx.get(f"http://127.0.0.1:{port}/json", timeout=5).json()
                    if t["type"] == "page"
                ],
                60,
            )
            cookie = {"name": "_token", "value": token, "url": cluster.api_url, "path": "/"}
            asyncio.run(
                _cdp_screenshot(
                    targets[0]["webSocketDebuggerUrl"], f"{cluster.api_url}{path}", cookie, png, size, wait
                )
            )
        finally:
            browser.terminate()
            browser.wait(timeout=20)


def write_documents(work: Path, url: str, out: Path) -> None:
    fresh = not (work / "warehouse.sqlite").exists()
    warehouse = Warehouse(url)
    warehouse.migrate()
    if fresh:
        sync_reference_data(load_campaign_config(), warehouse)
        fill_simulated_2022(warehouse)
    report = write_2022_report(warehouse, work / "report")
    print(report.summary())
    products = write_products(warehouse, replay_period(), work / "products")
    print(products.summary())
    warehouse.dispose()
    take_screenshot(report.html, out / "impact-report.png", width=1280, height=5400)
    take_screenshot(
        work / "products" / "briefing-pl-logistics-and-warehousing-pl.html",
        out / "briefing-note.png",
        width=1100,
        height=1500,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=settings.PROJECT_ROOT / "docs")
    parser.add_argument("--work", type=Path, default=None, help="reuse this folder's simulated warehouse")
    parser.add_argument("--skip", choices=("documents", "airflow"), default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="sp-impact-shots-"))
    url = f"sqlite:///{work / 'warehouse.sqlite'}"
    if args.skip != "documents":
        write_documents(work, url, args.out)
    if args.skip == "airflow":
        return

    home = Path(tempfile.mkdtemp(prefix="airflow-", dir=work))
    (home / "plugins").mkdir(parents=True)
    shutil.copy(settings.PROJECT_ROOT / "plugins" / "safepassage_views.py", home / "plugins")
    dags = [settings.PROJECT_ROOT / "dags" / name for name in ("impact_report.py",)]
    cluster = AirflowCluster(
        home,
        dags,
        {
            "SAFEPASSAGE_WAREHOUSE_URL": url,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        },
    )
    started = time.monotonic()
    try:
        cluster.start()
        print(f"Airflow up in {time.monotonic() - started:.0f} s at {cluster.api_url}")
        airflow_screenshot(cluster, "/plugin/safepassage-impact", args.out / "ui-impact.png", (1400, 1700))
        airflow_screenshot(
            cluster,
            "/safepassage/impact?from=2022-03-25&to=2022-10-31&country=PL",
            args.out / "ui-impact-filtered.png",
            (1400, 1200),
        )
    finally:
        cluster.stop()
        cluster.dispose()
    print(f"Screenshots in {args.out}")


if __name__ == "__main__":
    main()
