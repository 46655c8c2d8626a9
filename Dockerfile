# spanscope collector and dashboard (one image, two commands).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    SPANSCOPE_DATA_DIR=/var/lib/spanscope
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY sdk ./sdk
COPY collector ./collector
COPY dashboard ./dashboard
COPY schemas ./schemas
# A C compiler only while installing: the ingest path is compiled with mypyc (see setup.py).
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install ".[server]" \
    && apt-get purge -y --auto-remove gcc libc6-dev && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/spanscope spanscope \
    && mkdir -p /var/lib/spanscope && chown spanscope /var/lib/spanscope
USER spanscope
VOLUME ["/var/lib/spanscope"]
EXPOSE 4318 8501
CMD ["spanscope", "collector", "--host", "0.0.0.0", "--port", "4318"]
