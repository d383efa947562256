#!/usr/bin/env bash
# Start the machine's PostgreSQL and Redis if they are installed but not running.
# The tests need PostgreSQL on 127.0.0.1:5432 (trust auth); Redis is optional (the tests start a
# private embedded server when 127.0.0.1:6379 does not answer).
set -u
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }

if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1; then
  ver=$(ls /etc/postgresql 2>/dev/null | head -n1)
  [ -n "$ver" ] && pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 50); do pg_up && break; sleep 0.2; done
fi
if ! redis_up && command -v redis-server >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp >/dev/null 2>&1 || true
fi
pg_up || echo "WARNUNG: PostgreSQL auf 127.0.0.1:5432 nicht erreichbar; die PostgreSQL-Tests schlagen fehl."
exit 0
