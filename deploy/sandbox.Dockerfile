# The ad-platform sandbox (Google Ads gRPC + Meta Graph HTTP emulators) on its own, for
# `docker compose --profile sandbox`. It carries the emulators and nothing else of the project:
# `safepassage/__init__.py` (the namespace) and the sandbox package, with the libraries they use at
# the project's locked versions. Its ignore file (sandbox.Dockerfile.dockerignore) lets in only that.
FROM apache/airflow:3.3.2-python3.11

WORKDIR /opt/sandbox
COPY requirements.lock ./
RUN pip install --no-cache-dir --constraint requirements.lock google-ads cryptography pydantic PyYAML babel
# Once the package moves out of dags/ these two lines copy from sandbox/ instead.
COPY --chown=airflow:0 dags/safepassage/__init__.py safepassage/__init__.py
COPY --chown=airflow:0 dags/safepassage/sandbox/ safepassage/sandbox/
ENV PYTHONPATH=/opt/sandbox
RUN mkdir -p /opt/airflow/sandbox && python -c "import safepassage.sandbox.server"
ENTRYPOINT ["python", "-m", "safepassage.sandbox"]
CMD ["serve", "--state", "/opt/airflow/sandbox"]
