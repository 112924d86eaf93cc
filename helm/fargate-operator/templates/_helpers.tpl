{{- define "fargate-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "fargate-operator.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "fargate-operator.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "fargate-operator.serviceAccountName" -}}
{{- default (include "fargate-operator.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "fargate-operator.credentialsNamespace" -}}
{{- default .Release.Namespace .Values.credentialsNamespace -}}
{{- end -}}

{{/* What the operator does with its own resources: watch, reconcile (finalizers and its annotations), write
     status, delete finished FargateTasks (ttlSecondsAfterFinished). The adapters' writes are the callers'
     (impersonation, identity-rbac.yaml), so the operator itself creates nothing. */}}
{{- define "fargate-operator.rules" -}}
- apiGroups: ["ecs.fargate.dev"]
  resources: [fargateclusters, fargatetaskdefinitions, fargateservices, fargatetasks]
  verbs: [get, list, watch, patch]
- apiGroups: ["ecs.fargate.dev"]
  resources: [fargatetasks]
  verbs: [delete]
- apiGroups: ["ecs.fargate.dev"]
  resources: [fargateclusters/status, fargatetaskdefinitions/status, fargateservices/status, fargatetasks/status]
  verbs: [get, patch]
- apiGroups: ["events.k8s.io"]
  resources: [events]
  verbs: [create]
# Recently deleted objects' last state, one ConfigMap per namespace (fargate-operator-deleted):
# the front doors answer DRAINING/INACTIVE/STOPPED from it, as ECS does for a while after a delete.
- apiGroups: [""]
  resources: [configmaps]
  verbs: [list, watch, create]
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [fargate-operator-deleted]
  verbs: [get, patch]
{{- end -}}

{{/* The Lease the replicas elect a leader with: named after the release, in its namespace. */}}
{{- define "fargate-operator.leaseName" -}}
{{- include "fargate-operator.fullname" . -}}
{{- end -}}

{{/* Refuse combinations that would run two reconcilers at once, or fence too late. */}}
{{- define "fargate-operator.validate" -}}
{{- $le := .Values.leaderElection -}}
{{- if and (gt (int .Values.replicaCount) 1) (not $le.enabled) -}}
{{- fail "replicaCount > 1 needs leaderElection.enabled=true: without the Lease every replica would reconcile and write to ECS" -}}
{{- end -}}
{{- if and $le.enabled (not (lt (float64 $le.renewDeadline) (float64 $le.leaseDuration))) -}}
{{- fail "leaderElection.renewDeadline must be less than leaderElection.leaseDuration (the difference is the fencing margin)" -}}
{{- end -}}
{{- if and $le.enabled (not (gt (float64 $le.renewDeadline) (mulf 1.2 (float64 $le.retryPeriod)))) -}}
{{- fail "leaderElection.renewDeadline must exceed 1.2 x leaderElection.retryPeriod" -}}
{{- end -}}
{{- end -}}
