{{- define "wf.name" -}}{{ .Release.Name }}-{{ .Chart.Name | trimSuffix "-engine" }}{{- end -}}
{{- define "wf.labels" -}}
app.kubernetes.io/part-of: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "wf.image" -}}{{ .image.repository }}:{{ .image.tag | default (printf "v%s" .root.Chart.AppVersion) }}{{- end -}}
