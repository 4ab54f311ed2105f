{{- define "triton.storage" -}}
{{- $base := required "storageUri is required: the bucket that holds the model repository" .root.Values.storageUri -}}
{{- printf "%s/%s" (trimSuffix "/" $base) .model.path -}}
{{- end }}
