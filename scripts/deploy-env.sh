# Sourced (not run) by setup-deploy-tools.sh, render-k8s.sh and check-deploy.sh: the pinned versions of the
# deployment tools and where they live, in one place.
# shellcheck shell=bash disable=SC2034  # the variables are read by the scripts that source this file

readonly HELM_VERSION="v3.22.0"
readonly KUBERNETES_VALIDATE_VERSION="1.37.0"
# The Kubernetes version the chart is rendered and validated for (kubernetes-validate bundles schemas for
# 1.25 to 1.37; helm gets the same version through --kube-version).
readonly KUBE_VERSION="${KERNOS_KUBE_VERSION:-1.33.0}"

readonly DEPLOY_CACHE="${KERNOS_CACHE:-$HOME/.cache/kernos}"
readonly HELM="$DEPLOY_CACHE/bin/helm"
readonly DEPLOY_VENV="$DEPLOY_CACHE/venv"
readonly KUBERNETES_VALIDATE="$DEPLOY_VENV/bin/kubernetes-validate"

# What deploy/k8s is rendered from: the chart with the dev values, as release "kernos" in namespace "kernos".
readonly CHART_DIR="helm/kernos"
readonly K8S_DIR="deploy/k8s"
readonly K8S_RELEASE="kernos"
readonly K8S_NAMESPACE="kernos"
readonly K8S_VALUES="$CHART_DIR/values-dev.yaml"
