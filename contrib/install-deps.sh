#!/bin/sh
# install-deps.sh - install what memtop needs to build and test on Debian 12.
set -e
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
	build-essential autoconf automake libtool pkg-config \
	libncurses-dev libunwind-dev liburcu-dev libcmocka-dev libdw-dev \
	python3 valgrind procps util-linux libc-bin \
	sqlite3 git libjemalloc-dev libgoogle-perftools-dev \
	redis-server redis-tools memcached libmemcached-tools \
	chromium tmux zlib1g-dev clang protobuf-compiler >/dev/null
