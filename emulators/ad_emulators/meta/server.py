"""Meta Graph API (v26.0) emulator over HTTP on loopback, for the official facebook-business SDK.

    server = MetaGraphServer(state_dir, clock=clock, faults=plan, log=log).start()
    configure_sdk(server.url, server.credentials)   # FacebookSession.GRAPH + FacebookAdsApi.init
    ...
    server.stop()

What it checks and emulates: access token and appsecret_proof (code 190 / 100), ad accounts,
campaigns (special_ad_categories required), ad sets (targeting spec, budgets in minor units, at most
4 budget changes per simulated hour, DSA beneficiary/payor for EU targeting), ad images (uploaded
as base64 `bytes`, named by their MD5 hash, deduplicated), creatives (an `image_hash` must be in the
account's library), ads,
edge reads with `fields`, `filtering` and cursor paging, updates, deletes, batches of at most 50
with per-item `{code, headers, body}`, sync and async insights from the delivery simulation,
usage headers on every reply, and the Meta faults of the fault plan. Delivery is simulated: every
reply carries `X-SafePassage-Sandbox: simulated`.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import hmac
import json
import re
import socket
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ad_emulators.clock import EmulatorClock
from ad_emulators.faults import Fault, FaultKind, FaultPlan, RequestLog
from ad_emulators.meta import insights
from ad_emulators.meta.errors import GraphError, invalid_parameter, unsupported_request
from ad_emulators.meta.store import (
    COMPUTED,
    WRITABLE,
    AccountSpec,
    MetaStore,
    meta_time,
    parse_value,
)

API_VERSION = "v26.0"
MAX_BATCH = 50
DEFAULT_PAGE = 25
MAX_PAGE = 500
ASYNC_STATUSES = ("Job Not Started", "Job Started", "Job Running", "Job Completed")
SANDBOX_HEADER = "X-SafePassage-Sandbox"
_VERSION = re.compile(r"^v\d+\.\d+$")
_EDGE_TYPES = {"campaigns": "campaign", "adsets": "adset", "ads": "ad", "adcreatives": "adcreative"}
_CHILD_EDGES = {("campaign", "adsets"), ("campaign", "ads"), ("adset", "ads")}
_LOST = object()


@dataclass(frozen=True)
class MetaCredentials:
    app_id: str = "sandbox-app-id"
    app_secret: str = "sandbox-app-secret"
    access_token: str = "sandbox-access-token"

    def appsecret_proof(self) -> str:
        return hmac.new(self.app_secret.encode(), self.access_token.encode(), hashlib.sha256).hexdigest()


THROTTLES: dict[FaultKind, dict[str, Any]] = {
    FaultKind.APP_RATE_LIMIT: {
        "code": 4,
        "subcode": 1504022,
        "message": "(#4) Application request limit reached",
    },
    FaultKind.USER_RATE_LIMIT: {
        "code": 17,
        "subcode": 2446079,
        "message": "(#17) User request limit reached",
    },
    FaultKind.ACCOUNT_RATE_LIMIT: {
        "code": 613,
        "subcode": 1487742,
        "message": "(#613) There have been too many calls from this ad-account. "
        "Please wait a bit and try again.",
    },
    FaultKind.ADS_MANAGEMENT_RATE_LIMIT: {
        "code": 80004,
        "subcode": 2446079,
        "message": "(#80004) There have been too many calls to this ad-account. Wait a bit and try again. "
        "For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting"
        "#ads-management.",
    },
}


class MetaGraphServer:
    """The emulator: `start()` binds 127.0.0.1 on a free port (or `port`), `url` is the Graph base URL."""

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        clock: EmulatorClock | None = None,
        faults: FaultPlan | None = None,
        log: RequestLog | None = None,
        credentials: MetaCredentials | None = None,
        accounts: Mapping[str, AccountSpec] | None = None,
        ad_account_ids: tuple[str, ...] = (),
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        polls_to_complete: int = 4,
        hourly_call_quota: int = 5000,
    ) -> None:
        if clock is None:
            clock = EmulatorClock.load(state_dir) if state_dir is not None else EmulatorClock()
        self.clock = clock
        self.faults = faults if faults is not None else FaultPlan.empty()
        self.log = log if log is not None else RequestLog()
        self.credentials = credentials if credentials is not None else MetaCredentials()
        if accounts is None and ad_account_ids:
            accounts = {account_id: AccountSpec() for account_id in ad_account_ids}
        self._accounts = accounts
        self.store = MetaStore(state_dir, self.clock, accounts)
        self.seed = seed
        self.polls_to_complete = max(1, polls_to_complete)
        self.hourly_call_quota = hourly_call_quota
        self._host, self._port = host, port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._calls: collections.deque[float] = collections.deque()
        self._insights_cache: collections.OrderedDict[str, list[dict[str, Any]]] = collections.OrderedDict()
        self._cache_lock = threading.Lock()
        # As on Graph, an async report run computes while the client polls; its rows wait here.
        self._report_jobs: collections.OrderedDict[str, Future[list[dict[str, Any]]]] = (
            collections.OrderedDict()
        )
        self._report_workers: ThreadPoolExecutor | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> MetaGraphServer:
        self._report_workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="meta-report-run")
        handler = type("MetaGraphHandler", (_Handler,), {"app": self})
        self._httpd = ThreadingHTTPServer((self._host, self._port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="meta-graph-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._report_workers is not None:
            self._report_workers.shutdown(wait=False, cancel_futures=True)
            self._report_workers = None

    def reset(self) -> None:
        """Forget every entity, report run and the calls counted against the hourly quota (accounts,
        credentials, clock and fault plan stay): a reset emulator is a fresh account, whose usage
        headers do not carry another test's calls."""
        with self.store.lock:
            self.store.reset(self._accounts)
            self._insights_cache.clear()
            self._report_jobs.clear()
            self._calls.clear()

    def __enter__(self) -> MetaGraphServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the Meta sandbox is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def account_ids(self) -> list[str]:
        return [f"act_{number}" for number in self.store.data["accounts"]]

    # ------------------------------------------------------------------ one HTTP request
    def handle(
        self, method: str, raw_path: str, body: bytes, content_type: str
    ) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(raw_path)
        params: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        if body and "application/x-www-form-urlencoded" in content_type:
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        elif body and "application/json" in content_type:
            params.update(json.loads(body))
        segments = [segment for segment in parts.path.split("/") if segment]
        if segments and _VERSION.match(segments[0]):
            segments = segments[1:]
        if segments[:1] == ["_sandbox"]:
            return self._control(method, segments[1:], params)
        target = f"{method} /{'/'.join(segments)}"
        with self.store.lock:
            account = self._account_for(segments)
            try:
                self._authenticate(params)
            except GraphError as error:
                self._record(method, target, "error", error.http_status, None, error.message)
                return error.http_status, self._usage_headers(account, None), error.body()
            if segments == [] and method == "POST" and "batch" in params:
                return self._batch(params, account)
            try:
                status, payload, fault = self._call(method, segments, params, target)
            except GraphError as error:  # already logged by _call
                return (
                    error.http_status,
                    {**self._usage_headers(account, None), **error.headers},
                    error.body(),
                )
            headers = self._usage_headers(account, fault)
        if payload is _LOST:
            return 0, headers, _LOST
        return status, headers, payload

    def _call(
        self, method: str, segments: list[str], params: dict[str, Any], target: str
    ) -> tuple[int, Any, Fault | None]:
        """One Graph call (also one batch item): faults, then the call; logged."""
        fault = self.faults.check("meta", target)
        if fault is not None and fault.kind in THROTTLES:
            self._record(method, target, "fault", 400, fault.kind)
            raise self._throttle_error(fault, self._account_for(segments))
        if fault is not None and fault.kind is FaultKind.SERVER_ERROR:
            status = int(fault.param("http_status", 500))
            self._record(method, target, "fault", status, fault.kind)
            raise GraphError(
                "An unexpected error has occurred. Please retry your request later.",
                code=2,
                http_status=status,
                is_transient=True,
            )
        try:
            status, payload = self._dispatch(method, segments, params, fault)
        except GraphError as error:
            self._record(method, target, "error", error.http_status, None, error.message)
            raise
        if fault is not None and fault.kind is FaultKind.RESPONSE_LOST_AFTER_COMMIT:
            self._record(method, target, "fault", status, fault.kind, "committed; response dropped")
            return status, _LOST, fault
        applied = (
            fault.kind
            if fault is not None and fault.kind in (FaultKind.ASYNC_REPORT_STALL, FaultKind.ASYNC_REPORT_FAIL)
            else None
        )
        self._record(method, target, "fault" if applied else "ok", status, applied)
        return status, payload, fault

    def _record(
        self, method: str, target: str, outcome: str, status: int, fault: FaultKind | None, detail: str = ""
    ) -> None:
        self._calls.append(time.monotonic())
        self.log.record(
            "meta",
            method,
            target,
            simulated_at=self.clock.now(),
            outcome=outcome,
            status=status,
            fault=fault,
            detail=detail,
        )

    # ------------------------------------------------------------------ auth, usage, throttling
    def _authenticate(self, params: dict[str, Any]) -> None:
        token = params.pop("access_token", None)
        proof = params.pop("appsecret_proof", None)
        if not token:
            raise GraphError("An access token is required to request this resource.", code=104)
        if not hmac.compare_digest(str(token), self.credentials.access_token):
            raise GraphError("Invalid OAuth access token - Cannot parse access token", code=190)
        if not proof:
            raise GraphError("API calls from the server require an appsecret_proof argument", code=100)
        if not hmac.compare_digest(str(proof), self.credentials.appsecret_proof()):
            raise GraphError("Invalid appsecret_proof provided in the API argument", code=100)

    def _account_for(self, segments: list[str]) -> str:
        if segments and segments[0].startswith("act_"):
            return segments[0].removeprefix("act_")
        if segments and segments[0] in self.store.data["objects"]:
            return str(self.store.data["objects"][segments[0]]["account_id"])
        return next(iter(self.store.data["accounts"]))

    def _usage_pct(self) -> int:
        horizon = time.monotonic() - 3600
        while self._calls and self._calls[0] < horizon:
            self._calls.popleft()
        return min(99, len(self._calls) * 100 // max(1, self.hourly_call_quota))

    def _usage_headers(self, account: str, fault: Fault | None) -> dict[str, str]:
        throttled = fault is not None and fault.kind in THROTTLES
        pct = 100 if throttled else self._usage_pct()
        regain = int(fault.param("estimated_time_to_regain_access", 1)) if throttled and fault else 0
        business_use_case = {
            account: [
                {
                    "type": "ads_management",
                    "call_count": pct,
                    "total_cputime": max(0, pct - 5) if not throttled else 100,
                    "total_time": max(0, pct - 3) if not throttled else 100,
                    "estimated_time_to_regain_access": regain,
                    "ads_api_access_tier": "standard_access",
                }
            ]
        }
        return {
            "X-Business-Use-Case-Usage": json.dumps(business_use_case),
            "X-App-Usage": json.dumps({"call_count": pct, "total_cputime": pct, "total_time": pct}),
            "X-Ad-Account-Usage": json.dumps(
                {
                    "acc_id_util_pct": pct,
                    "reset_time_duration": regain * 60,
                    "ads_api_access_tier": "standard_access",
                }
            ),
            "X-FB-Trace-ID": base64.b32encode(
                hashlib.sha1(str(time.time_ns()).encode()).digest()[:10]
            ).decode(),
            SANDBOX_HEADER: "simulated",
        }

    def _throttle_error(self, fault: Fault, account: str) -> GraphError:
        spec = THROTTLES[fault.kind]
        return GraphError(
            str(fault.param("message", spec["message"])),
            code=int(fault.param("code", spec["code"])),
            subcode=int(fault.param("error_subcode", spec["subcode"])),
            is_transient=True,
            headers=self._usage_headers(account, fault),
        )

    # ------------------------------------------------------------------ batch
    def _batch(self, params: dict[str, Any], account: str) -> tuple[int, dict[str, str], Any]:
        outer_fault = self.faults.check("meta", "POST /")
        if outer_fault is not None and outer_fault.kind in THROTTLES:
            self._record("POST", "POST /", "fault", 400, outer_fault.kind)
            error = self._throttle_error(outer_fault, account)
            return 400, error.headers, error.body()
        calls = parse_value(params.get("batch"))
        if not isinstance(calls, list) or not calls:
            error = invalid_parameter("batch must be a JSON array of requests", field=("batch",))
            self._record("POST", "POST /", "error", 400, None, error.message)
            return 400, self._usage_headers(account, None), error.body()
        if len(calls) > MAX_BATCH:
            error = GraphError(
                f"(#100) Too many requests in batch message. Maximum batch size is {MAX_BATCH}",
                code=100,
            )
            self._record("POST", "POST /", "error", 400, None, error.message)
            return 400, self._usage_headers(account, None), error.body()
        self._record("POST", "POST /", "ok", 200, None, f"batch of {len(calls)}")
        with self.store.one_save():
            results = [self._answer_batch_item(call) for call in calls]
        return 200, self._usage_headers(account, None), results

    def _answer_batch_item(self, call: dict[str, Any]) -> Any:
        """One item of a batch, answered as Graph answers it inside the batch's reply."""
        method = str(call.get("method", "GET")).upper()
        relative = urlsplit(str(call.get("relative_url", "")))
        item_params: dict[str, Any] = dict(parse_qsl(relative.query, keep_blank_values=True))
        if call.get("body"):
            item_params.update(parse_qsl(str(call["body"]), keep_blank_values=True))
        segments = [segment for segment in relative.path.split("/") if segment]
        if segments and _VERSION.match(segments[0]):
            segments = segments[1:]
        target = f"{method} /{'/'.join(segments)}"
        item_account = self._account_for(segments)
        try:
            status, payload, fault = self._call(method, segments, item_params, target)
        except GraphError as error:
            headers = {**self._usage_headers(item_account, None), **error.headers}
            return _batch_item(error.http_status, headers, error.body())
        if payload is _LOST:
            return None  # Meta answers null for an item it did not finish answering
        return _batch_item(status, self._usage_headers(item_account, fault), payload)

    # ------------------------------------------------------------------ routing
    def _dispatch(
        self, method: str, segments: list[str], params: dict[str, Any], fault: Fault | None
    ) -> tuple[int, Any]:
        if not segments or len(segments) > 2:
            raise unsupported_request(method, "/".join(segments))
        node = segments[0]
        edge = segments[1] if len(segments) == 2 else None
        store = self.store
        if node.startswith("act_"):
            account, _ = store.account(node)
            if edge is None and method == "GET":
                return 200, store.render_account(account, _fields(params))
            if edge in _EDGE_TYPES and method == "POST":
                record = store.create(_EDGE_TYPES[edge], account, params)
                return 200, {"id": record["id"]}
            if edge in _EDGE_TYPES and method == "GET":
                records = [r for r in store.objects(_EDGE_TYPES[edge], account)]
                return 200, self._edge(records, params, segments)
            if edge == "adimages" and method == "POST":
                image = store.upload_image(account, params)
                fields = image["fields"]
                return 200, {"images": {fields["name"]: {"hash": fields["hash"], "url": fields["url"]}}}
            if edge == "adimages" and method == "GET":
                wanted = parse_value(params.get("hashes") or [])
                images = [
                    r
                    for r in store.objects("adimage", account)
                    if not wanted or r["fields"]["hash"] in wanted
                ]
                return 200, self._edge(images, params, segments)
            if edge == "insights":
                return self._insights(method, account, None, params, segments, fault)
            if edge == "dsa_recommendations" and method == "GET":
                return 200, {"data": [{"recommendations": [store.data["accounts"][account]["name"]]}]}
            raise unsupported_request(method, "/".join(segments))
        record = store.get(node, method)
        type_name = record["type"]
        if type_name == "adreportrun":
            return self._report_run(method, record, edge, params, segments)
        if edge is None:
            if method == "GET":
                return 200, store.render(record, _fields(params))
            if method == "POST":
                store.update(node, params)
                return 200, {"success": True}
            if method == "DELETE":
                store.delete(node)
                return 200, {"success": True}
        elif edge == "insights" and type_name in ("campaign", "adset", "ad"):
            return self._insights(method, record["account_id"], record, params, segments, fault)
        elif (type_name, edge) in _CHILD_EDGES and method == "GET":
            child_type = _EDGE_TYPES[edge]
            children = [
                child
                for child in store.objects(child_type, record["account_id"])
                if self._belongs(child, record)
            ]
            return 200, self._edge(children, params, segments)
        raise unsupported_request(method, "/".join(segments))

    def _belongs(self, child: Mapping[str, Any], parent: Mapping[str, Any]) -> bool:
        fields = child["fields"]
        if parent["type"] == "adset":
            return bool(fields.get("adset_id") == parent["id"])
        campaign_id = fields.get("campaign_id")
        if campaign_id is None and "adset_id" in fields:
            campaign_id = self.store.data["objects"][fields["adset_id"]]["fields"]["campaign_id"]
        return bool(campaign_id == parent["id"])

    def _edge(
        self, records: list[dict[str, Any]], params: dict[str, Any], segments: list[str]
    ) -> dict[str, Any]:
        filters = parse_value(params.get("filtering") or [])
        statuses = parse_value(params.get("effective_status") or [])
        if not isinstance(filters, list):
            raise invalid_parameter("filtering must be a JSON array", field=("filtering",))
        names_status = bool(statuses) or any(item.get("field") == "effective_status" for item in filters)
        selected = []
        for record in records:
            effective = self.store.effective_status(record)
            if not names_status and effective in ("DELETED", "ARCHIVED"):
                continue
            if statuses and effective not in statuses:
                continue
            if all(self._matches(record, item) for item in filters):
                selected.append(record)
        selected.sort(key=lambda record: int(record["id"]), reverse=True)  # Graph lists newest first
        fields = _fields(params)
        rendered = [self.store.render(record, fields) for record in selected]
        return _page(rendered, params, self.url_for(segments))

    def _matches(self, record: Mapping[str, Any], item: Mapping[str, Any]) -> bool:
        name = str(item.get("field", ""))
        operator = str(item.get("operator", "EQUAL")).upper()
        value = item.get("value")
        if name == "effective_status":
            actual: Any = self.store.effective_status(record)
        elif name in ("campaign.id", "adset.id"):
            key = name.replace(".", "_")
            actual = record["fields"].get(key)
            if actual is None and key == "campaign_id" and "adset_id" in record["fields"]:
                actual = self.store.data["objects"][record["fields"]["adset_id"]]["fields"]["campaign_id"]
        elif name == "id":
            actual = record["id"]
        else:
            known = set(WRITABLE.get(record["type"], ())) | set(COMPUTED[record["type"]])
            if name not in known:
                raise invalid_parameter(f"filtering field {name!r} is not supported", field=("filtering",))
            actual = self.store._field(record, name)
        if operator == "IN":
            return str(actual) in [str(v) for v in value or []]
        if operator == "NOT_IN":
            return str(actual) not in [str(v) for v in value or []]
        if operator == "EQUAL":
            return str(actual) == str(value)
        if operator == "NOT_EQUAL":
            return str(actual) != str(value)
        if operator == "CONTAIN":
            return str(value).lower() in str(actual).lower()
        if operator == "NOT_CONTAIN":
            return str(value).lower() not in str(actual).lower()
        raise invalid_parameter(f"filtering operator {operator!r} is not supported", field=("filtering",))

    def url_for(self, segments: list[str]) -> str:
        return f"{self.url}/{API_VERSION}/{'/'.join(segments)}"

    # ------------------------------------------------------------------ insights
    def _earliest(self, account: str) -> dt.date:
        times = [record["created_time"] for record in self.store.objects("campaign", account)]
        return min(
            (dt.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S%z").date() for t in times), default=self.clock.today()
        )

    def _insights(
        self,
        method: str,
        account: str,
        node: Mapping[str, Any] | None,
        params: dict[str, Any],
        segments: list[str],
        fault: Fault | None,
    ) -> tuple[int, Any]:
        level = node["type"] if node else "account"
        query = insights.parse_query(params, level, self.clock.today(), self._earliest(account))
        if method == "GET":
            rows = self._insights_rows(account, node, query, self.clock.now())
            return 200, _page(rows, params, self.url_for(segments))
        if method != "POST":
            raise unsupported_request(method, "/".join(segments))
        state = "ok"
        if fault is not None and fault.kind is FaultKind.ASYNC_REPORT_STALL:
            state = "stall"
        elif fault is not None and fault.kind is FaultKind.ASYNC_REPORT_FAIL:
            state = "fail"
        run_id = self.store.new_id()
        now = self.clock.now()
        self.store.data["objects"][run_id] = {
            "id": run_id,
            "type": "adreportrun",
            "account_id": account,
            "created_time": meta_time(now),
            "fields": {
                "node_id": node["id"] if node else None,
                "params": {key: value for key, value in params.items()},
                "node_level": level,
                "as_of": now.isoformat(),
                "polls": 0,
                "state": state,
                "stall_percent": int(fault.param("percent", 37)) if fault else 0,
            },
            "versions": [],
        }
        self.store.save()
        if state == "ok" and self._report_workers is not None:
            self._report_jobs[run_id] = self._report_workers.submit(
                self._insights_rows, account, node, query, now, self.store.lock
            )
            while len(self._report_jobs) > 16:
                self._report_jobs.popitem(last=False)
        return 200, {"report_run_id": run_id}

    def _insights_rows(
        self,
        account: str,
        node: Mapping[str, Any] | None,
        query: insights.InsightsQuery,
        as_of: dt.datetime,
        store_lock: Any = None,
    ) -> list[dict[str, Any]]:
        key = insights.cache_key(account, node["id"] if node else None, query, as_of, self.store.version)
        with self._cache_lock:
            cached = self._insights_cache.get(key)
        if cached is None:
            cached = insights.compute(
                self.store, account, node, query, as_of=as_of, seed=self.seed, store_lock=store_lock
            )
            with self._cache_lock:
                self._insights_cache[key] = cached
                while len(self._insights_cache) > 16:
                    self._insights_cache.popitem(last=False)
        return cached

    def _finished_rows(self, run_id: str) -> list[dict[str, Any]] | None:
        """The rows the run's job computed (None: no job here, e.g. after a restart, or it failed)."""
        job = self._report_jobs.get(run_id)
        if job is None or not job.done() or job.exception() is not None:
            return None
        return job.result()

    def _run_status(self, run_id: str, fields: Mapping[str, Any]) -> tuple[str, int]:
        status, percent = self._scripted_status(fields)
        job = self._report_jobs.get(run_id)
        if status == "Job Completed" and job is not None and not job.done():
            return "Job Running", 90  # complete once the rows exist, however many polls that takes
        return status, percent

    def _scripted_status(self, fields: Mapping[str, Any]) -> tuple[str, int]:
        polls = int(fields["polls"])
        if fields["state"] == "fail":
            return ("Job Started", 0) if polls < 2 else ("Job Failed", 0)
        if fields["state"] == "stall":
            return ("Job Started", 0) if polls < 2 else ("Job Running", int(fields["stall_percent"]))
        step = min(
            len(ASYNC_STATUSES) - 1,
            (polls - 1) * (len(ASYNC_STATUSES) - 1) // max(1, self.polls_to_complete - 1),
        )
        if polls >= self.polls_to_complete:
            step = len(ASYNC_STATUSES) - 1
        status = ASYNC_STATUSES[max(0, step)]
        percent = {"Job Not Started": 0, "Job Started": 0, "Job Running": 50, "Job Completed": 100}[status]
        return status, percent

    def _report_run(
        self,
        method: str,
        record: dict[str, Any],
        edge: str | None,
        params: dict[str, Any],
        segments: list[str],
    ) -> tuple[int, Any]:
        fields = record["fields"]
        if method != "GET":
            raise unsupported_request(method, "/".join(segments))
        if edge is None:
            fields["polls"] = int(fields["polls"]) + 1
            self.store.save()
            status, percent = self._run_status(record["id"], fields)
            as_of = dt.datetime.fromisoformat(fields["as_of"])
            values = {
                "id": record["id"],
                "report_run_id": record["id"],
                "account_id": record["account_id"],
                "async_status": status,
                "async_percent_completion": percent,
                "is_running": status not in ("Job Completed", "Job Failed", "Job Skipped"),
                "time_ref": int(as_of.timestamp()),
                "time_completed": int(as_of.timestamp()) if status == "Job Completed" else 0,
            }
            requested = _fields(params) or ["id", "async_status", "async_percent_completion", "account_id"]
            return 200, {name: values[name] for name in {*requested, "id"} if name in values}
        if edge != "insights":
            raise unsupported_request(method, "/".join(segments))
        status, _ = self._run_status(record["id"], fields)
        if status != "Job Completed":
            raise GraphError(f"(#100) The report run is not complete (async_status: {status}).", code=100)
        rows = self._finished_rows(record["id"])
        if rows is None:
            node = self.store.data["objects"].get(fields["node_id"]) if fields["node_id"] else None
            as_of = dt.datetime.fromisoformat(fields["as_of"])
            query = insights.parse_query(
                fields["params"], fields["node_level"], as_of.date(), self._earliest(record["account_id"])
            )
            rows = self._insights_rows(record["account_id"], node, query, as_of)
        return 200, _page(rows, params, self.url_for(segments))

    # ------------------------------------------------------------ sandbox control (no auth; loopback only)
    def _control(
        self, method: str, segments: list[str], params: dict[str, Any]
    ) -> tuple[int, dict[str, str], Any]:
        headers = {SANDBOX_HEADER: "control"}
        if segments == ["clock"]:
            if method == "POST" and params.get("now"):
                self.clock.set(dt.datetime.fromisoformat(str(params["now"])))
            return 200, headers, {"now": self.clock.now().isoformat(), "simulated": self.clock.is_simulated}
        if segments == ["requests"] and method == "GET":
            return 200, headers, {"data": [vars(entry) for entry in self.log.entries(platform="meta")]}
        return 404, headers, {"error": {"message": "unknown sandbox control endpoint", "code": 803}}


def _fields(params: Mapping[str, Any]) -> list[str]:
    raw = parse_value(params.get("fields") or "")
    if isinstance(raw, list):
        return [str(name) for name in raw]
    return [name.strip() for name in str(raw).split(",") if name.strip()]


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"sandbox:{index}".encode()).decode()


def _uncursor(value: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(value.encode()).decode().split(":", 1)[1])
    except (ValueError, IndexError):
        raise invalid_parameter("The after cursor is not valid", field=("after",)) from None


def _page(items: list[dict[str, Any]], params: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    try:
        limit = int(params.get("limit") or DEFAULT_PAGE)
    except ValueError:
        raise invalid_parameter("limit must be a number", field=("limit",)) from None
    limit = max(1, min(limit, MAX_PAGE))
    start = _uncursor(str(params["after"])) + 1 if params.get("after") else 0
    page = items[start : start + limit]
    body: dict[str, Any] = {"data": page}
    if page:
        last = start + len(page) - 1
        paging: dict[str, Any] = {"cursors": {"before": _cursor(start), "after": _cursor(last)}}
        if last + 1 < len(items):
            query = {
                key: value
                for key, value in params.items()
                if key not in ("after", "access_token", "appsecret_proof")
            }
            query["limit"] = str(limit)
            query["after"] = _cursor(last)
            paging["next"] = f"{base_url}?{urlencode(query)}"
        body["paging"] = paging
    return body


def _batch_item(status: int, headers: Mapping[str, str], payload: Any) -> dict[str, Any]:
    return {
        "code": status,
        "headers": [{"name": name, "value": value} for name, value in headers.items()],
        "body": json.dumps(payload),
    }


class _Handler(BaseHTTPRequestHandler):
    app: MetaGraphServer
    protocol_version = "HTTP/1.1"
    server_version = "SafePassageMetaSandbox/1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes; without this each reply waits for a delayed ACK
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (a killed task, its own timeout)

    def log_message(self, format: str, *args: Any) -> None:  # the RequestLog records every call
        return

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            status, headers, payload = self.app.handle(
                method, self.path, body, self.headers.get("Content-Type", "")
            )
        except Exception as error:  # a bug in the emulator must still answer like Graph does
            status, headers = 500, {SANDBOX_HEADER: "simulated"}
            payload = GraphError(
                f"Sandbox internal error: {error!r}", code=1, http_status=500, is_transient=False
            ).body()
        if payload is _LOST:
            self.close_connection = True
            return
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client stopped waiting (its own timeout): nothing to say

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")


def configure_sdk(url: str, credentials: MetaCredentials, *, api_version: str = API_VERSION) -> Any:
    """Point the official facebook-business SDK at the sandbox (process-wide: sandbox mode only)."""
    from facebook_business.api import FacebookAdsApi
    from facebook_business.session import FacebookSession

    FacebookSession.GRAPH = url
    return FacebookAdsApi.init(
        app_id=credentials.app_id,
        app_secret=credentials.app_secret,
        access_token=credentials.access_token,
        api_version=api_version,
        crash_log=False,
    )
