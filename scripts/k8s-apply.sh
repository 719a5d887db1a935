#!/usr/bin/env bash
# Applies k8s/ with the image given, as `kubectl apply -k`: a throwaway kustomization on top of
# k8s/Kustomization whose `images:` entry points cas-harness at IMAGE, so the manifests keep their
# local tag for `kind load` and the deploy names the image it just pushed.
#   scripts/k8s-apply.sh ghcr.io/you/cas-harness:1.2.3            # to the current kubectl context
#   scripts/k8s-apply.sh ghcr.io/you/cas-harness:1.2.3 --dry-run=server
# Flags after the image go to kubectl apply.
set -euo pipefail
cd "$(dirname "$0")/.."

image=${1:?usage: scripts/k8s-apply.sh REGISTRY/NAME:TAG [kubectl apply flags...]}
shift
name=${image%:*}
tag=${image##*:}
if [ "$name" = "$image" ] || [ -z "$tag" ] || [[ $tag == */* ]]; then
  echo "k8s-apply: the image needs a tag: $image" >&2
  exit 2
fi

# Beside k8s/: kustomize loads resources only from below a kustomization's parent folders.
overlay=$(mktemp -d "$PWD/.k8s-overlay.XXXXXX")
trap 'rm -rf "$overlay"' EXIT
cat >"$overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../k8s
images:
  - name: cas-harness
    newName: $name
    newTag: "$tag"
EOF
kubectl apply -k "$overlay" "$@"
