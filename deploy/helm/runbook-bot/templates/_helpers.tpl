{{/* Names and labels shared by every template. */}}
{{- define "runbook-bot.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "runbook-bot.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "runbook-bot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "runbook-bot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "runbook-bot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "runbook-bot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "runbook-bot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "runbook-bot.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "runbook-bot.runbooksConfigMap" -}}
{{- default (printf "%s-runbooks" (include "runbook-bot.fullname" .)) .Values.runbooks.existingConfigMap -}}
{{- end -}}

{{/* The Redis settings as env entries; refuses combinations that cannot work. */}}
{{- define "runbook-bot.redisEnv" -}}
{{- $r := .Values.redis -}}
- name: REDIS_PREFIX
  value: {{ $r.prefix | quote }}
{{- if eq $r.mode "url" }}
{{- if $r.url }}
- name: REDIS_URL
  value: {{ $r.url | quote }}
{{- else if and (not $r.fromSecret) (gt (int .Values.replicaCount) 1) }}
{{- fail "redis.url is empty and redis.fromSecret is false: replicas cannot share a store; set redis.url or put REDIS_URL in existingSecret and set redis.fromSecret=true" }}
{{- end }}
{{- else if eq $r.mode "sentinel" }}
{{- if and (not $r.sentinel.sentinels) (not $r.fromSecret) }}
{{- fail "redis.mode=sentinel needs redis.sentinel.sentinels (host:port of each Sentinel)" }}
{{- end }}
{{- if $r.sentinel.sentinels }}
- name: REDIS_SENTINELS
  value: {{ join "," $r.sentinel.sentinels | quote }}
{{- end }}
- name: REDIS_SENTINEL_MASTER
  value: {{ required "redis.sentinel.master is required in sentinel mode" $r.sentinel.master | quote }}
{{- else if eq $r.mode "cluster" }}
{{- if $r.cluster.url }}
{{- if not (hasPrefix "redis+cluster://" $r.cluster.url) }}
{{- fail "redis.cluster.url must start with redis+cluster://" }}
{{- end }}
- name: REDIS_URL
  value: {{ $r.cluster.url | quote }}
{{- else if not $r.fromSecret }}
{{- fail "redis.mode=cluster needs redis.cluster.url (redis+cluster://host:port) or REDIS_URL in existingSecret with redis.fromSecret=true" }}
{{- end }}
- name: REDIS_CLUSTER
  value: "true"
{{- else }}
{{- fail (printf "redis.mode must be url, sentinel or cluster, not %q" $r.mode) }}
{{- end }}
{{- if not (kindIs "invalid" $r.waitReplicas) }}
- name: REDIS_WAIT_REPLICAS
  value: {{ $r.waitReplicas | int | quote }}
{{- end }}
{{- if not (kindIs "invalid" $r.timerShards) }}
- name: TIMER_SHARDS
  value: {{ $r.timerShards | int | quote }}
{{- end }}
{{- end -}}
