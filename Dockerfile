# perpmon container image: a non-root user, a read-only root file system friendly layout,
# state in /var/lib/perpmon (a volume), config in /etc/perpmon (mounted read-only).
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements/runtime.lock ./requirements/
COPY monitor ./monitor
# the hash-pinned lock first (same bytes as every other build), then perpmon without re-resolving
RUN python -m venv /opt/perpmon \
 && /opt/perpmon/bin/pip install --no-cache-dir --require-hashes -r requirements/runtime.lock \
 && /opt/perpmon/bin/pip install --no-cache-dir --no-deps .

FROM python:3.11-slim-bookworm
RUN groupadd --system perpmon \
 && useradd --system --gid perpmon --home-dir /var/lib/perpmon --shell /usr/sbin/nologin perpmon \
 && install -d -o perpmon -g perpmon -m 0750 /var/lib/perpmon \
 && install -d -m 0755 /etc/perpmon
COPY --from=build /opt/perpmon /opt/perpmon
COPY deploy/compose/perpmon.toml /etc/perpmon/config.toml
ENV PATH=/opt/perpmon/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OPENBLAS_NUM_THREADS=1 \
    OMP_NUM_THREADS=1
USER perpmon:perpmon
WORKDIR /var/lib/perpmon
VOLUME ["/var/lib/perpmon"]
EXPOSE 9108
# /healthz needs no login; over TLS (the compose config) the probe does not check the certificate
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import ssl,urllib.request,sys; sys.exit(urllib.request.urlopen('https://127.0.0.1:9108/healthz', timeout=2, context=ssl._create_unverified_context()).status != 200)"]
ENTRYPOINT ["perpmon"]
CMD ["run", "--config", "/etc/perpmon/config.toml"]
