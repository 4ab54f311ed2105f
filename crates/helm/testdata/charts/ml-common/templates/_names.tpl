{{/* Chart name, overridable. */}}
{{- define "ml-common.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name: release-chart unless the release already holds it. */}}
{{- define "ml-common.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "ml-common.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A component name: (list $ "scheduler"). */}}
{{- define "ml-common.componentName" -}}
{{- $top := index . 0 -}}
{{- printf "%s-%s" (include "ml-common.fullname" $top) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ml-common.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ml-common.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}
