{{/* Names and labels. */}}
{{- define "kube-oidc-proxy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kube-oidc-proxy.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kube-oidc-proxy.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kube-oidc-proxy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kube-oidc-proxy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kube-oidc-proxy.labels" -}}
{{ include "kube-oidc-proxy.selectorLabels" . }}
helm.sh/chart: {{ include "kube-oidc-proxy.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "kube-oidc-proxy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kube-oidc-proxy.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kube-oidc-proxy.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) -}}
{{- end -}}
{{- end -}}

{{/* The serving certificate's Secret: the user's, or the one the chart generates. */}}
{{- define "kube-oidc-proxy.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "kube-oidc-proxy.fullname" .)) .Values.tls.secretName -}}
{{- end -}}

{{/* DNS names of the generated certificate: hostName first (it is the name users dial), then
the Service's names in every form a client inside the cluster may use. */}}
{{- define "kube-oidc-proxy.certDNSNames" -}}
{{- $fullname := include "kube-oidc-proxy.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $names := list -}}
{{- with .Values.tls.hostName }}{{ $names = append $names (toString .) }}{{ end -}}
{{- $names = concat $names (list $fullname (printf "%s.%s" $fullname $ns) (printf "%s.%s.svc" $fullname $ns) (printf "%s.%s.svc.cluster.local" $fullname $ns)) -}}
{{- range .Values.tls.extraDNSNames }}{{ $names = append $names (toString .) }}{{ end -}}
{{- toJson (uniq $names) -}}
{{- end -}}

{{- define "kube-oidc-proxy.certIPAddresses" -}}
{{- $ips := list -}}
{{- range .Values.tls.ipAddresses }}{{ $ips = append $ips (toString .) }}{{ end -}}
{{- with .Values.service.loadBalancerIP }}{{ $ips = append $ips (toString .) }}{{ end -}}
{{- toJson (uniq $ips) -}}
{{- end -}}

{{/* Banyan refresh token: where it comes from, or nothing. */}}
{{- define "kube-oidc-proxy.banyanSecretName" -}}
{{- if .Values.auditProxy.existingSecret -}}
{{- .Values.auditProxy.existingSecret -}}
{{- else if .Values.auditProxy.refreshToken -}}
{{- printf "%s-banyan" (include "kube-oidc-proxy.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "kube-oidc-proxy.banyanSecretKey" -}}
{{- if .Values.auditProxy.existingSecret -}}
{{- .Values.auditProxy.existingSecretKey | default "refresh-token" -}}
{{- else -}}
refresh-token
{{- end -}}
{{- end -}}

{{/* Whether the chart provides the audit policy (a policy file given in extraArgs replaces it). */}}
{{- define "kube-oidc-proxy.auditPolicyManaged" -}}
{{- if and .Values.auditPolicy.enabled (not (hasKey (.Values.extraArgs | default dict) "audit-policy-file")) -}}
true
{{- end -}}
{{- end -}}

{{- define "kube-oidc-proxy.auditPolicyConfigMap" -}}
{{- default (printf "%s-audit" (include "kube-oidc-proxy.fullname" .)) .Values.auditPolicy.existingConfigMap -}}
{{- end -}}

{{/* The audit.k8s.io/v1 Policy document. */}}
{{- define "kube-oidc-proxy.auditPolicy" -}}
apiVersion: audit.k8s.io/v1
kind: Policy
{{- with .Values.auditPolicy.omitStages }}
omitStages:
  {{- toYaml . | nindent 2 }}
{{- end }}
rules:
{{- if .Values.auditPolicy.rules }}
  {{- toYaml .Values.auditPolicy.rules | nindent 2 }}
{{- else }}
  - level: {{ .Values.auditPolicy.level | default "Metadata" }}
{{- end }}
{{- end -}}

{{/* A flag value as the proxy reads it: whole numbers without an exponent. */}}
{{- define "kube-oidc-proxy.flagValue" -}}
{{- if and (kindIs "float64" .) (eq (floor .) .) -}}
{{- int64 . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* Paths inside the container. */}}
{{- define "kube-oidc-proxy.paths" -}}
tlsDir: /etc/kube-oidc-proxy/tls
oidcCADir: /etc/kube-oidc-proxy/oidc-ca
auditPolicyDir: /etc/kube-oidc-proxy/audit
banyanDir: /etc/kube-oidc-proxy/banyan
stateDir: /var/lib/kube-oidc-proxy
{{- end -}}

{{/*
The proxy's arguments, one per line as a YAML list. A flag that extraArgs also names is left to
extraArgs, so a value given there replaces the chart's instead of doubling it.
*/}}
{{- define "kube-oidc-proxy.args" -}}
{{- $paths := include "kube-oidc-proxy.paths" . | fromYaml -}}
{{- $extra := .Values.extraArgs | default dict -}}
{{- $oidc := .Values.oidc -}}
{{- $args := list -}}
{{- $add := dict -}}
{{- $_ := set $add "secure-port" (toString .Values.containerPorts.https) -}}
{{- $_ := set $add "readiness-probe-port" (toString .Values.containerPorts.probe) -}}
{{- $_ := set $add "tls-cert-file" (printf "%s/tls.crt" $paths.tlsDir) -}}
{{- $_ := set $add "tls-private-key-file" (printf "%s/tls.key" $paths.tlsDir) -}}
{{- with .Values.tls.minVersion }}{{ $_ := set $add "tls-min-version" (toString .) }}{{ end -}}
{{- $_ := set $add "oidc-issuer-url" (required "oidc.issuerUrl is required" $oidc.issuerUrl | toString) -}}
{{- $_ := set $add "oidc-client-id" (required "oidc.clientId is required" $oidc.clientId | toString) -}}
{{- with $oidc.usernameClaim }}{{ $_ := set $add "oidc-username-claim" (toString .) }}{{ end -}}
{{- with $oidc.usernamePrefix }}{{ $_ := set $add "oidc-username-prefix" (toString .) }}{{ end -}}
{{- with $oidc.groupsClaim }}{{ $_ := set $add "oidc-groups-claim" (toString .) }}{{ end -}}
{{- with $oidc.groupsPrefix }}{{ $_ := set $add "oidc-groups-prefix" (toString .) }}{{ end -}}
{{- with $oidc.signingAlgs }}{{ $_ := set $add "oidc-signing-algs" (join "," .) }}{{ end -}}
{{- if or $oidc.caPEM $oidc.caSecret }}{{ $_ := set $add "oidc-ca-file" (printf "%s/ca.crt" $paths.oidcCADir) }}{{ end -}}
{{- if .Values.tokenPassthrough.enabled -}}
{{- $_ := set $add "token-passthrough" "true" -}}
{{- with .Values.tokenPassthrough.audiences }}{{ $_ := set $add "token-passthrough-audiences" (join "," .) }}{{ end -}}
{{- end -}}
{{- if .Values.extraImpersonationHeaders.clientIP }}{{ $_ := set $add "extra-user-header-client-ip" "true" }}{{ end -}}
{{- with .Values.extraImpersonationHeaders.headers -}}
{{- $_ := set $add "extra-user-headers" (kindIs "slice" . | ternary (join "," .) (toString .)) -}}
{{- end -}}
{{- if include "kube-oidc-proxy.auditPolicyManaged" . -}}
{{- $_ := set $add "audit-policy-file" (printf "%s/%s" $paths.auditPolicyDir (.Values.auditPolicy.key | default "audit.yaml")) -}}
{{- end -}}
{{- $_ := set $add "audit-spool-dir" (printf "%s/audit" $paths.stateDir) -}}
{{- with .Values.auditSpool.maxBytes }}{{ $_ := set $add "audit-spool-max-bytes" (include "kube-oidc-proxy.flagValue" .) }}{{ end -}}
{{- if include "kube-oidc-proxy.banyanSecretName" . -}}
{{- $_ := set $add "banyan-service-name" (toString .Values.auditProxy.serviceName) -}}
{{- with .Values.auditProxy.restapiUrl }}{{ $_ := set $add "banyan-restapi-url" (toString .) }}{{ end -}}
{{- $_ := set $add "banyan-refresh-token-file" (printf "%s/refresh-token" $paths.banyanDir) -}}
{{- end -}}
{{- /* Emitted in a fixed, readable order rather than the dict's sorted one. */ -}}
{{- $order := list "secure-port" "readiness-probe-port" "tls-cert-file" "tls-private-key-file" "tls-min-version" "oidc-issuer-url" "oidc-client-id" "oidc-ca-file" "oidc-username-claim" "oidc-username-prefix" "oidc-groups-claim" "oidc-groups-prefix" "oidc-signing-algs" "token-passthrough" "token-passthrough-audiences" "extra-user-header-client-ip" "extra-user-headers" "audit-policy-file" "audit-spool-dir" "audit-spool-max-bytes" "banyan-service-name" "banyan-restapi-url" "banyan-refresh-token-file" -}}
{{- range $order -}}
{{- if and (hasKey $add .) (not (hasKey $extra .)) -}}
{{- $args = append $args (printf "--%s=%s" . (get $add .)) -}}
{{- end -}}
{{- if eq . "oidc-signing-algs" -}}
{{- if not (hasKey $extra "oidc-required-claim") -}}
{{- range $k, $v := ($oidc.requiredClaims | default dict) -}}
{{- $args = append $args (printf "--oidc-required-claim=%s=%s" $k (include "kube-oidc-proxy.flagValue" $v)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $name, $value := $extra -}}
{{- if kindIs "invalid" $value -}}
{{- /* null: drop the flag */ -}}
{{- else if and (eq $name "audit-webhook-config-file") (eq (toString $value) "/audit/webhook.yaml") -}}
{{- /* the old chart's sidecar webhook: the Banyan sink runs in process now */ -}}
{{- else if kindIs "slice" $value -}}
{{- range $value }}{{ $args = append $args (printf "--%s=%s" $name (include "kube-oidc-proxy.flagValue" .)) }}{{ end -}}
{{- else -}}
{{- $args = append $args (printf "--%s=%s" $name (include "kube-oidc-proxy.flagValue" $value)) -}}
{{- end -}}
{{- end -}}
{{- toYaml $args -}}
{{- end -}}

{{/*
A byte quantity as the proxy reads --audit-spool-max-bytes (and Kubernetes a sizeLimit): plain
bytes, or a number with Ki, Mi, Gi, Ti, k, M, G or T; a decimal fraction is rounded up to a
byte. Called with (dict "value" ... "what" ...); anything else fails, naming "what".
*/}}
{{- define "kube-oidc-proxy.quantityBytes" -}}
{{- $text := include "kube-oidc-proxy.flagValue" .value | trim -}}
{{- $pattern := `^([0-9]+)(\.([0-9]{1,6}))?(Ki|Mi|Gi|Ti|k|M|G|T)?$` -}}
{{- if not (regexMatch $pattern $text) -}}
{{- fail (printf "%s %q is not a byte quantity: write plain bytes or a number with Ki, Mi or Gi (e.g. 256Mi)" .what $text) -}}
{{- end -}}
{{- $multipliers := dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 -}}
{{- $multiplier := get $multipliers (regexReplaceAll $pattern $text "${4}") -}}
{{- $bytes := mul (atoi (regexReplaceAll $pattern $text "${1}")) $multiplier -}}
{{- $fraction := regexReplaceAll $pattern $text "${3}" -}}
{{- if $fraction -}}
{{- $denominator := atoi (printf "1%s" (repeat (len $fraction) "0")) -}}
{{- $bytes = add $bytes (div (add (mul (atoi $fraction) $multiplier) (sub $denominator 1)) $denominator) -}}
{{- end -}}
{{- $bytes -}}
{{- end -}}

{{/*
The sizeLimit of the emptyDir holding the audit spools. Past it the kubelet evicts the pod,
and the spools (every unsent event) go with it, so it must hold them at their fullest. Each
batching sink (Banyan when --banyan-service-name is set, the webhook when
--audit-webhook-config-file is) keeps its own spool under the spool directory: at most
--audit-spool-max-bytes of events, plus the segment being filled and the next one prepared,
both reserved whole on disk (maxBytes/16, at least 4Ki, at most 8Mi, as AuditShipper sizes
them). Read from the proxy's final arguments, so extraArgs count as the proxy sees them.
auditSpool.sizeLimit empty or "auto": that plus 64Mi of headroom, in Mi. Given: kept, unless it
is smaller than the spools alone, which fails the render.
*/}}
{{- define "kube-oidc-proxy.spoolSizeLimit" -}}
{{- $paths := include "kube-oidc-proxy.paths" . | fromYaml -}}
{{- $flags := dict -}}
{{- range (include "kube-oidc-proxy.args" . | fromYamlArray) -}}
{{- $name := regexReplaceAll `(?s)^--([^=]*)=.*$` . "${1}" -}}
{{- $_ := set $flags $name (trimPrefix (printf "--%s=" $name) .) -}}
{{- end -}}
{{- $spoolDir := printf "%s/audit" $paths.stateDir -}}
{{- if hasKey $flags "audit-spool-dir" }}{{ $spoolDir = get $flags "audit-spool-dir" }}{{ end -}}
{{- $sinks := list -}}
{{- if or (eq $spoolDir $paths.stateDir) (hasPrefix (printf "%s/" $paths.stateDir) $spoolDir) -}}
{{- if get $flags "banyan-service-name" }}{{ $sinks = append $sinks "Banyan" }}{{ end -}}
{{- if get $flags "audit-webhook-config-file" }}{{ $sinks = append $sinks "webhook" }}{{ end -}}
{{- end -}}
{{- $maxText := get $flags "audit-spool-max-bytes" | default "256Mi" -}}
{{- $maxBytes := include "kube-oidc-proxy.quantityBytes" (dict "value" $maxText "what" "audit-spool-max-bytes (auditSpool.maxBytes or extraArgs)") | atoi -}}
{{- $segment := max 4096 (min 8388608 (div $maxBytes 16)) -}}
{{- $need := mul (len $sinks) (add $maxBytes (mul 2 $segment)) -}}
{{- $mi := 1048576 -}}
{{- $auto := printf "%dMi" (div (add $need (mul 64 $mi) (sub $mi 1)) $mi) -}}
{{- $given := include "kube-oidc-proxy.flagValue" (.Values.auditSpool.sizeLimit | default "") -}}
{{- if or (eq $given "") (eq $given "auto") -}}
{{- $auto -}}
{{- else -}}
{{- $givenBytes := include "kube-oidc-proxy.quantityBytes" (dict "value" $given "what" "auditSpool.sizeLimit") | atoi -}}
{{- if lt $givenBytes $need -}}
{{- fail (printf "auditSpool.sizeLimit %s is smaller than the audit spools can take: %d batching sink(s) (%s), each up to audit-spool-max-bytes %s plus two reserved segments, need %dMi; past the limit the kubelet evicts the pod and the unsent events are lost. Raise it, or set it to auto (%s)" $given (len $sinks) (join ", " $sinks) $maxText (div (add $need (sub $mi 1)) $mi) $auto) -}}
{{- end -}}
{{- $given -}}
{{- end -}}
{{- end -}}

{{/* Refuse half-configured releases at render time, with the value to fix. */}}
{{- define "kube-oidc-proxy.validate" -}}
{{- $ap := .Values.auditProxy -}}
{{- if and $ap.refreshToken $ap.existingSecret -}}
{{- fail "auditProxy.refreshToken and auditProxy.existingSecret are exclusive: give the token or the Secret holding it" -}}
{{- end -}}
{{- if and $ap.serviceName (not (include "kube-oidc-proxy.banyanSecretName" .)) -}}
{{- fail "auditProxy.serviceName is set but there is no refresh token: set auditProxy.refreshToken or auditProxy.existingSecret" -}}
{{- end -}}
{{- if and (include "kube-oidc-proxy.banyanSecretName" .) (not $ap.serviceName) -}}
{{- fail "a Banyan refresh token is given but auditProxy.serviceName is empty" -}}
{{- end -}}
{{- if and .Values.oidc.caPEM .Values.oidc.caSecret -}}
{{- fail "oidc.caPEM and oidc.caSecret are exclusive" -}}
{{- end -}}
{{- with .Values.service.cloudProvider -}}
{{- if not (has . (list "aws" "azure" "gcp")) -}}
{{- fail (printf "service.cloudProvider must be aws, azure, gcp or empty (it is %s)" .) -}}
{{- end -}}
{{- end -}}
{{- /* Utilization is measured against the request: without it the autoscaler has no
utilization to read and never scales. With no target at all, autoscaling/v2 scales on CPU. */ -}}
{{- if .Values.autoscaling.enabled -}}
{{- $as := .Values.autoscaling -}}
{{- $resources := .Values.resources | default dict -}}
{{- $onCPU := or $as.targetCPUUtilizationPercentage (not $as.targetMemoryUtilizationPercentage) -}}
{{- if and $onCPU (not (dig "requests" "cpu" "" $resources)) -}}
{{- fail "autoscaling.enabled needs resources.requests.cpu: the autoscaler scales on CPU utilization, a share of the request, and without one it never scales (set e.g. resources.requests.cpu: 100m)" -}}
{{- end -}}
{{- if and $as.targetMemoryUtilizationPercentage (not (dig "requests" "memory" "" $resources)) -}}
{{- fail "autoscaling.targetMemoryUtilizationPercentage needs resources.requests.memory: utilization is a share of the request, and without one the autoscaler never scales" -}}
{{- end -}}
{{- end -}}
{{- if lt (int (.Values.shutdownDelaySeconds | default 0)) 0 -}}
{{- fail "shutdownDelaySeconds must be 0 (no preStop hook) or more" -}}
{{- end -}}
{{- if and .Values.podDisruptionBudget.minAvailable .Values.podDisruptionBudget.maxUnavailable -}}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both" -}}
{{- end -}}
{{- end -}}
