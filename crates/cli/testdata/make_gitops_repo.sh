#!/usr/bin/env bash
# A small GitOps repository for the CLI tests, built by real git.
#
# Produces, in the current directory:
#   gitops.git   bare repository with
#     main: apps/serving (plain YAML, replicas follow the release), apps/features (Jsonnet),
#           apps/airflow (a Helm chart folder), envs/prod/values.yaml (for $ref value files),
#           apps/leaky (a symlink pointing outside the repository)
#     tags v1.0.0, v1.2.0, v1.2.5, v2.0.0 and v2.1.0-rc.1 (each changes the `release` value)
#     dev: one commit ahead of main with release "dev"
set -euo pipefail

git init -q -b main work
cd work
git config user.email fixtures@ferrocd.dev
git config user.name fixtures

write_serving() {
  mkdir -p apps/serving
  cat > apps/serving/deployment.yaml <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: model-server
  namespace: serving
  labels:
    release: "$1"
spec:
  replicas: 2
  selector:
    matchLabels: {app: model-server}
  template:
    metadata:
      labels: {app: model-server}
    spec:
      containers:
        - name: server
          image: registry.example.com/ml/model-server:$1
          resources:
            limits:
              nvidia.com/gpu: 1
YAML
  cat > apps/serving/service.yaml <<YAML
apiVersion: v1
kind: Service
metadata:
  name: model-server
  namespace: serving
spec:
  selector: {app: model-server}
  ports:
    - port: 8080
      targetPort: 8080
YAML
}

write_serving 0.9.0
mkdir -p apps/features apps/airflow/templates envs/prod
cat > apps/features/main.jsonnet <<'JSONNET'
local lib = import 'labels.libsonnet';
function(team='ml')
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'features-' + std.extVar('env'), labels: lib.labels(team) },
    data: { shards: std.toString(std.extVar('shards')) },
  }
JSONNET
mkdir -p lib
cat > lib/labels.libsonnet <<'JSONNET'
{ labels(team):: { team: team, 'app.kubernetes.io/part-of': 'feature-store' } }
JSONNET
cat > apps/airflow/Chart.yaml <<'YAML'
apiVersion: v2
name: airflow
version: 1.4.0
YAML
cat > apps/airflow/values.yaml <<'YAML'
scheduler:
  replicas: 1
YAML
cat > apps/airflow/templates/scheduler.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-scheduler
spec:
  replicas: {{ .Values.scheduler.replicas }}
YAML
cat > envs/prod/values.yaml <<'YAML'
scheduler:
  replicas: 3
YAML
mkdir -p apps/mlflow/base apps/mlflow/overlays/prod
cat > apps/mlflow/base/kustomization.yaml <<'YAML'
resources:
  - deployment.yaml
configMapGenerator:
  - name: mlflow-settings
    literals:
      - BACKEND_STORE=postgresql://mlflow@db/mlflow
YAML
cat > apps/mlflow/base/deployment.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: mlflow
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
          image: ghcr.io/example/mlflow:2.14.1
          envFrom:
            - configMapRef: {name: mlflow-settings}
YAML
cat > apps/mlflow/overlays/prod/kustomization.yaml <<'YAML'
resources:
  - ../../base
namePrefix: prod-
replicas:
  - name: mlflow
    count: 2
YAML
mkdir -p apps/leaky
cat > apps/leaky/ok.yaml <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: ok}
YAML
ln -s /etc/hostname apps/leaky/outside.yaml
git add -A
git commit -q -m "initial layout"

for v in 1.0.0 1.2.0 1.2.5 2.0.0 2.1.0-rc.1; do
  write_serving "$v"
  git commit -q -am "release $v"
  git tag "v$v"
done

git checkout -q -b dev
write_serving dev
git commit -q -am "dev build"
git checkout -q main

cd ..
git clone -q --bare work gitops.git
rm -rf work
