#!/bin/sh
# The entry point of Bun's official images: a command that is not found on PATH (a script name, a
# file that is not executable) or that starts with a dash is handed to bun; anything else runs as is.
set -e

if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1")" ] || { [ -f "$1" ] && [ ! -x "$1" ]; }; then
  set -- /usr/local/bin/bun "$@"
fi

exec "$@"
