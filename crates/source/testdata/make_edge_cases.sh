#!/usr/bin/env bash
# Trees that stress snapshot writing, plus an empty repository.
#
# Produces, in the current directory:
#   edge.git    one commit: names with spaces and non-ASCII, an empty file, a deep path,
#               a submodule entry (gitlink) without .gitmodules content being fetched
#   empty.git   a bare repository without any commit
set -euo pipefail

git init -q -b main edge-work
cd edge-work
mkdir -p "notebooks/feature store" "a/b/c/d/e"
printf 'import mlflow\n' > "notebooks/feature store/train model.py"
printf 'résumé des métriques\n' > "notebooks/métriques-ü.md"
: > a/b/c/d/e/.keep
printf 'gpu: a100\n' > a/b/c/d/e/node-pool.yaml
git add -A
# A gitlink, as a submodule leaves in the tree.
git update-index --add --cacheinfo 160000,1111111111111111111111111111111111111111,vendor/feast
git commit -q -m "edge cases"
cd ..
git clone -q --bare edge-work edge.git
git init -q --bare -b main empty.git
