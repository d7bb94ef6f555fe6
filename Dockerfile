# The SafePassage product image: Apache Airflow 3.3.2 with the project's DAGs, plugin, library and
# campaign files, and the locked dependencies. The emulators (emulators/) and the development helpers
# (dev/) are other packages: nothing here copies them, so no exclusion list is needed. The emulators
# have their own image (deploy/emulators.Dockerfile) for trying the stack with no ad accounts.
FROM apache/airflow:3.3.2-python3.11

ENV SAFEPASSAGE_HOME=/opt/airflow \
    SAFEPASSAGE_DATA_DIR=/opt/airflow/data \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/airflow
COPY --chown=airflow:0 requirements.lock pyproject.toml README.md ./
# The lock is a constraint, not a list: only the product's own dependencies are installed (not the
# dev tools the lock also pins), each at its locked version, Airflow itself included.
COPY --chown=airflow:0 dags/ dags/
RUN pip install --no-cache-dir --constraint requirements.lock --editable . \
    && python -c "import safepassage.orchestration.pools, airflow.providers.celery"
COPY --chown=airflow:0 plugins/ plugins/
COPY --chown=airflow:0 config/ config/
COPY --chown=airflow:0 creatives/ creatives/
COPY --chown=airflow:0 intelligence/ intelligence/
