"""Google Ads API v26 emulator (gRPC + TLS) driven by the official google-ads SDK in tests and the demo."""

from ad_emulators.google_ads.service import DEFAULT_CUSTOMER_IDS, GoogleAdsSandbox

__all__ = ["DEFAULT_CUSTOMER_IDS", "GoogleAdsSandbox"]
