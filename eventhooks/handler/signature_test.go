package handler

import (
	"bytes"
	"strings"
	"testing"
)

func TestSignatureKongGoldenVector(t *testing.T) {
	// Kong EE's own test: secret hunter2, body foobar.
	key, err := SigningKey("hunter2")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := KongSignature(key, []byte("foobar")), "sha1=47632029fcc7936dc59ff90b5bb736a44c74ab62"; got != want {
		t.Errorf("KongSignature = %q, want %q", got, want)
	}
}

func TestSignatureStandardWebhooksVector(t *testing.T) {
	// The Standard Webhooks specification's published vector (also in its
	// reference libraries' tests).
	key, err := SigningKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := StandardSignature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("StandardSignature = %q, want %q", got, want)
	}
}

func TestSignatureSigningKey(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		want    []byte
		wantErr bool
	}{
		{name: "free text", secret: "hunter2", want: []byte("hunter2")},
		{name: "empty", secret: "", want: []byte{}},
		{name: "whsec padded", secret: "whsec_aGVsbG8=", want: []byte("hello")},
		{name: "whsec unpadded", secret: "whsec_aGVsbG8", want: []byte("hello")},
		{name: "prefix elsewhere is text", secret: "my whsec_aGVsbG8=", want: []byte("my whsec_aGVsbG8=")},
		{name: "whsec not base64", secret: "whsec_not*base64!", wantErr: true},
		{name: "whsec empty", secret: "whsec_", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SigningKey(tt.secret)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error, key %q", got)
				}
				if rest := strings.TrimPrefix(tt.secret, "whsec_"); rest != "" && strings.Contains(err.Error(), rest) {
					t.Errorf("error %q shows the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("key = %q, want %q", got, tt.want)
			}
		})
	}
}

func BenchmarkSignatures(b *testing.B) {
	key := []byte("hunter2")
	body := bytes.Repeat([]byte("x"), 512)
	b.ReportAllocs()
	for b.Loop() {
		_ = KongSignature(key, body)
		_ = StandardSignature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
	}
}
