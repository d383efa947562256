# wtg – one image for every service (migration, workers, scheduler, dashboard).
# ffmpeg comes from the imageio-ffmpeg wheel, the fonts from the package (workers/media/fonts):
# no apt packages are needed.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# a fixed, unprivileged user; its uid must be able to read the secret files on the host
RUN groupadd --system --gid 10001 wtg \
 && useradd --system --uid 10001 --gid wtg --home-dir /var/lib/wtg --create-home \
            --shell /usr/sbin/nologin wtg

WORKDIR /src
COPY pyproject.toml README.md ./
COPY config ./config
COPY episodes ./episodes
COPY workers ./workers
COPY scheduler ./scheduler
COPY dashboard ./dashboard
COPY sandbox ./sandbox
COPY wtg ./wtg
RUN pip install . \
 && rm -rf /src \
 && python -c "import imageio_ffmpeg, os; assert os.access(imageio_ffmpeg.get_ffmpeg_exe(), os.X_OK)"

WORKDIR /var/lib/wtg
USER wtg:wtg
# settings: /etc/wtg/wtg.toml (mounted read-only); data, media and rotated tokens: /var/lib/wtg
ENV WTG_CONFIG=/etc/wtg/wtg.toml \
    WTG_VAR_DIR=/var/lib/wtg \
    WTG_MEDIA_ROOT=/var/lib/wtg/media \
    WTG_SECRETS_DIR=/var/lib/wtg/secrets
VOLUME ["/var/lib/wtg"]
EXPOSE 8080
CMD ["wtg", "--help"]
