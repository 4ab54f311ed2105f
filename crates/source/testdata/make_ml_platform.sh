#!/usr/bin/env bash
# An ML platform GitOps repository with branches, tags and a symlink.
#
# Produces, in the current directory:
#   work/              a non-bare clone to inspect with `git rev-parse`
#   ml-platform.git    a bare repository to serve (HEAD -> main)
#
# History (main):  c1 (v1.0.0) -- c2 (v1.2.3) -- c3 (v1.2.9, annotated) -- c4 (v2.0.0) -- c5 (v2.1.0-rc.1)
# Branch dev:      forks at c4 with one extra commit.
# refs/pull/7/head: one commit on top of main, on no branch or tag.
set -euo pipefail

git init -q -b main work
cd work

mkdir -p apps/mlflow apps/airflow monitoring
cat > apps/mlflow/deployment.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: mlflow
  namespace: ml-platform
spec:
  replicas: 1
  selector:
    matchLabels: {app: mlflow}
  template:
    metadata:
      labels: {app: mlflow}
    spec:
      containers:
        - name: mlflow
          image: ghcr.io/mlflow/mlflow:v2.9.2
          args: ["server", "--host", "0.0.0.0", "--port", "5000"]
YAML
cat > apps/airflow/values.yaml <<'YAML'
executor: KubernetesExecutor
dags:
  gitSync:
    enabled: true
YAML
git add -A && git commit -q -m "mlflow and airflow"
git tag v1.0.0

cat > monitoring/prometheus-rules.yaml <<'YAML'
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: model-server-latency
spec:
  groups:
    - name: serving
      rules:
        - alert: ModelServerP99High
          expr: histogram_quantile(0.99, rate(request_duration_seconds_bucket[5m])) > 0.5
YAML
git add -A && git commit -q -m "monitoring rules"
git tag v1.2.3

mkdir -p scripts
printf '#!/bin/sh\necho "warming GPU nodes"\n' > scripts/warmup.sh
chmod +x scripts/warmup.sh
git add -A && git commit -q -m "gpu warmup script"
git tag -a v1.2.9 -m "release 1.2.9"

mkdir -p apps/model-server
cat > apps/model-server/deployment.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: triton
  namespace: serving
spec:
  template:
    spec:
      containers:
        - name: triton
          image: nvcr.io/nvidia/tritonserver:24.01-py3
          resources:
            limits:
              nvidia.com/gpu: 1
YAML
ln -s ../mlflow/deployment.yaml apps/model-server/mlflow-link.yaml
ln -s ../../../../etc/passwd apps/model-server/escape-link
git add -A && git commit -q -m "model server with GPU"
git tag v2.0.0
# An unrelated tag that is not a version.
git tag nightly-build

git checkout -q -b dev
echo "replicas: 3" > apps/model-server/dev-overrides.yaml
git add -A && git commit -q -m "dev overrides"

git checkout -q main
echo "# 2.1 preview" > apps/model-server/NOTES.md
git add -A && git commit -q -m "2.1 preview notes"
git tag v2.1.0-rc.1

# A pull-request ref whose commit is on no branch or tag.
git checkout -q --detach main
echo "quantization: int8" > apps/model-server/quantization.yaml
git add -A && git commit -q -m "pr: int8 quantized model"
git update-ref refs/pull/7/head HEAD
git checkout -q main

cd ..
git clone -q --bare work ml-platform.git
git -C work push -q ../ml-platform.git refs/pull/7/head:refs/pull/7/head
