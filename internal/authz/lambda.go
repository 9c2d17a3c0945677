package authz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/lockgate/lockgate/iampolicy"
	"github.com/lockgate/lockgate/internal/config"
)

// LambdaConfig configures `lockgate lambda authorizer` from the
// function's environment: one issuer, the group policies (by default the
// sample's DynamoDB table) and the answer format.
type LambdaConfig struct {
	CognitoRegion string      `env:"LOCKGATE_AUTHZ_COGNITO_REGION"`
	UserPoolID    string      `env:"LOCKGATE_AUTHZ_USER_POOL_ID"`
	OIDCIssuer    string      `env:"LOCKGATE_AUTHZ_OIDC_ISSUER"`
	Algorithms    []string    `env:"LOCKGATE_AUTHZ_ALGORITHMS"`
	ClientIDs     []string    `env:"LOCKGATE_AUTHZ_CLIENT_IDS"`
	TokenUse      string      `env:"LOCKGATE_AUTHZ_TOKEN_USE"`
	UsernameClaim string      `env:"LOCKGATE_AUTHZ_USERNAME_CLAIM"`
	JWKSURL       string      `env:"LOCKGATE_AUTHZ_JWKS_URL"`
	JWKSFile      config.Path `env:"LOCKGATE_AUTHZ_JWKS_FILE"`
	GroupsClaim   string      `env:"LOCKGATE_AUTHZ_GROUPS_CLAIM"`
	// Groups: source dynamodb (LOCKGATE_AUTHZ_DYNAMODB_TABLE) or file.
	Groups GroupsConfig
	// ContextClaims are claims passed to the integration in context, by
	// their own names, beside principalId, username and groups.
	ContextClaims []string `env:"LOCKGATE_AUTHZ_CONTEXT_CLAIMS"`
	// Response is iam (a policy document: REST APIs, and HTTP APIs
	// without simple responses) or simple (HTTP API {"isAuthorized"}).
	Response string `env:"LOCKGATE_AUTHZ_RESPONSE"`
}

// LambdaConfigFromEnv reads the environment (getenv, usually os.Getenv)
// through the same loader as the configuration file.
func LambdaConfigFromEnv(getenv func(string) string) (LambdaConfig, error) {
	c := LambdaConfig{Groups: GroupsConfig{Source: "dynamodb"}, Response: "iam"}
	if _, err := config.Load("", getenv, &c); err != nil {
		return c, err
	}
	if c.CognitoRegion == "" {
		c.CognitoRegion = getenv("AWS_REGION")
	}
	return c, nil
}

// lambdaAuthorizer is the name of the one authorizer a Lambda runs.
const lambdaAuthorizer = "lambda"

// Section turns the environment into an authz section: one issuer "idp"
// and one authorizer. The ARN fields are placeholders: a Lambda decides
// on the ARNs API Gateway sends.
func (c LambdaConfig) Section() (Config, error) {
	if c.Response != "iam" && c.Response != "simple" {
		return Config{}, fmt.Errorf("LOCKGATE_AUTHZ_RESPONSE: %q is not iam or simple", c.Response)
	}
	is := IssuerConfig{Name: "idp", Algorithms: c.Algorithms, ClientIDs: c.ClientIDs, TokenUse: c.TokenUse,
		UsernameClaim: c.UsernameClaim, JWKSURL: c.JWKSURL, JWKSFile: c.JWKSFile}
	switch {
	case c.UserPoolID != "":
		is.Cognito = &CognitoPool{Region: c.CognitoRegion, UserPoolID: c.UserPoolID}
	default:
		is.OIDC = c.OIDCIssuer
	}
	headers := HeadersConfig{}
	return Config{
		Issuers: []IssuerConfig{is},
		Groups:  c.Groups,
		Authorizers: []AuthorizerConfig{{Name: lambdaAuthorizer, Issuers: []string{"idp"}, GroupsClaim: c.GroupsClaim,
			Region: "us-east-1", Account: "000000000000", APIID: "0000000000", Stage: "lambda", Headers: headers}},
	}, nil
}

// LambdaAuthorizer returns the authorizer of a section made by
// LambdaConfig.Section.
func (s *Service) LambdaAuthorizer() *Authorizer { return s.authorizers[lambdaAuthorizer] }

// LambdaEvent is what API Gateway sends a Lambda authorizer: a REST API's
// TOKEN or REQUEST event, or an HTTP API's (payload 2.0).
type LambdaEvent struct {
	Version            string            `json:"version"`
	Type               string            `json:"type"`
	AuthorizationToken string            `json:"authorizationToken"`
	MethodArn          string            `json:"methodArn"`
	RouteArn           string            `json:"routeArn"`
	RawPath            string            `json:"rawPath"`
	IdentitySource     json.RawMessage   `json:"identitySource"`
	Headers            map[string]string `json:"headers"`
	RequestContext     struct {
		AccountID string `json:"accountId"`
		APIID     string `json:"apiId"`
		Stage     string `json:"stage"`
		Identity  struct {
			SourceIP string `json:"sourceIp"`
		} `json:"identity"`
		HTTP struct {
			Method   string `json:"method"`
			Path     string `json:"path"`
			SourceIP string `json:"sourceIp"`
		} `json:"http"`
	} `json:"requestContext"`
}

// PolicyResponse is a REST or HTTP API authorizer's IAM-policy answer.
type PolicyResponse struct {
	PrincipalID    string         `json:"principalId"`
	PolicyDocument PolicyDocument `json:"policyDocument"`
	Context        map[string]any `json:"context,omitempty"`
}

// PolicyDocument is the policy API Gateway evaluates (and caches, for
// the cache key's TTL, against every method of the API).
type PolicyDocument struct {
	Version   string           `json:"Version"`
	Statement []map[string]any `json:"Statement"`
}

// SimpleResponse is an HTTP API authorizer's simple answer.
type SimpleResponse struct {
	IsAuthorized bool           `json:"isAuthorized"`
	Context      map[string]any `json:"context,omitempty"`
}

// ErrLambdaUnauthorized is the error a REST authorizer returns for API
// Gateway to answer 401 {"message":"Unauthorized"}: its message must be
// exactly "Unauthorized".
var ErrLambdaUnauthorized = errors.New("Unauthorized")

// Lambda answers one authorizer event. A token that does not verify is
// ErrLambdaUnauthorized (simple: isAuthorized false); a store or policy
// failure is another error, which API Gateway answers with 500.
//
// The IAM answer holds the statements of the user's group policies that
// can apply to execute-api:Invoke on this API — never a policy for the
// method asked about only: API Gateway caches the answer under the token
// and applies it to every method the token is used for. Simple answers
// (HTTP APIs) are decided here for the route asked; their cache must be
// off (the template sets a TTL of 0).
func (a *Authorizer) Lambda(ctx context.Context, ev LambdaEvent, simple bool) (any, error) {
	tok := ev.token()
	e, err := a.entry(ctx, bearer(tok))
	if errors.Is(err, ErrUnauthorized) {
		if simple {
			return SimpleResponse{IsAuthorized: false}, nil
		}
		return nil, ErrLambdaUnauthorized
	}
	if err != nil {
		return nil, err
	}
	if e.err != nil {
		return nil, e.err
	}
	arnStr := ev.MethodArn
	if arnStr == "" {
		arnStr = ev.RouteArn
	}
	arn, err := parseExecuteAPIARN(arnStr)
	if err != nil {
		return nil, err
	}
	cctx := map[string]any{"principalId": e.id.Subject, "username": e.id.Username, "groups": headerList(e.id.Groups)}
	for _, name := range a.contextClaims {
		if v, ok := e.id.Claims[name]; ok {
			cctx[name] = v
		}
	}
	if simple {
		h := ev.RequestContext.HTTP
		if !canonicalMethod(h.Method) || !ev.canonicalPath() {
			// As the gateway answers 400: a path an upstream could read
			// as another (petstore/v1/../v2/pets) is never decided on.
			return SimpleResponse{IsAuthorized: false, Context: cctx}, nil
		}
		resource := fmt.Sprintf("arn:%s:execute-api:%s:%s:%s/%s/%s%s", arn.partition, arn.region, arn.account, arn.apiID, ev.RequestContext.Stage, h.Method, h.Path)
		now := a.svc.now()
		client, _ := netip.ParseAddr(h.SourceIP)
		req := iampolicy.Request{Action: "execute-api:Invoke", Resource: resource, Context: a.context(e.id, client.Unmap(), now, true), Time: now}
		ok := e.set.Evaluate(&req).Decision == iampolicy.Allowed
		return SimpleResponse{IsAuthorized: ok, Context: cctx}, nil
	}
	doc := PolicyDocument{Version: iampolicy.Version2012}
	for i, raw := range e.docs {
		st, err := scopeStatements(strings.TrimPrefix(e.set.Identity[i].Name, "group/"), raw, arn, e.id)
		if err != nil {
			return nil, err
		}
		doc.Statement = append(doc.Statement, st...)
	}
	if len(doc.Statement) == 0 {
		// No group policy applies: deny the whole API (a policy must
		// hold a statement; a deny of every method is cache-safe).
		doc.Statement = []map[string]any{{"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": arn.api() + "/*"}}
	}
	return PolicyResponse{PrincipalID: e.id.Subject, PolicyDocument: doc, Context: cctx}, nil
}

// canonicalPath reports whether an HTTP API event's path is canonical
// as the gateway requires (request.go): requestContext.http.path and
// rawPath, each read as a backend would decode it, and both naming the
// same path — so that %2e%2e, which a backend reads as .., is refused as
// .. is.
func (ev *LambdaEvent) canonicalPath() bool {
	decoded := func(p string) (string, bool) {
		dec, err := url.PathUnescape(p)
		if err != nil {
			return "", false
		}
		return canonical(dec, p)
	}
	p, ok := decoded(ev.RequestContext.HTTP.Path)
	if !ok {
		return false
	}
	if ev.RawPath == "" {
		return true
	}
	raw, ok := decoded(ev.RawPath)
	return ok && raw == p
}

// token is where each event carries the token: TOKEN events in
// authorizationToken, REQUEST events in the Authorization header, HTTP
// APIs in the first identity source.
func (ev *LambdaEvent) token() string {
	if ev.Type == "TOKEN" {
		return ev.AuthorizationToken
	}
	if ev.Version == "2.0" && len(ev.IdentitySource) > 0 {
		var ids []string
		if json.Unmarshal(ev.IdentitySource, &ids) == nil && len(ids) > 0 {
			return ids[0]
		}
	}
	for k, v := range ev.Headers {
		if strings.EqualFold(k, "Authorization") {
			return v
		}
	}
	return ""
}

// executeAPIARN is arn:{partition}:execute-api:{region}:{account}:{api}/….
type executeAPIARN struct {
	partition, region, account, apiID, rest string
}

func (a executeAPIARN) api() string {
	return "arn:" + a.partition + ":execute-api:" + a.region + ":" + a.account + ":" + a.apiID
}

func parseExecuteAPIARN(s string) (executeAPIARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "execute-api" {
		return executeAPIARN{}, fmt.Errorf("%q is not an execute-api ARN", s)
	}
	api, rest, ok := strings.Cut(parts[5], "/")
	if !ok || api == "" {
		return executeAPIARN{}, fmt.Errorf("%q names no API", s)
	}
	return executeAPIARN{partition: parts[1], region: parts[3], account: parts[4], apiID: api, rest: rest}, nil
}

// scopeStatements returns a policy's statements as API Gateway should
// evaluate them for this API: those that can apply to
// execute-api:Invoke, with that action; their Resource ARNs pinned to
// this API's region and account where they had wildcards there (exactly
// the ARNs of this API they matched before), ARNs of other regions or
// accounts dropped, the token's policy variables resolved (API Gateway
// knows no aws:username of a Lambda-authorized caller), and conditions
// on the token's keys decided (lambdacond.go). group names the policy in
// errors.
func scopeStatements(group string, raw json.RawMessage, arn executeAPIARN, id *identity) ([]map[string]any, error) {
	var doc struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("group %s: %v", group, err)
	}
	var list []map[string]any
	if json.Unmarshal(doc.Statement, &list) != nil {
		var one map[string]any
		if err := json.Unmarshal(doc.Statement, &one); err != nil {
			return nil, fmt.Errorf("group %s: Statement: %v", group, err)
		}
		list = []map[string]any{one}
	}
	// The answer is a 2012-10-17 policy; in an older one ${…} was
	// literal text, so it is escaped rather than resolved.
	resolve := func(p string) string { return resolveVars(p, id) }
	if doc.Version != iampolicy.Version2012 {
		doc.Version = iampolicy.Version2008
		resolve = strings.NewReplacer("$", "${$}").Replace
	}
	var out []map[string]any
	for _, st := range list {
		if !invokes(st) {
			continue
		}
		s := map[string]any{"Effect": st["Effect"], "Action": "execute-api:Invoke"}
		if v, ok := st["Sid"]; ok {
			s["Sid"] = v
		}
		if c, ok := st["Condition"]; ok {
			kept, holds, unknown, err := scopeCondition(c, id, doc.Version, resolve)
			if err != nil {
				return nil, fmt.Errorf("group %s: statement %v: %v", group, st["Sid"], err)
			}
			if !holds {
				continue // the token's part of the condition fails: the statement never applies to this token
			}
			if unknown != "" {
				if st["Effect"] == "Deny" {
					sid, _ := st["Sid"].(string)
					return nil, &conditionError{group: group, sid: sid, key: unknown}
				}
				continue // an Allow API Gateway could not decide as lockgate does: left out
			}
			if kept != nil {
				s["Condition"] = kept
			}
		}
		for _, k := range []string{"Resource", "NotResource"} {
			r, ok := st[k]
			if !ok {
				continue
			}
			var kept []any
			for _, p := range asList(r) {
				if k == "NotResource" {
					// Excluded ARNs stay as written (only resolved): a
					// NotResource of another region excludes nothing here.
					kept = append(kept, resolve(p))
				} else if scoped, ok := scopeResource(resolve(p), arn); ok {
					kept = append(kept, scoped)
				}
			}
			if len(kept) == 0 && k == "Resource" {
				s = nil
				break
			}
			s[k] = kept
		}
		if s != nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// invokes reports whether a statement's Action (or NotAction) covers
// execute-api:Invoke.
func invokes(st map[string]any) bool {
	if a, ok := st["Action"]; ok {
		for _, p := range asList(a) {
			if globFold(strings.ToLower(p), "execute-api:invoke") {
				return true
			}
		}
		return false
	}
	if a, ok := st["NotAction"]; ok {
		for _, p := range asList(a) {
			if globFold(strings.ToLower(p), "execute-api:invoke") {
				return false
			}
		}
		return true
	}
	return false
}

func asList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// scopeResource pins one Resource pattern to this API's region and
// account; false when it cannot match any ARN of this API.
func scopeResource(p string, arn executeAPIARN) (string, bool) {
	if p == "*" {
		return arn.api() + "/*", true
	}
	parts := strings.SplitN(p, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", false
	}
	for i, want := range map[int]string{1: arn.partition, 2: "execute-api", 3: arn.region, 4: arn.account} {
		if !globFold(strings.ToLower(parts[i]), strings.ToLower(want)) {
			return "", false
		}
		parts[i] = want
	}
	return strings.Join(parts, ":"), true
}

// resolveVars substitutes the policy variables a token defines, and
// the default of those it does not. API Gateway evaluates the returned
// policy itself, reading * and ? in a Resource as wildcards and ${…} as
// variables: a value is written with IAM's escapes (${*}, ${?}, ${$}) so
// that it stays literal there, as it is in the gateway. Otherwise a user
// named "*" would be handed every user's /users/${aws:username}/*.
// Variables the token does not define are left for API Gateway.
func resolveVars(p string, id *identity) string {
	if !strings.Contains(p, "${") {
		return p
	}
	var b strings.Builder
	for {
		i := strings.Index(p, "${")
		if i < 0 {
			b.WriteString(p)
			return b.String()
		}
		j := strings.IndexByte(p[i:], '}')
		if j < 0 {
			b.WriteString(p)
			return b.String()
		}
		b.WriteString(p[:i])
		body := p[i+2 : i+j]
		p = p[i+j+1:]
		key, def, hasDef := strings.TrimSpace(body), "", false
		if k, d, ok := strings.Cut(body, ","); ok {
			d = strings.TrimSpace(d)
			if len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'' {
				key, def, hasDef = strings.TrimSpace(k), d[1:len(d)-1], true
			}
		}
		if v, ok := id.variable(key); ok {
			b.WriteString(escapeVarValue(v))
		} else if hasDef {
			b.WriteString(escapeVarValue(def))
		} else {
			b.WriteString("${" + body + "}") // ${*}, ${?}, ${$}, or API Gateway's own
		}
	}
}

// variable is the value of a policy variable the token defines.
func (id *identity) variable(key string) (string, bool) {
	k := strings.ToLower(key)
	switch {
	case k == "aws:username":
		return id.Username, id.Username != ""
	case k == "aws:userid":
		return id.Subject, id.Subject != ""
	case strings.HasPrefix(k, "aws:principaltag/"):
		tag := key[len("aws:principaltag/"):]
		for t, v := range id.Tags {
			if strings.EqualFold(t, tag) {
				return v, true
			}
		}
	}
	return "", false
}

// escapeVarValue writes a variable's value so that IAM reads it
// literally.
var escapeVarValue = strings.NewReplacer("$", "${$}", "*", "${*}", "?", "${?}").Replace

// globFold matches IAM's * and ? wildcards, case-insensitively; pattern
// is lower case.
func globFold(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globFold(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globFold(pattern[1:], s[1:])
	}
	return s != "" && (pattern[0] == s[0] || 'A' <= s[0] && s[0] <= 'Z' && s[0]+32 == pattern[0]) && globFold(pattern[1:], s[1:])
}
