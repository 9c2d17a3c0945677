package awsiam

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/awsiam/iamtest"
)

// What STS gives as a role session name ("Length Constraints: Minimum
// length of 2. Maximum length of 64. Pattern: [\w+=,.@-]*", AssumeRole,
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html)
// and IAM as a key id (accessKeyIdType) and a role id (idType).
var (
	sessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	keyID       = regexp.MustCompile(`^\w{16,128}$`)
)

// Every value the responder writes to IAM is valid by construction: for
// any time, any session name STS allows and any key id IAM gives, the tags
// and policy documents pass IAM's model.
func FuzzWrittenValuesAreValid(f *testing.F) {
	f.Add(int64(1764000000123), "youradmin", "AKIAIOSFODNN7EXAMPLE", "AROAXXXXXXXXXXXXXXXXX")
	f.Add(int64(0), "tester@domain.tld", strings.Repeat("A", 128), "AROA1234567890123456")
	f.Add(int64(253402300799999), "a+b=c,d.e@f-g_h", "AKIA0000000000000000", "AROA_")
	f.Fuzz(func(t *testing.T, ms int64, session, key, roleID string) {
		at := time.UnixMilli(ms).UTC()
		if at.Year() < 1970 || at.Year() > 9999 || !sessionName.MatchString(session) || !keyID.MatchString(key) || !keyID.MatchString(roleID+strings.Repeat("0", 16)) {
			return
		}
		check := func(shape, v string) {
			if err := iamtest.CheckValue(shape, v); err != nil {
				t.Fatalf("%s %q: %v", shape, v, err)
			}
		}
		check("tagKeyType", tagLocked)
		check("tagValueType", at.Format(timeFormat))
		for i := 1; i <= iamtest.AccessKeysPerUser; i++ {
			check("tagKeyType", fmt.Sprintf("%s%d", tagKeyPrefix, i))
		}
		check("tagValueType", key)
		check("policyDocumentType", RevokeDocument(at))
		check("policyDocumentType", DenyAllDocument)
		for _, n := range []string{RevokePolicyName, DenyAllPolicyName, SessionPolicyName} {
			check("policyNameType", n)
		}
		pol := &sessionPolicy{entries: map[string]*sessionEntry{
			roleID + ":" + session:  {userID: roleID + ":" + session, lockedAt: at.Truncate(time.Millisecond)},
			roleID + ":x" + session: {userID: roleID + ":x" + session, revokeAt: ceilMilli(at)},
		}, folded: &foldedRevoke{ids: []string{roleID + ":y" + session}, before: ceilMilli(at)}}
		doc := pol.render(roleID)
		check("policyDocumentType", doc)
		wide := &sessionPolicy{entries: map[string]*sessionEntry{}, folded: &foldedRevoke{wide: true, before: ceilMilli(at)}}
		check("policyDocumentType", wide.render(roleID))
		got, err := parseSessions(doc)
		var entries map[string]*sessionEntry
		if got != nil {
			entries = got.entries
		}
		if err != nil || len(entries) != 2 || got.folded == nil || len(got.folded.ids) != 1 || !entries[roleID+":"+session].lockedAt.Equal(at.Truncate(time.Millisecond)) && ms > 0 {
			t.Fatalf("round trip %v %+v", err, entries)
		}
	})
}
