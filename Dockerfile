# saleor-coinpayments: the Saleor payment app for CoinPayments crypto invoices.
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/app/data \
    LOG_FORMAT=json

RUN groupadd --system app && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app

WORKDIR /app
# The locked dependencies first (exact versions, hashes checked; a layer that changes only with the
# lock), then the app itself on top without resolving anything.
COPY requirements/runtime.txt ./requirements/runtime.txt
RUN pip install --no-compile --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY saleor_coinpayments ./saleor_coinpayments
# The pay page's catalogs: compiled here from the .po files (Babel came with the lock), installed with the app.
RUN pybabel compile -d saleor_coinpayments/locale -D messages \
    && pip install --no-compile --no-deps . && mkdir -p /app/data && chown -R app:app /app

USER app
EXPOSE 8000
VOLUME ["/app/data"]

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8000\")}/health/ready', timeout=4)"

CMD ["saleor-coinpayments", "serve"]
