package secretbox

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
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
		{"v4cFSHrpnn+ip9ZRHnZYglUy7sBJ8rk63iqpnU/2hyk=", true}, // openssl rand -base64 32
		{"v4cFSHrpnn+ip9ZRHnZYglUy7sBJ8rk63iqpnU/2hyk", true},
		{"v4cFSHrpnn-ip9ZRHnZYglUy7sBJ8rk63iqpnU_2hyk", true},
		{"AAAA", false},
		{"not base64!!", false},
		// atk14f F11: the decoded bytes are judged, not only the text.
		{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", false}, // 32 zero bytes
		{base64.StdEncoding.EncodeToString([]byte("change-me-change-me-change-me-12")), false},
		{base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")), false},
		{base64.StdEncoding.EncodeToString([]byte("Zx9#kQ2!mP7$wR4&Zx9#kQ2!mP7$wR4&")), false}, // printable, repeated
		{base64.StdEncoding.EncodeToString([]byte("your-master-key-goes-here-012345")), false},
		{base64.StdEncoding.EncodeToString([]byte("q8F!z2LmX#r9Tv$W1pK@c7Nd^b3Hs&Y6")), true}, // typed, random: ~200 bits
		{base64.StdEncoding.EncodeToString(seq(0, 1)), false},                                 // 0x00, 0x01, … 0x1f
		{base64.StdEncoding.EncodeToString(seq(0xff, -7)), false},                             // down by 7
		{base64.StdEncoding.EncodeToString(append(seq(0x80, 3)[:16], seq(0x80, 3)[:16]...)), false},
	} {
		_, err := ParseKey(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseKey(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

// seq is 32 bytes from first, step apart (mod 256).
func seq(first byte, step int) []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = first + byte(step*i)
	}
	return b
}

// TestRandomKeysAccepted: the weak-key check never refuses a key as
// lockgate or openssl makes one.
func TestRandomKeysAccepted(t *testing.T) {
	for range 20000 {
		k := make([]byte, KeySize)
		rand.Read(k)
		if _, err := ParseKey(base64.StdEncoding.EncodeToString(k)); err != nil {
			t.Fatalf("random key %x refused: %v", k, err)
		}
	}
}
