{{/* Labels on every object. */}}
{{- define "platform.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: terraforming-platform
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.stage }}
platform.terraforming.io/stage: {{ . | quote }}
{{- end }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* An Argo CD sync wave annotation; the argument is the wave. */}}
{{- define "platform.syncWave" -}}
argocd.argoproj.io/sync-wave: {{ . | quote }}
{{- end }}

{{/* A package reference: <package>:<version>, or <package>@<digest>. */}}
{{- define "platform.packageRef" -}}
{{- if hasPrefix "sha256:" .version -}}
{{ .package }}@{{ .version }}
{{- else -}}
{{ .package }}:{{ .version }}
{{- end -}}
{{- end }}

{{/* Where the test claim goes. */}}
{{- define "platform.testNamespace" -}}
{{ default .Release.Namespace .Values.tests.namespace }}
{{- end }}

{{/* Labels on platform-admission's objects. */}}
{{- define "platform.admissionLabels" -}}
{{ include "platform.labels" . }}
app.kubernetes.io/component: admission-webhook
{{- end }}
