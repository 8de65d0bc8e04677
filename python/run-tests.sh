#!/bin/sh
# The Python package's tests (npm run test:python). They need Debian's interpreter and packages;
# on a machine without them this says why and passes, as the other environment-bound tests do.
# .ci/run installs them, so in CI nothing skips.
PY=/usr/bin/python3
cd "$(dirname "$0")" || exit 1
if [ ! -x "$PY" ]; then
  echo "python tests skipped: $PY is missing (apt-get install python3 python3-msgpack python3-fsspec python3-pytest)"
  exit 0
fi
missing=$("$PY" -c "import importlib.util as u; print(' '.join('python3-' + m for m in ('msgpack', 'fsspec', 'pytest') if u.find_spec(m) is None))")
if [ -n "$missing" ]; then
  echo "python tests skipped: $missing not installed (apt-get install $missing; python3-boto3 python3-torch python3-pandas run the rest)"
  exit 0
fi
exec "$PY" -m pytest -q -p no:cacheprovider tests "$@"
