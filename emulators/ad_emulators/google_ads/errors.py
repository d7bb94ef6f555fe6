"""Google Ads API errors in the API's own shape: `GoogleAdsFailure` with typed error codes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import grpc
from google.ads.googleads.v26.errors.types.errors import GoogleAdsError, GoogleAdsFailure
from google.protobuf.message import Message

API_VERSION = "v26"
FAILURE_METADATA_KEY = f"google.ads.googleads.{API_VERSION}.errors.googleadsfailure-bin"

FailurePb = GoogleAdsFailure.pb()
ErrorPb = GoogleAdsError.pb()
_ERROR_CODE_FIELDS = ErrorPb.DESCRIPTOR.fields_by_name["error_code"].message_type.fields_by_name

PathElement = tuple[str, int | None]


@dataclass(frozen=True)
class AdsError:
    """One entry of a GoogleAdsFailure: `category` is the ErrorCode field, e.g. "field_error"."""

    category: str
    code: str
    message: str
    path: Sequence[PathElement] = ()
    trigger: str | None = None
    retry_delay_seconds: float | None = None  # QuotaErrorDetails.retry_delay

    def at(self, *prefix: PathElement) -> AdsError:
        return replace(self, path=(*prefix, *self.path))

    def to_pb(self) -> Message:
        error = ErrorPb()
        enum_field = _ERROR_CODE_FIELDS[self.category]
        setattr(error.error_code, self.category, enum_field.enum_type.values_by_name[self.code].number)
        error.message = self.message
        if self.trigger is not None:
            error.trigger.string_value = self.trigger
        if self.retry_delay_seconds is not None:
            delay = error.details.quota_error_details.retry_delay
            delay.seconds = int(self.retry_delay_seconds)
            delay.nanos = int((self.retry_delay_seconds % 1) * 1e9)
        for name, index in self.path:
            element = error.location.field_path_elements.add(field_name=name)
            if index is not None:
                element.index = index
        return error


def failure_pb(errors: Sequence[AdsError]) -> Message:
    failure = FailurePb()
    failure.errors.extend(error.to_pb() for error in errors)
    return failure


@dataclass
class AdsRpcError(Exception):
    """Raised inside a handler: ends the RPC with `status` and the failure in trailing metadata."""

    status: grpc.StatusCode
    errors: list[AdsError] = field(default_factory=list)
    details: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.details or "; ".join(f"{e.category}.{e.code}" for e in self.errors))


def invalid_argument(errors: Sequence[AdsError]) -> AdsRpcError:
    return AdsRpcError(
        grpc.StatusCode.INVALID_ARGUMENT, list(errors), "Request contains an invalid argument."
    )


def query_error(code: str, message: str, trigger: str | None = None) -> AdsRpcError:
    return invalid_argument([AdsError("query_error", code, message, trigger=trigger)])
