package authz

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/authz/idptest"
	"github.com/lockgate/lockgate/internal/config"
)

// memStore is lockgate's group policy store in memory.
type memStore struct {
	mu    sync.Mutex
	m     map[string]GroupPolicy
	reads int
}

func newMemStore() *memStore { return &memStore{m: map[string]GroupPolicy{}} }

func (s *memStore) GroupPolicy(_ context.Context, g string) (GroupPolicy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	p, ok := s.m[g]
	if !ok {
		return GroupPolicy{}, ErrGroupNotFound
	}
	return p, nil
}

func (s *memStore) GroupPolicies(context.Context) ([]GroupPolicy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []GroupPolicy
	for _, p := range s.m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out, nil
}

func (s *memStore) PutGroupPolicy(_ context.Context, p GroupPolicy) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[p.Group] = p
	return nil
}

func (s *memStore) DeleteGroupPolicy(_ context.Context, g string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[g]; !ok {
		return ErrGroupNotFound
	}
	delete(s.m, g)
	return nil
}

// clock is a time tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// world is the blog's scenario in one process: a Cognito pool double,
// the petstore policy mapped to pet-veterinarian, and an authorizer for
// API a1b2c3d4e5, stage prod.
type world struct {
	idp   *idptest.Cognito
	store *memStore
	clock *clock
	svc   *Service
	az    *Authorizer
	vet   idptest.User
}

const (
	testRegion = "us-east-1"
	testPool   = "us-east-1_PetStore1"
	testClient = "petstoreclient0001"
)

func petstoreConfig(idp *idptest.Cognito) Config {
	cfg := DefaultConfig()
	cfg.Issuers = []IssuerConfig{{Name: "pool", Cognito: &CognitoPool{Region: testRegion, UserPoolID: testPool}, JWKSURL: idp.JWKSURL(), ClientIDs: []string{testClient}}}
	cfg.Authorizers = []AuthorizerConfig{{Name: "petstore", Issuers: []string{"pool"}, Region: testRegion, Account: "123456789012", APIID: "a1b2c3d4e5", Stage: "prod",
		PrincipalTags: map[string]string{"team": "custom:team"}, Headers: HeadersConfig{Claims: map[string]string{"X-Lockgate-Scope": "scope"}}}}
	return cfg
}

func newWorld(t testing.TB, edit ...func(*Config)) *world {
	t.Helper()
	w := &world{idp: idptest.NewCognito(testRegion, testPool, testClient), store: newMemStore(), clock: &clock{t: time.Now().Truncate(time.Second)}}
	t.Cleanup(w.idp.Close)
	w.idp.SetClock(w.clock.Now)
	cfg := petstoreConfig(w.idp)
	for _, e := range edit {
		e(&cfg)
	}
	svc, probs := Provision(cfg, Options{Now: w.clock.Now, Country: func(a netip.Addr) string {
		if netip.MustParsePrefix("192.0.2.0/24").Contains(a) {
			return "US"
		}
		return "FR"
	}})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	svc.SetStore(w.store)
	w.svc, w.az = svc, svc.Authorizer("petstore")
	doc, err := os.ReadFile("testdata/petstore.json")
	if err != nil {
		t.Fatal(err)
	}
	w.store.PutGroupPolicy(context.Background(), GroupPolicy{Group: "pet-veterinarian", Policy: doc})
	w.vet = idptest.User{Sub: "8f2b6a1e-0c1d-4e5f-9a8b-7c6d5e4f3a2b", Username: "cognitouser", Groups: []string{"pet-veterinarian"}}
	return w
}

func (w *world) request(method, path, token string) *http.Request {
	r := httptest.NewRequest(method, "http://api.example.com"+path, nil)
	if token != "" {
		r.Header.Set("Authorization", token)
	}
	return r
}

var (
	inside  = netip.MustParseAddr("192.0.2.10")
	outside = netip.MustParseAddr("203.0.113.9")
)

var _ = config.Duration(0)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }

func nil2() *http.Client { return &http.Client{Timeout: 5 * time.Second} }
