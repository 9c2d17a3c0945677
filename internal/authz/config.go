package authz

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/problem"
)

// Config is the authz section: the token issuers lockgate trusts, where
// group policies live, and the named authorizers gateway routes use
// (docs/authz.md).
//
// Authorizers are named and referenced by routes (authorizer: NAME)
// rather than written inside each route: several routes of one API share
// one authorizer — its token cache, its JWK sets, its policy cache — and
// the Lambda authorizer reads the same definition, so the gateway's
// section only gains one field.
type Config struct {
	Issuers     []IssuerConfig     `yaml:"issuers"`
	Groups      GroupsConfig       `yaml:"groups"`
	Authorizers []AuthorizerConfig `yaml:"authorizers"`
}

// IssuerConfig is one token issuer: an Amazon Cognito user pool or any
// OpenID Connect issuer.
type IssuerConfig struct {
	Name string `yaml:"name"`
	// Cognito names a user pool: iss is
	// https://cognito-idp.{region}.amazonaws.com/{user_pool_id} and the
	// keys are at iss/.well-known/jwks.json.
	Cognito *CognitoPool `yaml:"cognito"`
	// OIDC is an OpenID Connect issuer URL; its keys are found through its
	// discovery document (/.well-known/openid-configuration).
	OIDC string `yaml:"oidc"`
	// JWKSURL replaces where the keys are fetched (a mirror, a test IdP).
	JWKSURL string `yaml:"jwks_url"`
	// JWKSFile holds the keys instead of fetching them (no network).
	JWKSFile config.Path `yaml:"jwks_file"`
	// Algorithms the issuer signs with; tokens with any other alg are
	// refused. Cognito: RS256 (the default). OIDC: required.
	Algorithms []string `yaml:"algorithms"`
	// TokenUse is the Cognito token accepted: access (default) or id.
	TokenUse string `yaml:"token_use"`
	// ClientIDs are the app clients accepted: Cognito access tokens'
	// client_id, Cognito ID tokens' and OIDC tokens' aud. Required.
	ClientIDs []string `yaml:"client_ids"`
	// UsernameClaim names the user; by default Cognito's username
	// (access) or cognito:username (id), and sub for OIDC.
	UsernameClaim string `yaml:"username_claim"`
	// ClockSkew is how far exp, nbf and iat may be off.
	ClockSkew config.Duration `yaml:"clock_skew"`
	// RefreshUnknownKID is the least time between two fetches of the keys
	// caused by tokens naming a key not held: forged kids cannot make
	// lockgate hammer the IdP, nor wait for it.
	RefreshUnknownKID config.Duration `yaml:"refresh_unknown_kid"`
	// KeysMaxAge is how long fetched keys are used before they are
	// fetched again (a retired key stops verifying).
	KeysMaxAge config.Duration `yaml:"keys_max_age"`
}

// CognitoPool is an Amazon Cognito user pool.
type CognitoPool struct {
	Region     string `yaml:"region"`
	UserPoolID string `yaml:"user_pool_id"`
}

// GroupsConfig says where the group → IAM policy mapping lives.
type GroupsConfig struct {
	// Source is store (lockgate's database, managed with the admin API and
	// `lockgate authz group`), file (a YAML or JSON file of group: policy,
	// for GitOps) or dynamodb (the sample's table: partition key "group",
	// attribute "policy").
	Source   string         `yaml:"source" env:"LOCKGATE_AUTHZ_GROUPS_SOURCE"`
	File     config.Path    `yaml:"file" env:"LOCKGATE_AUTHZ_GROUPS_FILE"`
	DynamoDB DynamoDBConfig `yaml:"dynamodb"`
	// CacheTTL bounds how long a group's compiled policy is reused before
	// it is read again (changes through this lockgate apply at once).
	CacheTTL config.Duration `yaml:"cache_ttl"`
}

// DynamoDBConfig is the DynamoDB table of group policies.
type DynamoDBConfig struct {
	Table string `yaml:"table" env:"LOCKGATE_AUTHZ_DYNAMODB_TABLE"`
	// Region and Endpoint override the AWS SDK's configuration.
	Region   string `yaml:"region"`
	Endpoint string `yaml:"endpoint"`
}

// AuthorizerConfig is one named authorizer: whose tokens it accepts, how
// it builds the execute-api ARN it decides on, and what it passes on.
type AuthorizerConfig struct {
	Name string `yaml:"name"`
	// Issuers names the issuers whose tokens are accepted.
	Issuers []string `yaml:"issuers"`
	// GroupsClaim holds the user's groups (cognito:groups by default).
	GroupsClaim string `yaml:"groups_claim"`
	// The execute-api ARN of a request is
	// arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{METHOD}/{path}.
	Region  string `yaml:"region"`
	Account string `yaml:"account"`
	APIID   string `yaml:"api_id"`
	Stage   string `yaml:"stage"`
	// PrincipalTags become aws:PrincipalTag/{tag} from the named claims.
	PrincipalTags map[string]string `yaml:"principal_tags"`
	// Headers are the identity headers the upstream receives; the same
	// headers sent by the client are removed.
	Headers HeadersConfig `yaml:"headers"`
	// CacheTTL bounds how long a token's compiled policies are kept (its
	// exp bounds it too); decisions are made for every request.
	CacheTTL config.Duration `yaml:"cache_ttl"`
	// MaxTokens bounds the token cache.
	MaxTokens int `yaml:"max_tokens"`
	// LockCheck, when Application is set, refuses users whose account at
	// that lockgate application is locked.
	LockCheck LockCheckConfig `yaml:"lock_check"`
}

// HeadersConfig names the identity headers.
type HeadersConfig struct {
	Principal string `yaml:"principal"`
	Username  string `yaml:"username"`
	Groups    string `yaml:"groups"`
	// Claims maps header names to claims.
	Claims map[string]string `yaml:"claims"`
}

// LockCheckConfig asks the lock service about the user's account.
type LockCheckConfig struct {
	Application string `yaml:"application"`
}

// Defaults.
const (
	DefaultGroupsClaim       = "cognito:groups"
	DefaultCacheTTL          = 300 * time.Second
	DefaultMaxTokens         = 100_000
	DefaultClockSkew         = 30 * time.Second
	DefaultRefreshUnknownKID = 5 * time.Minute
	DefaultKeysMaxAge        = time.Hour
)

// DefaultConfig is the section before the file.
func DefaultConfig() Config {
	return Config{Groups: GroupsConfig{Source: "store", CacheTTL: config.Duration(DefaultCacheTTL)}}
}

// withDefaults fills what the file left out.
func (c IssuerConfig) withDefaults() IssuerConfig {
	if c.Cognito != nil {
		if len(c.Algorithms) == 0 {
			c.Algorithms = []string{"RS256"}
		}
		if c.TokenUse == "" {
			c.TokenUse = "access"
		}
	}
	if c.UsernameClaim == "" {
		switch {
		case c.Cognito != nil && c.TokenUse == "id":
			c.UsernameClaim = "cognito:username"
		case c.Cognito != nil:
			c.UsernameClaim = "username"
		default:
			c.UsernameClaim = "sub"
		}
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = config.Duration(DefaultClockSkew)
	}
	if c.RefreshUnknownKID == 0 {
		c.RefreshUnknownKID = config.Duration(DefaultRefreshUnknownKID)
	}
	if c.KeysMaxAge == 0 {
		c.KeysMaxAge = config.Duration(DefaultKeysMaxAge)
	}
	return c
}

func (c AuthorizerConfig) withDefaults() AuthorizerConfig {
	if c.GroupsClaim == "" {
		c.GroupsClaim = DefaultGroupsClaim
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = config.Duration(DefaultCacheTTL)
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = DefaultMaxTokens
	}
	h := &c.Headers
	if h.Principal == "" {
		h.Principal = "X-Lockgate-Principal"
	}
	if h.Username == "" {
		h.Username = "X-Lockgate-Username"
	}
	if h.Groups == "" {
		h.Groups = "X-Lockgate-Groups"
	}
	return c
}

// Issuer returns the iss of a Cognito pool.
func (p CognitoPool) Issuer() string {
	return "https://cognito-idp." + p.Region + ".amazonaws.com/" + p.UserPoolID
}

var (
	// Cognito's UserPoolId pattern, and AWS region and account forms.
	poolIDPattern  = regexp.MustCompile(`^[\w-]+_[0-9a-zA-Z]+$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	accountPattern = regexp.MustCompile(`^\d{12}$`)
	// API Gateway ids are 10 lower-case alphanumerics; stages
	// alphanumerics, hyphens and underscores (CreateStage).
	apiIDPattern = regexp.MustCompile(`^[a-z0-9]{10}$`)
	stagePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)
)

// Algorithms lockgate verifies.
var algorithms = []string{"RS256", "ES256", "EdDSA"}

// Validate returns every problem of the section, at paths relative to
// it. Files are read by Provision.
func (c Config) Validate() problem.List {
	var probs problem.List
	names := map[string]bool{}
	for i, is := range c.Issuers {
		p := fmt.Sprintf("issuers[%d]", i)
		if is.Name == "" {
			probs.Add(p+".name", "required (authorizers name the issuers they accept)")
		} else if names[is.Name] {
			probs.Addf(p+".name", "%q names two issuers", is.Name)
		}
		names[is.Name] = true
		probs = append(probs, is.validate(p)...)
	}
	probs = append(probs, c.Groups.validate()...)
	seen := map[string]bool{}
	for i, a := range c.Authorizers {
		p := fmt.Sprintf("authorizers[%d]", i)
		if a.Name == "" {
			probs.Add(p+".name", "required (gateway routes name it)")
		} else if seen[a.Name] {
			probs.Addf(p+".name", "%q names two authorizers", a.Name)
		}
		seen[a.Name] = true
		if len(a.Issuers) == 0 {
			probs.Add(p+".issuers", "at least one issuer is required")
		}
		for j, n := range a.Issuers {
			if !names[n] {
				probs.Addf(fmt.Sprintf("%s.issuers[%d]", p, j), "%q is not an issuer of this section%s", n, suggest(n, c.issuerNames()))
			}
		}
		probs = append(probs, a.validate(p)...)
	}
	return probs
}

func (c Config) issuerNames() []string {
	var out []string
	for _, is := range c.Issuers {
		out = append(out, is.Name)
	}
	return out
}

func suggest(s string, known []string) string {
	if len(known) == 0 {
		return ""
	}
	return " (known: " + strings.Join(known, ", ") + ")"
}

func (is IssuerConfig) validate(p string) problem.List {
	var probs problem.List
	switch {
	case is.Cognito == nil && is.OIDC == "":
		probs.Add(p, "set cognito (a user pool) or oidc (an issuer URL)")
	case is.Cognito != nil && is.OIDC != "":
		probs.Add(p, "set cognito or oidc, not both")
	case is.Cognito != nil:
		if !regionPattern.MatchString(is.Cognito.Region) {
			probs.Addf(p+".cognito.region", "%q is not an AWS region (us-east-1)", is.Cognito.Region)
		}
		id := is.Cognito.UserPoolID
		if !poolIDPattern.MatchString(id) || len(id) > 55 {
			probs.Addf(p+".cognito.user_pool_id", "%q is not a user pool id (us-east-1_AbCdEf123)", id)
		} else if is.Cognito.Region != "" && !strings.HasPrefix(id, is.Cognito.Region+"_") {
			probs.Addf(p+".cognito.user_pool_id", "%q is not a pool of region %s", id, is.Cognito.Region)
		}
		switch is.TokenUse {
		case "", "access", "id":
		default:
			probs.Addf(p+".token_use", "%q is not access or id", is.TokenUse)
		}
		for i, a := range is.Algorithms {
			if a != "RS256" {
				probs.Addf(fmt.Sprintf("%s.algorithms[%d]", p, i), "Cognito signs with RS256 only, not %q", a)
			}
		}
	default:
		if msg := keyURLProblem(is.OIDC); msg != "" {
			probs.Addf(p+".oidc", "%q %s", is.OIDC, msg)
		}
		if is.TokenUse != "" {
			probs.Add(p+".token_use", "only for Cognito issuers")
		}
		if len(is.Algorithms) == 0 {
			probs.Addf(p+".algorithms", "required: the algorithms the issuer signs with (%s)", strings.Join(algorithms, ", "))
		}
		for i, a := range is.Algorithms {
			if !slices.Contains(algorithms, a) {
				probs.Addf(fmt.Sprintf("%s.algorithms[%d]", p, i), "%q is not one of %s", a, strings.Join(algorithms, ", "))
			}
		}
	}
	if len(is.ClientIDs) == 0 {
		probs.Add(p+".client_ids", "required: the app clients whose tokens are accepted (client_id or aud)")
	}
	if is.JWKSURL != "" && is.JWKSFile != "" {
		probs.Add(p+".jwks_file", "set jwks_url or jwks_file, not both")
	}
	if is.JWKSURL != "" {
		if msg := keyURLProblem(is.JWKSURL); msg != "" {
			probs.Addf(p+".jwks_url", "%q %s", is.JWKSURL, msg)
		}
	}
	for _, d := range []struct {
		key string
		v   config.Duration
		max time.Duration
	}{{"clock_skew", is.ClockSkew, 5 * time.Minute}, {"refresh_unknown_kid", is.RefreshUnknownKID, 24 * time.Hour}, {"keys_max_age", is.KeysMaxAge, 7 * 24 * time.Hour}} {
		if d.v < 0 || d.v.Std() > d.max {
			probs.Addf(p+"."+d.key, "%s is outside 0 to %s", d.v.Std(), d.max)
		}
	}
	if is.RefreshUnknownKID != 0 && is.RefreshUnknownKID.Std() < time.Second {
		probs.Add(p+".refresh_unknown_kid", "at least 1s: below that, forged key ids would make lockgate hammer the IdP")
	}
	return probs
}

// keyURLProblem says what is wrong with a URL signing keys come from (an
// issuer or a JWK set): it must be https, except on a loopback host (a
// test IdP, a local mirror). Keys fetched over plain http from anywhere
// else can be replaced by anyone on the path, and with them every token.
// OpenID Connect Discovery 1.0 §2: the issuer is "a case-sensitive URL
// using the https scheme".
func keyURLProblem(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http" {
		return "is not an https URL"
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		return "is plain http: keys fetched over it can be replaced on the way; use https (http is accepted only for loopback hosts)"
	}
	return ""
}

func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

func (g GroupsConfig) validate() problem.List {
	var probs problem.List
	switch g.Source {
	case "store", "":
	case "file":
		if g.File == "" {
			probs.Add("groups.file", "required with source: file")
		}
	case "dynamodb":
		t := g.DynamoDB.Table
		if t == "" {
			probs.Add("groups.dynamodb.table", "required with source: dynamodb")
		} else if !tableNamePattern.MatchString(t) {
			probs.Addf("groups.dynamodb.table", "%q is not a DynamoDB table name (3 to 255 of a-z A-Z 0-9 _ - .)", t)
		}
		if e := g.DynamoDB.Endpoint; e != "" {
			if u, err := url.Parse(e); err != nil || u.Host == "" {
				probs.Addf("groups.dynamodb.endpoint", "%q is not a URL", e)
			}
		}
	default:
		probs.Addf("groups.source", "%q is not store, file or dynamodb", g.Source)
	}
	if g.CacheTTL < 0 || g.CacheTTL.Std() > time.Hour {
		probs.Add("groups.cache_ttl", "must be 0 to 1h")
	}
	return probs
}

// DynamoDB's TableName pattern and length (CreateTable).
var tableNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)

func (a AuthorizerConfig) validate(p string) problem.List {
	var probs problem.List
	if !regionPattern.MatchString(a.Region) {
		probs.Addf(p+".region", "%q is not an AWS region (it is part of the execute-api ARN policies match)", a.Region)
	}
	if !accountPattern.MatchString(a.Account) {
		probs.Addf(p+".account", "%q is not a 12-digit AWS account id", a.Account)
	}
	if !apiIDPattern.MatchString(a.APIID) {
		probs.Addf(p+".api_id", "%q is not an API Gateway API id (10 lower-case letters and digits)", a.APIID)
	}
	if !stagePattern.MatchString(a.Stage) {
		probs.Addf(p+".stage", "%q is not a stage name (letters, digits, - and _)", a.Stage)
	}
	if a.CacheTTL < 0 || a.CacheTTL.Std() > time.Hour {
		probs.Add(p+".cache_ttl", "must be 0 to 1h (API Gateway's authorizer cache allows at most 3600s)")
	}
	if a.MaxTokens < 0 {
		probs.Add(p+".max_tokens", "must not be negative")
	}
	headers := map[string]string{}
	addHeader := func(key, h string) {
		if h == "" {
			return
		}
		if !validHeaderName(h) {
			probs.Addf(p+".headers."+key, "%q is not a header name", h)
			return
		}
		n := headerKey(h)
		if prev, ok := headers[n]; ok {
			probs.Addf(p+".headers."+key, "%q is also %s", h, prev)
		}
		if reservedHeader(n) {
			probs.Addf(p+".headers."+key, "%q is a header the gateway or HTTP owns", h)
		}
		headers[n] = key
	}
	addHeader("principal", a.Headers.Principal)
	addHeader("username", a.Headers.Username)
	addHeader("groups", a.Headers.Groups)
	for h, claim := range a.Headers.Claims {
		addHeader("claims."+h, h)
		if claim == "" {
			probs.Addf(p+".headers.claims."+h, "names no claim")
		}
	}
	for tag, claim := range a.PrincipalTags {
		if tag == "" || strings.ContainsAny(tag, "/ ") || len(tag) > 128 {
			probs.Addf(p+".principal_tags", "%q is not a tag key", tag)
		}
		if claim == "" {
			probs.Addf(p+".principal_tags."+tag, "names no claim")
		}
	}
	return probs
}

// validHeaderName reports whether h is an HTTP token.
func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for _, c := range []byte(h) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// headerKey is how an upstream may see a header name: case-insensitive,
// and with _ and - alike (CGI and many servers fold both into HTTP_X_Y).
func headerKey(h string) string {
	return strings.ReplaceAll(strings.ToLower(h), "_", "-")
}

func reservedHeader(k string) bool {
	switch k {
	case "host", "authorization", "cookie", "content-length", "content-type", "transfer-encoding", "connection",
		"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded":
		return true
	}
	return strings.HasPrefix(k, "x-amzn-waf-")
}
