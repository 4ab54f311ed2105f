# monitor for {{ .model.name }}
name: {{ .model.name }}-drift
schedule: {{ .root.Values.schedule | quote }}
reference: {{ .root.Values.referenceWindow }}
threshold: {{ .model.driftThreshold }}
features:
{{- range .model.features }}
  - {{ . }}
{{- end }}
