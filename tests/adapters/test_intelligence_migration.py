"""0002_intelligence upgrades and downgrades cleanly on top of 0001_initial."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse.engine import _alembic_config


def test_key_judgement_table_comes_and_goes_with_its_revision(tmp_path):
    warehouse = Warehouse(f"sqlite:///{tmp_path / 'w.sqlite'}")
    warehouse.migrate()
    assert warehouse.current_revision() == Warehouse.head_revision()  # 0004_push now follows 0002
    assert "key_judgement" in inspect(warehouse.engine).get_table_names()
    with warehouse.engine.begin() as connection:
        config = _alembic_config(warehouse.url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0001_initial")
    assert "key_judgement" not in inspect(warehouse.engine).get_table_names()
    assert "targeting_snapshot" in inspect(warehouse.engine).get_table_names()
    warehouse.migrate()
    assert "key_judgement" in inspect(warehouse.engine).get_table_names()
    warehouse.dispose()
