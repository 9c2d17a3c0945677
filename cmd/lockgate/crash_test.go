package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/store"
	"github.com/lockgate/lockgate/internal/storetest"
)

const crashAdmin = "crash-admin-token-FQibCvofMb6FcjBWgF"

func adminDo(client *http.Client, base, method, path string, in, out any) (int, error) {
	var body bytes.Buffer
	if in != nil {
		json.NewEncoder(&body).Encode(in)
	}
	req, _ := http.NewRequest(method, base+path, &body)
	req.Header.Set("Authorization", "Bearer "+crashAdmin)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode, nil
}

func hs256(secret, iss, aud, sub string) string {
	key, _ := base64.StdEncoding.DecodeString(secret)
	now := time.Now().Unix()
	h, _ := json.Marshal(map[string]string{"alg": "HS256"})
	c, _ := json.Marshal(map[string]any{"iss": iss, "aud": aud, "sub": sub, "iat": now - 60, "exp": now + 300})
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// TestKill9LosesNothingAcknowledged floods a lockgate process with lock
// checks and lock changes, kills it with SIGKILL mid-flight, and checks
// that every acknowledged attempt and change is in the database.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("process crash test")
	}
	for _, backend := range storetest.Backends {
		t.Run(backend, func(t *testing.T) {
			dataDir := t.TempDir()
			dsn := filepath.Join(dataDir, "lockgate.db")
			env := []string{"LOCKGATE_DATA_DIR=" + dataDir, "LOCKGATE_ADMIN_TOKEN=" + crashAdmin}
			if backend == "postgres" {
				dsn = storetest.PostgresSchema(t)
				env = append(env, "LOCKGATE_DATABASE_URL="+dsn)
			}
			addr := freeAddr(t)
			p := startServe(t, addr, env...)
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			var app struct {
				ID         string                  `json:"id"`
				SigningKey struct{ Secret string } `json:"signing_key"`
			}
			if code, err := adminDo(client, p.url(), "POST", "/api/v1/admin/applications", map[string]any{"name": "crash", "issuers": []string{"https://crash.example"}}, &app); code != 201 {
				t.Fatalf("create app: %d %v", code, err)
			}

			var (
				mu       sync.Mutex
				acked    []string        // attempt ids answered 200
				changes  = map[int]int{} // account → acknowledged lock changes
				stop     atomic.Bool
				wg       sync.WaitGroup
				checksOK atomic.Int64
			)
			for w := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tok := hs256(app.SigningKey.Secret, "https://crash.example", p.url(), fmt.Sprintf("user%d", w%4))
					for !stop.Load() {
						req, _ := http.NewRequest("POST", p.url()+"/api/v1/lock-check", bytes.NewReader([]byte(`{"userIP":"203.0.113.9","integrationType":"crash"}`)))
						req.Header.Set("x-nl3-authorization-token", tok)
						resp, err := client.Do(req)
						if err != nil {
							return // the process is gone
						}
						var ans struct{ SessionID string }
						json.NewDecoder(resp.Body).Decode(&ans)
						resp.Body.Close()
						if resp.StatusCode == 200 && ans.SessionID != "" {
							mu.Lock()
							acked = append(acked, ans.SessionID)
							mu.Unlock()
							checksOK.Add(1)
						}
					}
				}()
			}
			for acc := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; !stop.Load(); i++ {
						verb := []string{"lock", "unlock"}[i%2]
						code, err := adminDo(client, p.url(), "POST", fmt.Sprintf("/api/v1/admin/applications/%s/accounts/user%d/%s", app.ID, acc, verb), nil, nil)
						if err != nil {
							return
						}
						if code == 200 {
							mu.Lock()
							changes[acc]++
							mu.Unlock()
						}
					}
				}()
			}
			// Kill once the load is well under way: a thousand checks
			// acknowledged (an event, not a time).
			deadline := time.Now().Add(60 * time.Second)
			for checksOK.Load() < 1000 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if err := p.cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			p.cmd.Wait()
			stop.Store(true)
			wg.Wait()
			if checksOK.Load() < 100 {
				t.Fatalf("only %d checks acknowledged before the kill: the load was too light to mean anything\n%s", checksOK.Load(), p.logs)
			}

			st, err := store.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			stored := map[string]bool{}
			before := ""
			for {
				page, err := st.Attempts(context.Background(), lock.AttemptFilter{Before: before, Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range page {
					stored[a.ID] = true
				}
				if len(page) < 1000 {
					break
				}
				before = page[len(page)-1].ID
			}
			lost := 0
			for _, id := range acked {
				if !stored[id] {
					lost++
				}
			}
			if lost > 0 {
				t.Fatalf("%d of %d acknowledged attempts lost", lost, len(acked))
			}
			totalChanges := 0
			for acc, n := range changes {
				a, err := st.Account(context.Background(), app.ID, fmt.Sprintf("user%d", acc))
				if err != nil {
					t.Fatal(err)
				}
				hist, _ := st.LockHistory(context.Background(), a.ID, 100000)
				// The first lock of an unlocked account is a change; every
				// acknowledged call after it toggles. One unacknowledged call
				// may have committed just before the kill.
				if len(hist) < n || len(hist) > n+1 {
					t.Errorf("user%d: %d changes acknowledged, %d in history", acc, n, len(hist))
				}
				totalChanges += n
			}
			t.Logf("%s: %d acknowledged attempts and %d lock changes, all present after SIGKILL (%d stored attempts)", backend, len(acked), totalChanges, len(stored))
		})
	}
}
