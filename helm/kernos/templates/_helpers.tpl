{{/*
Names, labels and the shared pod pieces of every Kernos component.
*/}}

{{- define "kernos.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The resource-name prefix. Component names are appended to it ("-model-gateway" is the longest, 14
characters), so it is cut to 49 characters to keep every name within the 63 allowed for labels and Services.
*/}}
{{- define "kernos.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 49 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 49 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 49 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kernos.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "kernos.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The kernel's processes: component name => the values key holding its settings, its entry point in the
image, and its NATS role (the key of its password in the NATS Secret). Every service template ranges over
this, so adding a process is one entry here plus its env in "kernos.componentEnv". The model gateway and the
cockpit are left out when disabled.
*/}}
{{- define "kernos.components" -}}
scheduler:
  valuesKey: scheduler
  entry: services/scheduler/src/main.ts
  natsRole: scheduler
tool-gateway:
  valuesKey: toolGateway
  entry: services/tool-gateway/src/main.ts
  natsRole: tool-gateway
access:
  valuesKey: access
  entry: services/access/src/main.ts
  natsRole: access
graph:
  valuesKey: graph
  entry: services/graph/src/main.ts
  natsRole: graph
worker:
  valuesKey: worker
  entry: workflows/src/main.ts
  natsRole: worker
{{- if .Values.modelGateway.enabled }}
model-gateway:
  valuesKey: modelGateway
  entry: services/model-gateway/src/main.ts
  natsRole: model-gateway
{{- end }}
{{- if .Values.cockpit.enabled }}
cockpit:
  valuesKey: cockpit
  entry: services/cockpit/src/main.ts
  natsRole: cockpit
{{- end }}
{{- end }}

{{/* Labels shared by every resource. */}}
{{- define "kernos.labels" -}}
helm.sh/chart: {{ include "kernos.chart" . }}
app.kubernetes.io/name: {{ include "kernos.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kernos
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component. Call with (dict "root" $ "component" "scheduler"). */}}
{{- define "kernos.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kernos.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* All labels of one component's resources. Call with (dict "root" $ "component" "scheduler"). */}}
{{- define "kernos.componentLabels" -}}
{{ include "kernos.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "kernos.componentFullname" -}}
{{- printf "%s-%s" (include "kernos.fullname" .root) .component }}
{{- end }}

{{/* The ServiceAccount name of one component. Call with (dict "root" $ "component" "scheduler" "values" $values). */}}
{{- define "kernos.serviceAccountName" -}}
{{- if .values.serviceAccount.create }}
{{- default (include "kernos.componentFullname" .) .values.serviceAccount.name }}
{{- else }}
{{- default "default" .values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kernos.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "kernos.configMapName" -}}
{{- printf "%s-config" (include "kernos.fullname" .) }}
{{- end }}

{{- define "kernos.natsSecretName" -}}
{{- if .Values.nats.credentials.create }}
{{- printf "%s-nats" (include "kernos.fullname" .) }}
{{- else }}
{{- required "nats.credentials.existingSecret is required when nats.credentials.create is false: name a Secret with the keys scheduler, tool-gateway, access, graph, worker, model-gateway, cockpit" .Values.nats.credentials.existingSecret }}
{{- end }}
{{- end }}

{{- define "kernos.neo4jSecretName" -}}
{{- if .Values.neo4j.auth.create }}
{{- printf "%s-neo4j" (include "kernos.fullname" .) }}
{{- else }}
{{- required "neo4j.auth.existingSecret is required when neo4j.auth.enabled is true and neo4j.auth.create is false" .Values.neo4j.auth.existingSecret }}
{{- end }}
{{- end }}

{{/* The Secret holding the model gateway's API keys (a JSON list), and its key. */}}
{{- define "kernos.modelGatewayKeysSecret" -}}
{{- default (printf "%s-model-gateway" (include "kernos.fullname" .)) .Values.modelGateway.existingSecret }}
{{- end }}
{{- define "kernos.modelGatewayKeysKey" -}}
{{- if .Values.modelGateway.existingSecret }}{{ .Values.modelGateway.secretKey }}{{ else }}keys.json{{ end }}
{{- end }}

{{/* The Secret holding the cockpit's users (a JSON list), and its key. */}}
{{- define "kernos.cockpitUsersSecret" -}}
{{- default (printf "%s-cockpit" (include "kernos.fullname" .)) .Values.cockpit.existingSecret }}
{{- end }}
{{- define "kernos.cockpitUsersKey" -}}
{{- if .Values.cockpit.existingSecret }}{{ .Values.cockpit.secretKey }}{{ else }}users{{ end }}
{{- end }}

{{/* The Secret holding the bearer tokens of the tool gateway's MCP endpoint (a JSON list), and its key. */}}
{{- define "kernos.mcpTokensSecret" -}}
{{- default (printf "%s-tool-gateway-mcp" (include "kernos.fullname" .)) .Values.toolGateway.mcpEndpoint.existingSecret }}
{{- end }}
{{- define "kernos.mcpTokensKey" -}}
{{- if .Values.toolGateway.mcpEndpoint.existingSecret }}{{ .Values.toolGateway.mcpEndpoint.secretKey }}{{ else }}tokens{{ end }}
{{- end }}

{{- define "kernos.emulatorUrl" -}}
{{- printf "http://%s:%d/v1" (include "kernos.componentFullname" (dict "root" . "component" "model-emulator")) (int .Values.modelEmulator.port) }}
{{- end }}

{{/*
The default endpoint's base URL for the scheduler: scheduler.openaiBaseUrl, else the emulator when it runs.
Empty only when the scheduler has an explicit endpoint list, which then needs no default.
*/}}
{{- define "kernos.openaiBaseUrl" -}}
{{- if .Values.scheduler.openaiBaseUrl }}
{{- .Values.scheduler.openaiBaseUrl }}
{{- else if .Values.modelEmulator.enabled }}
{{- include "kernos.emulatorUrl" . }}
{{- else if not .Values.scheduler.endpoints }}
{{- fail "the scheduler has no model endpoint: set scheduler.endpoints or scheduler.openaiBaseUrl, or enable modelEmulator" }}
{{- end }}
{{- end }}

{{/*
A password that survives upgrades: the given value, else the one already in the live Secret, else a new
random one. `helm template` cannot look the Secret up, so it renders a new random value each time; set
the value (or use an existing Secret) wherever the output must be reproducible.
*/}}
{{- define "kernos.secretValue" -}}
{{- if .value }}
{{- .value | b64enc }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .namespace .secret }}
{{- if and $existing (hasKey ($existing.data | default dict) .key) }}
{{- index $existing.data .key }}
{{- else }}
{{- randAlphaNum 32 | b64enc }}
{{- end }}
{{- end }}
{{- end }}

{{/* An env var read from the chart's ConfigMap. Call with (dict "root" $ "name" "KERNOS_NATS_URL" "key" "KERNOS_NATS_URL"). */}}
{{- define "kernos.configEnv" -}}
- name: {{ .name }}
  valueFrom:
    configMapKeyRef:
      name: {{ include "kernos.configMapName" .root }}
      key: {{ default .name .key }}
{{- end }}

{{/*
The environment of one kernel component: every value comes from the ConfigMap or a Secret, so a config
change shows in the pod template's checksum and no secret is written into a Deployment.
Call with (dict "root" $ "component" "scheduler" "spec" $spec "values" $values).
*/}}
{{- define "kernos.componentEnv" -}}
{{- $root := .root }}
{{- include "kernos.configEnv" (dict "root" $root "name" "KERNOS_NATS_URL") }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_NATS_USER" "key" (printf "KERNOS_NATS_USER.%s" .spec.natsRole)) }}
- name: KERNOS_NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "kernos.natsSecretName" $root }}
      key: {{ .spec.natsRole }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_SHUTDOWN_GRACE_MS") }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_HEALTH_PORT") }}
{{- if has .component (list "scheduler" "access" "cockpit") }}
{{- /* The scheduler signals lease grants, access delivers approval decisions to waiting workflows, and the
cockpit lists and steers runs. */}}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_TEMPORAL_ADDRESS") }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_TEMPORAL_NAMESPACE") }}
{{- end }}
{{- if $root.Values.telemetry.otlpTracesEndpoint }}
{{ include "kernos.configEnv" (dict "root" $root "name" "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") }}
{{- end }}
{{- if eq .component "scheduler" }}
{{- if $root.Values.scheduler.endpoints }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_ENDPOINTS") }}
{{- end }}
{{- if include "kernos.openaiBaseUrl" $root }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_OPENAI_BASE_URL") }}
{{- end }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_LEASE_TTL_MS") }}
{{- else if eq .component "tool-gateway" }}
{{- if $root.Values.toolGateway.toolServers }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_TOOL_SERVERS") }}
{{- end }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_TOOL_TIMEOUT_MS") }}
{{- if $root.Values.toolGateway.connectTimeoutMs }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_TOOL_CONNECT_TIMEOUT_MS") }}
{{- end }}
{{- if $root.Values.toolGateway.policy }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_TOOL_POLICY") }}
{{- end }}
{{- if $root.Values.toolGateway.capabilities }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_TOOL_CAPABILITIES") }}
{{- end }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_TOOL_ACCESS") }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_TOOL_AUDIT") }}
{{- with $root.Values.toolGateway.mcpEndpoint }}
{{- if .enabled }}
{{- /* The tokens are secret; the rest is not. Kubernetes expands $(KERNOS_TOOL_MCP_TOKENS) in the value below
from the variable defined just before it, so the token list never appears in the Deployment. */}}
- name: KERNOS_TOOL_MCP_TOKENS
  valueFrom:
    secretKeyRef:
      name: {{ include "kernos.mcpTokensSecret" $root }}
      key: {{ include "kernos.mcpTokensKey" $root }}
- name: KERNOS_TOOL_MCP_ENDPOINT
  value: {{ printf "{\"host\":\"0.0.0.0\",\"port\":%d,\"path\":%s,\"sessionIdleMs\":%d,\"tokens\":$(KERNOS_TOOL_MCP_TOKENS)}" (int .port) (toJson .path) (int64 .sessionIdleMs) | quote }}
{{- end }}
{{- end }}
{{- else if eq .component "graph" }}
{{- if include "kernos.openaiBaseUrl" $root }}
{{- /* Facts are embedded for search on the same OpenAI-compatible endpoint. */}}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_OPENAI_BASE_URL") }}
{{- end }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_NEO4J_URI") }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_NEO4J_DATABASE") }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_NEO4J_TIMEOUT_MS") }}
{{- if $root.Values.neo4j.auth.enabled }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_NEO4J_USER") }}
- name: KERNOS_NEO4J_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "kernos.neo4jSecretName" $root }}
      key: {{ $root.Values.neo4j.auth.secretKey }}
{{- end }}
{{- else if eq .component "worker" }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_TEMPORAL_ADDRESS") }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_TEMPORAL_NAMESPACE") }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_TASK_QUEUE") }}
{{- with $root.Values.models.apiKey.existingSecret }}
- name: KERNOS_OPENAI_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $root.Values.models.apiKey.secretKey }}
{{- end }}
{{- else if eq .component "model-gateway" }}
# The HTTP endpoint listens on loopback unless told otherwise.
- name: KERNOS_MODEL_GATEWAY_HOST
  value: "0.0.0.0"
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_MODEL_GATEWAY_PORT") }}
# Keys are secrets: main.ts reads them from the mounted Secret rather than from the environment.
- name: KERNOS_MODEL_GATEWAY_KEYS_FILE
  value: /etc/kernos/model-gateway/keys.json
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_MODEL_GATEWAY_LEASE_WAIT_MS") }}
{{- with $root.Values.models.apiKey.existingSecret }}
- name: KERNOS_OPENAI_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $root.Values.models.apiKey.secretKey }}
{{- end }}
{{- else if eq .component "cockpit" }}
# The UI listens on loopback unless told otherwise.
- name: KERNOS_COCKPIT_HOST
  value: "0.0.0.0"
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_COCKPIT_PORT") }}
- name: KERNOS_COCKPIT_USERS
  valueFrom:
    secretKeyRef:
      name: {{ include "kernos.cockpitUsersSecret" $root }}
      key: {{ include "kernos.cockpitUsersKey" $root }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_TASK_QUEUE") }}
{{- if $root.Values.cockpit.onlyTaskQueue }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_COCKPIT_ONLY_TASK_QUEUE" "key" "KERNOS_TASK_QUEUE") }}
{{- end }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_AUDIT_STREAM") }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_COCKPIT_REFRESH_MS") }}
{{- if $root.Values.cockpit.traceUrl }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_TRACE_URL") }}
{{- end }}
{{- if $root.Values.cockpit.prices }}
{{ include "kernos.configEnv" (dict "root" $root "name" "KERNOS_COCKPIT_PRICES") }}
{{- end }}
{{- if $root.Values.telemetry.otlpMetricsEndpoint }}
{{ include "kernos.configEnv" (dict "root" $root "name" "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") }}
{{- end }}
{{- end }}
{{- with .values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The probe timings of one component: the top-level `probes` with the component's own `probes` over them.
Call with (dict "root" $ "values" $values); returns YAML.
*/}}
{{- define "kernos.probeSettings" -}}
{{- $merged := mustMergeOverwrite (deepCopy .root.Values.probes) (deepCopy (.values.probes | default dict)) }}
{{- toYaml $merged }}
{{- end }}

{{/*
Probes on HTTP paths of a named port. Call with (dict "root" $ "values" $values "port" "metrics"
"liveness" "/healthz" "readiness" "/readyz").
*/}}
{{- define "kernos.probes" -}}
{{- $p := include "kernos.probeSettings" . | fromYaml }}
{{- if $p.enabled -}}
startupProbe:
  httpGet:
    path: {{ .liveness }}
    port: {{ .port }}
  {{- toYaml $p.startup | nindent 2 }}
livenessProbe:
  httpGet:
    path: {{ .liveness }}
    port: {{ .port }}
  {{- toYaml $p.liveness | nindent 2 }}
readinessProbe:
  httpGet:
    path: {{ .readiness }}
    port: {{ .port }}
  {{- toYaml $p.readiness | nindent 2 }}
{{- end }}
{{- end }}

{{/*
The pod-spec fields every component shares: scheduling, security and the /tmp volume.
Call with (dict "root" $ "component" "scheduler" "values" $values).
*/}}
{{- define "kernos.podCommon" -}}
serviceAccountName: {{ include "kernos.serviceAccountName" . }}
# The processes never call the Kubernetes API, so no token is mounted.
automountServiceAccountToken: false
# Service links would add a variable per Service in the namespace to the processes' environment.
enableServiceLinks: false
terminationGracePeriodSeconds: {{ .values.terminationGracePeriodSeconds }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ .root.Values.tmpSizeLimit }}
  {{- if eq .component "model-gateway" }}
  - name: keys
    secret:
      secretName: {{ include "kernos.modelGatewayKeysSecret" .root }}
      items:
        - key: {{ include "kernos.modelGatewayKeysKey" .root }}
          path: keys.json
  {{- end }}
{{- end }}

{{/*
Pod template metadata. Kernel processes read their env only at start, so their pods carry a checksum of the
ConfigMap: a changed config rolls them. Call with (dict "root" $ "component" "scheduler" "values" $values
["spec" $spec]).
*/}}
{{- define "kernos.podMetadata" -}}
labels:
  {{- include "kernos.componentLabels" . | nindent 2 }}
  {{- with .values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- $annotations := dict }}
{{- if .spec }}
{{- $_ := set $annotations "checksum/config" (include (print .root.Template.BasePath "/configmap.yaml") .root | sha256sum) }}
{{- /* Keys, users and tokens given in values are read only at start too: a change rolls the pods. */}}
{{- if and (eq .component "model-gateway") (not .root.Values.modelGateway.existingSecret) }}
{{- $_ := set $annotations "checksum/keys" (toJson .root.Values.modelGateway.apiKeys | sha256sum) }}
{{- else if and (eq .component "cockpit") (not .root.Values.cockpit.existingSecret) .root.Values.cockpit.users }}
{{- $_ := set $annotations "checksum/users" (toJson .root.Values.cockpit.users | sha256sum) }}
{{- else if and (eq .component "tool-gateway") .root.Values.toolGateway.mcpEndpoint.enabled (not .root.Values.toolGateway.mcpEndpoint.existingSecret) }}
{{- $_ := set $annotations "checksum/mcp-tokens" (toJson .root.Values.toolGateway.mcpEndpoint.tokens | sha256sum) }}
{{- end }}
{{- end }}
{{- $annotations = mustMerge (deepCopy (.values.podAnnotations | default dict)) $annotations }}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
