// Package secretbox seals secrets at rest with AES-256-GCM under a master
// key, and loads or creates that key.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lockgate/lockgate/internal/config"
)

// KeySize is the master key length: AES-256.
const KeySize = 32

// Box seals and opens values. The zero value is not usable; use New.
type Box struct{ aead cipher.AEAD }

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secretbox: master key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext, binding it to context (for example the row id)
// so a ciphertext copied to another row does not open. The result is
// base64 text: "v1:" + nonce||ciphertext.
func (b *Box) Seal(plaintext []byte, context string) string {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("secretbox: crypto/rand failed: " + err.Error())
	}
	out := b.aead.Seal(nonce, nonce, plaintext, []byte(context))
	return "v1:" + base64.RawStdEncoding.EncodeToString(out)
}

// ErrOpen means a sealed value could not be opened: the wrong master key,
// a different context, or damaged data.
var ErrOpen = errors.New("secretbox: cannot open sealed value (wrong master key or damaged data)")

// Open decrypts a value made by Seal with the same context.
func (b *Box) Open(sealed, context string) ([]byte, error) {
	raw, ok := strings.CutPrefix(sealed, "v1:")
	if !ok {
		return nil, ErrOpen
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, data[:b.aead.NonceSize()], data[b.aead.NonceSize():], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// ParseKey decodes a base64 (standard or URL, padded or not) master key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("master key decodes to %d bytes, want %d", len(k), KeySize)
			}
			// The text was judged (config.Placeholder) where it is
			// configured; the key itself must be random too.
			if reason := config.WeakKey(k); reason != "" {
				return nil, fmt.Errorf("master key is not random: decoded, it %s", reason)
			}
			return k, nil
		}
	}
	return nil, errors.New("master key is not base64")
}

// LoadKeyFile reads and checks the key in path as LoadOrCreateKeyFile
// does, without creating it: a missing file is an error that matches
// os.ErrNotExist. An existing file that others can read is refused: the
// key protects every signing key.
func LoadKeyFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: mode %v lets others read the master key; chmod 600 it", path, fi.Mode().Perm())
	}
	k, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// LoadOrCreateKeyFile reads the key in path (LoadKeyFile), or creates the
// file with a new random key and mode 0600 when it does not exist.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	key, err = LoadKeyFile(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, err
	}
	// O_EXCL: two processes starting at once must not both write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			k, _, err := LoadOrCreateKeyFile(path)
			return k, false, err
		}
		return nil, false, err
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, err
	}
	return key, true, f.Close()
}
