{{- define "dask.resources" -}}
cores: {{ .cores }}
memory: {{ .memory }}
{{- with .threads }}
threads: {{ . }}
{{- end }}
{{- end -}}

{{- define "dask.option" -}}
{{ .name }}:
  type: {{ if kindIs "float64" .spec.default }}Integer{{ else }}String{{ end }}
  min: {{ .spec.min }}
  max: {{ .spec.max }}
  default: {{ .spec.default }}
{{- end -}}

{{- define "dask.workerLine" -}}
{{ .cores }}x{{ .memory }}{{ with .threads }}/{{ . }}t{{ end }}
{{- end -}}
