{{- define "mdb.fullname" -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "mdb.secretName" -}}{{ .Values.auth.existingSecret | default (include "mdb.fullname" .) }}{{- end -}}
{{- define "mdb.password" -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "mdb.secretName" .) -}}
{{- if and $existing $existing.data -}}
{{- index $existing.data "password" -}}
{{- else if .Values.auth.password -}}
{{- .Values.auth.password | b64enc -}}
{{- else -}}
{{- printf "%s:%s" .Release.Name .Release.Namespace | sha256sum | trunc 24 | b64enc -}}
{{- end -}}
{{- end -}}
{{- define "mdb.pod" -}}
{{- $role := .role -}}
{{- $root := .root -}}
metadata:
  labels:
    app.kubernetes.io/name: metadata-db
    app.kubernetes.io/instance: {{ $root.Release.Name }}
    role: {{ $role }}
spec:
  securityContext:
    fsGroup: 999
  containers:
    - name: postgres
      image: postgres:{{ $root.Chart.AppVersion }}
      env:
        - name: POSTGRES_USER
          value: {{ $root.Values.auth.username | quote }}
        - name: POSTGRES_PASSWORD
          valueFrom:
            secretKeyRef: {name: {{ include "mdb.secretName" $root }}, key: password}
        {{- if eq $role "replica" }}
        - name: PRIMARY_HOST
          value: {{ include "mdb.fullname" $root }}-primary
        {{- end }}
      ports: [{name: postgres, containerPort: 5432}]
      volumeMounts:
        - {name: data, mountPath: /var/lib/postgresql/data}
        {{- if eq $role "primary" }}
        - {name: initdb, mountPath: /docker-entrypoint-initdb.d}
        {{- end }}
        {{- if $root.Values.tls.enabled }}
        - {name: tls, mountPath: /tls, readOnly: true}
        {{- end }}
    {{- if $root.Values.metrics.enabled }}
    - name: metrics
      image: {{ $root.Values.metrics.image }}
      env:
        - name: DATA_SOURCE_URI
          value: {{ printf "localhost:5432/%s?sslmode=%s" (first $root.Values.auth.databases) (ternary "require" "disable" $root.Values.tls.enabled) }}
      ports: [{name: metrics, containerPort: 9187}]
    {{- end }}
  volumes:
    {{- if eq $role "primary" }}
    - name: initdb
      secret: {secretName: {{ include "mdb.fullname" $root }}-initdb}
    {{- end }}
    {{- if $root.Values.tls.enabled }}
    - name: tls
      secret: {secretName: {{ required "tls.certSecret is required when tls.enabled" $root.Values.tls.certSecret }}, defaultMode: 0400}
    {{- end }}
{{- end -}}
