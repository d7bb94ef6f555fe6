"""The demo reports what each push's review added to publish → updated ads, from the run's task
instances as Airflow's REST API returns them."""

from __future__ import annotations

from safepassage_dev.demo import review_seconds


def _ti(task_id: str, state: str = "success", **times: str) -> dict[str, str]:
    return {
        "task_id": task_id,
        "state": state,
        **{k: f"2022-05-20T06:00:{v}+00:00" for k, v in times.items()},
    }


def test_the_review_lasts_from_the_branch_asking_for_it_to_the_first_apply_queued() -> None:
    run = [
        _ti("needs_review", end_date="04.870"),
        _ti("review_plans", start_date="04.960", end_date="09.050"),
        _ti("apply_without_review", state="skipped", start_date="04.870", end_date="04.870"),
        _ti("apply_meta_account", queued_when="09.300"),
        _ti("apply_account", queued_when="09.100"),
    ]
    assert round(review_seconds(run), 3) == 4.23


def test_a_push_that_applied_without_review_took_none() -> None:
    run = [
        _ti("needs_review", end_date="04.870"),
        _ti("review_plans", state="skipped"),
        _ti("apply_account", queued_when="05.100"),
    ]
    assert review_seconds(run) == 0.0
