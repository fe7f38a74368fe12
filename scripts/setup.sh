# Sourced by scripts/test and scripts/demo: make the virtualenv, the Python
# packages, the cockpit's npm packages and (for browser tests) Chromium present.
# Each step is skipped when its inputs have not changed since it last ran.
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=".venv/.commtwin-installed"
want="$(sha256sum pyproject.toml | cut -c1-64)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -e '.[dev]'
    echo "$want" > "$stamp"
fi
if [ -f web/package.json ]; then
    web_stamp="web/node_modules/.commtwin-installed"
    web_want="$(cat web/package.json web/package-lock.json 2>/dev/null | sha256sum | cut -c1-64)"
    if [ "$(cat "$web_stamp" 2>/dev/null)" != "$web_want" ]; then
        (cd web && npm ci --no-audit --no-fund --loglevel=error)
        echo "$web_want" > "$web_stamp"
    fi
fi
if [ "${COMMTWIN_SKIP_BROWSER:-0}" != "1" ] && ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing Debian chromium for browser tests"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "chromium not found: browser tests will fail; install Debian's chromium" >&2
    fi
fi
