{{- define "vllm.args" -}}
- --model={{ .Values.model.id }}
- --revision={{ .Values.model.revision }}
- --max-model-len={{ int .Values.model.maxModelLen }}
- --dtype={{ .Values.model.dtype }}
- --gpu-memory-utilization={{ printf "%.2f" (float64 .Values.model.gpuMemoryUtilization) }}
{{- if gt (int .Values.tensorParallel) 1 }}
- --tensor-parallel-size={{ .Values.tensorParallel }}
{{- end }}
{{- with .Values.model.quantization }}
- --quantization={{ . | lower }}
{{- end }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}
