#!/usr/bin/env bash
# Makes sure Debian's chromium is at /usr/bin/chromium for the dashboard's browser test
# (test/ops/dashboard.browser.test.ts). Idempotent; installs it with apt-get when it is missing
# and this machine can (root, or sudo without a password, and apt-get present). Never fails the
# build: when it cannot install, it says so, and the browser test skips loudly by name.
set -u

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "ensure-chromium: $CHROMIUM is present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: WARNING: $CHROMIUM is absent and apt-get is not available; the dashboard browser test will be SKIPPED" >&2
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "ensure-chromium: WARNING: $CHROMIUM is absent and installing needs root; the dashboard browser test will be SKIPPED" >&2
  exit 0
fi

echo "ensure-chromium: installing Debian's chromium package"
export DEBIAN_FRONTEND=noninteractive
if $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
  echo "ensure-chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
else
  echo "ensure-chromium: WARNING: apt-get could not install chromium; the dashboard browser test will be SKIPPED" >&2
fi
exit 0
