{{- define "ml-common.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ml-common.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ml-common.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ml-common.labels" -}}
helm.sh/chart: {{ include "ml-common.chart" . }}
{{ include "ml-common.selectorLabels" . }}
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of one component: (list $ "worker"). */}}
{{- define "ml-common.componentLabels" -}}
{{ include "ml-common.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}
