"""Google Ads API v26 emulator (gRPC + TLS) for the official google-ads SDK. Delivery is simulated.

The service is `ad_emulators.google_ads.service`; this package re-exports nothing, so importing one of
its modules never loads the others."""
