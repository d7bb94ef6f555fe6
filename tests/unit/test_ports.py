"""The SQL warehouse is one implementation of the services' ports: every method a port names exists on
its store with the same parameters, and the warehouse hands out each store the port expects. (mypy
checks the same statically where orchestration.connections hands the warehouse to the services.)"""

from __future__ import annotations

import inspect

import pytest

from safepassage.adapters import warehouse as sql
from safepassage.services import ports

STORES = {  # the warehouse's attribute → (the port, the SQL store)
    "push": (ports.PushStore, sql.SqlPushStore),
    "performance": (ports.PerformanceStore, sql.SqlPerformanceStore),
    "targeting": (ports.TargetingStore, sql.SqlTargetingStore),
    "impact": (ports.ImpactQueries, sql.SqlImpactQueries),
    "creative_versions": (ports.CreativeVersionStore, sql.SqlCreativeVersions),
    "reference": (ports.ReferenceStore, sql.SqlReferenceStore),
}


def _methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


def test_the_warehouse_port_names_every_store_and_the_sql_warehouse_hands_it_out() -> None:
    properties = {name for name, member in vars(ports.Warehouse).items() if isinstance(member, property)}
    assert set(STORES) <= properties
    warehouse = sql.Warehouse("sqlite://")
    try:
        assert {name: type(getattr(warehouse, name)) for name in STORES} == {
            name: implementation for name, (_, implementation) in STORES.items()
        }
    finally:
        warehouse.dispose()


@pytest.mark.parametrize("store", sorted(STORES))
def test_each_sql_store_offers_its_port_with_the_same_parameters(store: str) -> None:
    port, implementation = STORES[store]
    wanted, offered = _methods(port), _methods(implementation)
    assert wanted, f"{port.__name__} names no method"
    assert set(wanted) == set(offered), f"{port.__name__} and {implementation.__name__} differ"
    for name, signature in wanted.items():
        assert str(signature) == str(offered[name]), f"{implementation.__name__}.{name}"


def test_a_service_runs_on_any_warehouse_with_the_ports_shape() -> None:
    """The kill switch's reading of active pauses, on a fake: the service imports no adapter."""
    from safepassage.services.kill_switch import active_pauses

    class FakePushStore:
        def active_pause_reasons(self) -> dict[str, str]:
            return {"PL": "partner asked"}

    class FakeWarehouse:
        push = FakePushStore()

    assert active_pauses(FakeWarehouse()) == {"PL": "partner asked"}  # type: ignore[arg-type]
