#!/usr/bin/env bash
# Runs the system Gradle (4.4.1 on Debian 12; the build scripts also work with Gradle 8).
# If no `gradle` is on PATH, installs Debian's `gradle` package first (apt only, no other
# downloads), then hands every argument to it unchanged.
set -euo pipefail

if ! command -v gradle >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "gradlew: no 'gradle' on PATH and no apt-get to install it; install Gradle 4.4+ and retry" >&2
        exit 1
    fi
    echo "gradlew: no 'gradle' on PATH; installing Debian's gradle package" >&2
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "gradlew: installing gradle needs root or sudo" >&2
            exit 1
        fi
        sudo_cmd=(sudo)
    fi
    "${sudo_cmd[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends gradle
    hash -r
fi

exec gradle "$@"
