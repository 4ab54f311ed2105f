{{/*
Name of the chart, overridable with nameOverride.
*/}}
{{- define "airflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name: the release name, unless it already contains the chart name.
*/}}
{{- define "airflow.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart label value: name-version.
*/}}
{{- define "airflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "airflow.labels" -}}
helm.sh/chart: {{ include "airflow.chart" . }}
app.kubernetes.io/name: {{ include "airflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ml-platform
environment: {{ .Values.environment }}
{{- end }}

{{/*
Selector labels of one component. Call with (dict "root" $ "component" "scheduler").
*/}}
{{- define "airflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "airflow.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
All labels of one component's objects and pods.
*/}}
{{- define "airflow.componentLabels" -}}
{{ include "airflow.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Image reference; the tag defaults to the chart's appVersion.
*/}}
{{- define "airflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Name of the service account the pods run as.
*/}}
{{- define "airflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "airflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Names of the configuration objects.
*/}}
{{- define "airflow.configName" -}}
{{- printf "%s-config" (include "airflow.fullname" .) }}
{{- end }}
{{- define "airflow.secretName" -}}
{{- printf "%s-secrets" (include "airflow.fullname" .) }}
{{- end }}

{{/*
Celery broker URL.
*/}}
{{- define "airflow.brokerUrl" -}}
{{- printf "redis://%s-redis:%d/0" (include "airflow.fullname" .) (int .Values.redis.port) }}
{{- end }}

{{/*
Pod annotations that roll the pods when configuration or secrets change.
*/}}
{{- define "airflow.podAnnotations" -}}
checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secrets: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Environment of every Airflow container: the executor, secrets and extra variables.
*/}}
{{- define "airflow.env" -}}
- name: AIRFLOW__CORE__EXECUTOR
  value: {{ .Values.executor | quote }}
- name: AIRFLOW__CORE__FERNET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "airflow.secretName" . }}
      key: fernet-key
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
  valueFrom:
    secretKeyRef:
      name: {{ include "airflow.secretName" . }}
      key: connection
- name: AIRFLOW__WEBSERVER__SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "airflow.secretName" . }}
      key: webserver-secret-key
{{- if eq .Values.executor "CeleryExecutor" }}
- name: AIRFLOW__CELERY__BROKER_URL
  value: {{ include "airflow.brokerUrl" . | quote }}
- name: AIRFLOW__CELERY__RESULT_BACKEND
  valueFrom:
    secretKeyRef:
      name: {{ include "airflow.secretName" . }}
      key: result-backend
{{- end }}
- name: AIRFLOW_ENVIRONMENT
  value: {{ .Values.environment | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Volumes and mounts shared by the Airflow pods: airflow.cfg and the DAGs.
*/}}
{{- define "airflow.volumes" -}}
- name: config
  configMap:
    name: {{ include "airflow.configName" . }}
- name: dags
  emptyDir: {}
{{- end }}
{{- define "airflow.volumeMounts" -}}
- name: config
  mountPath: /opt/airflow/airflow.cfg
  subPath: airflow.cfg
  readOnly: true
- name: dags
  mountPath: /opt/airflow/dags
  readOnly: true
{{- end }}

{{/*
The git-sync sidecar that keeps the DAGs folder up to date.
*/}}
{{- define "airflow.gitSync" -}}
{{- if .Values.dags.gitSync.enabled }}
- name: git-sync
  image: {{ .Values.dags.gitSync.image }}
  args:
    - --repo={{ .Values.dags.gitSync.repo }}
    - --ref={{ .Values.dags.gitSync.branch }}
    - --root=/git
    - --link=repo
    - --period={{ .Values.dags.gitSync.period }}
  resources:
    requests:
      cpu: 10m
      memory: 32Mi
    limits:
      memory: 128Mi
  volumeMounts:
    - name: dags
      mountPath: /git
{{- end }}
{{- end }}
