# Production image: the Django app served by gunicorn (web), plus the Celery worker and beat.
# The same image runs all three; docker-compose.yml picks the command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Import the project from /app (with its templates and static files), not the copy pip puts in site-packages.
    PYTHONPATH=/app

# Libraries WeasyPrint needs to render invoices and statements to PDF.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system app && useradd --system --gid app --home-dir /app --no-create-home app

WORKDIR /app

# Dependencies first, exactly as locked (every version pinned, every file's hash checked), so editing the code
# does not reinstall them; then the project itself, whose dependencies are all there already.
COPY requirements/base.txt ./requirements/base.txt
RUN pip install --require-hashes -r requirements/base.txt
COPY pyproject.toml ./
COPY mentoring ./mentoring
COPY sessions_app ./sessions_app
COPY invoicing ./invoicing
COPY notifications ./notifications
COPY privacy ./privacy
RUN pip install --no-deps .

COPY . .
RUN chmod 0755 docker/*.sh \
    && mkdir -p /app/staticfiles /app/media \
    && chown app:app /app/staticfiles /app/media

USER app

# Static files are collected into the image and served by WhiteNoise. The settings refuse to
# start with DEBUG off and no SECRET_KEY/ALLOWED_HOSTS, so the build gives throwaway values;
# the real ones come from the environment at run time.
RUN DEBUG=0 SECRET_KEY=collectstatic-build-only ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --no-input

EXPOSE 8000
CMD ["/app/docker/web.sh"]
