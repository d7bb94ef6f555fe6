"""The Google Ads API v26 emulator: gRPC over TLS on loopback, plus a local OAuth token endpoint.

Built with plain grpcio generic handlers and the message classes shipped in the google-ads wheel, so
the official SDK talks to it unchanged; only `endpoint`, the CA certificate and the service-account
key differ from production. Faults come from the shared fault plan and every call is recorded in the
shared request log.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import grpc
from google.ads.googleads.v26.services.types import customer_service, google_ads_service
from google.protobuf import any_pb2
from google.rpc import status_pb2

from ad_emulators.clock import EmulatorClock
from ad_emulators.faults import Fault, FaultKind, FaultPlan, RequestLog
from ad_emulators.google_ads import performance, query, tls
from ad_emulators.google_ads.errors import (
    API_VERSION,
    FAILURE_METADATA_KEY,
    AdsError,
    AdsRpcError,
    failure_pb,
    invalid_argument,
)
from ad_emulators.google_ads.store import (
    KINDS,
    MAX_MUTATE_OPERATIONS,
    GoogleAdsStore,
    OperationFailed,
    ResourceKind,
    Transaction,
    apply_operation,
)

logger = logging.getLogger(__name__)
PLATFORM = "google_ads"
SERVICES_PACKAGE = f"google.ads.googleads.{API_VERSION}.services"
DEFAULT_CUSTOMER_IDS = ("5550001001", "5550001002")
STATE_FILE = "google_ads_state.json"
SECRETS_FILE = "google_ads_secrets.json"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MUTABLE_RESOURCE = 2  # ResponseContentType.MUTABLE_RESOURCE
FACTS_CACHE_SIZE = 8

MutateGoogleAdsRequest = google_ads_service.MutateGoogleAdsRequest.pb()
MutateGoogleAdsResponse = google_ads_service.MutateGoogleAdsResponse.pb()
SearchRequest = google_ads_service.SearchGoogleAdsRequest.pb()
SearchResponse = google_ads_service.SearchGoogleAdsResponse.pb()
SearchStreamRequest = google_ads_service.SearchGoogleAdsStreamRequest.pb()
SearchStreamResponse = google_ads_service.SearchGoogleAdsStreamResponse.pb()
ListCustomersRequest = customer_service.ListAccessibleCustomersRequest.pb()
ListCustomersResponse = customer_service.ListAccessibleCustomersResponse.pb()
KIND_BY_OPERATION = {kind.operation_field: kind for kind in KINDS.values()}

_FAULT_STATUS = {
    FaultKind.RESOURCE_EXHAUSTED: (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "quota_error",
        "RESOURCE_TEMPORARILY_EXHAUSTED",
    ),
    FaultKind.TRANSIENT: (grpc.StatusCode.UNAVAILABLE, "internal_error", "TRANSIENT_ERROR"),
    FaultKind.INTERNAL: (grpc.StatusCode.INTERNAL, "internal_error", "INTERNAL_ERROR"),
}


class GoogleAdsEmulator:
    """Start with `start()`; `endpoint`, `ca_cert`, `client_config()` say how a client connects."""

    def __init__(
        self,
        *,
        state_dir: Path | None = None,
        tls_dir: Path | None = None,
        clock: EmulatorClock | None = None,
        faults: FaultPlan | None = None,
        log: RequestLog | None = None,
        customer_ids: tuple[str, ...] = DEFAULT_CUSTOMER_IDS,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._own_dir = state_dir is None
        self.state_dir = (
            Path(tempfile.mkdtemp(prefix="google-ads-sandbox-")) if state_dir is None else Path(state_dir)
        )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # gRPC reads GRPC_DEFAULT_SSL_ROOTS_FILE_PATH once per process: servers started in one test
        # process share a certificate through `tls_dir`.
        self.tls_dir = Path(tls_dir) if tls_dir is not None else self.state_dir
        self.clock = clock if clock is not None else EmulatorClock()
        self.faults = faults if faults is not None else FaultPlan.empty()
        self.log = log if log is not None else RequestLog()  # an empty log is falsy
        self.customer_ids = customer_ids
        self.host, self._requested_port = host, port
        self.store = GoogleAdsStore(None if self._own_dir else self.state_dir / STATE_FILE, customer_ids)
        self._secrets = self._load_secrets()
        self._facts_cache: collections.OrderedDict[tuple[Any, ...], list[performance.Fact]] = (
            collections.OrderedDict()
        )
        self._grpc_server: grpc.Server | None = None
        self._token_server: ThreadingHTTPServer | None = None
        self.port = 0
        self.token_port = 0
        self.ca_cert = Path()
        self.service_account_file = Path()

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._token_server = ThreadingHTTPServer((self.host, 0), _token_handler(self))
        self.token_port = self._token_server.server_address[1]
        threading.Thread(
            target=self._token_server.serve_forever, name="google-ads-token", daemon=True
        ).start()
        self.ca_cert, key_path = tls.ensure_certificate(self.tls_dir)
        self.service_account_file = tls.ensure_service_account(self.state_dir, self.token_uri)
        self._service_account = json.loads(self.service_account_file.read_text())
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="google-ads-sandbox"),
            options=[
                ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ("grpc.max_send_message_length", 64 * 1024 * 1024),
            ],
        )
        server.add_generic_rpc_handlers(self._handlers())
        credentials = grpc.ssl_server_credentials([(key_path.read_bytes(), self.ca_cert.read_bytes())])
        self.port = server.add_secure_port(f"{self.host}:{self._requested_port}", credentials)
        server.start()
        self._grpc_server = server

    def stop(self) -> None:
        if self._grpc_server is not None:
            self._grpc_server.stop(grace=None)
            self._grpc_server = None
        if self._token_server is not None:
            self._token_server.shutdown()
            self._token_server.server_close()
            self._token_server = None
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def reset(self) -> None:
        """Forget every entity (customers stay); key material and tokens stay valid."""
        self.store.reset()

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"http://{self.host}:{self.token_port}/token"

    @property
    def developer_token(self) -> str:
        return str(self._secrets["developer_token"])

    def client_config(self) -> dict[str, Any]:
        """What `GoogleAdsClient.load_from_dict` accepts as is (service-account flow)."""
        return {
            "developer_token": self.developer_token,
            "json_key_file_path": str(self.service_account_file),
            "endpoint": self.endpoint,
            "use_proto_plus": True,
        }

    def _load_secrets(self) -> dict[str, str]:
        path = self.state_dir / SECRETS_FILE
        if path.exists():
            loaded: dict[str, str] = json.loads(path.read_text())
            return loaded
        values = {
            "developer_token": f"sandbox-dev-{secrets.token_hex(8)}",
            "token_key": secrets.token_hex(32),
        }
        path.write_text(json.dumps(values))
        path.chmod(0o600)
        return values

    # -- tokens --------------------------------------------------------------------------------------
    def issue_token(self) -> str:
        nonce = secrets.token_hex(12)
        return f"ya29.sandbox.{nonce}.{self._sign(nonce)}"

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._secrets["token_key"].encode(), nonce.encode(), hashlib.sha256).hexdigest()[:32]

    def _token_valid(self, token: str) -> bool:
        parts = token.split(".")
        return (
            len(parts) == 4
            and parts[:2] == ["ya29", "sandbox"]
            and hmac.compare_digest(parts[3], self._sign(parts[2]))
        )

    # -- gRPC plumbing -------------------------------------------------------------------------------
    def _handlers(self) -> list[grpc.GenericRpcHandler]:
        by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}

        def add(
            service: str,
            method: str,
            request_pb: Any,
            response_pb: Any,
            handler: Callable[..., Any],
            streaming: bool = False,
        ) -> None:
            path = f"/{SERVICES_PACKAGE}.{service}/{method}"
            wrapped = self._wrap(path, handler, streaming)
            factory = (
                grpc.unary_stream_rpc_method_handler if streaming else grpc.unary_unary_rpc_method_handler
            )
            by_service.setdefault(service, {})[method] = factory(
                wrapped,
                request_deserializer=request_pb.FromString,
                response_serializer=response_pb.SerializeToString,
            )

        add(
            "GoogleAdsService",
            "Mutate",
            MutateGoogleAdsRequest,
            MutateGoogleAdsResponse,
            self._mutate_google_ads,
        )
        add("GoogleAdsService", "Search", SearchRequest, SearchResponse, self._search)
        add(
            "GoogleAdsService",
            "SearchStream",
            SearchStreamRequest,
            SearchStreamResponse,
            self._search_stream,
            streaming=True,
        )
        add(
            "CustomerService",
            "ListAccessibleCustomers",
            ListCustomersRequest,
            ListCustomersResponse,
            self._list_customers,
        )
        for kind in KINDS.values():
            add(kind.service, kind.method, kind.request_pb, kind.response_pb, self._resource_mutate(kind))
        return [
            *(
                grpc.method_handlers_generic_handler(f"{SERVICES_PACKAGE}.{service}", methods)
                for service, methods in by_service.items()
            ),
            _NotEmulated(self),  # last: only methods nobody above answers
        ]

    def _wrap(self, path: str, handler: Callable[..., Any], streaming: bool) -> Callable[..., Any]:
        def begin(context: grpc.ServicerContext) -> tuple[str, Fault | None]:
            request_id = uuid.uuid4().hex[:22]
            context.set_trailing_metadata((("request-id", request_id),))
            return request_id, self.faults.check(PLATFORM, path)

        def prepare(context: grpc.ServicerContext, fault: Fault | None) -> None:
            self._authenticate(context)
            if fault is not None and fault.kind in _FAULT_STATUS:
                raise _fault_error(fault)
            if fault is not None and fault.kind == FaultKind.UNAVAILABLE:
                raise AdsRpcError(grpc.StatusCode.UNAVAILABLE, [], "Service unavailable (sandbox fault).")

        def fail(
            context: grpc.ServicerContext,
            request_id: str,
            error: AdsRpcError,
            fault: Fault | None,
            detail: dict[str, Any],
        ) -> None:
            metadata: list[tuple[str, str | bytes]] = [("request-id", request_id)]
            if error.errors:
                metadata.insert(0, (FAILURE_METADATA_KEY, failure_pb(error.errors).SerializeToString()))
            context.set_trailing_metadata(tuple(metadata))
            self._record(
                path, "fault" if fault is not None else "error", error.status.name, fault, detail, error
            )
            context.abort(error.status, error.details or str(error))

        if streaming:

            def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                detail = _describe(request)
                request_id, fault = begin(context)
                try:
                    prepare(context, fault)
                    responses = list(handler(request, fault, request_id))
                except AdsRpcError as error:
                    fail(context, request_id, error, fault, detail)
                    return
                except Exception:
                    logger.exception("Google Ads sandbox failed on %s", path)
                    fail(context, request_id, _internal_error(), fault, detail)
                    return
                self._record(path, "ok", "OK", fault, detail)
                yield from responses

            return stream

        def unary(request: Any, context: grpc.ServicerContext) -> Any:
            detail = _describe(request)
            request_id, fault = begin(context)
            try:
                prepare(context, fault)
                response = handler(request, fault)
                if fault is not None and fault.kind == FaultKind.RESPONSE_LOST_AFTER_COMMIT:
                    raise AdsRpcError(
                        grpc.StatusCode.UNAVAILABLE,
                        [],
                        "Connection reset after the write committed (sandbox fault).",
                    )
            except AdsRpcError as error:
                fail(context, request_id, error, fault, detail)
                return None
            except Exception:  # a sandbox bug must still look like the API's INTERNAL error
                logger.exception("Google Ads sandbox failed on %s", path)
                fail(context, request_id, _internal_error(), fault, detail)
                return None
            self._record(path, "fault" if fault is not None else "ok", "OK", fault, detail)
            return response

        return unary

    def _record(
        self,
        path: str,
        outcome: str,
        status: str,
        fault: Fault | None,
        detail: dict[str, Any],
        error: AdsRpcError | None = None,
    ) -> None:
        errors = [f"{e.category}.{e.code}" for e in error.errors] if error is not None else []
        self.log.record(
            PLATFORM,
            "RPC",
            path,
            simulated_at=self.clock.now(),
            outcome=outcome,
            status=status,
            fault=fault.kind if fault is not None else None,
            detail="; ".join(errors),
            **detail,
        )

    def _authenticate(self, context: grpc.ServicerContext) -> None:
        metadata = {key: value for key, value in context.invocation_metadata()}
        authorization = str(metadata.get("authorization", ""))
        if not authorization.startswith("Bearer ") or not self._token_valid(
            authorization.removeprefix("Bearer ")
        ):
            raise AdsRpcError(
                grpc.StatusCode.UNAUTHENTICATED,
                [AdsError("authentication_error", "OAUTH_TOKEN_INVALID", "The OAuth token is invalid.")],
                "Request had invalid authentication credentials.",
            )
        developer_token = metadata.get("developer-token")
        if not developer_token:
            raise AdsRpcError(
                grpc.StatusCode.UNAUTHENTICATED,
                [
                    AdsError(
                        "request_error",
                        "DEVELOPER_TOKEN_PARAMETER_MISSING",
                        "The developer token is missing.",
                    )
                ],
            )
        if not hmac.compare_digest(str(developer_token), self.developer_token):
            raise AdsRpcError(
                grpc.StatusCode.UNAUTHENTICATED,
                [
                    AdsError(
                        "authentication_error", "DEVELOPER_TOKEN_INVALID", "The developer token is not valid."
                    )
                ],
            )
        login = metadata.get("login-customer-id")
        if login and str(login) not in self.store.customers:
            raise _permission_denied(str(login))

    def _customer(self, customer_id: str) -> Any:
        if not customer_id.isdigit() or len(customer_id) != 10:
            raise invalid_argument(
                [
                    AdsError(
                        "request_error",
                        "INVALID_CUSTOMER_ID",
                        "Invalid customer id.",
                        (("customer_id", None),),
                    )
                ]
            )
        state = self.store.customer(customer_id)
        if state is None:
            raise _permission_denied(customer_id)
        return state

    # -- mutates ---------------------------------------------------------------------------------------
    def _run(
        self,
        customer_id: str,
        items: Sequence[tuple[ResourceKind | None, Any, tuple[tuple[str, int | None], ...]]],
        partial_failure: bool,
        validate_only: bool,
        fault: Fault | None,
    ) -> tuple[list[Any], list[AdsError]]:
        if len(items) > MAX_MUTATE_OPERATIONS:
            raise invalid_argument(
                [
                    AdsError(
                        "request_error",
                        "TOO_MANY_MUTATE_OPERATIONS",
                        f"At most {MAX_MUTATE_OPERATIONS} operations are allowed per request; "
                        f"this one has {len(items)}.",
                    )
                ]
            )
        if not items:
            raise invalid_argument(
                [AdsError("request_error", "OPERATION_REQUIRED", "No operations were given.")]
            )
        failing: set[int] = set()
        if fault is not None and fault.kind == FaultKind.PARTIAL_FAILURE:
            failing = {int(i) for i in fault.param("operation_indices", [len(items) - 1])}
        with self.store.lock:
            state = self._customer(customer_id)
            transaction = Transaction(self.store, state)
            results: list[Any] = []
            errors: list[AdsError] = []
            for index, (kind, operation, prefix) in enumerate(items):
                if kind is None:
                    errors.append(
                        AdsError(
                            "mutate_error",
                            "MUTATE_NOT_ALLOWED",
                            "This operation type is not supported by the SafePassage sandbox.",
                            prefix,
                        )
                    )
                    results.append(None)
                    continue
                if index in failing:
                    errors.append(
                        AdsError(
                            "database_error",
                            "CONCURRENT_MODIFICATION",
                            "Another request modified this resource (sandbox fault).",
                            prefix,
                        )
                    )
                    results.append(None)
                    continue
                try:
                    name, message = apply_operation(transaction, kind, operation)
                except OperationFailed as failed:
                    errors.extend(error.at(*prefix) for error in failed.errors)
                    results.append(None)
                    continue
                results.append((kind, name, message))
            if errors and not partial_failure:
                raise invalid_argument(errors)
            if not validate_only:
                transaction.commit(self.clock.now())
                self.store.committed()
        return ([] if validate_only else results), errors

    def _mutate_google_ads(self, request: Any, fault: Fault | None) -> Any:
        items = []
        for index, operation in enumerate(request.mutate_operations):
            which = operation.WhichOneof("operation")
            kind = KIND_BY_OPERATION.get(which or "")
            prefix: tuple[tuple[str, int | None], ...] = (
                ("mutate_operations", index),
                (which or "operation", None),
            )
            items.append((kind, getattr(operation, which) if kind else None, prefix))
        results, errors = self._run(
            request.customer_id, items, request.partial_failure, request.validate_only, fault
        )
        response = MutateGoogleAdsResponse()
        for result in results:
            entry = response.mutate_operation_responses.add()
            if result is not None:
                kind, name, message = result
                target = getattr(entry, kind.result_field)
                target.resource_name = name
                if request.response_content_type == MUTABLE_RESOURCE:
                    getattr(target, kind.name).CopyFrom(message)
        if errors:
            response.partial_failure_error.CopyFrom(_partial_failure_status(errors))
        return response

    def _resource_mutate(self, kind: ResourceKind) -> Callable[[Any, Fault | None], Any]:
        def mutate(request: Any, fault: Fault | None) -> Any:
            items = [
                (kind, operation, (("operations", index),))
                for index, operation in enumerate(request.operations)
            ]
            results, errors = self._run(
                request.customer_id, items, request.partial_failure, request.validate_only, fault
            )
            response = kind.response_pb()
            for result in results:
                entry = response.results.add()
                if result is not None:
                    _, name, message = result
                    entry.resource_name = name
                    if request.response_content_type == MUTABLE_RESOURCE:
                        getattr(entry, kind.name).CopyFrom(message)
            if errors:
                response.partial_failure_error.CopyFrom(_partial_failure_status(errors))
            return response

        return mutate

    # -- queries ---------------------------------------------------------------------------------------
    def _rows(self, customer_id: str, query_text: str) -> list[Any]:
        with self.store.lock:
            state = self._customer(customer_id)
            now = self.clock.now()
            return query.execute(state, query_text, now.date(), now, self._cached_facts)

    def _cached_facts(
        self, state: Any, start: dt.date, end: dt.date, as_of: dt.datetime
    ) -> list[performance.Fact]:
        """A pull asks several reports of one range in a row; the simulation runs once for them."""
        key = (state.customer_id, self.store.version, as_of, start, end)
        cached = self._facts_cache.get(key)
        if cached is None:
            cached = self._facts_cache[key] = performance.facts(state, start, end, as_of)
            while len(self._facts_cache) > FACTS_CACHE_SIZE:
                self._facts_cache.popitem(last=False)
        else:
            self._facts_cache.move_to_end(key)
        return cached

    def _search(self, request: Any, fault: Fault | None) -> Any:
        if request.page_size:
            raise invalid_argument(
                [
                    AdsError(
                        "request_error",
                        "PAGE_SIZE_NOT_SUPPORTED",
                        "Setting the page size is not supported.",
                        (("page_size", None),),
                    )
                ]
            )
        if request.validate_only:
            with self.store.lock:
                self._customer(request.customer_id)
            query.plan(query.gaql.parse(request.query))
            return SearchResponse()
        rows = self._rows(request.customer_id, request.query)
        offset = _page_offset(request.page_token, request.query) if request.page_token else 0
        response = SearchResponse()
        response.results.extend(rows[offset : offset + query.PAGE_SIZE])
        if offset + query.PAGE_SIZE < len(rows):
            response.next_page_token = _page_token(offset + query.PAGE_SIZE, request.query)
        if request.search_settings.return_total_results_count:
            response.total_results_count = len(rows)
        response.field_mask.paths.extend(query.gaql.parse(request.query).select)
        return response

    def _search_stream(self, request: Any, fault: Fault | None, request_id: str) -> Iterator[Any]:
        rows = self._rows(request.customer_id, request.query)
        select = query.gaql.parse(request.query).select
        for offset in range(0, max(len(rows), 1), query.PAGE_SIZE):
            batch = SearchStreamResponse(request_id=request_id)
            batch.results.extend(rows[offset : offset + query.PAGE_SIZE])
            batch.field_mask.paths.extend(select)
            yield batch

    def _list_customers(self, request: Any, fault: Fault | None) -> Any:
        return ListCustomersResponse(resource_names=[f"customers/{c}" for c in sorted(self.store.customers)])


class _NotEmulated(grpc.GenericRpcHandler):
    """Any other method: UNIMPLEMENTED, and recorded, so a missing emulation is visible in the request log."""

    def __init__(self, sandbox: GoogleAdsEmulator) -> None:
        self.sandbox = sandbox

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        path = str(handler_call_details.method)

        def refuse(request: bytes, context: grpc.ServicerContext) -> None:
            self.sandbox._record(path, "error", grpc.StatusCode.UNIMPLEMENTED.name, None, {})
            context.abort(
                grpc.StatusCode.UNIMPLEMENTED, f"{path} is not emulated by the SafePassage sandbox."
            )

        return grpc.unary_unary_rpc_method_handler(refuse)


def _internal_error() -> AdsRpcError:
    error = AdsError("internal_error", "INTERNAL_ERROR", "An internal error has occurred (sandbox bug).")
    return AdsRpcError(grpc.StatusCode.INTERNAL, [error], error.message)


def _permission_denied(customer_id: str) -> AdsRpcError:
    return AdsRpcError(
        grpc.StatusCode.PERMISSION_DENIED,
        [
            AdsError(
                "authorization_error",
                "USER_PERMISSION_DENIED",
                f"User doesn't have permission to access customer {customer_id}.",
            )
        ],
        "The caller does not have permission",
    )


def _fault_error(fault: Fault) -> AdsRpcError:
    status, category, code = _FAULT_STATUS[fault.kind]
    delay = (
        float(fault.param("retry_delay_seconds", 1)) if fault.kind == FaultKind.RESOURCE_EXHAUSTED else None
    )
    error = AdsError(
        category, code, f"Simulated {fault.kind.value} (sandbox fault).", retry_delay_seconds=delay
    )
    return AdsRpcError(status, [error], error.message)


def _partial_failure_status(errors: list[AdsError]) -> Any:
    detail = any_pb2.Any()
    detail.Pack(failure_pb(errors))
    return status_pb2.Status(
        code=grpc.StatusCode.INVALID_ARGUMENT.value[0],
        message=f"Multiple errors in ‘details’. First error: {errors[0].message}"
        if len(errors) > 1
        else errors[0].message,
        details=[detail],
    )


def _page_token(offset: int, query_text: str) -> str:
    digest = hashlib.sha256(query_text.encode()).hexdigest()[:16]
    return base64.urlsafe_b64encode(f"{offset}:{digest}".encode()).decode()


def _page_offset(token: str, query_text: str) -> int:
    try:
        offset, digest = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        if digest == hashlib.sha256(query_text.encode()).hexdigest()[:16]:
            return int(offset)
    except (ValueError, UnicodeDecodeError):
        pass
    raise invalid_argument(
        [
            AdsError(
                "request_error", "INVALID_PAGE_TOKEN", "The page token is invalid.", (("page_token", None),)
            )
        ]
    )


def _describe(request: Any) -> dict[str, Any]:
    """What the request log keeps: never credentials, only the shape of the call."""
    detail: dict[str, Any] = {}
    for name in ("customer_id", "query", "partial_failure", "validate_only"):
        if name in request.DESCRIPTOR.fields_by_name:
            detail[name] = getattr(request, name)
    for name in ("operations", "mutate_operations"):
        if name in request.DESCRIPTOR.fields_by_name:
            detail["operation_count"] = len(getattr(request, name))
    return detail


def _token_handler(sandbox: GoogleAdsEmulator) -> type[BaseHTTPRequestHandler]:
    class TokenHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
            status = 400
            body: dict[str, Any] = {"error": "unsupported_grant_type"}
            if self.path.split("?")[0] == "/token" and form.get("grant_type") == JWT_BEARER:
                try:
                    tls.verify_jwt_assertion(
                        form.get("assertion", ""), sandbox._service_account, sandbox.token_uri
                    )
                except ValueError:
                    status, body = (
                        400,
                        {"error": "invalid_grant", "error_description": "Invalid JWT signature."},
                    )
                else:
                    status = 200
                    body = {"access_token": sandbox.issue_token(), "expires_in": 3600, "token_type": "Bearer"}
            sandbox.log.record(
                PLATFORM,
                "POST",
                "/token",
                simulated_at=sandbox.clock.now(),
                outcome="ok" if status == 200 else "error",
                status=status,
            )
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # the request log is the record
            return

    return TokenHandler


__all__ = ["DEFAULT_CUSTOMER_IDS", "GoogleAdsEmulator"]
