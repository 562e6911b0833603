package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustline-dev/trustline/internal/stepcli"
	"github.com/trustline-dev/trustline/internal/stepcli/stepclitest"
	"github.com/trustline-dev/trustline/internal/verify/fixture"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir and
// returns a pool trusting it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "trustline-gate"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(k)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The whole subcommand, as main runs it: flags, HTTPS with the given
// certificate, a verdict for a signed and an unsigned image, the rule
// data reloaded when its file changes, and a graceful stop on SIGTERM
// (the context main cancels) with exit code 0.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	reg, pubFile := pushSigned(t, dir, goodImage)
	ctx := context.Background()
	tt, _ := json.Marshal(map[string]any{"trusted_tasks": fixture.TrustedTasks(time.Now().AddDate(-1, 0, 0), time.Time{})})
	rd := filepath.Join(dir, "rules.json")
	os.WriteFile(rd, tt, 0o644)
	certFile, keyFile, pool := selfSigned(t, dir)
	addr := freeAddr(t)

	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	stderr := &stepclitest.Buffer{}
	code := make(chan int, 1)
	go func() {
		code <- stepcli.RunContext(runCtx, newApp(func(string) string { return "" }), []string{"verify-policy", "serve", "--listen", addr,
			"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--public-key", pubFile, "--rule-data", rd, "--reload-interval", "100ms", "--drain-delay", "1s"}, stderr)
	}()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 30 * time.Second}
	url := "https://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(url + "/readyz")
		if err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v\n%s", err, stderr.String())
		}
		select {
		case c := <-code:
			t.Fatalf("exited %d\n%s", c, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	review := func() (bool, string) {
		t.Helper()
		body := fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},"namespace":"gated","name":"p","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"app","image":"%s/good:latest"}]}}}}`, reg)
		resp, err := client.Post(url+"/validate", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out struct {
			Response struct {
				UID     string `json:"uid"`
				Allowed bool   `json:"allowed"`
				Status  struct {
					Message string `json:"message"`
				} `json:"status"`
			} `json:"response"`
		}
		if err := json.Unmarshal(b, &out); err != nil || out.Response.UID != "u1" {
			t.Fatalf("%s: %s %v", resp.Status, b, err)
		}
		return out.Response.Allowed, out.Response.Status.Message
	}
	if ok, msg := review(); !ok {
		t.Fatalf("signed image denied: %s\n%s", msg, stderr.String())
	}
	// The trusted tasks are withdrawn: after the reload the same image
	// (its verdict was cached) is denied.
	os.WriteFile(rd, []byte(`{"trusted_tasks": {}}`), 0o644)
	for {
		ok, msg := review()
		if !ok {
			if !strings.Contains(msg, "trusted_task") {
				t.Errorf("denial after reload: %s", msg)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rule data not reloaded\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A policy that does not load keeps the previous one.
	os.WriteFile(rd, []byte(`[1]`), 0o644)
	for !strings.Contains(stderr.String(), "policy reload failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload error logged\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ok, _ := review(); ok {
		t.Error("a broken rule data file reset the policy")
	}
	stop(stepcli.ErrStopped)
	// Draining: still answering, no longer ready.
	for drained := false; !drained; {
		resp, err := client.Get(url + "/readyz")
		if err != nil {
			t.Fatalf("/readyz while draining: %v", err)
		}
		resp.Body.Close()
		drained = resp.StatusCode == http.StatusServiceUnavailable
	}
	select {
	case c := <-code:
		if c != 0 || !strings.Contains(stderr.String(), "stopped") {
			t.Errorf("SIGTERM: exit %d\n%s", c, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop")
	}
}

func TestServeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	_, pubFile := newKey(t, dir)
	certFile, keyFile, _ := selfSigned(t, dir)
	for name, args := range map[string][]string{
		"no cert":      {"--public-key", pubFile},
		"missing cert": {"--public-key", pubFile, "--tls-cert-file", filepath.Join(dir, "none.crt"), "--tls-key-file", keyFile},
		"cert as key":  {"--public-key", pubFile, "--tls-cert-file", certFile, "--tls-key-file", certFile},
		"missing key":  {"--public-key", filepath.Join(dir, "none.pub"), "--tls-cert-file", certFile, "--tls-key-file", keyFile, "--listen", "127.0.0.1:0"},
		"bad listen":   {"--public-key", pubFile, "--tls-cert-file", certFile, "--tls-key-file", keyFile, "--listen", "nowhere"},
		"negative":     {"--public-key", pubFile, "--tls-cert-file", certFile, "--tls-key-file", keyFile, "--cache-size", "-1"},
	} {
		code, _, stderr := runApp(t, append([]string{"serve"}, args...)...)
		if code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s", name, code, stderr)
		}
	}
}
