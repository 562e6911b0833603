#!/usr/bin/env bash
# Makes a self-signed CA and the deploy gate's serving certificate
# (trustline-gate.trustline-gate.svc), stores them as the trustline-gate-tls
# Secret and puts the CA into both webhook configurations' caBundle.
# The alternative with cert-manager is deploy/cert-manager.yaml.
#
#   deploy/self-signed-cert.sh [--out DIR] [--days N] [--no-apply]
#
# --out DIR     keep ca.crt, tls.crt and tls.key in DIR (default: a
#               temporary directory, removed at the end)
# --days N      validity of both certificates (default 825)
# --no-apply    only write the files; do not call kubectl
#
# Needs openssl (and kubectl unless --no-apply). Run it after
# `kubectl apply -f deploy/gate.yaml` and `-f deploy/webhooks.yaml`; run it
# again to rotate (the server reloads the Secret's files within
# --reload-interval once the kubelet has updated the volume).
set -euo pipefail
ns=trustline-gate
svc=trustline-gate
out=""
days=825
apply=1
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	--days) days=$2; shift 2 ;;
	--no-apply) apply=0; shift ;;
	-h | --help) sed -n '2,19p' "$0"; exit 0 ;;
	*) echo "self-signed-cert.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
if [ -z "$out" ]; then
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
	-subj "/CN=trustline-gate-ca" -keyout "$out/ca.key" -out "$out/ca.crt" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj "/CN=$svc.$ns.svc" -keyout "$out/tls.key" -out "$out/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s.%s.svc,DNS:%s.%s.svc.cluster.local\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n' \
	"$svc" "$ns" "$svc" "$ns" >"$out/ext.cnf"
openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
	-days "$days" -extfile "$out/ext.cnf" -out "$out/tls.crt" 2>/dev/null
rm -f "$out/tls.csr" "$out/ext.cnf" "$out/ca.srl"
echo "certificate for $svc.$ns.svc in $out (valid $days days)" >&2
[ "$apply" = 1 ] || exit 0

kubectl -n "$ns" create secret tls trustline-gate-tls --cert="$out/tls.crt" --key="$out/tls.key" \
	--dry-run=client -o yaml | kubectl apply -f -
ca=$(base64 <"$out/ca.crt" | tr -d '\n')
for kind in validatingwebhookconfiguration mutatingwebhookconfiguration; do
	kubectl patch "$kind" trustline-gate --type=json \
		-p "[{\"op\":\"add\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"$ca\"}]"
done
echo "trustline-gate-tls Secret written; caBundle set on both webhook configurations" >&2
