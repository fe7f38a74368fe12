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
if [ -f web/package.json ] && [ "${COMMTWIN_NPM_OPTIONAL:-0}" = "1" ] && ! command -v npm >/dev/null 2>&1; then
    # scripts/demo: everything but the page's 3D view works without Node.
    echo "warning: npm not found; the cockpit page needs Node.js 20 + npm for three.js and ECharts (install them and re-run)" >&2
elif [ -f web/package.json ]; then
    web_stamp="web/node_modules/.commtwin-installed"
    web_want="$(cat web/package.json web/package-lock.json 2>/dev/null | sha256sum | cut -c1-64)"
    if [ "$(cat "$web_stamp" 2>/dev/null)" != "$web_want" ]; then
        (cd web && npm ci --no-audit --no-fund --loglevel=error)
        echo "$web_want" > "$web_stamp"
    fi
fi
# Debian packages the tests need: Chromium for browser tests, docker-compose
# (v1, needs no engine) to validate docker-compose.yml.
apt_missing=""
if [ "${COMMTWIN_SKIP_BROWSER:-0}" != "1" ]; then
    command -v chromium >/dev/null 2>&1 || apt_missing="$apt_missing chromium"
    command -v docker-compose >/dev/null 2>&1 || apt_missing="$apt_missing docker-compose"
    # CJK glyphs for the cockpit's Chinese texts in browser-test screenshots.
    [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || apt_missing="$apt_missing fonts-wqy-microhei"
fi
# The broker's own C subscriber: bench/bench_ingest.py's reference for one ingestor.
command -v mosquitto_sub >/dev/null 2>&1 || apt_missing="$apt_missing mosquitto-clients"
# The HTTP load generator of bench/bench_api_live.py and bench/bench_district.py.
command -v wrk >/dev/null 2>&1 || apt_missing="$apt_missing wrk"
if [ -n "$apt_missing" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing Debian packages:$apt_missing"
        apt-get update -qq >/dev/null
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $apt_missing >/dev/null
    else
        echo "missing Debian packages:$apt_missing (browser/compose tests will fail)" >&2
    fi
fi
