# The ad-platform emulators (Google Ads gRPC + Meta Graph HTTP) on their own, for
# `docker compose --profile emulators`. They are their own package (emulators/) and import nothing of
# SafePassage; the image carries that package and the libraries it uses at the project's locked
# versions. Its ignore file (emulators.Dockerfile.dockerignore) lets in only those.
FROM apache/airflow:3.3.2-python3.11

WORKDIR /opt/emulators
COPY requirements.lock ./
COPY --chown=airflow:0 emulators/pyproject.toml emulators/pyproject.toml
COPY --chown=airflow:0 emulators/ad_emulators/ emulators/ad_emulators/
RUN pip install --no-cache-dir --constraint requirements.lock ./emulators \
    && mkdir -p /opt/airflow/emulators && python -c "import ad_emulators.server"
ENTRYPOINT ["ad-emulators"]
CMD ["serve", "--state", "/opt/airflow/emulators"]
