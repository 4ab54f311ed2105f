{{- define "proxy.address" -}}
{{ .Release.Name }}-proxy.{{ .Release.Namespace }}:{{ .Values.ports.tcp }}
{{- end -}}
