#!/usr/bin/env bash
# Rebuilds the playground bundle (ui/static/playground.js and .css) from
# ui/playground with the versions pinned in package-lock.json. Needs node and
# npm (and the npm registry); "go build" needs neither, as the bundle is
# committed.
set -euo pipefail
cd "$(dirname "$0")/playground"
npm ci --no-audit --no-fund
npm run build
ls -l ../static
