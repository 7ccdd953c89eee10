# QualityGov production image: gunicorn serving Django, static files via whitenoise.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_ENV=production

RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 qualitygov \
    && install -d -o qualitygov -m 700 /var/lib/qualitygov/junit-spool

WORKDIR /app
COPY pyproject.toml README.md ./
COPY qualitygov ./qualitygov
COPY notifications ./notifications
COPY qualitygov_cli ./qualitygov_cli
COPY releases ./releases
COPY defects ./defects
COPY testing ./testing
COPY incidents ./incidents
COPY metrics ./metrics
COPY gates ./gates
COPY measures ./measures
COPY dashboards ./dashboards
COPY demo ./demo
COPY templates ./templates
COPY static ./static
COPY manage.py ./
# Editable install: the code stays in /app next to templates/ and static/ (BASE_DIR), on every entry point's path.
RUN pip install -e . \
    && SECRET_KEY=build-only ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput -v 0

USER qualitygov
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["gunicorn", "qualitygov.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", "--access-logfile", "-"]
