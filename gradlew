#!/usr/bin/env bash
# Runs the system Gradle (4.4.1 on Debian 12; the build scripts also work with Gradle 8).
# If `gradle` (or a JDK's `javac`, which the build needs and Debian's gradle package does not
# pull in) is missing, installs Debian's `gradle` / `default-jdk-headless` packages with apt-get
# first (package registry only, no other downloads), then hands every argument to Gradle.
set -euo pipefail

packages=()
command -v gradle >/dev/null 2>&1 || packages+=(gradle)
command -v javac >/dev/null 2>&1 || packages+=(default-jdk-headless)

if [ "${#packages[@]}" -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "gradlew: missing ${packages[*]} and no apt-get to install them;" \
            "install Gradle 4.4+ and a JDK 11+ and retry" >&2
        exit 1
    fi
    echo "gradlew: installing Debian packages: ${packages[*]}" >&2
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "gradlew: installing ${packages[*]} needs root or sudo" >&2
            exit 1
        fi
        sudo_cmd=(sudo)
    fi
    "${sudo_cmd[@]}" apt-get update
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${packages[@]}"
    hash -r
fi

exec gradle "$@"
