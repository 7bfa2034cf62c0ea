#!/bin/sh
# autogen.sh - regenerate the autotools files of a fresh clone.
set -e
cd "$(dirname "$0")"
autoreconf --install --force
