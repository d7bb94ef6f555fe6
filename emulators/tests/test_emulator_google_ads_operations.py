"""The Google Ads emulator applies each operation through one handler per kind of operation (create,
update, remove): the table covers exactly the oneof the API defines."""

from __future__ import annotations

from google.ads.googleads.v26.services.types.campaign_service import CampaignOperation

from ad_emulators.google_ads.store import APPLY


def test_one_handler_per_operation_the_api_defines() -> None:
    oneof = CampaignOperation.pb().DESCRIPTOR.oneofs_by_name["operation"]
    assert set(APPLY) == {field.name for field in oneof.fields}
