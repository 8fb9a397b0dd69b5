#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the project from requirements.lock; with "test", also
# axe-core and, when running as root on Debian, the headless Chromium + CJK font the browser tests use.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"

py=""
for cand in python3.11 python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    py="$cand"; break
  fi
done
if [ -z "$py" ]; then
  echo "error: Python 3.11 is required (apt-get install python3.11 python3.11-venv)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
# Exactly the tested versions, whatever pip the machine starts with: requirements.lock pins every
# dependency (runtime, test and bench tools) with hashes; it is made from pyproject.toml by
#   pip-compile --generate-hashes --allow-unsafe --extra test --extra bench --strip-extras \
#     --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
stamp=".venv/.installed"
if [ ! -f "$stamp" ] || [ requirements.lock -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
  touch "$stamp"
fi

# axe-core (npm registry) for the accessibility test, which is skipped with its reason without it.
if [ "$extras" = "test" ] && [ ! -f .venv/node/node_modules/axe-core/axe.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    npm install --silent --no-audit --no-fund --prefix .venv/node axe-core@4 >/dev/null
  else
    echo "note: npm not found: the axe-core accessibility test will be skipped" >&2
  fi
fi

if [ "$extras" = "test" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium and fonts-wqy-microhei for the browser tests…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  else
    echo "note: /usr/bin/chromium not found and not root: browser tests will be skipped" >&2
  fi
fi
