# The partnerflow image: `partnerflow worker` by default, any partnerflow command otherwise.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY models models
COPY migrations migrations
COPY runtime runtime
COPY store store
COPY services services
COPY activities activities
COPY workflows workflows
COPY clients clients
COPY workers workers
COPY api api
COPY web web
COPY devstack devstack
COPY cli cli
RUN pip install . && useradd --system --uid 10001 --home-dir /app partnerflow

USER partnerflow
CMD ["partnerflow", "worker"]
