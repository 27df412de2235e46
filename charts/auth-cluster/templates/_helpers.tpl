{{- define "auth.name" -}}auth-cluster{{- end }}

{{- define "auth.fullname" -}}
{{- if contains "auth-cluster" .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- else -}}{{ printf "%s-auth-cluster" .Release.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end }}

{{- define "auth.labels" -}}
app.kubernetes.io/name: {{ include "auth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "auth.selector" -}}
app.kubernetes.io/name: {{ include "auth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: api
{{- end }}

{{- define "auth.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag }}{{- end }}

{{- define "auth.redisSecret" -}}{{ default (printf "%s-redis" (include "auth.fullname" .)) .Values.redis.existingSecret }}{{- end }}
{{- define "auth.postgresSecret" -}}{{ default (printf "%s-postgres" (include "auth.fullname" .)) .Values.postgres.existingSecret }}{{- end }}
{{- define "auth.postgresSecretKey" -}}{{ if .Values.postgres.existingSecret }}{{ .Values.postgres.existingSecretKey }}{{ else }}password{{ end }}{{- end }}
{{- define "auth.pgbouncerHost" -}}{{ include "auth.fullname" . }}-pgbouncer{{- end }}
{{- define "auth.redisHeadless" -}}{{ include "auth.fullname" . }}-redis{{- end }}

{{- define "auth.postgresHost" -}}
{{- required "postgres.host is required: the address of your PostgreSQL (k8s/postgres.yaml runs one for kind)" .Values.postgres.host -}}
{{- end }}

{{/* Comma list of Sentinel host:port. */}}
{{- define "auth.sentinels" -}}
{{- if .Values.redis.enabled -}}
{{- $parts := list -}}
{{- range $i := until (int .Values.redis.replicas) -}}
{{- $parts = append $parts (printf "%s-redis-%d.%s.%s.svc.cluster.local:26379" (include "auth.fullname" $) $i (include "auth.redisHeadless" $) $.Release.Namespace) -}}
{{- end -}}
{{- join "," $parts -}}
{{- else -}}
{{- required "redis.external.sentinels is required when redis.enabled is false" (join "," .Values.redis.external.sentinels) -}}
{{- end -}}
{{- end }}

{{/* values.config key → the service's environment variable (service/src/config.ts). */}}
{{- define "auth.configEnv" -}}
{{- $map := dict
  "logLevel" "LOG_LEVEL" "accessLogSampleRate" "ACCESS_LOG_SAMPLE_RATE" "accessLogSlowMs" "ACCESS_LOG_SLOW_MS"
  "trustedProxies" "TRUSTED_PROXIES" "shutdownDelayMs" "SHUTDOWN_DELAY_MS"
  "shutdownGraceMs" "SHUTDOWN_GRACE_MS" "readinessCacheMs" "READINESS_CACHE_MS"
  "redisCommandTimeoutMs" "REDIS_COMMAND_TIMEOUT_MS" "dbPoolSize" "DB_POOL_SIZE"
  "dbAcquireTimeoutMs" "DB_ACQUIRE_TIMEOUT_MS" "dbStatementTimeoutMs" "DB_STATEMENT_TIMEOUT_MS"
  "bcryptCost" "BCRYPT_COST" "hashPoolSize" "HASH_POOL_SIZE" "hashQueueMax" "HASH_QUEUE_MAX"
  "hashQueueMaxWaitMs" "HASH_QUEUE_MAX_WAIT_MS" "hashThreadNice" "HASH_THREAD_NICE"
  "loginLookupConcurrency" "LOGIN_LOOKUP_CONCURRENCY" "registration" "REGISTRATION"
  "passwordMinLength" "PASSWORD_MIN_LENGTH" "cookieName" "COOKIE_NAME" "cookieSecure" "COOKIE_SECURE"
  "allowedOrigins" "ALLOWED_ORIGINS" "sessionMaxPerUser" "SESSION_MAX_PER_USER"
  "sessionIdleTimeoutS" "SESSION_IDLE_TIMEOUT_S" "sessionAbsoluteLifetimeS" "SESSION_ABSOLUTE_LIFETIME_S"
  "sessionRefreshIntervalS" "SESSION_REFRESH_INTERVAL_S" "sessionWaitReplicas" "SESSION_WAIT_REPLICAS"
  "sessionWaitTimeoutMs" "SESSION_WAIT_TIMEOUT_MS" "sessionWaitOnTimeout" "SESSION_WAIT_ON_TIMEOUT"
  "sessionStoreFormat" "SESSION_STORE_FORMAT"
  "loginLimitIpMax" "LOGIN_LIMIT_IP_MAX" "loginLimitIpWindowS" "LOGIN_LIMIT_IP_WINDOW_S"
  "loginLimitUserIpMax" "LOGIN_LIMIT_USER_IP_MAX" "loginLimitUserIpWindowS" "LOGIN_LIMIT_USER_IP_WINDOW_S"
  "loginLimitUserMax" "LOGIN_LIMIT_USER_MAX" "loginLimitUserWindowS" "LOGIN_LIMIT_USER_WINDOW_S"
  "wsPingIntervalS" "WS_PING_INTERVAL_S" "wsMaxConnectionsPerUser" "WS_MAX_CONNECTIONS_PER_USER"
  "wsMaxConnections" "WS_MAX_CONNECTIONS" "wsMaxBufferedKb" "WS_MAX_BUFFERED_KB" "demoPage" "DEMO_PAGE"
  "auditBatchSize" "AUDIT_BATCH_SIZE" "auditFlushIntervalMs" "AUDIT_FLUSH_INTERVAL_MS" "auditQueueMax" "AUDIT_QUEUE_MAX"
-}}
{{- range $key, $value := .Values.config }}
{{- $env := required (printf "config.%s maps to no service variable" $key) (get $map $key) }}
{{ $env }}: {{ toString $value | quote }}
{{- end }}
{{- end }}

{{/* Environment shared by the service and the migration Job: credentials and connection URLs. */}}
{{- define "auth.connectionEnv" -}}
- name: DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "auth.postgresSecret" . }}
      key: {{ include "auth.postgresSecretKey" . }}
- name: DATABASE_URL
  value: {{ printf "postgresql://%s:$(DB_PASSWORD)@%s:%d/%s" .Values.postgres.user (include "auth.pgbouncerHost" .) (int .Values.pgbouncer.port) .Values.postgres.database | quote }}
- name: DIRECT_DATABASE_URL
  value: {{ printf "postgresql://%s:$(DB_PASSWORD)@%s:%d/%s" .Values.postgres.user (include "auth.postgresHost" .) (int .Values.postgres.port) .Values.postgres.database | quote }}
- name: REDIS_SENTINELS
  value: {{ include "auth.sentinels" . | quote }}
- name: REDIS_MASTER_NAME
  value: {{ .Values.redis.masterName | quote }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "auth.redisSecret" . }}
      key: redis-password
- name: REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "auth.redisSecret" . }}
      key: sentinel-password
{{- end }}

{{- define "auth.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "auth.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}
