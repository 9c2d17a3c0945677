package secretbox

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	sealed := b.Seal([]byte("signing secret"), "key_1")
	tests := []struct {
		name    string
		box     *Box
		sealed  string
		context string
		wantErr bool
	}{
		{"round trip", b, sealed, "key_1", false},
		{"other context", b, sealed, "key_2", true},
		{"other master key", other, sealed, "key_1", true},
		{"no prefix", b, sealed[3:], "key_1", true},
		{"truncated", b, sealed[:10], "key_1", true},
		{"flipped byte", b, sealed[:len(sealed)-2] + "A" + sealed[len(sealed)-1:], "key_1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := tt.box.Open(tt.sealed, tt.context)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Open succeeded, want error")
				}
				return
			}
			if err != nil || string(pt) != "signing secret" {
				t.Fatalf("Open = %q, %v", pt, err)
			}
		})
	}
	if s1, s2 := b.Seal([]byte("x"), "c"), b.Seal([]byte("x"), "c"); s1 == s2 {
		t.Fatal("two seals of the same value are equal: nonce reuse")
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "master.key")
	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created || len(k1) != KeySize {
		t.Fatalf("create: %v %v %d", err, created, len(k1))
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("reload: %v %v", err, created)
	}
	os.Chmod(path, 0o644)
	if _, _, err := LoadOrCreateKeyFile(path); err == nil {
		t.Fatal("a world-readable key file was accepted")
	}
}

func TestParseKey(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", true},
		{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", true},
		{"AAAA", false},
		{"not base64!!", false},
	} {
		_, err := ParseKey(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseKey(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}
