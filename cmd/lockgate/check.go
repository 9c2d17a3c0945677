package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/lockclient"
)

func newCheck() *cobra.Command {
	c := &cobra.Command{
		Use:     "check",
		Example: `  lockgate check --key-file app.json --issuer https://shop.example.com --user alice --ip 203.0.113.7`,
		Short:   "Ask the lock-check API about a user, as an integration would",
		Long: `Sign a token with an application's key and ask the lock-check API whether a user
is locked, exactly as an integration does, and print the answer.

The key comes from --key-file: a file holding the base64 secret, or the JSON that
'lockgate app create -o json' printed. LOCKGATE_SIGNING_KEY works too.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := requireFlags(c, "issuer", "user"); err != nil {
				return err
			}
			secret, kid, err := signingKey(str(c, "key-file"))
			if err != nil {
				return err
			}
			key, err := lockclient.DecodeKey(secret)
			if err != nil {
				return err
			}
			p, err := newPrinter(c)
			if err != nil {
				return err
			}
			api := str(c, "api")
			if api == "" {
				if api, err = serverURL(c); err != nil {
					return err
				}
			}
			aud := str(c, "audience")
			cl, err := lockclient.New(lockclient.Config{APIURI: api, Audience: aud, Path: str(c, "path"), Issuer: str(c, "issuer"), SigningKey: key, KeyID: kid, Retries: -1})
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d, err := cl.Check(ctx, lockclient.Request{Username: str(c, "user"), UserIP: str(c, "ip"), IntegrationType: "lockgate-cli"})
			if err != nil && strings.HasSuffix(err.Error(), " answered 401") {
				return checkRefused(err, cmp.Or(aud, api), str(c, "issuer"))
			}
			if err != nil {
				return err
			}
			out := map[string]any{"locked": d.Locked, "status": d.Status, "message": d.Message, "sessionID": d.SessionID}
			return p.object(out, func(t *table) {
				t.head("LOCKED", "STATUS", "MESSAGE", "SESSION")
				t.row(fmt.Sprint(d.Locked), d.Status, d.Message, d.SessionID)
			})
		},
	}
	c.Flags().String("server", "", "lock-check API URI, the token's aud (default $LOCKGATE_SERVER, else the configuration's first public URL)")
	c.Flags().String("audience", "", "the token's aud when lockgate's public URL is not the --server address (a port-forward): one of its public_urls (default the --server URL)")
	c.Flags().String("api", "", "lock-check API URI")
	c.Flags().MarkDeprecated("api", "use --server")
	outputFlag(c)
	c.Flags().String("path", lockclient.DefaultPath, "lock-check path")
	c.Flags().String("issuer", "", "the application's issuer URI (iss)")
	c.Flags().String("key-file", "", "file with the signing key secret, or app create's JSON")
	c.Flags().String("user", "", "username (sub)")
	c.Flags().String("ip", "", "the user's IP address")
	return c
}

// checkRefused explains a 401: the lock-check API says only
// "Unauthorized" (telling a client why its token failed would help forge
// the next), so the CLI names what it signed and what can be wrong; the
// server's log has the reason.
func checkRefused(err error, aud, iss string) error {
	return fmt.Errorf("%w: lockgate refused the token. It was signed with iss %s and aud %s; one of these is wrong:\n"+
		"  - aud must be exactly one of lockgate's public URLs (public_urls, LOCKGATE_PUBLIC_URL): when you reach it at another address, pass --audience PUBLIC_URL\n"+
		"  - iss must be one of the application's issuers (lockgate app get APP)\n"+
		"  - the key must be one of the application's signing keys, not revoked\n"+
		"lockgate's log says which (\"lock-check: token rejected\" with the reason)", err, iss, aud)
}

// signingKey reads the secret (and key id when the file is app create's
// JSON) from path, or from LOCKGATE_SIGNING_KEY.
func signingKey(path string) (secret, kid string, err error) {
	if path == "" {
		if v := os.Getenv("LOCKGATE_SIGNING_KEY"); v != "" {
			return v, "", nil
		}
		return "", "", usagef("check: --key-file or LOCKGATE_SIGNING_KEY is required")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	var created struct {
		SigningKey struct {
			ID     string `json:"id"`
			Secret string `json:"secret"`
		} `json:"signing_key"`
	}
	if json.Unmarshal(data, &created) == nil && created.SigningKey.Secret != "" {
		return created.SigningKey.Secret, created.SigningKey.ID, nil
	}
	return strings.TrimSpace(string(data)), "", nil
}
