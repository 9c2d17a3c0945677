package iamtest

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/lockgate/lockgate/iampolicy"
)

// Implemented lists the actions the server answers; testdata/model.json
// holds exactly these operations.
var Implemented = []string{
	"GetUser", "CreateAccessKey", "ListAccessKeys", "UpdateAccessKey", "GetAccessKeyLastUsed",
	"PutUserPolicy", "GetUserPolicy", "DeleteUserPolicy", "ListUserPolicies",
	"AttachUserPolicy", "DetachUserPolicy", "ListAttachedUserPolicies",
	"TagUser", "UntagUser", "ListUserTags", "DeleteLoginProfile",
	"GetRole", "PutRolePolicy", "GetRolePolicy", "DeleteRolePolicy", "ListRolePolicies",
	"AttachRolePolicy", "DetachRolePolicy", "ListAttachedRolePolicies",
	"TagRole", "UntagRole", "ListRoleTags",
}

func tagList(form url.Values) [][2]string {
	var tags [][2]string
	for i := 1; ; i++ {
		k, ok := form[fmt.Sprintf("Tags.member.%d.Key", i)]
		if !ok {
			return tags
		}
		tags = append(tags, [2]string{k[0], form.Get(fmt.Sprintf("Tags.member.%d.Value", i))})
	}
}

func tagKeys(form url.Values) []string {
	var keys []string
	for i := 1; ; i++ {
		k, ok := form[fmt.Sprintf("TagKeys.member.%d", i)]
		if !ok {
			return keys
		}
		keys = append(keys, k[0])
	}
}

// tagKey finds the key of tags equal to k ignoring case: IAM treats tag
// keys that differ only in case as one.
func tagKey(tags map[string]string, k string) (string, bool) {
	for existing := range tags {
		if strings.EqualFold(existing, k) {
			return existing, true
		}
	}
	return "", false
}

// docSize is a policy's size as IAM counts it: without white space.
func docSize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// entity is the user or role an action names: what the actions on
// either share.
type entity struct {
	kind, name string
	inline     map[string]string
	tags       map[string]string
	attached   *[]string
	limit      int
	inlineMax  int
}

func (s *Server) call(action string, f url.Values) (el, *apiError) {
	user := func() (*User, *apiError) {
		u, ok := s.users[f.Get("UserName")]
		if !ok {
			return nil, noSuch("user", f.Get("UserName"))
		}
		return u, nil
	}
	ent := func() (*entity, *apiError) {
		if strings.Contains(action, "User") {
			u, err := user()
			if err != nil {
				return nil, err
			}
			return &entity{"user", u.Name, u.Inline, u.Tags, &u.Attached, u.ManagedLimit, InlineUserPolicyChars}, nil
		}
		r, ok := s.roles[f.Get("RoleName")]
		if !ok {
			return nil, noSuch("role", f.Get("RoleName"))
		}
		return &entity{"role", r.Name, r.Inline, r.Tags, &r.Attached, r.ManagedLimit, InlineRolePolicyChars}, nil
	}
	switch action {
	case "GetUser":
		u, err := user()
		if err != nil {
			return nil, err
		}
		return el{{"User", el{{"Path", "/"}, {"UserName", u.Name}, {"UserId", u.ID}, {"Arn", "arn:aws:iam::" + s.Account + ":user/" + u.Name}, {"CreateDate", ts(time.Now())}}}}, nil
	case "CreateAccessKey":
		u, err := user()
		if err != nil {
			return nil, err
		}
		k, err := s.createKey(u)
		if err != nil {
			return nil, err
		}
		return el{{"AccessKey", el{{"UserName", u.Name}, {"AccessKeyId", k.ID}, {"Status", k.Status}, {"SecretAccessKey", newID("secret")}, {"CreateDate", ts(k.Created)}}}}, nil
	case "ListAccessKeys":
		u, err := user()
		if err != nil {
			return nil, err
		}
		from, to, marker := s.page(len(u.Keys), f)
		var items []el
		for _, k := range u.Keys[from:to] {
			items = append(items, el{{"UserName", u.Name}, {"AccessKeyId", k.ID}, {"Status", k.Status}, {"CreateDate", ts(k.Created)}})
		}
		return paged(items, marker, "AccessKeyMetadata"), nil
	case "UpdateAccessKey":
		u, err := user()
		if err != nil {
			return nil, err
		}
		for _, k := range u.Keys {
			if k.ID == f.Get("AccessKeyId") {
				k.Status = f.Get("Status")
				return nil, nil
			}
		}
		return nil, errorOf("NoSuchEntity", "The Access Key with id "+f.Get("AccessKeyId")+" cannot be found.")
	case "GetAccessKeyLastUsed":
		owner, ok := s.keyOwner[f.Get("AccessKeyId")]
		if !ok {
			return nil, errorOf("AccessDenied", "no such key")
		}
		for _, k := range s.users[owner].Keys {
			if k.ID == f.Get("AccessKeyId") {
				used := el{{"ServiceName", "N/A"}, {"Region", "N/A"}}
				if !k.LastUsed.IsZero() {
					used = el{{"LastUsedDate", ts(k.LastUsed)}, {"ServiceName", "s3"}, {"Region", "us-east-1"}}
				}
				return el{{"UserName", owner}, {"AccessKeyLastUsed", used}}, nil
			}
		}
		return nil, errorOf("AccessDenied", "no such key")
	case "PutUserPolicy", "PutRolePolicy":
		e, err := ent()
		if err != nil {
			return nil, err
		}
		doc := f.Get("PolicyDocument")
		if _, err := iampolicy.Parse([]byte(doc)); err != nil {
			return nil, errorOf("MalformedPolicyDocument", err.Error())
		}
		total := docSize(doc)
		for name, d := range e.inline {
			if name != f.Get("PolicyName") {
				total += docSize(d)
			}
		}
		if total > e.inlineMax {
			return nil, errorOf("LimitExceeded", fmt.Sprintf("Maximum policy size of %d bytes exceeded for %s %s", e.inlineMax, e.kind, e.name))
		}
		e.inline[f.Get("PolicyName")] = doc
		return nil, nil
	case "GetUserPolicy", "GetRolePolicy":
		e, err := ent()
		if err != nil {
			return nil, err
		}
		doc, ok := e.inline[f.Get("PolicyName")]
		if !ok {
			return nil, errorOf("NoSuchEntity", fmt.Sprintf("The %s policy with name %s cannot be found.", e.kind, f.Get("PolicyName")))
		}
		owner := "UserName"
		if e.kind == "role" {
			owner = "RoleName"
		}
		// IAM answers policy documents URL-encoded (RFC 3986).
		return el{{owner, e.name}, {"PolicyName", f.Get("PolicyName")}, {"PolicyDocument", escape3986(doc)}}, nil
	case "DeleteUserPolicy", "DeleteRolePolicy":
		e, err := ent()
		if err != nil {
			return nil, err
		}
		if _, ok := e.inline[f.Get("PolicyName")]; !ok {
			return nil, errorOf("NoSuchEntity", fmt.Sprintf("The %s policy with name %s cannot be found.", e.kind, f.Get("PolicyName")))
		}
		delete(e.inline, f.Get("PolicyName"))
		return nil, nil
	case "ListUserPolicies", "ListRolePolicies":
		e, err := ent()
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(e.inline))
		for n := range e.inline {
			names = append(names, n)
		}
		sort.Strings(names)
		from, to, marker := s.page(len(names), f)
		out := el{{"PolicyNames", names[from:to]}, {"IsTruncated", strconv.FormatBool(marker != "")}}
		if marker != "" {
			out = append(out, kv{"Marker", marker})
		}
		return out, nil
	case "AttachUserPolicy", "AttachRolePolicy":
		e, err := ent()
		if err != nil {
			return nil, err
		}
		arn := f.Get("PolicyArn")
		if _, ok := s.managed[arn]; !ok {
			return nil, errorOf("NoSuchEntity", "Policy "+arn+" does not exist or is not attachable.")
		}
		if slices.Contains(*e.attached, arn) {
			return nil, nil
		}
		if len(*e.attached) >= e.limit {
			quota := "PoliciesPerUser"
			if e.kind == "role" {
				quota = "PoliciesPerRole"
			}
			return nil, errorOf("LimitExceeded", fmt.Sprintf("Cannot exceed quota for %s: %d", quota, e.limit))
		}
		*e.attached = append(*e.attached, arn)
		return nil, nil
	case "DetachUserPolicy", "DetachRolePolicy":
		e, err := ent()
		if err != nil {
			return nil, err
		}
		i := slices.Index(*e.attached, f.Get("PolicyArn"))
		if i < 0 {
			return nil, errorOf("NoSuchEntity", "Policy "+f.Get("PolicyArn")+" was not found.")
		}
		*e.attached = slices.Delete(*e.attached, i, i+1)
		return nil, nil
	case "ListAttachedUserPolicies", "ListAttachedRolePolicies":
		e, err := ent()
		if err != nil {
			return nil, err
		}
		from, to, marker := s.page(len(*e.attached), f)
		var items []el
		for _, arn := range (*e.attached)[from:to] {
			items = append(items, el{{"PolicyName", arn[strings.LastIndex(arn, "/")+1:]}, {"PolicyArn", arn}})
		}
		return paged(items, marker, "AttachedPolicies"), nil
	case "TagUser", "TagRole":
		e, err := ent()
		if err != nil {
			return nil, err
		}
		// "If any one of the tags is invalid or if you exceed the allowed
		// maximum number of tags, then the entire request fails".
		add := tagList(f)
		n := len(e.tags)
		seen := map[string]bool{}
		for _, t := range add {
			if seen[strings.ToLower(t[0])] {
				return nil, errorOf("InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
			}
			seen[strings.ToLower(t[0])] = true
			// "You cannot create a tag key or value that begins with the
			// text aws:."
			if strings.HasPrefix(strings.ToLower(t[0]), "aws:") || strings.HasPrefix(strings.ToLower(t[1]), "aws:") {
				return nil, errorOf("InvalidInput", "User-defined tag keys and values can't begin with aws:")
			}
			if _, ok := tagKey(e.tags, t[0]); !ok {
				n++
			}
		}
		if n > TagsPerEntity {
			return nil, errorOf("LimitExceeded", fmt.Sprintf("The number of tags has reached the maximum limit: a %s has at most %d tags.", e.kind, TagsPerEntity))
		}
		for _, t := range add {
			if old, ok := tagKey(e.tags, t[0]); ok {
				delete(e.tags, old)
			}
			e.tags[t[0]] = t[1]
		}
		return nil, nil
	case "UntagUser", "UntagRole":
		e, err := ent()
		if err != nil {
			return nil, err
		}
		for _, k := range tagKeys(f) {
			if old, ok := tagKey(e.tags, k); ok {
				delete(e.tags, old)
			}
		}
		return nil, nil
	case "ListUserTags", "ListRoleTags":
		e, err := ent()
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(e.tags))
		for k := range e.tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		from, to, marker := s.page(len(keys), f)
		var items []el
		for _, k := range keys[from:to] {
			items = append(items, el{{"Key", k}, {"Value", e.tags[k]}})
		}
		return paged(items, marker, "Tags"), nil
	case "DeleteLoginProfile":
		u, err := user()
		if err != nil {
			return nil, err
		}
		if !u.LoginProfile {
			return nil, noSuch("login profile for user", u.Name)
		}
		u.LoginProfile = false
		return nil, nil
	case "GetRole":
		r, ok := s.roles[f.Get("RoleName")]
		if !ok {
			return nil, noSuch("role", f.Get("RoleName"))
		}
		return el{{"Role", el{{"Path", "/"}, {"RoleName", r.Name}, {"RoleId", r.ID}, {"Arn", "arn:aws:iam::" + s.Account + ":role/" + r.Name}, {"CreateDate", ts(time.Now())}, {"MaxSessionDuration", "3600"}}}}, nil
	}
	return nil, errorOf("InvalidAction", "lockgate's IAM test server does not implement "+action)
}

// escape3986 percent-encodes every byte but RFC 3986's unreserved
// characters, as IAM encodes the policy documents it returns.
func escape3986(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
