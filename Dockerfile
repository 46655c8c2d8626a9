# spanscope collector and dashboard (one image, two commands).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    SPANSCOPE_DATA_DIR=/var/lib/spanscope
WORKDIR /app
COPY pyproject.toml README.md ./
COPY sdk ./sdk
COPY collector ./collector
COPY dashboard ./dashboard
COPY schemas ./schemas
RUN pip install ".[server]" && useradd --system --home /var/lib/spanscope spanscope \
    && mkdir -p /var/lib/spanscope && chown spanscope /var/lib/spanscope
USER spanscope
VOLUME ["/var/lib/spanscope"]
EXPOSE 4318 8501
CMD ["spanscope", "collector", "--host", "0.0.0.0", "--port", "4318"]
