{{- define "ray.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}{{ .Values.image.suffix }}
{{- end }}

{{- define "ray.params" -}}
{{- range $k, $v := . }}
{{ $k }}: {{ $v | toString | quote }}
{{- end }}
{{- end }}

{{- define "ray.env" -}}
{{- range $k := keys .Values.common.env | sortAlpha }}
- name: {{ $k }}
  value: {{ index $.Values.common.env $k | quote }}
{{- end }}
{{- with .Values.common.containerEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
