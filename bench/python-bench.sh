#!/bin/sh
# npm run bench:python [-- --samples N --checkpoint-mb M]: the Python client beside its local-disk floors.
PY=/usr/bin/python3
if ! "$PY" -c "import msgpack, fsspec, torch" 2>/dev/null; then
  echo "bench:python skipped: needs $PY with python3-msgpack python3-fsspec python3-torch (apt-get install them)"
  exit 0
fi
exec "$PY" "$(dirname "$0")/python_bench.py" "$@"
