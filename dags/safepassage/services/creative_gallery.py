"""A self-contained HTML gallery of every rendered ad, laid out the way each platform shows it on a phone.

One file, no external assets: inline CSS and a few lines of JS for the filters. Campaign managers
open it from disk; `take_screenshot` drives headless Chromium for documentation.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from safepassage.domain.campaign import Platform
from safepassage.domain.creatives import Combination, Finding, Severity
from safepassage.services.creatives import CreativeLibrary, RenderedAd, RenderRun

if TYPE_CHECKING:
    from safepassage.services.ports import Warehouse

CTA_LABELS = {
    "LEARN_MORE": "Learn more",
    "DOWNLOAD": "Download",
    "CONTACT_US": "Contact us",
    "GET_DIRECTIONS": "Get directions",
    "SIGN_UP": "Sign up",
}
PLATFORM_LABELS = {"google_ads": "Google search", "meta": "Meta feed"}

_CSS = """
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",
"DejaVu Sans",sans-serif;background:#eef0f3;color:#202124}
header{position:sticky;top:0;z-index:2;background:#1d2b3a;color:#fff;padding:10px 16px;display:flex;
flex-wrap:wrap;gap:10px;align-items:center}header h1{font-size:17px;margin:0 12px 0 0}
header select,header label{font-size:13px}header select{padding:3px;border-radius:4px}
.summary{margin-left:auto;font-size:13px}.bad{color:#ffb4ab}.ok{color:#b6f2c0}
main{display:grid;align-items:start;grid-template-columns:repeat(auto-fill,minmax(640px,1fr));gap:14px;padding:14px}
.ad{display:grid;grid-template-columns:360px 1fr;align-content:start;gap:12px;background:#fff;
border-radius:10px;padding:12px;box-shadow:0 1px 3px rgba(0,0,0,.12)}.ad.hidden{display:none}
.tag{grid-column:1/-1;font-size:12px;color:#5f6368;display:flex;gap:6px;flex-wrap:wrap;align-items:center}
.tag b{background:#e8eaed;color:#202124;border-radius:10px;padding:1px 8px;font-weight:600}
.phone{border:1px solid #dadce0;border-radius:14px;padding:12px;background:#fff;max-width:360px}
.g-spons{font-size:12px;font-weight:700;color:#202124}.g-site{display:flex;gap:8px;align-items:center;
margin:4px 0}.g-fav{width:26px;height:26px;border-radius:50%;background:#e8f0fe;color:#1a73e8;display:flex;
align-items:center;justify-content:center;font-weight:700;font-size:12px}.g-host{font-size:12px;color:#202124}
.g-url{font-size:12px;color:#4d5156}.g-head{color:#1a0dab;font-size:18px;line-height:1.3;margin:6px 0 4px}
.g-desc{color:#4d5156;font-size:14px}details{margin-top:8px;font-size:12px;color:#5f6368}
details li{margin:1px 0}.n{color:#9aa0a6;font-variant-numeric:tabular-nums}
.m-top{display:flex;gap:8px;align-items:center}.m-avatar{width:36px;height:36px;border-radius:50%;
background:#0866ff;color:#fff;display:flex;align-items:center;justify-content:center;font-weight:700}
.m-page{font-weight:600}.m-spons{font-size:12px;color:#65676b}.m-text{white-space:pre-line;margin:8px 0;
font-size:14px}.m-image{height:110px;border-radius:6px;display:flex;align-items:flex-end;padding:10px;
color:#fff;font-weight:700;font-size:18px;background:linear-gradient(135deg,#1d2b3a,#0b7a75)}
.m-foot{display:flex;gap:8px;align-items:center;background:#f0f2f5;padding:8px 10px;border-radius:0 0 6px 6px}
.m-foot div{flex:1;min-width:0}.m-host{font-size:11px;color:#65676b;text-transform:uppercase}
.m-head{font-weight:700;font-size:15px}.m-desc{font-size:13px;color:#65676b}.m-cta{background:#e4e6eb;
border-radius:6px;padding:7px 12px;font-weight:600;white-space:nowrap}
.checks{font-size:13px}.checks h3{font-size:13px;margin:0 0 6px}.checks ul{margin:0;padding-left:16px}
.checks li{margin:0 0 6px}.e{color:#b3261e}.w{color:#8a5a00}.pass{color:#137333;font-weight:600}
.link{word-break:break-all;font-size:11px;color:#5f6368;margin-top:8px}
"""

_JS = """
const sel=[...document.querySelectorAll('header select')],only=document.getElementById('only');
function apply(){const want=Object.fromEntries(sel.map(s=>[s.name,s.value]));let shown=0;
document.querySelectorAll('.ad').forEach(ad=>{
const ok=sel.every(s=>!want[s.name]||ad.dataset[s.name]===want[s.name])
&&(!only.checked||ad.dataset.problems==='1');
ad.classList.toggle('hidden',!ok);if(ok)shown++});
document.getElementById('shown').textContent=shown;
const h=new URLSearchParams(Object.entries(want).filter(([k,v])=>v));if(only.checked)h.set('problems','1');
history.replaceState(null,'','#'+h.toString())}
const init=new URLSearchParams(location.hash.slice(1));
sel.forEach(s=>{if(init.get(s.name))s.value=init.get(s.name)});
only.checked=init.get('problems')==='1';sel.forEach(s=>s.addEventListener('change',apply));
only.addEventListener('change',apply);apply();
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _options(name: str, label: str, values: Sequence[tuple[str, str]]) -> str:
    options = "".join(f'<option value="{_e(v)}">{_e(t)}</option>' for v, t in values)
    select = f'<select name="{_e(name)}"><option value="">all</option>{options}</select>'
    return f"<label>{_e(label)} {select}</label>"


def _google_card(ad: RenderedAd) -> str:
    content = ad.content
    url = content.get("final_url", "")
    host = urlsplit(url).hostname or ""
    paths = " › ".join(_e(p) for p in content.get("paths", []))
    headlines = content.get("headlines", [])
    descriptions = content.get("descriptions", [])
    listed = "".join(f'<li>{_e(h)} <span class="n">{len(h)}/30</span></li>' for h in headlines) + "".join(
        f'<li>{_e(d)} <span class="n">{len(d)}/90</span></li>' for d in descriptions
    )
    return (
        '<div class="phone"><div class="g-spons">Sponsored</div>'
        f'<div class="g-site"><div class="g-fav">{_e(host[:1].upper())}</div><div>'
        f'<div class="g-host">{_e(host)}</div><div class="g-url">https://{_e(host)}'
        f"{' › ' + paths if paths else ''}</div></div></div>"
        f'<div class="g-head">{_e(" | ".join(headlines[:3]))}</div>'
        f'<div class="g-desc">{_e(" ".join(descriptions[:2]))}</div>'
        f"<details><summary>all {len(headlines)} headlines and {len(descriptions)} descriptions"
        f"</summary><ul>{listed}</ul></details></div>"
    )


def _meta_card(ad: RenderedAd, theme_name: str) -> str:
    content = ad.content
    url = content.get("link", "")
    host = urlsplit(url).hostname or ""
    cta = CTA_LABELS.get(content.get("call_to_action", ""), content.get("call_to_action", ""))
    return (
        '<div class="phone"><div class="m-top"><div class="m-avatar">SP</div><div>'
        '<div class="m-page">SafePassage</div><div class="m-spons">Sponsored</div></div></div>'
        f'<div class="m-text">{_e(content.get("primary_text", ""))}</div>'
        f'<div class="m-image">{_e(theme_name)}</div>'
        f'<div class="m-foot"><div><div class="m-host">{_e(host)}</div>'
        f'<div class="m-head">{_e(content.get("headline", ""))}</div>'
        f'<div class="m-desc">{_e(content.get("description", ""))}</div></div>'
        f'<div class="m-cta">{_e(cta)}</div></div></div>'
    )


def _checks(findings: Sequence[Finding]) -> str:
    if not findings:
        return '<div class="checks"><h3>Checks</h3><div class="pass">✓ passes every check</div></div>'
    items = "".join(
        f'<li class="{"e" if f.severity is Severity.ERROR else "w"}">'
        f"<b>{_e(f.severity.value)}</b> {_e(f.where)}: {_e(f.message)}</li>"
        for f in sorted(findings, key=lambda f: f.severity is not Severity.ERROR)
    )
    return f'<div class="checks"><h3>Checks</h3><ul>{items}</ul></div>'


def render_gallery(run: RenderRun, theme_names: dict[str, str], country_names: dict[str, str]) -> str:
    ads = sorted(
        run.ads,
        key=lambda a: (
            list(theme_names).index(a.combination.theme) if a.combination.theme in theme_names else 99,
            a.combination.country,
            a.combination.language,
            a.combination.platform.value,
        ),
    )
    cards = []
    for ad in ads:
        combo = ad.combination
        theme_name = theme_names.get(combo.theme, combo.theme)
        if not ad.content:
            body = '<div class="phone"><b>Could not render this ad</b>; see the checks.</div>'
        elif combo.platform.value == "google_ads":
            body = _google_card(ad)
        else:
            body = _meta_card(ad, theme_name)
        link = ad.content.get("final_url") or ad.content.get("link") or ""
        cards.append(
            f'<article class="ad" lang="{_e(combo.language)}" data-country="{_e(combo.country)}" '
            f'data-language="{_e(combo.language)}" data-theme="{_e(combo.theme)}" '
            f'data-platform="{_e(combo.platform.value)}" data-problems="{1 if ad.findings else 0}">'
            f'<div class="tag"><b>{_e(theme_name)}</b>'
            f"<b>{_e(country_names.get(combo.country, combo.country))}"
            f"</b><b>{_e(combo.language)}</b><b>{_e(PLATFORM_LABELS.get(combo.platform.value, ''))}</b>"
            f"<span>{_e(ad.template_id)} · version {_e(ad.version or '—')}</span></div>"
            f"{body}<div>{_checks(ad.findings)}"
            f'<div class="link">{_e(link)}</div></div></article>'
        )
    errors, warnings = len(run.errors), len(run.warnings)
    summary_class = "bad" if errors else "ok"
    filters = "".join(
        [
            _options("country", "Country", [(c, f"{c} {n}") for c, n in country_names.items()]),
            _options(
                "language",
                "Language",
                sorted({(a.combination.language, a.combination.language) for a in ads}),
            ),
            _options("theme", "Theme", list(theme_names.items())),
            _options("platform", "Platform", list(PLATFORM_LABELS.items())),
        ]
    )
    library_wide = [f for f in run.findings if f.combination is None]
    library_block = (
        f'<section class="ad"><div class="tag"><b>Library</b></div>{_checks(library_wide)}</section>'
        if library_wide
        else ""
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>SafePassage creatives</title><style>{_CSS}</style></head><body>"
        f"<header><h1>SafePassage creatives</h1>{filters}"
        '<label><input type="checkbox" id="only"> only ads with problems</label>'
        f'<span class="summary"><span id="shown">{len(ads)}</span> of {len(ads)} ads · '
        f'<span class="{summary_class}">{errors} error(s), {warnings} warning(s)</span></span></header>'
        f"<main>{library_block}{''.join(cards)}</main>"
        f"<script>{_JS}</script>"
        f'<script type="application/json" id="meta">{_e(json.dumps({"ads": len(ads)}))}</script>'
        "</body></html>"
    )


def gallery_html(library: CreativeLibrary, run: RenderRun) -> str:
    theme_names = {theme.id: theme.name for theme in library.settings.themes}
    country_names = {country.code: country.name for country in library.config.countries}
    return render_gallery(run, theme_names, country_names)


def stored_gallery_html(warehouse: Warehouse) -> str | None:
    """The gallery of the creatives the DAG checked and stored (newest version of each ad), or None
    when nothing is stored yet. Reads the warehouse; renders no template."""
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.creatives import theme_names

    records = warehouse.creative_versions.newest_versions()
    if not records:
        return None
    ads = [_stored_ad(record) for record in records]
    countries = {country.code: country.name for country in load_campaign_config().countries}
    return render_gallery(RenderRun(ads=ads), theme_names(), countries)


def _stored_ad(record: dict[str, Any]) -> RenderedAd:
    content = dict(record["content"])
    ad_format = str(content.pop("format", ""))
    version = str(content.pop("version", ""))
    organisation_id = content.pop("organisation_id", None)
    return RenderedAd(
        combination=Combination(
            record["theme"],
            Platform(record["platform_code"]),
            record["country_code"],
            record["language_code"],
        ),
        ad_format=ad_format,
        template_id=record["template_id"],
        organisation_id=organisation_id,
        content=content,
        content_hash=record["content_hash"],
        version=version,
        findings=(),  # stored versions passed every check before they were stored
    )


def write_gallery(library: CreativeLibrary, run: RenderRun, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / "index.html"
    index.write_text(gallery_html(library, run), encoding="utf-8")
    return index


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "headless_shell")


def find_chromium() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def take_screenshot(
    page: Path, png: Path, *, width: int = 1400, height: int = 1800, fragment: str = ""
) -> Path:
    """Screenshot `page` with headless Chromium in a throw-away profile (no network, no sync)."""
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError(
            "Chromium is not installed, so no screenshot was taken (the gallery itself was written). "
            "Install it with: apt-get update && apt-get install -y chromium"
        )
    png.parent.mkdir(parents=True, exist_ok=True)
    url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    with tempfile.TemporaryDirectory(prefix="safepassage-chromium-") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={png.resolve()}",
            f"--window-size={width},{height}",
            url,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0 or not png.exists():
        raise RuntimeError(f"Chromium could not take the screenshot: {result.stderr.strip()[-500:]}")
    return png
