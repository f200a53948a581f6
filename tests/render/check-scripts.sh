#!/bin/bash
# check-scripts.sh GOLDEN_DIR — the shell scripts the renderer puts in the
# ConfigMap (launch.sh, broker-init.sh) must parse (bash -n) and pass
# shellcheck, for every golden shape. Needs node (to read the JSON).
set -euo pipefail
golden="${1:?usage: check-scripts.sh GOLDEN_DIR}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for cm in "$golden"/*/*-configmap-kafka-config.json; do
  shape=$(basename "$(dirname "$cm")")
  node -e '
    const fs = require("fs");
    const data = JSON.parse(fs.readFileSync(process.argv[1], "utf8")).data;
    for (const [k, v] of Object.entries(data))
      if (k.endsWith(".sh")) fs.writeFileSync(`${process.argv[2]}/${process.argv[3]}--${k}`, v);
  ' "$cm" "$tmp" "$shape"
done
for f in "$tmp"/*.sh; do
  bash -n "$f"
  if command -v shellcheck >/dev/null; then shellcheck -s bash "$f"; fi
  n=$((n + 1))
done
echo "check-scripts: $n scripts clean"
[ "$n" -gt 0 ]
