{{/* registry/repository:tag or @digest; tag defaults to the app version. */}}
{{- define "ml-common.image" -}}
{{- $img := .image -}}
{{- $registry := $img.registry | default (dig "imageRegistry" "" (.root.Values.global | default dict)) -}}
{{- $ref := $img.repository -}}
{{- if $registry }}{{ $ref = printf "%s/%s" $registry $ref }}{{ end -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $ref $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref (toString ($img.tag | default .root.Chart.AppVersion)) -}}
{{- end -}}
{{- end -}}

{{- define "ml-common.imagePullSecrets" -}}
{{- $secrets := concat (dig "imagePullSecrets" list (.Values.global | default dict)) (.Values.imagePullSecrets | default list) | uniq -}}
{{- if $secrets }}
imagePullSecrets:
{{- range $secrets }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* GPU scheduling: (dict "gpu" .Values.gpu). */}}
{{- define "ml-common.gpuScheduling" -}}
{{- if and .gpu .gpu.enabled }}
nodeSelector:
  nvidia.com/gpu.present: "true"
  {{- with .gpu.product }}
  nvidia.com/gpu.product: {{ . }}
  {{- end }}
tolerations:
  - key: nvidia.com/gpu
    operator: Exists
    effect: NoSchedule
{{- end }}
{{- end -}}

{{/* Resources merged with the GPU count as request and limit. */}}
{{- define "ml-common.resources" -}}
{{- $res := deepCopy (.resources | default dict) -}}
{{- if and .gpu .gpu.enabled -}}
{{- $limits := get $res "limits" | default dict -}}
{{- $_ := set $limits "nvidia.com/gpu" (.gpu.count | default 1) -}}
{{- $_ := set $res "limits" $limits -}}
{{- end -}}
{{- if $res }}
{{- toYaml $res }}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{- define "ml-common.probe" -}}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
initialDelaySeconds: {{ .delay | default 10 }}
periodSeconds: {{ .period | default 10 }}
{{- with .failureThreshold }}
failureThreshold: {{ . }}
{{- end }}
{{- end -}}

{{- define "ml-common.env" -}}
{{- range $k, $v := . }}
- name: {{ $k }}
  {{- if kindIs "map" $v }}
  valueFrom:
    {{- toYaml $v | nindent 4 }}
  {{- else }}
  value: {{ toString $v | quote }}
  {{- end }}
{{- end }}
{{- end -}}
